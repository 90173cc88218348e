"""Where home sessions run: :class:`SessionHost` keeps the live sessions of one process.

The web server (:mod:`mindmove.telehealth.app`) hands each device's messages to a host:
``open``, ``resume``, ``frames``, ``finish``, ``detach`` (the page's connection dropped).
A device has at most one live session: opening a new one finishes the old one first.

A session whose page has not come back within :data:`RESUME_WINDOW_S` is finished with
status ``interrupted`` (its summary, metrics and everything recorded kept) by :meth:`reap`,
which the server calls every :data:`REAP_INTERVAL_S`. After a restart, the home sessions
still ``running`` in the store are resumed from their journal when their page comes back,
or rebuilt and finished as ``interrupted`` by :meth:`reap` once the window has passed.

The host is synchronous (each call runs to its end). :class:`InProcessHost` drives one in
the server's own event loop; :mod:`mindmove.telehealth.workers` runs one per worker process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import select, update

from core.errors import AccessDenied, MindMoveError
from feedback.messages import message
from mindmove.store.db import Store, open_store
from mindmove.store.models import Patient, Session, utcnow
from mindmove.telehealth.access import PatientIdentity
from mindmove.telehealth.journal import JournalSyncer
from mindmove.telehealth.live import HomeSession, home_station, open_home_session, rebuild_home_session
from mindmove.telehealth.protocol import StartMessage, parse_frame

log = logging.getLogger(__name__)

RESUME_WINDOW_S = 15 * 60.0  # a page may come back this long after its connection dropped
REAP_INTERVAL_S = 30.0


@dataclass(frozen=True)
class HostConfig:
    store_url: str
    data_dir: Path
    exercises_dir: Path | None = None
    resume_window_s: float = RESUME_WINDOW_S


def finished_reply(session: HomeSession, summary: dict) -> dict:
    """What the page shows at the end: the catalogue's thanks, repetitions and minutes."""
    return {"type": "finished", "session": session.session_id, "text": message("session.finished"),
            "repetitions": summary.get("repetitions"), "active_min": summary.get("active_min"),
            "duration_s": summary.get("duration_s")}


