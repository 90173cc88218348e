"""One home session: landmarks from the patient's browser through the clinic's practice pipeline.

:func:`open_home_session` starts one (an exercise of the patient's home programme, or guided
breathing), :func:`rebuild_home_session` brings one back after the server restarted (from its
journal, see :mod:`mindmove.telehealth.journal`). A :class:`HomeSession` then takes frames in
order (:meth:`HomeSession.accept`) and returns what the page shows for the newest one.

Everything after the pose is the clinic's own :class:`feedback.session.PracticeSession`: the
same angles, smoothing, engines, cue policy, the patient's calibrated ranges and neutral
posture, the breath pacer. Session time is the page's frame time minus the first frame's
(``t_s = 0`` at the first frame, as at the station). The record is a clinic session's
(samples, cues, repetitions, check-ins, metrics, summary), ``location = "home"``.

Order: frames come numbered (``seq`` from 0, no gaps) with strictly increasing times. A
frame seen already (sent again after a reconnection) is skipped; a gap or a time that does
not increase is refused (:class:`~mindmove.telehealth.protocol.ProtocolError`), and the page
sends again from the frame the server expects.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from sqlalchemy import delete, select

from core.errors import AccessDenied, StoreError, ValidationError
from feedback.messages import message
from feedback.session import PracticeBreath, PracticeSession
from feedback.session.view import PracticeView, compute_pacer_view, compute_practice_view
from mindmove.store.db import Store
from mindmove.store.models import CueEvent, Repetition, Sample, Session
from mindmove.store.recording import SessionRecorder
from mindmove.telehealth.access import PatientIdentity
from mindmove.telehealth.journal import LandmarkJournal, journal_path, read_journal
from mindmove.telehealth.protocol import FrameIn, ProtocolError, StartMessage, parse_frame

log = logging.getLogger(__name__)

BREATHING_RAMP_S = 180.0   # a guided breathing session eases from the resting rate over 3 min (as `breathe`)
DEFAULT_PACER_BPM, DEFAULT_IE_RATIO = 6.0, 2.0  # without a calibrated breath target (as `breathe`)


def home_station(device_id: int, /) -> str:
    """The ``station`` of a home session: the patient's device."""
    return f"home-device-{int(device_id)}"


