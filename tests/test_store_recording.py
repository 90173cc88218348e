"""SessionRecorder on a real SQLite file: a refused commit keeps the buffered rows for the next
attempt; interrupted sessions get their end time from their last write."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from mindmove.store import open_store
from mindmove.store.models import CueEvent, Patient, Repetition, Sample, Session
from mindmove.store.recording import SessionRecorder, mark_interrupted_sessions

SHORT_BUSY_MS = 100  # the store waits 5 s for a lock; the test need not


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "store.db"


@pytest.fixture
def store(db_path):
    store = open_store(f"sqlite:///{db_path}")

    def short_busy_timeout(dbapi_connection, _record) -> None:  # runs after the store's own pragmas
        dbapi_connection.execute(f"PRAGMA busy_timeout={SHORT_BUSY_MS}")

    event.listen(store.engine, "connect", short_busy_timeout)
    store.engine.dispose()  # pooled connections reconnect with the short timeout
    yield store
    store.dispose()


class ExclusiveLock:
    """Another connection holding the SQLite file in an exclusive transaction."""

    def __init__(self, path) -> None:
        self.con = sqlite3.connect(path, isolation_level=None)

    def __enter__(self):
        self.con.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc) -> None:
        self.con.execute("ROLLBACK")
        self.con.close()


def stored_samples(store, sid):
    with store.session() as db:
        return [(r.t_s, r.value) for r in db.scalars(select(Sample).where(Sample.session_id == sid).order_by(Sample.id))]


def test_refused_flush_keeps_every_sample_for_the_next_one(store, db_path, caplog):
    rec = SessionRecorder(store, "P001", flush_interval_s=0.0)  # every add tries to commit
    sid = rec.start()
    rec.add_samples(0.0, {"knee": 10.0})
    assert stored_samples(store, sid) == [(0.0, 10.0)]
    with ExclusiveLock(db_path):
        for k in range(1, 4):  # each add's flush is refused; the caller carries on
            rec.add_samples(float(k), {"knee": 10.0 + k})
        rec.add_cue(t_s=3.0, kind="range", message_key="range.approaching_limit")
        rec.add_repetition(index=0, angle_name="knee", t_start_s=1.0, t_end_s=3.0, peak_deg=13.0)
        assert rec.flush() is False
        assert rec.pending == 3 + 1 + 1
    assert "kept for the next attempt" in caplog.text
    assert rec.flush() is True and rec.pending == 0
    assert stored_samples(store, sid) == [(float(k), 10.0 + k) for k in range(4)]
    with store.session() as db:
        assert [c.message_key for c in db.scalars(select(CueEvent))] == ["range.approaching_limit"]
        assert [r.peak_deg for r in db.scalars(select(Repetition))] == [13.0]


def test_refused_finish_leaves_everything_buffered_then_closes(store, db_path):
    rec = SessionRecorder(store, "P001", flush_interval_s=3600.0)
    sid = rec.start()
    for k in range(5):
        rec.add_samples(k * 0.5, {"breath": float(k)})
    with ExclusiveLock(db_path):
        assert rec.finish(summary={"repetitions": 2}, active_s=2.0) is False
    assert rec.pending == 5
    with store.session() as db:
        assert db.get(Session, sid).status == "running"
    assert stored_samples(store, sid) == []
    assert rec.finish(summary={"repetitions": 2}, active_s=2.0) is True
    assert stored_samples(store, sid) == [(k * 0.5, float(k)) for k in range(5)]
    with store.session() as db:
        s = db.get(Session, sid)
        assert (s.status, s.summary, s.active_s) == ("completed", {"repetitions": 2}, 2.0)
        assert s.ended_at is not None


def test_interrupted_sessions_end_at_their_last_write(store):
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    with store.session() as db:
        patient = Patient(code="P002")
        db.add(patient)
        db.flush()
        rows = [Session(patient_id=patient.id, station="st1", status="running", started_at=t0,
                        last_write_at=t0 + timedelta(minutes=7)),
                Session(patient_id=patient.id, station="st1", status="running", started_at=t0, last_write_at=None),
                Session(patient_id=patient.id, station="st2", status="running", started_at=t0),
                Session(patient_id=patient.id, station="st1", status="completed", started_at=t0,
                        ended_at=t0 + timedelta(minutes=1))]
        db.add_all(rows)
        db.flush()
        ids = [r.id for r in rows]
    assert sorted(mark_interrupted_sessions(store, station="st1")) == ids[:2]
    with store.session() as db:
        got = {r.id: (r.status, r.ended_at and r.ended_at.replace(tzinfo=timezone.utc))
               for r in db.scalars(select(Session))}
    assert got[ids[0]] == ("interrupted", t0 + timedelta(minutes=7))
    assert got[ids[1]] == ("interrupted", t0)
    assert got[ids[2]] == ("running", None)
    assert got[ids[3]] == ("completed", t0 + timedelta(minutes=1))


def _wait_for(predicate, *, timeout_s: float = 20.0, step_s: float = 0.05) -> bool:
    """Poll until ``predicate()``; generous timeout, as the machine is shared (not a speed check)."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


