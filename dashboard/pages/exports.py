"""Exports: CSV of every table the user may see, and a PDF progress report per patient.

Nothing is read until the user asks: each group of tables is read (and its views audited)
when its "Prepare" button is clicked, then kept in the session, so a rerun or a download
click reads nothing again. Downloads are links to the dashboard's own download route
(:mod:`dashboard.downloads`), never Streamlit's ``/media/`` URLs: each works once, in this
browser, while this user is signed in, for two minutes (a fresh link is drawn on each click),
and each fetch writes one ``export_csv`` / ``export_pdf`` audit entry. Every text cell of a
CSV is neutralised against spreadsheet formulas (:func:`dashboard.report.render_csv`).
"""

from __future__ import annotations

import hashlib

import streamlit as st

from dashboard import downloads, function_queries, queries, report, ui
from mindmove.auth import audit

PREPARED_KEY = "exports_prepared"  # section -> (patient code or None, {key: (label, table)})
LINKS_KEY = "exports_links"        # download key -> (token, digest of the file it serves)
PATIENT_TABLES = {
    "sessions": ("Sessions", queries.list_sessions),
    "mobility": ("Mobility (range of motion per session)", queries.compute_mobility),
    "repetitions": ("Repetitions", queries.compute_repetitions),
    "gait": ("Gait", queries.compute_gait_trends),
    "function": ("Function (functional tests, with norms and provenance)", function_queries.compute_function_trends),
    "breath": ("Breath", queries.compute_breath_trends),
    "checkins": ("Check-ins", queries.compute_checkins),
}
# a link drawn with less than this left is drawn anew, so a click always finds it working
MIN_LINK_LEFT_S = downloads.LINK_TTL_S / 2

store, user = ui.require_user()
st.title("Exports")
st.caption("Prepare the tables you need, then download them. Each download link works once, in this browser, "
           "for two minutes, and each download is written to the audit log. Times are UTC.")
if not user.device:
    st.info("Downloads need the dashboard started with `mindmove dashboard` (dashboard/server.py), which "
            "recognises this browser. Tables can still be prepared and viewed on the other pages.")
prepared: dict = st.session_state.setdefault(PREPARED_KEY, {})
links: dict = st.session_state.setdefault(LINKS_KEY, {})


def _used(key: str) -> None:
    """The link of ``key`` was clicked: the next run draws a new one (this one is spent)."""
    links.pop(key, None)


def offer(label: str, data: bytes, *, key: str, file_name: str, mime: str, action: str,
          patient_code: str | None, detail: str) -> None:
    """A download link for ``data`` (a fresh grant when the last one is spent, stale or for other data)."""
    digest = hashlib.sha256(data).hexdigest()
    token, for_digest = links.get(key, (None, None))
    if token is None or for_digest != digest or downloads.GRANTS.remaining_s(token) < MIN_LINK_LEFT_S:
        token = downloads.GRANTS.issue(user, data, file_name=file_name, mime=mime, action=action,
                                       patient_code=patient_code, detail=detail)
        links[key] = (token, digest)
    st.link_button(label, downloads.download_url(token), key=f"download_{key}", on_click=_used, args=(key,),
                   disabled=not user.device)


def offer_prepared(section: str, code: str | None, file_prefix: str) -> None:
    ready = prepared.get(section)
    if ready is None or ready[0] != code:
        return
    for key, (label, df) in ready[1].items():
        offer(f"{label} (CSV, {len(df)} rows)", report.render_csv(df), key=key, file_name=f"{file_prefix}{key}.csv",
              mime="text/csv", action="export_csv", patient_code=code, detail=f"table={key} rows={len(df)}")


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
        offer("Download the PDF progress report", pdf[1], key="report_pdf", file_name=f"{code}_progress_report.pdf",
              mime="application/pdf", action="export_pdf", patient_code=code, detail=f"bytes={len(pdf[1])}")

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
