"""Calibration (therapist role): the current profile, its history, and editing a safe range
with the same validation as ``mindmove profile set``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from calibration.limits import MOTIONS, PHYSIOLOGICAL_LIMITS
from calibration.profile import MAX_CAUTION_MARGIN_DEG
from core.ranges import DEFAULT_CAUTION_MARGIN_DEG
from dashboard import queries, ui
from mindmove.auth import require_role
from mindmove.store.profiles import CALIBRATION_EDIT_ROLES, save_range_change
from core.errors import MindMoveError

store, user = ui.require_user()
st.title("Calibration")
ui.load_or_stop(require_role, store, user, *CALIBRATION_EDIT_ROLES, action="view_calibration_page")
code = ui.choose_patient(store, user)
if code is None:
    st.stop()
view = ui.load_or_stop(queries.load_calibration, store, user, code)
st.page_link("pages/home_programme.py", label="Home programme: what this patient practises at home, and their devices")

current = view.current
if current is None:
    st.info(f"{code} has no calibration profile yet: live sessions use the conservative default ranges.")
    ranges = {}
else:
    st.caption(f"Version {current.version}, by {current.created_by} on {ui.date_text(current.created_at)} UTC: "
               f"{current.reason}")
    ranges = current.profile.ranges
    if ranges:
        st.subheader("Safe ranges")
        ui.show_table(pd.DataFrame([
            {"Motion": m.replace("_", " "), "Minimum (deg)": r.min_deg, "Maximum (deg)": r.max_deg,
             "Caution margin (deg)": r.caution_margin_deg} for m, r in sorted(ranges.items())]), key="ranges_table")
    b = current.profile.breath
    if b is not None:
        st.write(f"Breath: resting {ui.number_text(b.resting_rate_bpm)} breaths/min, "
                 f"target {b.target_rate_bpm:g} breaths/min, inhale:exhale 1:{b.ie_ratio:g}")
    if current.profile.height_m is not None:
        st.write(f"Height: {current.profile.height_m:.2f} m")

st.subheader("Change a safe range")
choices = sorted(ranges) + [m for m in MOTIONS if m not in ranges]  # calibrated motions first
motion = st.selectbox("Motion", choices, key="edit_motion", format_func=lambda m: m.replace("_", " "))
existing = ranges.get(motion)
low, high = PHYSIOLOGICAL_LIMITS[motion]
st.caption(f"Accepted for {motion.replace('_', ' ')}: {low:g} to {high:g} deg (physiological limits). "
           + ("Currently " + f"{existing.min_deg:g} to {existing.max_deg:g} deg." if existing else
              "Not calibrated yet: live sessions use the conservative default."))
with st.form(f"edit_range_{motion}"):
    c1, c2, c3 = st.columns(3)
    min_deg = c1.number_input("Minimum (deg)", value=float(existing.min_deg) if existing else 0.0, step=1.0,
                              key=f"edit_min_deg_{motion}")
    max_deg = c2.number_input("Maximum (deg)", value=float(existing.max_deg) if existing else 90.0, step=1.0,
                              key=f"edit_max_deg_{motion}")
    margin = c3.number_input("Caution margin (deg)", min_value=0.0, max_value=MAX_CAUTION_MARGIN_DEG,
                             value=float(existing.caution_margin_deg) if existing else DEFAULT_CAUTION_MARGIN_DEG,
                             step=1.0, key=f"edit_margin_deg_{motion}")
    reason = st.text_input("Reason for the change", key=f"edit_reason_{motion}", max_chars=500)
    submitted = st.form_submit_button("Save as a new version")
if submitted:
    try:
        record = save_range_change(store, user, code, motion=motion, min_deg=float(min_deg),
                                   max_deg=float(max_deg), caution_margin_deg=float(margin), reason=reason)
    except MindMoveError as exc:
        ui.show_refusal(exc)
    else:
        st.success(f"Saved version {record.version} for {code}.")
        st.rerun()
if view.history:
    st.subheader("History")
    st.dataframe(pd.DataFrame([
        {"Version": r.version, "Saved (UTC)": ui.date_text(r.created_at), "By": r.created_by, "Reason": r.reason,
         "Ranges": "; ".join(f"{m} {v.min_deg:g}..{v.max_deg:g}" for m, v in sorted(r.profile.ranges.items()))}
        for r in reversed(view.history)]), hide_index=True, width="stretch", key="history_table")
