"""Recording a session as it happens, so a crash loses at most the last second.

A :class:`SessionRecorder` creates the session row at :meth:`~SessionRecorder.start`, buffers
samples, cues and repetitions in memory, and commits them every ``flush_interval_s`` (1 s)
of session time. :meth:`~SessionRecorder.finish` writes the summary and marks the session
``completed``. Each session records the process that owns it (id and start time, on its
station). A process killed mid-session leaves the row ``running``; the next start on the same
station calls :func:`mark_interrupted_sessions`, which marks it ``interrupted`` (ending when it
was last written, never before it started) once its process is gone, and keeps every sample
already written. A session whose process still runs (a second session on the same computer)
is left alone. Closing a session (either way) notes whether it recorded anything
(``recorded_nothing``): one that did not is not counted as practice by the dashboard. A
commit the store refuses (busy, unreachable) is logged and retried by the next flush or
:meth:`~SessionRecorder.finish`: nothing buffered is dropped.

No image or video is ever written here.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import case, exists, or_, select, update

from core.errors import StoreError, ValidationError
from core.timing import NO_TIMER
from mindmove.store.db import Store
from mindmove.store.models import (
    BreathResult, CheckIn, CueEvent, GaitResult, Patient, Repetition, Sample, Session, SessionMetric, utcnow,
)

log = logging.getLogger(__name__)

PAIN_RANGE = (0, 10)
MOOD_RANGE = (1, 5)
SATISFACTION_RANGE = (1, 5)  # "How satisfied are you with today's session?" 1 not at all - 5 very


def station_name() -> str:
    """This machine's name, recorded with each session (several stations may share a database)."""
    return socket.gethostname()


def get_or_create_patient(db, code: str, /) -> Patient:
    """The patient with clinic code ``code`` (checked by :func:`core.patients.check_patient_code`),
    created on first use."""
    from core.patients import check_patient_code

    if not (code or "").strip():
        raise ValidationError("A patient ID is needed (e.g. --patient P001).")
    code = check_patient_code(code)
    patient = db.scalar(select(Patient).where(Patient.code == code))
    if patient is None:
        patient = Patient(code=code)
        db.add(patient)
        db.flush()
    return patient


PROCESS_START_TOLERANCE_S = 1.0  # psutil's start times are rounded to the kernel's clock ticks


def owner_process() -> tuple[int, float | None]:
    """(id, start time in seconds since the epoch) of this process, recorded with its sessions."""
    import psutil

    try:
        return os.getpid(), psutil.Process().create_time()
    except psutil.Error:
        return os.getpid(), None


def is_process_alive(pid: int | None, start_s: float | None, /) -> bool:
    """Whether process ``pid`` still runs and is the one that started at ``start_s`` (a dead
    process's id may be given to a new one). Unknown (``None``) counts as gone."""
    import psutil

    if pid is None:
        return False
    try:
        started = psutil.Process(int(pid)).create_time()
    except (psutil.Error, ValueError, OverflowError):
        return False
    return start_s is None or abs(started - float(start_s)) <= PROCESS_START_TOLERANCE_S


def recorded_something(session_id):
    """A SQL expression: session ``session_id`` (an id or a column) has a sample, a per-angle
    metric, a gait or a breath result."""
    return or_(*(exists().where(table.session_id == session_id)
                 for table in (Sample, SessionMetric, GaitResult, BreathResult)))


def mark_interrupted_sessions(store: Store, /, *, station: str | None = None) -> list[int]:
    """Mark this station's ``running`` sessions whose process is gone as ``interrupted``;
    returns their ids.

    Call it before starting a new session. A session whose owning process still runs on this
    station (another patient's session on the same computer) is left running. An interrupted
    session ends at its last write, or when it started if that is later (never before it).
    """
    station = station if station is not None else station_name()
    with store.session() as db:
        running = db.execute(select(Session.id, Session.owner_pid, Session.owner_start_s)
                             .where(Session.status == "running", Session.station == station)).all()
        ids = [sid for sid, pid, start_s in running if not is_process_alive(pid, start_s)]
        if ids:
            last = Session.last_write_at
            db.execute(update(Session).where(Session.id.in_(ids)).values(
                status="interrupted", recorded_nothing=~recorded_something(Session.id),
                ended_at=case((last.is_not(None) & (last > Session.started_at), last), else_=Session.started_at)))
            log.warning("marked %d interrupted session(s): %s", len(ids), ids)
    return ids


def save_breath_result(store: Store, session_id: int, fields: dict | None, /) -> bool:
    """Store a session's breath result (``BreathResult`` fields; None: nothing to store).
    False, with a warning in the log, when the store refused it: the session goes on."""
    if fields is None:
        return True
    from mindmove.store.models import BreathResult

    try:
        with store.session() as db:
            db.add(BreathResult(session_id=session_id, **fields))
    except StoreError as exc:
        log.warning("session %d: breath result not saved: %s", session_id, exc)
        return False
    return True