def test_background_writer_keeps_adding_while_the_database_is_locked(store, db_path):
    """With ``background=True`` the thread that adds rows never commits: while another
    connection holds the file, adds only buffer; once it is free the writer commits them all."""
    rec = SessionRecorder(store, "P001", flush_interval_s=0.05, background=True)
    sid = rec.start()
    rec.add_samples(0.0, {"knee": 10.0})
    assert _wait_for(lambda: stored_samples(store, sid) == [(0.0, 10.0)])
    with ExclusiveLock(db_path):
        for k in range(1, 50):
            rec.add_samples(k / 10, {"knee": float(k)})
        assert rec.pending > 0  # nothing can be committed while the lock is held
    assert _wait_for(lambda: rec.pending == 0)
    assert stored_samples(store, sid) == [(0.0, 10.0)] + [(k / 10, float(k)) for k in range(1, 50)]
    assert rec.finish(summary={"ok": True}) is True
    assert rec._writer is None  # finish stopped the writer thread
    with store.session() as db:
        assert db.get(Session, sid).status == "completed"


HOLD_A_SESSION = """
import sys
from mindmove.store import open_store
from mindmove.store.recording import SessionRecorder
rec = SessionRecorder(open_store(sys.argv[1]), "P010", station="st-shared")
print(rec.start(), flush=True)
sys.stdin.readline()  # held open until the test kills this process
"""


def test_a_live_session_of_another_process_is_left_running_until_its_process_dies(store, db_path):
    """Two sessions on one computer: the second start leaves the first (its process alive)
    running; once that process is killed, the next start marks it interrupted."""
    import os
    import signal
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_SESSION, f"sqlite:///{db_path}"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        first = int(holder.stdout.readline())
        second = SessionRecorder(store, "P011", station="st-shared").start()
        assert status_of(store, first) == "running"  # a live session is nobody's leftover
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        SessionRecorder(store, "P012", station="st-shared").start()
        assert status_of(store, first) == "interrupted"
        assert status_of(store, second) == "running"  # this process is alive
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def status_of(store, sid: int) -> str:
    with store.session() as db:
        return db.get(Session, sid).status


def test_an_empty_interrupted_session_never_ends_before_it_started(store):
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    with store.session() as db:
        patient = Patient(code="P003")
        db.add(patient)
        db.flush()
        row = Session(patient_id=patient.id, station="st9", status="running", started_at=t0,
                      last_write_at=t0 - timedelta(microseconds=40), owner_pid=2**22 + 12345, owner_start_s=1.0)
        db.add(row)
        db.flush()
        sid = row.id
    assert mark_interrupted_sessions(store, station="st9") == [sid]
    with store.session() as db:
        s = db.get(Session, sid)
        assert s.ended_at.replace(tzinfo=timezone.utc) == t0
    fresh = SessionRecorder(store, "P003", station="st9")
    fresh.start()
    with store.session() as db:
        s = db.get(Session, fresh.session_id)
        assert s.started_at == s.last_write_at and s.owner_pid == os.getpid()
