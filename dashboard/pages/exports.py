"""Exports: CSV of every table the user may see, and a PDF progress report per patient."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import queries, report, ui
from mindmove.auth import audit
from mindmove.errors import AccessDenied

store, user = ui.require_user()
st.title("Exports")
st.caption("Each export is written to the audit log. Times are UTC.")


def offer(label: str, df: pd.DataFrame, file_name: str, key: str, patient_code: str | None = None) -> None:
    if st.download_button(f"{label} (CSV, {len(df)} rows)", report.render_csv(df), file_name=file_name, mime="text/csv",
                          key=key):
        audit(store, user.username, "export_csv", patient_code=patient_code, client=user.client,
              detail=f"table={key} rows={len(df)}")


st.subheader("Your patients")
offer("Patient list", queries.list_patients(store, user), "patients.csv", "patients")

code = ui.choose_patient(store, user)
if code is not None:
    st.subheader(f"Patient {code}")
    try:
        tables = {
            "sessions": ("Sessions", queries.list_sessions(store, user, code)),
            "mobility": ("Mobility (range of motion per session)", queries.compute_mobility(store, user, code)),
            "repetitions": ("Repetitions", queries.compute_repetitions(store, user, code)),
            "gait": ("Gait", queries.compute_gait_trends(store, user, code)),
            "breath": ("Breath", queries.compute_breath_trends(store, user, code)),
            "checkins": ("Check-ins", queries.compute_checkins(store, user, code)),
        }
    except AccessDenied as exc:
        ui.show_refusal(exc)
        st.stop()
    for key, (label, df) in tables.items():
        offer(label, df, f"{code}_{key}.csv", key, patient_code=code)
    st.subheader("Progress report (PDF)")
    if st.button("Prepare the PDF progress report", key="prepare_report"):
        st.session_state["report_pdf"] = (code, report.render_progress_report(store, user, code))
    prepared = st.session_state.get("report_pdf")
    if prepared is not None and prepared[0] == code:
        st.download_button("Download the PDF progress report", prepared[1], file_name=f"{code}_progress_report.pdf",
                           mime="application/pdf", key="report_download")

if user.is_admin:
    st.subheader("Programme (admin)")
    programme = queries.compute_programme_evaluation(store, user)
    offer("Attendance per week", programme.attendance, "programme_attendance.csv", "attendance")
    offer("Pain change per patient", programme.pain_change, "programme_pain_change.csv", "pain_change")
    offer("Range change per motion", programme.rom_change, "programme_rom_change.csv", "rom_change")
    offer("Audit log (newest entries)", queries.load_audit_log(store, user), "audit_log.csv", "audit_log")