class SessionHost:
    """The live home sessions of this process (see the module docstring)."""

    def __init__(self, config: HostConfig, /, *, owns: Callable[[int], bool] = lambda device_id: True,
                 clock: Callable[[], float] = time.monotonic, store: Store | None = None) -> None:
        self.config = config
        self.store = store if store is not None else open_store(config.store_url)
        self.owns = owns  # which devices' sessions this host runs (worker processes share the devices out)
        self.clock = clock
        self.sessions: dict[int, HomeSession] = {}
        self.by_device: dict[int, int] = {}
        self.detached_at: dict[int, float] = {}
        self.syncer = JournalSyncer()

    # --- the page's requests ---------------------------------------------------------------
    def open(self, identity: PatientIdentity, start: StartMessage, /) -> dict:
        old = self.by_device.get(identity.device_id)
        if old is not None:  # the page started again: the session it left is over
            self._finish(old, status="interrupted")
        session = open_home_session(self.store, identity, start, data_dir=self.config.data_dir,
                                    exercises_dir=self.config.exercises_dir)
        self._attach(session)
        return {"type": "started", "session": session.session_id, "next": 0, "activity": session.activity}

    def resume(self, identity: PatientIdentity, session_id: int, /) -> dict:
        session = self.sessions.get(session_id)
        if session is None:
            old = self.by_device.get(identity.device_id)
            if old is not None and old != session_id:
                self._finish(old, status="interrupted")
            session = rebuild_home_session(self.store, identity, session_id, data_dir=self.config.data_dir,
                                           exercises_dir=self.config.exercises_dir)
            self._attach(session)
        elif session.identity.device_id != identity.device_id:
            raise AccessDenied(message("home.session_gone"))
        self.detached_at.pop(session_id, None)
        reply = {"type": "resumed", "session": session_id, "next": session.next_seq, "activity": session.activity}
        if session.last_view is not None:
            reply["view"] = session.last_view
        return reply

    def frames(self, device_id: int, session_id: int, raw_frames: list, /) -> dict | None:
        session = self._live(device_id, session_id)
        return session.accept([parse_frame(f) for f in raw_frames])

    def finish(self, device_id: int, session_id: int, /, *, pain: int | None, mood: int | None) -> dict:
        session = self._live(device_id, session_id)
        summary = self._finish(session_id, status="completed", pain=pain, mood=mood)
        return finished_reply(session, summary)

    def detach(self, device_id: int, session_id: int, /) -> None:
        """The page's connection dropped: the session waits for it (see :meth:`reap`)."""
        session = self.sessions.get(session_id)
        if session is not None and session.identity.device_id == device_id:
            self.detached_at[session_id] = self.clock()
            if session.journal is not None:
                session.journal.sync()

    def abandon(self, device_id: int, session_id: int, /) -> None:
        """The device was revoked: its session ends now (``interrupted``), everything recorded kept."""
        session = self.sessions.get(session_id)
        if session is not None and session.identity.device_id == device_id:
            self._finish(session_id, status="interrupted")

    # --- upkeep -------------------------------------------------------------------------------
    def reap(self) -> list[int]:
        """Finish (``interrupted``) the sessions whose page has not come back within the
        resume window, live here or left ``running`` by an earlier server; returns their ids."""
        now = self.clock()
        done = [sid for sid, t in list(self.detached_at.items()) if now - t >= self.config.resume_window_s]
        for sid in done:
            self._finish(sid, status="interrupted")
        return done + self._reap_orphans()

    def _reap_orphans(self) -> list[int]:
        cutoff = utcnow() - timedelta(seconds=self.config.resume_window_s)
        with self.store.session() as db:
            rows = db.execute(select(Session.id, Session.station, Session.patient_id, Patient.code)
                              .join(Patient, Patient.id == Session.patient_id)
                              .where(Session.location == "home", Session.status == "running",
                                     Session.last_write_at < cutoff)).all()
        reaped = []
        for sid, station, patient_id, code in rows:
            device_id = _device_of(station)
            if sid in self.sessions or device_id is None or not self.owns(device_id):
                continue
            identity = PatientIdentity(device_id=device_id, patient_id=patient_id, patient_code=code)
            try:
                session = rebuild_home_session(self.store, identity, sid, data_dir=self.config.data_dir,
                                               exercises_dir=self.config.exercises_dir)
                session.finish(status="interrupted")
            except MindMoveError as exc:  # no journal: keep what was recorded, close the row
                log.warning("home session %d not rebuilt (%s); marked interrupted as it is", sid, exc)
                with self.store.session() as db:
                    db.execute(update(Session).where(Session.id == sid, Session.status == "running")
                               .values(status="interrupted", ended_at=Session.last_write_at))
            reaped.append(sid)
        return reaped

    def close(self) -> None:
        """Server shutdown: every live session stays resumable (journal synced, record flushed)."""
        self.syncer.stop()
        for session in list(self.sessions.values()):
            session.close()
        self.sessions.clear()
        self.by_device.clear()
        self.store.dispose()

    # --- internals ----------------------------------------------------------------------------
    def _attach(self, session: HomeSession) -> None:
        self.syncer.add(session.journal)
        self.sessions[session.session_id] = session
        self.by_device[session.identity.device_id] = session.session_id
        self.detached_at.pop(session.session_id, None)

    def _live(self, device_id: int, session_id: int) -> HomeSession:
        session = self.sessions.get(session_id)
        if session is None or session.identity.device_id != device_id:
            raise AccessDenied(message("home.session_gone"))
        return session

    def _finish(self, session_id: int, *, status: str, pain: int | None = None, mood: int | None = None) -> dict:
        from mindmove.auth import audit
        from mindmove.telehealth.access import device_actor

        session = self.sessions.pop(session_id)
        self.syncer.discard(session.journal)
        self.detached_at.pop(session_id, None)
        if self.by_device.get(session.identity.device_id) == session_id:
            del self.by_device[session.identity.device_id]
        summary = session.finish(pain=pain, mood=mood, status=status)
        audit(self.store, device_actor(session.identity.device_id), "home_session_finish",
              patient_code=session.identity.patient_code,
              detail=f"session={session_id} status={status} frames={session.next_seq}")
        return summary


def _device_of(station: str) -> int | None:
    prefix = home_station(0)[:-1]
    if station and station.startswith(prefix) and station[len(prefix):].isdigit():
        return int(station[len(prefix):])
    return None


class InProcessHost:
    """A :class:`SessionHost` in the server's own process, behind the async interface of
    :class:`mindmove.telehealth.workers.WorkerPoolHost`. Frames run inline (about a
    millisecond); opening, resuming and finishing, which write the store, run in a thread."""

    def __init__(self, config: HostConfig, /) -> None:
        self.host = SessionHost(config)

    async def start(self) -> None:
        return None

    async def call(self, method: str, device_id: int, *args, **kwargs):
        import anyio

        fn = getattr(self.host, method)
        if method == "frames":
            return fn(*args, **kwargs)
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    async def reap(self) -> list[int]:
        import anyio

        return await anyio.to_thread.run_sync(self.host.reap)

    async def stop(self) -> None:
        self.host.close()
