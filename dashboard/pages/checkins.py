"""Check-ins: pain (0-10) and mood (1-5) before and after each session, and satisfaction (1-5) after."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, queries, ui

store, user = ui.require_user()
st.title("Check-ins")
code = ui.choose_patient(store, user)
if code is None:
    st.stop()
checkins = ui.load_or_stop(queries.compute_checkins, store, user, code)
if checkins.empty:
    st.info(f"No check-ins recorded for {code} yet.")
    st.stop()
st.plotly_chart(charts.render_checkins_chart(checkins), width="stretch", theme=None, key="checkins_chart")
st.caption("Pain change is after minus before: a negative number means the session brought some relief.")
table = pd.DataFrame({
    "Date (UTC)": checkins["started_at"].map(ui.date_text),
    "Pain before (0-10)": checkins["pain_before"],
    "Pain after (0-10)": checkins["pain_after"],
    "Pain change (points)": checkins["pain_change"],
    "Mood before (1-5)": checkins["mood_before"],
    "Mood after (1-5)": checkins["mood_after"],
    "Satisfaction after (1-5)": checkins["satisfaction"],
})
ui.show_table(table, key="checkins_table")
