"""A patient's home programme (prescription): what to practise at home, and what is done.

A therapist sets it from the command line (``mindmove programme set``) or on the dashboard's
Calibration page; the patient's own page (``mindmove serve``) shows today's plan and what is
done. Each change is a new version (:class:`~mindmove.store.models.HomeProgramme`), never an
edit, and is audited (``programme_set``; a refused one with ``success=False``).

- an item (:class:`Prescription`): an exercise of the registry (``mindmove exercises``,
  shipped or the clinic's own), optionally one side, ``sets`` x ``repetitions`` on a practice day;
- ``days_per_week``: how many days a week to practise;
- ``breathing_sessions_per_day`` guided breathing sessions of ``breathing_minutes`` on a
  practice day (the pacer, no belt needed at home).

What is done (:func:`compute_programme_day`) counts every session of the day, at the clinic
or at home: the repetitions recorded for each prescribed exercise (and side), the breathing
sessions, and the days of the week with any session. Days are UTC days, as everywhere in the
store (the dashboard's remote-monitoring days count the same way).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from core.errors import ValidationError
from core.patients import check_patient_code
from mindmove.store.db import Store
from mindmove.store.models import HomeProgramme, HomeProgrammeItem, Patient, Repetition, Session, utcnow

log = logging.getLogger(__name__)

# Bounds of what a prescription may say: home programmes for older adults in pain prescribe
# 1-3 sets of 8-15 repetitions on most days (ACSM Guidelines for Exercise Testing and
# Prescription, 11th ed., older adults); the bounds leave room for a therapist's own choice
# while refusing a typing slip (100 sets, 8 days a week).
MAX_SETS = 10
MAX_REPETITIONS = 50
MAX_ITEMS = 12
MAX_BREATHING_SESSIONS_PER_DAY = 6
MIN_BREATHING_MINUTES, MAX_BREATHING_MINUTES = 1.0, 30.0
DEFAULT_BREATHING_MINUTES = 5.0
MAX_NOTES_CHARS = 1000
ITEM_PATTERN = re.compile(r"^(?P<exercise>[A-Za-z0-9_-]+)(?::(?P<side>left|right))?=(?P<sets>\d+)x(?P<reps>\d+)$")


@dataclass(frozen=True)
class Prescription:
    """One prescribed exercise: ``sets`` x ``repetitions``, on ``side`` (None: the exercise's own)."""

    exercise: str
    sets: int
    repetitions: int
    side: str | None = None

    @property
    def label(self) -> str:
        """``standing_shoulder_flexion=2x8`` or ``seated_knee_extension:left=3x10`` (the CLI form)."""
        side = f":{self.side}" if self.side else ""
        return f"{self.exercise}{side}={self.sets}x{self.repetitions}"


@dataclass(frozen=True)
class HomeProgrammePlan:
    """What a patient practises at home (see the module docstring)."""

    items: tuple[Prescription, ...]
    days_per_week: int
    breathing_sessions_per_day: int = 0
    breathing_minutes: float = DEFAULT_BREATHING_MINUTES
    notes: str = ""


@dataclass(frozen=True)
class ProgrammeRecord:
    """One stored version of a patient's home programme."""

    id: int
    patient_code: str
    version: int
    created_at: datetime
    created_by: str
    plan: HomeProgrammePlan


def parse_prescription(text: str, /) -> Prescription:
    """``EXERCISE[:SIDE]=SETSxREPS`` (``standing_shoulder_flexion=2x8``) -> a :class:`Prescription`."""
    match = ITEM_PATTERN.match(str(text).strip())
    if match is None:
        raise ValidationError(f"Expected an exercise as NAME=SETSxREPS or NAME:left=SETSxREPS "
                              f"(e.g. standing_shoulder_flexion=2x8), but got {text!r}.")
    return Prescription(exercise=match["exercise"], sets=int(match["sets"]), repetitions=int(match["reps"]),
                        side=match["side"])


def _check_between(label: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValidationError(f"{label}: expected {low:g} to {high:g}, but got {value:g}.")


def validate_plan(plan: HomeProgrammePlan, /, *, exercises_dir: Path | None = None) -> None:
    """Refuse (:class:`ValidationError`, one line) a plan a patient could not follow: an unknown
    exercise, a side the exercise has not, numbers outside the bounds above, a repeated item."""
    from feedback.exercises import load_exercises

    known = load_exercises(directory=exercises_dir)
    if not plan.items and plan.breathing_sessions_per_day == 0:
        raise ValidationError("A home programme needs at least one exercise (--exercise NAME=SETSxREPS) "
                              "or breathing sessions (--breathing-sessions N).")
    if len(plan.items) > MAX_ITEMS:
        raise ValidationError(f"A home programme holds at most {MAX_ITEMS} exercises, but got {len(plan.items)}.")
    seen = set()
    for item in plan.items:
        if item.exercise not in known:
            raise ValidationError(f"Unknown exercise {item.exercise!r}: expected one of {', '.join(known)}. "
                                  "Run 'mindmove exercises' to see them.")
        if item.side is not None:
            known[item.exercise].with_side(item.side)  # refuses a side on an exercise without one
        if (item.exercise, item.side) in seen:
            raise ValidationError(f"{item.label} is prescribed twice; give each exercise (and side) once.")
        seen.add((item.exercise, item.side))
        _check_between(f"Sets of {item.exercise}", item.sets, 1, MAX_SETS)
        _check_between(f"Repetitions of {item.exercise}", item.repetitions, 1, MAX_REPETITIONS)
    _check_between("Days per week", plan.days_per_week, 1, 7)
    _check_between("Breathing sessions per day", plan.breathing_sessions_per_day, 0, MAX_BREATHING_SESSIONS_PER_DAY)
    _check_between("Minutes per breathing session", plan.breathing_minutes, MIN_BREATHING_MINUTES,
                   MAX_BREATHING_MINUTES)
    if len(plan.notes) > MAX_NOTES_CHARS:
        raise ValidationError(f"Notes are at most {MAX_NOTES_CHARS} characters, but got {len(plan.notes)}.")


def _record(row: HomeProgramme, code: str) -> ProgrammeRecord:
    from mindmove.store.models import as_utc

    items = tuple(Prescription(exercise=i.exercise, sets=i.sets, repetitions=i.repetitions, side=i.side)
                  for i in sorted(row.items, key=lambda i: i.position))
    plan = HomeProgrammePlan(items=items, days_per_week=row.days_per_week,
                             breathing_sessions_per_day=row.breathing_sessions_per_day,
                             breathing_minutes=row.breathing_minutes, notes=row.notes or "")
    return ProgrammeRecord(id=row.id, patient_code=code, version=row.version, created_at=as_utc(row.created_at),
                           created_by=row.created_by, plan=plan)


def _patient_id(db, code: str) -> int:
    patient_id = db.scalar(select(Patient.id).where(Patient.code == code))
    if patient_id is None:
        raise ValidationError(f"There is no patient {code!r}. Register them first with "
                              "`mindmove patient add CODE --team TEAM`.")
    return patient_id


def save_programme(store: Store, patient_code: str, plan: HomeProgrammePlan, /, *, by: str, client: str = "",
                   exercises_dir: Path | None = None) -> ProgrammeRecord:
    """Store ``plan`` as the patient's new programme version (validated, audited ``programme_set``)."""
    from mindmove.auth import audit

    code = check_patient_code(patient_code)
    try:
        validate_plan(plan, exercises_dir=exercises_dir)
        with store.session() as db:
            patient_id = _patient_id(db, code)
            latest = db.scalar(select(func.max(HomeProgramme.version)).where(HomeProgramme.patient_id == patient_id))
            row = HomeProgramme(patient_id=patient_id, version=(latest or 0) + 1, created_by=by[:160],
                                days_per_week=plan.days_per_week,
                                breathing_sessions_per_day=plan.breathing_sessions_per_day,
                                breathing_minutes=float(plan.breathing_minutes), notes=plan.notes.strip(),
                                items=[HomeProgrammeItem(position=k, exercise=i.exercise, side=i.side, sets=i.sets,
                                                         repetitions=i.repetitions)
                                       for k, i in enumerate(plan.items)])
            db.add(row)
            db.flush()
            record = _record(row, code)
    except ValidationError as exc:
        audit(store, by, "programme_set", patient_code=code, success=False, client=client, detail=f"refused: {exc}")
        raise
    audit(store, by, "programme_set", patient_code=code, client=client,
          detail=f"version={record.version}; " + describe_plan(record.plan))
    return record


def describe_plan(plan: HomeProgrammePlan, /) -> str:
    """One line for the audit log and the CLI: items, days, breathing."""
    items = ", ".join(i.label for i in plan.items) or "no exercises"
    breathing = (f"; breathing {plan.breathing_sessions_per_day}x{plan.breathing_minutes:g} min"
                 if plan.breathing_sessions_per_day else "")
    return f"{items}; {plan.days_per_week} days/week{breathing}"


def load_programme(store: Store, patient_code: str, /) -> ProgrammeRecord | None:
    """The programme in force (the newest version), or None when none was set."""
    code = check_patient_code(patient_code)
    with store.session() as db:
        row = db.scalar(select(HomeProgramme).join(Patient, Patient.id == HomeProgramme.patient_id)
                        .where(Patient.code == code).order_by(HomeProgramme.version.desc()).limit(1))
        return None if row is None else _record(row, code)


# --- today's plan and what is done -------------------------------------------------------------

@dataclass(frozen=True)
class ItemProgress:
    """One prescribed exercise on one day: repetitions recorded, and whole sets done."""

    prescription: Prescription
    repetitions_done: int

    @property
    def repetitions_planned(self) -> int:
        return self.prescription.sets * self.prescription.repetitions

    @property
    def sets_done(self) -> int:
        return min(self.prescription.sets, self.repetitions_done // self.prescription.repetitions)

    @property
    def done(self) -> bool:
        return self.repetitions_done >= self.repetitions_planned


@dataclass(frozen=True)
class ProgrammeDay:
    """The plan of one (UTC) day and what is done: per item, breathing sessions, days this week."""

    record: ProgrammeRecord
    day: date
    items: tuple[ItemProgress, ...]
    breathing_done: int
    practice_days_this_week: int  # Monday to ``day``, any session

    @property
    def breathing_planned(self) -> int:
        return self.record.plan.breathing_sessions_per_day


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def _repetitions_by_item(db, patient_id: int, items, start: datetime, end: datetime) -> list[int]:
    rows = db.execute(select(Session.exercise, Repetition.angle_name, func.count(Repetition.id))
                      .join(Repetition, Repetition.session_id == Session.id)
                      .where(Session.patient_id == patient_id, Session.started_at >= start, Session.started_at < end)
                      .group_by(Session.exercise, Repetition.angle_name)).all()
    done = []
    for item in items:
        done.append(sum(n for exercise, angle, n in rows
                        if exercise == item.exercise and (item.side is None or angle.startswith(f"{item.side}_"))))
    return done


def compute_programme_day(store: Store, patient_code: str, /, *, now: datetime | None = None) -> ProgrammeDay | None:
    """Today's plan (the programme in force) and what the patient did today; None without a programme."""
    record = load_programme(store, patient_code)
    if record is None:
        return None
    now = (now or utcnow()).astimezone(timezone.utc)
    start, end = _day_bounds(now.date())
    week_start = start - timedelta(days=now.weekday())
    with store.session() as db:
        patient_id = _patient_id(db, record.patient_code)
        reps = _repetitions_by_item(db, patient_id, record.plan.items, start, end)
        breathing = db.scalar(select(func.count(Session.id)).where(
            Session.patient_id == patient_id, Session.kind == "breathe", Session.status != "running",
            Session.started_at >= start, Session.started_at < end)) or 0
        days = db.execute(select(Session.started_at).where(
            Session.patient_id == patient_id, Session.started_at >= week_start, Session.started_at < end)).scalars()
        day_set = {d.date() if d.tzinfo is None else d.astimezone(timezone.utc).date() for d in days}
    return ProgrammeDay(record=record, day=now.date(),
                        items=tuple(ItemProgress(i, n) for i, n in zip(record.plan.items, reps)),
                        breathing_done=int(breathing), practice_days_this_week=len(day_set))
