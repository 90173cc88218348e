"""Home programme (therapist role): what the patient practises at home, what is done today,
and the patient's own devices: a one-time link to connect one, and disconnecting them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import MindMoveError
from dashboard import home_queries, ui
from mindmove.auth import require_role
from mindmove.programme import (
    DEFAULT_BREATHING_MINUTES, MAX_BREATHING_MINUTES, MAX_BREATHING_SESSIONS_PER_DAY, MAX_REPETITIONS, MAX_SETS,
    HomeProgrammePlan, Prescription,
)
from mindmove.settings import load_settings

store, user = ui.require_user()
st.title("Home programme")
ui.load_or_stop(require_role, store, user, *home_queries.HOME_EDIT_ROLES, action="view_home_programme_page")
code = ui.choose_patient(store, user)
if code is None:
    st.stop()
settings = load_settings()
view = ui.load_or_stop(home_queries.load_home_practice, store, user, code)
day = view.day

if day is None:
    st.info(f"{code} has no home programme yet.")
    current = None
else:
    current = day.record.plan
    st.caption(f"Version {day.record.version}, set by {day.record.created_by} on "
               f"{ui.date_text(day.record.created_at)} UTC; {current.days_per_week} days a week. "
               f"Days with practice this week (UTC, from Monday): {day.practice_days_this_week}.")
    rows = [{"Exercise": i.prescription.exercise.replace("_", " ") + (f" ({i.prescription.side})" if i.prescription.side else ""),
             "Sets x repetitions": f"{i.prescription.sets} x {i.prescription.repetitions}",
             "Done today (repetitions)": f"{i.repetitions_done} of {i.repetitions_planned}"} for i in day.items]
    if day.breathing_planned:
        rows.append({"Exercise": f"guided breathing, {current.breathing_minutes:g} min",
                     "Sets x repetitions": f"{day.breathing_planned} a day",
                     "Done today (repetitions)": f"{day.breathing_done} of {day.breathing_planned} sessions"})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="home_plan_table")


def _exercise_choices() -> dict:
    from feedback.exercises import load_exercises

    return ui.load_or_stop(load_exercises, directory=settings.exercises_dir)


st.subheader("Set the home programme")
exercises = _exercise_choices()
prescribed = {(p.exercise, p.side): p for p in (current.items if current else ())}
chosen = st.multiselect("Exercises", list(exercises), default=sorted({e for e, _ in prescribed}),
                        format_func=lambda n: exercises[n].title, key=f"home_exercises_{code}")
with st.form(f"home_programme_{code}"):
    items = []
    for name in chosen:
        ex = exercises[name]
        old = next((p for (e, _), p in prescribed.items() if e == name), None)
        c1, c2, c3 = st.columns(3)
        sides = [None, *ex.tracking.sides] if ex.tracking.sides else [None]
        side = c1.selectbox(f"{ex.title}: side", sides, index=sides.index(old.side) if old and old.side in sides else 0,
                            format_func=lambda s: "as the exercise says" if s is None else s, key=f"side_{code}_{name}")
        sets = c2.number_input(f"{ex.title}: sets", 1, MAX_SETS, old.sets if old else 2, key=f"sets_{code}_{name}")
        reps = c3.number_input(f"{ex.title}: repetitions per set", 1, MAX_REPETITIONS, old.repetitions if old else 8,
                               key=f"reps_{code}_{name}")
        items.append(Prescription(exercise=name, side=side, sets=int(sets), repetitions=int(reps)))
    c1, c2, c3 = st.columns(3)
    days = c1.number_input("Days a week", 1, 7, current.days_per_week if current else 5, key=f"days_{code}")
    breathing = c2.number_input("Guided breathing sessions a day", 0, MAX_BREATHING_SESSIONS_PER_DAY,
                                current.breathing_sessions_per_day if current else 1, key=f"breathing_{code}")
    minutes = c3.number_input("Minutes per breathing session", 1.0, MAX_BREATHING_MINUTES,
                              float(current.breathing_minutes if current else DEFAULT_BREATHING_MINUTES), step=1.0,
                              key=f"minutes_{code}")
    notes = st.text_input("Notes", current.notes if current else "", max_chars=1000, key=f"notes_{code}")
    submitted = st.form_submit_button("Save as a new version")
if submitted:
    plan = HomeProgrammePlan(items=tuple(items), days_per_week=int(days), breathing_sessions_per_day=int(breathing),
                             breathing_minutes=float(minutes), notes=notes)
    try:
        record = home_queries.save_home_programme(store, user, code, plan, exercises_dir=settings.exercises_dir)
    except MindMoveError as exc:
        ui.show_refusal(exc)
    else:
        st.success(f"Saved version {record.version} of {code}'s home programme.")
        st.rerun()

st.subheader("The patient's devices")
st.caption("A link connects the patient's own computer, tablet or phone for home practice. Their video stays on "
           "their device; only the positions of their joints reach the clinic.")
c1, c2 = st.columns([1, 2])
valid_hours = c1.number_input("Link valid for (hours)", 1, 14 * 24, 72, key=f"valid_{code}")
if c2.button("Make a link for the patient's device", key=f"invite_{code}"):
    try:
        invitation = home_queries.invite_home_device(store, user, code, valid_hours=float(valid_hours))
    except MindMoveError as exc:
        ui.show_refusal(exc)
    else:
        st.success(f"One-time link for {code}, valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC. Give it to the "
                   "patient (it is shown only now):")
        st.code(invitation.link(settings.home_url), language=None)
if view.devices:
    st.dataframe(pd.DataFrame([{"Device": d.id, "Browser": d.label[:80], "Connected (UTC)": ui.date_text(d.created_at),
                                "Last seen (UTC)": ui.date_text(d.last_seen_at),
                                "Disconnected": ui.date_text(d.revoked_at) or "-"} for d in view.devices]),
                 hide_index=True, width="stretch", key="devices_table")
    live = [d.id for d in view.devices if d.revoked_at is None]
    if live:
        c1, c2 = st.columns(2)
        device = c1.selectbox("Device", live, key=f"revoke_device_{code}")
        if c1.button("Disconnect this device", key=f"revoke_one_{code}"):
            ui.load_or_stop(home_queries.revoke_home_device, store, user, code, device_id=int(device))
            st.rerun()
        if c2.button("Disconnect all of the patient's devices", key=f"revoke_all_{code}"):
            ui.load_or_stop(home_queries.revoke_home_device, store, user, code)
            st.rerun()
