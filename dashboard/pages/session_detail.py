"""Session detail: one session's angle and breath time series with the cues marked."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, queries, ui
from feedback.messages import load_catalogue

store, user = ui.require_user()
st.title("Session detail")
requested = ui.requested_session(store, user)  # checked (whole number, in range) before any query
if requested is False:
    st.stop()
code = ui.choose_patient(store, user)
if code is None:
    st.stop()
sessions = ui.load_or_stop(queries.list_sessions, store, user, code)
if sessions.empty:
    st.info(f"No sessions recorded for {code} yet.")
    st.stop()

ids = [int(i) for i in sessions["session_id"]]
labels = {int(r.session_id): f"{ui.date_text(r.started_at)}  {r.kind}{ui.optional_text(r.exercise, prefix=' - ')}"
                              f"  ({r.cues} cues){'  at home' if r.location == 'home' else ''}"
          for r in sessions.itertuples()}
if requested is not None and requested not in ids:
    # another patient's session, or a made-up id: refused and audited, nothing shown
    ui.load_or_stop(queries.load_session_detail, store, user, requested)
index = ids.index(requested) if requested in ids else 0
session_id = st.selectbox("Session (newest first)", ids, index=index, format_func=labels.get, key=f"session_{code}")
st.query_params[ui.SESSION_PARAM] = str(session_id)
detail = ui.load_or_stop(queries.load_session_detail, store, user, session_id)

s = detail.session
where = "at home, in the patient's own browser" if s.get("location") == "home" else "at the clinic"
c1, c2, c3, c4 = st.columns(4)
st.caption(f"Started {ui.date_text(s['started_at'])} UTC, {s['kind']}{ui.optional_text(s['exercise'], prefix=' - ')}, "
           f"{where}, station {ui.optional_text(s['station']) or '-'}.")
c1.metric("Date (UTC)", ui.date_text(s["started_at"])[:10])
c2.metric("Active time (min)", ui.number_text(None if s["active_s"] is None else s["active_s"] / 60.0))
c3.metric("Cues given", len(detail.cues))
c4.metric("Status", s["status"])
st.plotly_chart(charts.render_session_chart(detail.samples, detail.cues), width="stretch", theme=None,
                key="session_chart")
if detail.bucket_s > 0:
    st.caption(f"Long recording: each point is the average over {detail.bucket_s:.2f} s.")
if not detail.metrics.empty:
    st.subheader("Range of motion in this session")
    ui.show_table(pd.DataFrame({
        "Motion": detail.metrics["motion"].str.replace("_", " "),
        "Range of motion (deg)": detail.metrics["rom_deg"],
        "Lowest (deg)": detail.metrics["min_deg"], "Highest (deg)": detail.metrics["max_deg"],
        "Safe min (deg)": detail.metrics["safe_min_deg"], "Safe max (deg)": detail.metrics["safe_max_deg"],
        "Time within range (%)": detail.metrics["time_in_range_pct"],
        "Beyond safe range": detail.metrics["range_exceeded"].map({True: "yes", False: "no"}),
    }), key="session_metrics_table")
if not detail.cues.empty:
    catalogue = load_catalogue()
    st.subheader("Cues")
    ui.show_table(pd.DataFrame({
        "Time (s)": detail.cues["t_s"], "Kind": detail.cues["kind"],
        "What the patient heard": detail.cues["message_key"].map(lambda k: catalogue.get(k, k)),
        "Message key": detail.cues["message_key"],
        "Value": detail.cues["value"], "Limit": detail.cues["limit"],
    }), key="cues_table")