@dataclass
class HomeSession:
    """A running home session (see the module docstring)."""

    session_id: int
    identity: PatientIdentity
    header: dict
    recorder: SessionRecorder
    practice: PracticeSession | None = None  # an exercise
    breath: PracticeBreath | None = None     # guided breathing (no pose needed)
    journal: LandmarkJournal | None = None
    next_seq: int = 0
    t_first: float | None = None
    last_t: float = -math.inf
    duplicates: int = 0
    last_view: dict | None = field(default=None, repr=False)

    @property
    def activity(self) -> str:
        return self.header["activity"]

    def accept(self, frames: Sequence[FrameIn], /) -> dict:
        """Process ``frames`` in order; returns the view of the newest processed frame (an
        ``ack`` alone when every frame was seen already), with ``ack``: the newest durable
        frame's seq (the page may forget every frame up to it)."""
        view = None
        for frame in frames:
            if frame.seq < self.next_seq:
                self.duplicates += 1
                continue
            if frame.seq > self.next_seq:
                raise ProtocolError(f"Expected frame {self.next_seq} next, but got frame {frame.seq}.", code="gap")
            if frame.t <= self.last_t:
                raise ProtocolError(f"Frame {frame.seq}'s time {frame.t:.3f} s is not after the previous "
                                    f"frame's {self.last_t:.3f} s.", code="out_of_order")
            if self.journal is not None:
                self.journal.append(frame.raw)
            view = self._process(frame)
        ack = self.journal.synced_seq if self.journal is not None else self.next_seq - 1
        if view is None:  # every frame was seen already
            return {"type": "ack", "ack": ack}
        self.last_view = view
        return {**view, "ack": ack}

    def _process(self, frame: FrameIn) -> dict:
        if self.t_first is None:
            self.t_first = frame.t
        t_s = frame.t - self.t_first
        self.last_t = frame.t
        self.next_seq = frame.seq + 1
        if self.practice is not None:
            angles, cue = self.practice.update(t_s, frame.pose)
            view = compute_practice_view(self.practice.pipeline, angles, cue)
        else:
            state = self.breath.update(t_s, recorder=self.recorder).pacer_state
            view = PracticeView(cue_text=None, cue_kind=None, gauge=None, repetitions=None, target=None,
                                pacer=compute_pacer_view(state))
        return {"type": "view", "seq": frame.seq, "t_s": round(t_s, 3), **view.as_dict()}

    def finish(self, *, pain: int | None = None, mood: int | None = None, status: str = "completed") -> dict:
        """Close the session (summary, metrics, breath result, check-in after); returns the summary."""
        from mindmove.store.models import BreathResult

        recorder = self.recorder
        if self.practice is not None:
            n = self.next_seq
            result = self.practice.finish(frames_read=n, processed=n, stopped_by=status)
            summary, metrics, active_s, breath = result.summary, result.metrics, result.active_s, result.breath
        else:
            duration = 0.0 if self.t_first is None else self.last_t - self.t_first
            summary = {"activity": "breathing", "duration_s": round(duration, 3), "stopped_by": status,
                       "pacer": self.header.get("pacer")}
            metrics, active_s, breath = [], duration, self.breath.result()
        summary = {**summary, "location": "home",
                   "telehealth": {"device": self.identity.device_id, "frames": self.next_seq,
                                  "duplicates_skipped": self.duplicates}}
        saved = True
        if breath is not None:
            try:
                with recorder.store.session() as db:
                    db.add(BreathResult(session_id=self.session_id, **breath))
            except StoreError as exc:
                log.warning("home session %d: breath result not saved: %s", self.session_id, exc)
                saved = False
        saved = recorder.finish(summary=summary, metrics=metrics, active_s=active_s, status=status) and saved
        if pain is not None or mood is not None:
            recorder.add_checkin("after", pain=pain, mood=mood)
        if saved and self.journal is not None:
            self.journal.delete()  # the record is complete: the landmarks are not kept
        elif self.journal is not None:
            self.journal.close()
        return summary

    def close(self) -> None:
        """Stop writing without finishing (server shutdown): the session stays resumable."""
        if self.journal is not None:
            self.journal.close()
        self.recorder.suspend()


# --- building a session ----------------------------------------------------------------------

def _prescribed(store: Store, code: str, exercise: str, side: str | None) -> None:
    from mindmove.programme import load_programme

    record = load_programme(store, code)
    if record is None:
        raise AccessDenied(message("home.no_programme"))
    if not any(i.exercise == exercise and i.side == side for i in record.plan.items):
        raise AccessDenied(message("home.not_prescribed"))


def _profile(store: Store, code: str, version_id: int | None):
    from mindmove.store.profiles import load_profile, profile_history

    if version_id is None:
        return load_profile(store, code)
    return next((r for r in profile_history(store, code) if r.version_id == version_id), None)


def _breathing_plan(record) -> dict:
    """The guided breathing plan from the patient's breath target (else 6/min, 1:2), easing in
    from the resting rate when it is known, as `mindmove breathe` does."""
    target = record.profile.breath if record is not None else None
    plan = {"rate_bpm": target.target_rate_bpm if target else DEFAULT_PACER_BPM,
            "ie_ratio": target.ie_ratio if target else DEFAULT_IE_RATIO}
    if target is not None and target.resting_rate_bpm and target.resting_rate_bpm > plan["rate_bpm"]:
        plan.update(ramp_from_bpm=min(target.resting_rate_bpm, 30.0), ramp_s=BREATHING_RAMP_S)
    return plan


def _build(store: Store, header: dict, *, exercises_dir: Path | None, profile_version_id: int | None):
    """(PracticeSession or None, PracticeBreath or None) for a session's header."""
    from feedback.pacer import Pacer, PacerPlan

    record = _profile(store, header["patient"], profile_version_id)
    if header["activity"] == "breathing":
        return None, PracticeBreath(pacer=Pacer(PacerPlan(**header["pacer"]))), record
    from calibration.practice import build_practice_pipeline
    from feedback.exercises import load_exercise

    ex = load_exercise(header["exercise"], directory=exercises_dir)
    if header.get("side"):
        ex = ex.with_side(header["side"])
    pipeline = build_practice_pipeline(ex, profile_record=record)
    breath = None
    if ex.breath is not None:  # an exercise moving with the breath shows the pacer (no belt at home)
        rule = ex.breath
        breath = PracticeBreath(pacer=Pacer(PacerPlan(rate_bpm=rule.pacer_rate_bpm, ie_ratio=rule.pacer_ie_ratio)))
    return PracticeSession(pipeline, breath=breath), None, record