def validate_checkin(pain: int | None, mood: int | None, satisfaction: int | None = None) -> None:
    if pain is not None and not PAIN_RANGE[0] <= pain <= PAIN_RANGE[1]:
        raise ValidationError(f"Pain is recorded from {PAIN_RANGE[0]} to {PAIN_RANGE[1]}, but got {pain}.")
    if mood is not None and not MOOD_RANGE[0] <= mood <= MOOD_RANGE[1]:
        raise ValidationError(f"Mood is recorded from {MOOD_RANGE[0]} to {MOOD_RANGE[1]}, but got {mood}.")
    low, high = SATISFACTION_RANGE
    if satisfaction is not None and not low <= satisfaction <= high:
        raise ValidationError(f"Satisfaction is recorded from {low} to {high}, but got {satisfaction}.")


@dataclass
class SessionRecorder:
    """Incremental writer for one session (see the module docstring)."""

    store: Store
    patient_code: str
    kind: str = "practice"
    exercise: str | None = None
    profile_version_id: int | None = None
    station: str = field(default_factory=station_name)
    location: str = "clinic"  # clinic: a practice station; home: the patient's browser (mindmove serve)
    flush_interval_s: float = 1.0
    # True: a writer thread commits every ``flush_interval_s``, so a slow or busy database
    # (a PostgreSQL server across the clinic's network, a dashboard reading the SQLite file)
    # never stalls the live loop. False: the adding thread commits (tests, offline tools).
    background: bool = False
    session_id: int | None = None
    timer: Any = field(default=NO_TIMER, repr=False)  # stage "db write" of the writer thread (core.timing)
    _samples: list[dict] = field(default_factory=list, repr=False)
    _cues: list[dict] = field(default_factory=list, repr=False)
    _reps: list[dict] = field(default_factory=list, repr=False)
    _last_flush: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # guards the buffers
    _flush_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one commit at a time
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _writer: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> int:
        mark_interrupted_sessions(self.store, station=self.station)
        pid, start_s = owner_process()
        now = utcnow()
        with self.store.session() as db:
            patient = get_or_create_patient(db, self.patient_code)
            row = Session(patient_id=patient.id, kind=self.kind, exercise=self.exercise,
                          profile_version_id=self.profile_version_id, station=self.station,
                          location=self.location, status="running", started_at=now, last_write_at=now,
                          owner_pid=pid, owner_start_s=start_s)
            db.add(row)
            db.flush()
            self.session_id = row.id
        self._start_writer()
        return self.session_id

    def reopen(self, session_id: int, /) -> int:
        """Go on writing an existing session (a home session resumed after the server
        restarted): it is marked ``running`` again, owned by this process; nothing already
        written changes."""
        pid, start_s = owner_process()
        with self.store.session() as db:
            db.execute(update(Session).where(Session.id == session_id).values(
                status="running", ended_at=None, last_write_at=utcnow(), owner_pid=pid, owner_start_s=start_s,
                recorded_nothing=None))
        self.session_id = session_id
        self._start_writer()
        return session_id

    def _start_writer(self) -> None:
        self._last_flush = time.monotonic()
        if self.background:
            self._writer = threading.Thread(target=self._write_loop, name=f"session-{self.session_id}-writer",
                                            daemon=True)
            self._writer.start()

    def _write_loop(self) -> None:
        cpu0 = time.thread_time()
        try:
            while not self._stop.wait(self.flush_interval_s):
                started = self.timer.start()
                self.flush()
                self.timer.stop("db write", started)
        finally:
            self.timer.add_thread_cpu("recorder writer", time.thread_time() - cpu0)

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._stop.set()
            self._writer.join()
            self._writer = None

    def suspend(self) -> bool:
        """Write what is buffered and stop the writer, leaving the session ``running`` (a home
        session whose server stops: it is resumed, or finished, later). True when written."""
        self._stop_writer()
        return self.flush()

    def _require_started(self) -> int:
        if self.session_id is None:
            raise RuntimeError("SessionRecorder.start() must be called first")
        return self.session_id

    def add_checkin(self, phase: str, /, *, pain: int | None, mood: int | None,
                    satisfaction: int | None = None) -> None:
        """Store a pain (0-10) / mood (1-5) check-in, ``phase`` 'before' or 'after'; after a
        session it may carry the patient's satisfaction with it (1-5, optional)."""
        if phase not in ("before", "after"):
            raise ValidationError(f"A check-in is 'before' or 'after' the session, but got {phase!r}.")
        if satisfaction is not None and phase != "after":
            raise ValidationError("Satisfaction is asked after the session, not before it.")
        validate_checkin(pain, mood, satisfaction)
        sid = self._require_started()
        with self.store.session() as db:
            db.add(CheckIn(session_id=sid, phase=phase, pain=pain, mood=mood, satisfaction=satisfaction))

    def add_samples(self, t_s: float, values: Mapping[str, float | None], /) -> None:
        sid = self._require_started()
        rows = []
        for channel, value in values.items():
            v = None if value is None or value != value else float(value)  # NaN -> NULL
            rows.append({"session_id": sid, "channel": channel, "t_s": float(t_s), "value": v})
        with self._lock:
            self._samples.extend(rows)
        self.maybe_flush()

    def add_cue(self, *, t_s: float, kind: str, message_key: str, value: float | None = None,
                limit: float | None = None, priority: int = 0) -> None:
        sid = self._require_started()
        row = {"session_id": sid, "t_s": float(t_s), "kind": kind, "message_key": message_key,
               "value": value, "limit": limit, "priority": int(priority)}
        with self._lock:
            self._cues.append(row)
        self.maybe_flush()

    def add_repetition(self, *, index: int, angle_name: str, t_start_s: float, t_end_s: float,
                       peak_deg: float, hold_s: float = 0.0, breath_coordinated: bool | None = None,
                       inhale_overlap_pct: float | None = None, exhale_overlap_pct: float | None = None) -> None:
        sid = self._require_started()
        row = {"session_id": sid, "index": int(index), "angle_name": angle_name,
                           "t_start_s": float(t_start_s), "t_end_s": float(t_end_s),
                           "peak_deg": float(peak_deg), "hold_s": float(hold_s),
                           "breath_coordinated": breath_coordinated, "inhale_overlap_pct": inhale_overlap_pct,
               "exhale_overlap_pct": exhale_overlap_pct}
        with self._lock:
            self._reps.append(row)
        self.maybe_flush()

    def maybe_flush(self) -> None:
        if self._writer is None and time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    @property
    def pending(self) -> int:
        """Samples, cues and repetitions buffered but not yet committed."""
        return len(self._samples) + len(self._cues) + len(self._reps)

    def _write_buffered(self, db) -> tuple[int, int, int]:
        """Insert what is buffered now within ``db``'s transaction; returns the counts written."""
        with self._lock:  # rows are only ever appended: these slices stay at the front
            samples, cues, reps = list(self._samples), list(self._cues), list(self._reps)
        if samples:
            db.execute(Sample.__table__.insert(), samples)
        if cues:
            db.execute(CueEvent.__table__.insert(), cues)
        if reps:
            db.execute(Repetition.__table__.insert(), reps)
        return len(samples), len(cues), len(reps)

    def _forget_written(self, counts: tuple[int, int, int]) -> None:
        """Drop the rows a committed transaction wrote (later ones stay buffered)."""
        n_samples, n_cues, n_reps = counts
        with self._lock:
            del self._samples[:n_samples], self._cues[:n_cues], self._reps[:n_reps]

    def flush(self) -> bool:
        """Commit everything buffered (one transaction); True when it was written.

        When the store refuses (busy, unreachable), everything stays buffered for the next
        flush or :meth:`finish`, a warning is logged and False returned: the session goes on.
        """
        sid = self._require_started()
        with self._flush_lock:
            try:
                with self.store.session() as db:
                    counts = self._write_buffered(db)
                    db.execute(update(Session).where(Session.id == sid).values(last_write_at=utcnow()))
            except StoreError as exc:
                log.warning("session %d: %d rows not saved yet, kept for the next attempt: %s", sid, self.pending, exc)
                return False
            finally:
                self._last_flush = time.monotonic()  # after a failure, wait a full interval before retrying
            self._forget_written(counts)
        return True

    def finish(self, *, summary: Mapping[str, Any], metrics: list[Mapping[str, Any]] = (),
               active_s: float | None = None, status: str = "completed") -> bool:
        """Write what is buffered, the per-angle metrics and the summary; close the session.

        One transaction. Returns False (after logging a warning) when the store refused it:
        everything stays buffered (``finish`` may be called again), the caller tells the user
        calmly, and a session left ``running`` is marked ``interrupted`` by the next start,
        keeping every row already committed.
        """
        sid = self._require_started()
        self._stop_writer()
        try:
            with self._flush_lock, self.store.session() as db:
                counts = self._write_buffered(db)
                for m in metrics:
                    db.add(SessionMetric(session_id=sid, **m))
                db.flush()
                s = db.get(Session, sid)
                s.summary = dict(summary)
                s.active_s = active_s
                s.status = status
                s.last_write_at = s.ended_at = utcnow()
                s.recorded_nothing = not db.scalar(select(recorded_something(sid)))
        except StoreError as exc:
            log.warning("session %d: not closed, %d rows not saved: %s", sid, self.pending, exc)
            return False
        self._forget_written(counts)
        return True
