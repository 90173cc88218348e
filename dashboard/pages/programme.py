"""Programme (admin): attendance, active patients, average change in pain and range."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, queries, ui

store, user = ui.require_user()
st.title("Programme evaluation")
programme = ui.load_or_stop(queries.compute_programme_evaluation, store, user)
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Patients", programme.patients_total)
c2.metric(f"Active (last {queries.ACTIVE_DAYS} d)", programme.active_patients)
c3.metric("Sessions", programme.sessions_total)
c4.metric("Pain change (points)", ui.number_text(programme.mean_pain_change, digits=2),
          help="Mean over patients of the change in pain reported before sessions (0-10 scale).")
c5.metric("Range change (deg)", ui.number_text(programme.mean_rom_change_deg, digits=1),
          help="Mean over patients and motions of the change in range of motion.")
st.caption(f"Changes compare the mean of each patient's last {queries.CHANGE_WINDOW_SESSIONS} sessions with their "
           f"first {queries.CHANGE_WINDOW_SESSIONS}; negative pain change means less pain.")
st.plotly_chart(charts.render_attendance_chart(programme.attendance), width="stretch", theme=None,
                key="attendance_chart")
left, right = st.columns(2)
with left:
    st.subheader("Range change per motion")
    ui.show_table(programme.rom_change, key="rom_change_table",
                  column_config={"motion": "Motion", "mean_rom_change_deg": "Mean change (deg)",
                                 "patients": "Patients"})
with right:
    st.subheader("Pain change per patient")
    ui.show_table(programme.pain_change, key="pain_change_table",
                  column_config={"patient_code": "Code", "pain_change": "Change (points)", "checkins": "Check-ins"})