def open_home_session(store: Store, identity: PatientIdentity, start: StartMessage, /, *, data_dir: Path,
                      exercises_dir: Path | None = None) -> HomeSession:
    """Start a home session for a prescribed exercise (or guided breathing); audited ``home_session_start``."""
    from mindmove.auth import audit
    from mindmove.telehealth.access import device_actor

    code = identity.patient_code
    header = {"patient": code, "device": identity.device_id}
    if start.exercise is None:
        header.update(activity="breathing")
        record = _profile(store, code, None)
        header["pacer"] = _breathing_plan(record)
    else:
        _prescribed(store, code, start.exercise, start.side)
        header.update(activity="exercise", exercise=start.exercise, side=start.side)
    practice, breath, record = _build(store, header, exercises_dir=exercises_dir, profile_version_id=None)
    kind = "breathe" if practice is None else "practice"
    recorder = SessionRecorder(store, code, kind=kind, exercise=start.exercise,
                               profile_version_id=record.version_id if record else None,
                               station=home_station(identity.device_id), location="home", background=True)
    session_id = recorder.start()
    if practice is not None:
        practice.recorder = recorder
    header["profile_version_id"] = recorder.profile_version_id
    if start.pain is not None or start.mood is not None:
        recorder.add_checkin("before", pain=start.pain, mood=start.mood)
    journal = LandmarkJournal(journal_path(data_dir, session_id), header=header)
    audit(store, device_actor(identity.device_id), "home_session_start", patient_code=code,
          detail=f"session={session_id} {header['activity']} {start.exercise or ''} {start.side or ''}".strip())
    return HomeSession(session_id=session_id, identity=identity, header=header, recorder=recorder,
                       practice=practice, breath=breath, journal=journal)


def _check_resumable(store: Store, identity: PatientIdentity, session_id: int) -> None:
    with store.session() as db:
        row = db.execute(select(Session.patient_id, Session.station, Session.location, Session.status)
                         .where(Session.id == int(session_id))).first()
    if row is None or row.patient_id != identity.patient_id or row.location != "home" \
            or row.station != home_station(identity.device_id):
        raise AccessDenied(message("home.session_gone"))
    if row.status == "completed":
        raise ValidationError(message("home.session_gone"))


def rebuild_home_session(store: Store, identity: PatientIdentity, session_id: int, /, *, data_dir: Path,
                         exercises_dir: Path | None = None) -> HomeSession:
    """A home session back in memory after a restart: its journal replayed through a fresh
    pipeline, its record rewritten from the replay (audited ``home_session_resume``)."""
    from mindmove.auth import audit
    from mindmove.telehealth.access import device_actor

    _check_resumable(store, identity, session_id)
    path = journal_path(data_dir, session_id)
    if not path.exists():
        raise ValidationError(message("home.session_gone"))
    header, frames = read_journal(path)
    practice, breath, _ = _build(store, header, exercises_dir=exercises_dir,
                                 profile_version_id=header.get("profile_version_id"))
    recorder = SessionRecorder(store, header["patient"], kind="breathe" if practice is None else "practice",
                               exercise=header.get("exercise"), profile_version_id=header.get("profile_version_id"),
                               station=home_station(identity.device_id), location="home", background=True)
    with store.session() as db:  # the replay writes the record again, exactly as it was
        for table in (Sample, CueEvent, Repetition):
            db.execute(delete(table).where(table.session_id == session_id))
    recorder.reopen(session_id)
    session = HomeSession(session_id=session_id, identity=identity, header=header, recorder=recorder,
                          practice=practice, breath=breath)
    if practice is not None:
        practice.recorder = recorder
    replayed = 0
    for raw in frames:
        session.accept([parse_frame(raw)])
        replayed += 1
    session.journal = LandmarkJournal(path)
    session.journal.synced_seq = session.next_seq - 1
    audit(store, device_actor(identity.device_id), "home_session_resume", patient_code=identity.patient_code,
          detail=f"session={session_id} rebuilt from {replayed} journaled frames")
    return session
