"""Gait: cadence, gait speed, step-time symmetry and variability over time, with quality flags."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, queries, ui

store, user = ui.require_user()
st.title("Gait")
code = ui.choose_patient(store, user)
if code is None:
    st.stop()
gait = ui.load_or_stop(queries.compute_gait_trends, store, user, code)
if gait.empty:
    st.info(f"No walking analysed for {code} yet.")
    st.stop()
flags = gait["quality"].map(lambda q: ", ".join(str(f).replace("_", " ") for f in (q or {}).get("flags", [])))
st.plotly_chart(charts.render_gait_chart(gait, flagged=flags != ""), width="stretch", theme=None, key="gait_chart")
st.caption("A hollow diamond marks a walk whose analysis raised a quality flag: read its figures with care.")
table = pd.DataFrame({
    "Date (UTC)": gait["started_at"].map(ui.date_text),
    "Direction": gait["direction"],
    "Strides": gait["strides"],
    "Cadence (steps/min)": gait["cadence_steps_per_min"],
    "Gait speed (m/s)": gait["gait_speed_m_s"],
    "Step-time symmetry (ratio)": gait["step_time_symmetry"],
    "Stride-time variability (CV %)": gait["stride_time_cv_pct"],
    "Quality flags": flags.replace("", "none"),
})
ui.show_table(table, key="gait_table")
