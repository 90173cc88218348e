"""Home programmes: validation, versions, audit, today's progress from clinic and home sessions,
the CLI, and home sessions in the dashboard's queries (sessions list, remote-monitoring days)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core.errors import ValidationError
from mindmove.auth import create_patient, create_team, create_user
from mindmove.cli import main
from mindmove.programme import (
    HomeProgrammePlan, Prescription, compute_programme_day, load_programme, parse_prescription, save_programme,
)
from mindmove.store import open_store
from mindmove.store.models import AuditEntry, Patient, Repetition, Session

NOW = datetime(2026, 3, 12, 15, 0, tzinfo=timezone.utc)  # a Thursday


@pytest.fixture
def store():
    s = open_store()
    create_team(s, "north", by="test")
    create_patient(s, "P001", team="north", by="test")
    create_patient(s, "P002", team="north", by="test")
    yield s
    s.dispose()


def _plan(*items, days=5, breathing=0):
    return HomeProgrammePlan(items=tuple(parse_prescription(i) for i in items), days_per_week=days,
                             breathing_sessions_per_day=breathing)


def test_parse_prescriptions():
    assert parse_prescription("standing_shoulder_flexion=2x8") == Prescription("standing_shoulder_flexion", 2, 8)
    assert parse_prescription(" seated_knee_extension:left=3x10 ") == Prescription("seated_knee_extension", 3, 10, "left")
    for bad in ("standing_shoulder_flexion", "x=2*8", "x:up=2x8", "x=2x", "=2x8"):
        with pytest.raises(ValidationError, match="NAME=SETSxREPS"):
            parse_prescription(bad)


@pytest.mark.parametrize("plan, message", [
    (_plan("no_such_exercise=2x8"), "Unknown exercise 'no_such_exercise'"),
    (_plan("neck_rotation:left=2x8"), "has no side"),
    (_plan("elbow_flexion=0x8"), "Sets of elbow_flexion: expected 1 to 10, but got 0"),
    (_plan("elbow_flexion=2x51"), "Repetitions of elbow_flexion: expected 1 to 50"),
    (_plan("elbow_flexion=2x8", "elbow_flexion=3x8"), "prescribed twice"),
    (_plan("elbow_flexion=2x8", days=8), "Days per week: expected 1 to 7"),
    (_plan(days=5), "at least one exercise"),
])
def test_a_plan_the_patient_could_not_follow_is_refused_and_audited(store, plan, message):
    with pytest.raises(ValidationError, match=message):
        save_programme(store, "P001", plan, by="ana")
    assert load_programme(store, "P001") is None
    with store.session() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "programme_set")).one()
    assert (entry.username, entry.success, entry.patient_code) == ("ana", False, "P001")


def test_versions_and_today_s_progress_count_clinic_and_home_sessions(store):
    first = save_programme(store, "P001", _plan("elbow_flexion=2x8"), by="ana")
    second = save_programme(store, "P001", _plan("elbow_flexion:left=2x5", "standing_shoulder_flexion=1x8",
                                                 breathing=2), by="ben")
    assert (first.version, second.version) == (1, 2)
    assert load_programme(store, "P001").plan.items[0] == Prescription("elbow_flexion", 2, 5, "left")
    with store.session() as db:
        p1, p2 = (db.scalar(select(Patient.id).where(Patient.code == c)) for c in ("P001", "P002"))

        def session(patient, day_offset, kind, exercise, location, reps, angle):
            s = Session(patient_id=patient, kind=kind, exercise=exercise, location=location, status="completed",
                        started_at=NOW + timedelta(days=day_offset, hours=-1))
            db.add(s)
            db.flush()
            db.add_all(Repetition(session_id=s.id, index=k + 1, angle_name=angle, t_start_s=k, t_end_s=k + 1,
                                  peak_deg=90.0) for k in range(reps))

        session(p1, 0, "practice", "elbow_flexion", "clinic", 4, "left_elbow_flexion_deg")
        session(p1, 0, "practice", "elbow_flexion", "home", 3, "left_elbow_flexion_deg")
        session(p1, 0, "practice", "elbow_flexion", "home", 6, "right_elbow_flexion_deg")  # the other side
        session(p1, 0, "breathe", None, "home", 0, "")
        session(p1, -1, "practice", "elbow_flexion", "home", 9, "left_elbow_flexion_deg")  # yesterday
        session(p1, -4, "practice", "standing_shoulder_flexion", "home", 2, "right_shoulder_flexion_deg")  # Sunday before
        session(p2, 0, "practice", "elbow_flexion", "home", 10, "left_elbow_flexion_deg")  # another patient
    day = compute_programme_day(store, "P001", now=NOW)
    elbow, shoulder = day.items
    assert (elbow.repetitions_done, elbow.repetitions_planned, elbow.sets_done, elbow.done) == (7, 10, 1, False)
    assert (shoulder.repetitions_done, shoulder.sets_done) == (0, 0)
    assert (day.breathing_done, day.breathing_planned) == (1, 2)
    assert day.practice_days_this_week == 2  # Wednesday and Thursday (the Sunday was last week)
    assert compute_programme_day(store, "P002", now=NOW) is None


def test_home_sessions_are_listed_and_count_as_remote_monitoring_days(store):
    from dashboard.queries import list_patients, list_sessions
    from mindmove.auth import authenticate

    create_user(store, "thera", "a long password", role="therapist", teams=["north"], by="test")
    user = authenticate(store, "thera", "a long password")
    now = datetime.now(timezone.utc)
    with store.session() as db:
        p1 = db.scalar(select(Patient.id).where(Patient.code == "P001"))
        db.add_all([Session(patient_id=p1, kind="practice", location="clinic", status="completed",
                            started_at=now - timedelta(days=3)),
                    Session(patient_id=p1, kind="practice", location="home", status="completed",
                            started_at=now - timedelta(days=2)),
                    Session(patient_id=p1, kind="breathe", location="home", status="completed",
                            started_at=now - timedelta(days=1))])
    sessions = list_sessions(store, user, "P001")
    assert list(sessions["location"]) == ["home", "home", "clinic"]
    row = list_patients(store, user).set_index("patient_code").loc["P001"]
    assert row["days_with_data_in_period"] == 3 and row["sessions_in_period"] == 3


def test_cli_programme_set_and_show(capsys, store):
    code = main(["programme", "set", "--patient", "P001", "--exercise", "standing_shoulder_flexion=2x8",
                 "--exercise", "seated_knee_extension:left=3x10", "--days-per-week", "4", "--breathing-sessions", "1",
                 "--breathing-min", "6"])
    out = capsys.readouterr().out
    assert code == 0 and "version 1 for P001" in out and "seated_knee_extension:left=3x10" in out
    code = main(["programme", "show", "--patient", "P001"])
    out = capsys.readouterr().out
    assert code == 0 and "standing_shoulder_flexion: 2 x 8; today 0 of 16 repetitions" in out
    assert "guided breathing: 1 x 6 min" in out
    code = main(["programme", "set", "--patient", "P001", "--exercise", "seated_knee_extension=3x100"])
    assert code == 2 and "Repetitions of seated_knee_extension: expected 1 to 50, but got 100" in capsys.readouterr().err
    with store.session() as db:
        actions = [(a.action, a.success) for a in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert ("programme_set", True) in actions and ("view_programme_plan", True) in actions
    assert ("programme_set", False) in actions
