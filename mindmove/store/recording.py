"""Recording a session as it happens, so a crash loses at most the last second.

A :class:`SessionRecorder` creates the session row at :meth:`~SessionRecorder.start`, buffers
samples, cues and repetitions in memory, and commits them every ``flush_interval_s`` (1 s)
of session time. :meth:`~SessionRecorder.finish` writes the summary and marks the session
``completed``. A process killed mid-session leaves the row ``running``; the next start on the
same station calls :func:`mark_interrupted_sessions`, which marks it ``interrupted`` and keeps
every sample already written. A commit the store refuses (busy, unreachable) is logged and
retried by the next flush or :meth:`~SessionRecorder.finish`: nothing buffered is dropped.

No image or video is ever written here.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import func, select, update

from core.errors import StoreError, ValidationError
from core.timing import NO_TIMER
from mindmove.store.db import Store
from mindmove.store.models import (
    CheckIn, CueEvent, Patient, Repetition, Sample, Session, SessionMetric, utcnow,
)

log = logging.getLogger(__name__)

PAIN_RANGE = (0, 10)
MOOD_RANGE = (1, 5)


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


def mark_interrupted_sessions(store: Store, /, *, station: str | None = None) -> list[int]:
    """Mark this station's sessions still ``running`` as ``interrupted``; returns their ids.

    Call it before starting a new session: only one session runs per station at a time, so a
    ``running`` one left behind belongs to a process that was killed.
    """
    station = station if station is not None else station_name()
    with store.session() as db:
        ids = list(db.scalars(select(Session.id).where(Session.status == "running", Session.station == station)))
        if ids:
            db.execute(update(Session).where(Session.id.in_(ids)).values(
                status="interrupted", ended_at=func.coalesce(Session.last_write_at, Session.started_at)))
            log.warning("marked %d interrupted session(s): %s", len(ids), ids)
    return ids


def validate_checkin(pain: int | None, mood: int | None) -> None:
    if pain is not None and not PAIN_RANGE[0] <= pain <= PAIN_RANGE[1]:
        raise ValidationError(f"Pain is recorded from {PAIN_RANGE[0]} to {PAIN_RANGE[1]}, but got {pain}.")
    if mood is not None and not MOOD_RANGE[0] <= mood <= MOOD_RANGE[1]:
        raise ValidationError(f"Mood is recorded from {MOOD_RANGE[0]} to {MOOD_RANGE[1]}, but got {mood}.")


@dataclass
class SessionRecorder:
    """Incremental writer for one session (see the module docstring)."""

    store: Store
    patient_code: str
    kind: str = "practice"
    exercise: str | None = None
    profile_version_id: int | None = None
    station: str = field(default_factory=station_name)
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
        with self.store.session() as db:
            patient = get_or_create_patient(db, self.patient_code)
            row = Session(patient_id=patient.id, kind=self.kind, exercise=self.exercise,
                          profile_version_id=self.profile_version_id, station=self.station,
                          status="running", last_write_at=utcnow())
            db.add(row)
            db.flush()
            self.session_id = row.id
        self._last_flush = time.monotonic()
        if self.background:
            self._writer = threading.Thread(target=self._write_loop, name=f"session-{self.session_id}-writer",
                                            daemon=True)
            self._writer.start()
        return self.session_id

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

    def _require_started(self) -> int:
        if self.session_id is None:
            raise RuntimeError("SessionRecorder.start() must be called first")
        return self.session_id

    def add_checkin(self, phase: str, /, *, pain: int | None, mood: int | None) -> None:
        """Store a pain (0-10) / mood (1-5) check-in, ``phase`` 'before' or 'after'."""
        if phase not in ("before", "after"):
            raise ValidationError(f"A check-in is 'before' or 'after' the session, but got {phase!r}.")
        validate_checkin(pain, mood)
        sid = self._require_started()
        with self.store.session() as db:
            db.add(CheckIn(session_id=sid, phase=phase, pain=pain, mood=mood))

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
                s = db.get(Session, sid)
                s.summary = dict(summary)
                s.active_s = active_s
                s.status = status
                s.last_write_at = s.ended_at = utcnow()
        except StoreError as exc:
            log.warning("session %d: not closed, %d rows not saved: %s", sid, self.pending, exc)
            return False
        self._forget_written(counts)
        return True
