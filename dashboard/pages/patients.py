"""Patients: the user's patients with last session, 30-day activity and gentle flags."""

from __future__ import annotations

import streamlit as st

from dashboard import queries, ui

store, user = ui.require_user()
st.title("Patients")
st.caption(f"Sessions and days with data in the last {queries.PERIOD_DAYS} days (UTC), "
           "as remote therapeutic monitoring asks. Flags are gentle prompts to check in, not alarms.")
search = st.text_input("Find a patient by code or name", key="patient_search", max_chars=64)
patients = ui.load_or_stop(queries.list_patients, store, user, search=search)
if patients.empty:
    st.info("No patients match." if search else "No patients are in your care team's list yet.")
    st.stop()

shown = patients.assign(
    last_session=patients["last_session_at"].map(ui.date_text),
    flags=patients.apply(ui.flag_summary, axis=1),
)[["patient_code", "display_name", "care_team", "last_session", "sessions_in_period",
   "days_with_data_in_period", "flags"]]
st.dataframe(
    shown, hide_index=True, width="stretch",
    column_config={
        "patient_code": "Code", "display_name": "Name", "care_team": "Care team",
        "last_session": "Last session (UTC)",
        "sessions_in_period": st.column_config.NumberColumn(f"Sessions ({queries.PERIOD_DAYS} d)"),
        "days_with_data_in_period": st.column_config.NumberColumn(f"Days with data ({queries.PERIOD_DAYS} d)"),
        "flags": "Worth a gentle check-in",
    },
)
flagged = shown[shown["flags"] != ""]
if not flagged.empty:
    st.subheader("Worth a gentle check-in")
    for _, row in flagged.iterrows():
        st.markdown(f"- **{row['patient_code']}**: {row['flags']}")
