"""Mobility: per motion, the angles reached per session over the safe range, range of motion,
repetitions and time within range."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries, ui

store, user = ui.require_user()
st.title("Mobility")
code = ui.choose_patient(store, user)
if code is None:
    st.stop()
motions = ui.load_or_stop(queries.list_motions, store, user, code)
if not motions:
    st.info(f"No movement sessions recorded for {code} yet.")
    st.stop()
motion = st.selectbox("Motion", motions, key="mobility_motion", format_func=lambda m: m.replace("_", " "))
mobility = ui.load_or_stop(queries.compute_mobility, store, user, code, motion=motion)
reps = ui.load_or_stop(queries.compute_repetitions, store, user, code)
reps = reps[reps["motion"] == motion]

latest = mobility.iloc[-1]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Sessions with this motion", len(mobility))
c2.metric("Latest range of motion (deg)", ui.number_text(latest["rom_deg"]))
c3.metric("Latest time within range (%)", ui.number_text(latest["time_in_range_pct"], digits=0))
c4.metric("Latest safe range (deg)", f"{ui.number_text(latest['safe_min_deg'], digits=0)} to "
                                     f"{ui.number_text(latest['safe_max_deg'], digits=0)}")

st.plotly_chart(charts.render_rom_chart(mobility, motion=motion), width="stretch", theme=None, key="rom_chart")
left, right = st.columns(2)
with left:
    st.plotly_chart(charts.render_rom_amplitude_chart(mobility, motion=motion), width="stretch", theme=None,
                    key="rom_amplitude_chart")
with right:
    st.plotly_chart(charts.render_time_in_range_chart(mobility, motion=motion), width="stretch", theme=None,
                    key="time_in_range_chart")
st.plotly_chart(charts.render_repetitions_chart(reps, motion=motion), width="stretch", theme=None, key="reps_chart")
with st.expander("Table: every session for this motion"):
    ui.show_table(mobility.assign(started_at=mobility["started_at"].map(ui.date_text)), key="mobility_table")
