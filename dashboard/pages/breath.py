"""Breath: resting rate, rate during practice, agreement with the pacer, inhale:exhale ratio."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, queries, ui

store, user = ui.require_user()
st.title("Breath")
code = ui.choose_patient(store, user)
if code is None:
    st.stop()
breath = ui.load_or_stop(queries.compute_breath_trends, store, user, code)
if breath.empty:
    st.info(f"No breathing practice analysed for {code} yet.")
    st.stop()
st.plotly_chart(charts.render_breath_chart(breath), width="stretch", theme=None, key="breath_chart")
table = pd.DataFrame({
    "Date (UTC)": breath["started_at"].map(ui.date_text),
    "Session kind": breath["kind"],
    "Breaths": breath["breaths"],
    "Resting rate (breaths/min)": breath["resting_rate_bpm"],
    "Practice rate (breaths/min)": breath["rate_bpm"],
    "Pacer target (breaths/min)": breath["pacer_target_bpm"],
    "Pacer agreement (%)": breath["pacer_agreement_pct"],
    "Exhale:inhale (ratio)": breath["ie_ratio"],
})
ui.show_table(table, key="breath_table")
