"""MindMove's clinician dashboard: the pages (``mindmove dashboard`` serves them through ``dashboard/server.py``).

Signed out, the only page is the sign-in form: no query touches patient data. Signed in,
the pages the user's role may use are listed with ``st.navigation``; the user is kept in
``st.session_state``, checked against the database on every rerun (so a deactivated user is
signed out and a changed role changes the pages), and every page reads through
:mod:`dashboard.queries`, which checks the care team and writes the audit log. See
``docs/dashboard.md``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import ui

st.set_page_config(page_title="MindMove dashboard", layout="wide", initial_sidebar_state="expanded")

PATIENT_PAGES = [
    st.Page("pages/patients.py", title="Patients", default=True),
    st.Page("pages/mobility.py", title="Mobility"),
    st.Page("pages/gait.py", title="Gait"),
    st.Page("pages/function.py", title="Function"),
    st.Page("pages/breath.py", title="Breath"),
    st.Page("pages/checkins.py", title="Check-ins"),
    st.Page("pages/session_detail.py", title="Session detail"),
]
THERAPIST_PAGES = [st.Page("pages/calibration.py", title="Calibration"),
                   st.Page("pages/home_programme.py", title="Home programme")]
ADMIN_PAGES = [st.Page("pages/programme.py", title="Programme")]
EXPORT_PAGES = [st.Page("pages/exports.py", title="Exports")]

user = ui.check_signed_in_user(mark_checked=True)  # deactivated, re-roled or idle: as the database says now
if user is None:
    page = st.navigation([st.Page(ui.render_sign_in, title="Sign in", url_path="sign-in")], position="hidden")
else:
    sections = {"Patient": PATIENT_PAGES}
    if user.role == "therapist":
        sections["Therapist"] = THERAPIST_PAGES
    if user.is_admin:
        sections["Programme"] = ADMIN_PAGES
    sections["Records"] = EXPORT_PAGES
    page = st.navigation(sections)
    ui.render_sign_out(user)
page.run()
