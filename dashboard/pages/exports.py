"""Exports: CSV of every table the user may see, and a PDF progress report per patient.

Nothing is read until the user asks: each group of tables is read (and its views audited)
when its "Prepare" button is clicked, then kept in the session, so a rerun or a download
click reads nothing again. Each download writes one ``export_csv`` audit entry.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import function_queries, queries, report, ui
from mindmove.auth import audit

PREPARED_KEY = "exports_prepared"  # section -> (patient code or None, {key: (label, table)})
PATIENT_TABLES = {
    "sessions": ("Sessions", queries.list_sessions),
    "mobility": ("Mobility (range of motion per session)", queries.compute_mobility),
    "repetitions": ("Repetitions", queries.compute_repetitions),
    "gait": ("Gait", queries.compute_gait_trends),
    "function": ("Function (functional tests, with norms and provenance)", function_queries.compute_function_trends),
    "breath": ("Breath", queries.compute_breath_trends),
    "checkins": ("Check-ins", queries.compute_checkins),
}

store, user = ui.require_user()
st.title("Exports")
st.caption("Prepare the tables you need, then download them. Each download is written to the audit log. "
           "Times are UTC.")
prepared: dict = st.session_state.setdefault(PREPARED_KEY, {})


def offer(label: str, df: pd.DataFrame, file_name: str, key: str, patient_code: str | None = None) -> None:
    if st.download_button(f"{label} (CSV, {len(df)} rows)", report.render_csv(df), file_name=file_name,
                          mime="text/csv", key=key):
        ui.load_or_stop(audit, store, user.username, "export_csv", patient_code=patient_code, client=user.client,
                        detail=f"table={key} rows={len(df)}")


def offer_prepared(section: str, code: str | None, file_prefix: str) -> None:
    ready = prepared.get(section)
    if ready is None or ready[0] != code:
        return
    for key, (label, df) in ready[1].items():
        offer(label, df, f"{file_prefix}{key}.csv", key, patient_code=code)


st.subheader("Your patients")
if st.button("Prepare the patient list", key="prepare_patients"):
    prepared["patients"] = (None, {"patients": ("Patient list", ui.load_or_stop(queries.list_patients, store, user))})
offer_prepared("patients", None, "")

code = ui.choose_patient(store, user)
if code is not None:
    st.subheader(f"Patient {code}")
    if st.button(f"Prepare {code}'s tables", key="prepare_tables"):
        prepared["patient"] = (code, {key: (label, ui.load_or_stop(fn, store, user, code))
                                      for key, (label, fn) in PATIENT_TABLES.items()})
    offer_prepared("patient", code, f"{code}_")
    st.subheader("Progress report (PDF)")
    if st.button("Prepare the PDF progress report", key="prepare_report"):
        st.session_state["report_pdf"] = (code, ui.load_or_stop(report.render_progress_report, store, user, code))
    pdf = st.session_state.get("report_pdf")
    if pdf is not None and pdf[0] == code:
        st.download_button("Download the PDF progress report", pdf[1], file_name=f"{code}_progress_report.pdf",
                           mime="application/pdf", key="report_download")

if user.is_admin:
    st.subheader("Programme (admin)")
    if st.button("Prepare the programme tables and the audit log", key="prepare_programme"):
        programme = ui.load_or_stop(queries.compute_programme_evaluation, store, user)
        change = ui.load_or_stop(function_queries.compute_functional_change, store, user)
        prepared["programme"] = (None, {
            "attendance": ("Attendance per week", programme.attendance),
            "pain_change": ("Pain change per patient", programme.pain_change),
            "rom_change": ("Range change per motion", programme.rom_change),
            "functional_change": ("Functional change per test", change.per_test),
            "functional_change_patients": ("Functional change per patient", change.per_patient),
            "checkin_outcomes": ("Pain, mood and satisfaction per patient",
                                 ui.load_or_stop(function_queries.compute_checkin_outcomes, store, user)),
            "audit_log": ("Audit log (newest entries)", ui.load_or_stop(queries.load_audit_log, store, user)),
        })
    offer_prepared("programme", None, "programme_")
