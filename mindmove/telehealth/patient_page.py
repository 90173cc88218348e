"""What the patient's own page shows: today's plan, what is done, their recent sessions.

Everything here is for ONE patient, the one the device's token names (there is no patient
argument a page could change). Texts come from the message catalogue, so a clinic's
translation reaches the page too. Each load is audited (``patient_view_plan``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from feedback.messages import load_catalogue, message
from mindmove.store.db import Store
from mindmove.store.models import Repetition, Session
from mindmove.telehealth.access import PatientIdentity, device_actor

RECENT_SESSIONS = 10
PAGE_TEXT_SECTIONS = ("home.", "session.", "repetitions.", "breath.", "exercise.")


def load_page_texts() -> dict[str, str]:
    """The catalogue's sentences the page shows by itself (the rest come with each view)."""
    return {k: v for k, v in load_catalogue().items() if k.startswith(PAGE_TEXT_SECTIONS)}


def _exercise_title(name: str, exercises_dir) -> str:
    from core.errors import InputError
    from feedback.exercises import exercise_title, load_exercise

    try:
        return exercise_title(load_exercise(name, directory=exercises_dir))
    except InputError:  # an exercise file removed since it was prescribed
        return name.replace("_", " ")


def _plan(store: Store, identity: PatientIdentity, *, now: datetime | None, exercises_dir) -> dict | None:
    from mindmove.programme import compute_programme_day

    day = compute_programme_day(store, identity.patient_code, now=now)
    if day is None:
        return None
    plan = day.record.plan
    items = [{"exercise": i.prescription.exercise, "side": i.prescription.side,
              "title": _exercise_title(i.prescription.exercise, exercises_dir),
              "sets": i.prescription.sets, "repetitions": i.prescription.repetitions,
              "repetitions_done": i.repetitions_done, "repetitions_planned": i.repetitions_planned,
              "sets_done": i.sets_done, "done": i.done} for i in day.items]
    return {"version": day.record.version, "day": day.day.isoformat(), "items": items,
            "days_per_week": plan.days_per_week, "practice_days_this_week": day.practice_days_this_week,
            "breathing_planned": day.breathing_planned, "breathing_done": day.breathing_done,
            "breathing_minutes": plan.breathing_minutes}


def _recent_sessions(store: Store, identity: PatientIdentity, exercises_dir) -> list[dict]:
    reps = (select(Repetition.session_id, func.count(Repetition.id).label("n"))
            .group_by(Repetition.session_id).subquery("n_reps"))
    with store.session() as db:
        rows = db.execute(select(Session.started_at, Session.kind, Session.exercise, Session.location,
                                 Session.active_s, func.coalesce(reps.c.n, 0))
                          .outerjoin(reps, reps.c.session_id == Session.id)
                          .where(Session.patient_id == identity.patient_id, Session.status != "running",
                                 Session.kind.in_(("practice", "breathe")))
                          .order_by(Session.started_at.desc()).limit(RECENT_SESSIONS)).all()
    out = []
    for started, kind, exercise, location, active_s, n_reps in rows:
        what = (_exercise_title(exercise, exercises_dir) if kind == "practice" and exercise
                else message("home.breathing", minutes=round((active_s or 0) / 60.0)))
        out.append({"date": started.strftime("%Y-%m-%d"), "what": what, "location": location,
                    "repetitions": int(n_reps) if kind == "practice" else None,
                    "minutes": round((active_s or 0.0) / 60.0, 1)})
    return out


def load_patient_page(store: Store, identity: PatientIdentity, /, *, now: datetime | None = None,
                      exercises_dir=None) -> dict:
    """Today's plan with what is done, and the recent sessions (clinic and home), for the page."""
    from mindmove.auth import audit

    page = {"plan": _plan(store, identity, now=now, exercises_dir=exercises_dir),
            "sessions": _recent_sessions(store, identity, exercises_dir)}
    audit(store, device_actor(identity.device_id), "patient_view_plan", patient_code=identity.patient_code)
    return page
