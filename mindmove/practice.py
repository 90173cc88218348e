"""A live practice session, from the command line's options to the stored session.

``mindmove practice`` (:mod:`mindmove.commands.practice`) only turns its options into a
:class:`PracticeOptions` and prints what :func:`run_practice_session` returns, as
``mindmove analyze`` does over :mod:`mindmove.analyze`. Here: the options are checked before
anything opens (:func:`check_practice_options`), the exercise and the patient's profile are
loaded, the breath feed (belt or replay) and pacer are opened (:func:`open_practice_breath`),
the session is recorded as it happens (:class:`~mindmove.store.recording.SessionRecorder`)
and every device is closed however the session ends.

The module prints nothing: check-in questions and the start line go through the callables
the command passes; :func:`summary_lines` words the result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from core.errors import InputError, StoreError

if TYPE_CHECKING:
    from feedback.breath import Polarity

log = logging.getLogger(__name__)

CheckIn = tuple[int | None, int | None]  # (pain 0-10, mood 1-5); None = not answered
DEFAULT_CAMERA = 0
DEFAULT_RECORDING_FPS = 30.0  # a camera that reports no frame rate


@dataclass(frozen=True)
class BreathOptions:
    """Where breath comes from in a practice session, and whether the guide is shown."""

    belt: str | None = None           # a belt's name or address
    replay: Path | None = None        # a breath recording replayed on the session clock
    rate_hz: float | None = None      # the replay's sampling rate, when the file has no times
    belt_kind: str | None = None      # a belt kind (sensing.belts registry), for a belt or a raw log
    signal: str | None = None         # what the breath value measures (None: the file's or belt's own)
    polarity: Polarity | None = None  # None: the signal kind's own
    pacer: bool | None = None         # None: when the exercise asks for breath coordination


@dataclass(frozen=True)
class PracticeOptions:
    """Everything ``mindmove practice`` was asked for."""

    patient: str
    exercise: str
    camera: int | None = None
    source: Path | None = None        # a video file instead of the camera
    side: str | None = None
    window: bool = True
    windowed: bool = False            # a window instead of the full screen
    record_video: Path | None = None
    fast: bool = False                # with a source: as fast as possible, not at the video's rate
    sound: bool = False
    profile: bool = False             # time each stage and thread (mindmove practice --profile)
    before: CheckIn = (None, None)
    after: CheckIn = (None, None)
    satisfaction: int | None = None   # after the session, 1-5 (optional)
    breath: BreathOptions = field(default_factory=BreathOptions)


@dataclass(frozen=True)
class PracticeOutcome:
    """What the session left: its id, whether everything reached the store, its summary."""

    session_id: int
    saved: bool
    summary: dict
    warnings: tuple[str, ...] = ()  # e.g. inhale and exhale told apart with low confidence
    result: object = None           # the live loop's PracticeResult (frames, latency)
    timer: object = None            # the stage timer, with --profile


def check_practice_options(options: PracticeOptions, /) -> None:
    """One clear line for options that contradict each other, before anything opens."""
    from mindmove.inputs import check_breath_options
    from mindmove.store.recording import validate_checkin

    if options.camera is not None and options.source is not None:
        raise InputError("Give either --camera or --source, not both.")
    b = options.breath
    if b.belt is not None and b.replay is not None:
        raise InputError("Give either --belt or --breath-replay, not both.")
    if b.belt is not None and options.fast:
        raise InputError("--fast runs the video faster than real time, which a live belt cannot follow; "
                         "leave out --fast, or use --breath-replay FILE.")
    if b.rate_hz is not None and b.replay is None:
        raise InputError("--rate-hz goes with --breath-replay FILE; leave it out otherwise.")
    check_breath_options(signal=b.signal, polarity=b.polarity, belt_kind=b.belt_kind, rate_hz=b.rate_hz)
    validate_checkin(*options.before)
    validate_checkin(*options.after, options.satisfaction)
    if options.camera is not None and options.camera < 0:
        raise InputError(f"Expected --camera to be a camera number (0, 1, ...), but got {options.camera}.")
    if options.record_video is not None:
        from mindmove.inputs import check_output_file

        check_output_file(options.record_video, option="--record-video", suffixes=(".mp4",))
    if options.window:
        from mindmove.display import check_display

        check_display(window="the practice window")


def run_practice_session(options: PracticeOptions, /, *,
                         ask_checkin: Callable[[str], CheckIn] | None = None,
                         ask_satisfaction: Callable[[], int | None] | None = None,
                         on_start: Callable[[int, str], None] | None = None) -> PracticeOutcome:
    """Run one recorded practice session; ``ask_checkin("before"|"after")`` asks the patient
    when no answer was given and ``ask_satisfaction()`` the optional question after it (None:
    do not ask), ``on_start(session_id, title)`` tells them it began."""
    from feedback.exercises import exercise_title, load_exercise
    from feedback.messages import load_catalogue
    from mindmove.settings import load_settings
    from mindmove.store import open_store
    from core.timing import StageTimer
    from mindmove.store.recording import validate_checkin

    check_practice_options(options)
    load_catalogue()  # a clinic's message file is checked now, before the camera opens
    ex = load_exercise(options.exercise, directory=load_settings().exercises_dir)
    if options.side is not None:
        ex = ex.with_side(options.side)
    before = _answer(options.before, "before", ask_checkin)
    with open_store() as store:
        timer = StageTimer() if options.profile else None
        recorder, session_id, result, saved = _record_session(store, ex, options, before=before, timer=timer,
                                                              on_start=on_start, title=exercise_title(ex))
        after = _answer(options.after, "after", ask_checkin)
        satisfaction = options.satisfaction
        if satisfaction is None and ask_satisfaction is not None and options.after == (None, None):
            satisfaction = ask_satisfaction()
            validate_checkin(None, None, satisfaction)
        if after != (None, None) or satisfaction is not None:
            try:
                recorder.add_checkin("after", pain=after[0], mood=after[1], satisfaction=satisfaction)
            except StoreError as exc:
                log.warning("session %d: check-in after not saved: %s", session_id, exc)
                saved = False
    warnings = tuple(((result.breath or {}).get("detail") or {}).get("warnings", []))
    return PracticeOutcome(session_id=session_id, saved=saved, summary=result.summary, warnings=warnings,
                           result=result, timer=timer)


def _answer(given: CheckIn, when: str, ask: Callable[[str], CheckIn] | None) -> CheckIn:
    from mindmove.store.recording import validate_checkin

    if given == (None, None) and ask is not None:
        given = ask(when)
        validate_checkin(*given)
    return given


def _record_session(store, ex, options: PracticeOptions, *, before: CheckIn, on_start, title: str, timer=None):
    """(recorder, session id, PracticeResult, saved) of the live loop, devices closed after."""
    from calibration.practice import build_practice_pipeline
    from feedback.render_practice import render_practice_frame
    from feedback.session import run_practice
    from mindmove.store.profiles import load_profile
    from mindmove.store.recording import SessionRecorder, save_breath_result
    from core.timing import NO_TIMER
    from feedback.facing import attach_facing
    from mindmove.settings import load_settings
    from mindmove.settings import ensure_data_dir
    from sensing.multipose import create_tracking_estimator
    from sensing.video import open_source

    record = load_profile(store, options.patient)
    pipeline = build_practice_pipeline(ex, profile_record=record)
    breath, stream = open_practice_breath(ex, options.breath)
    player = _open_sound() if options.sound else None
    sinks, frames, estimator = [], None, None
    try:
        frames = open_source(options.source if options.source is not None else
                             (options.camera if options.camera is not None else DEFAULT_CAMERA))
        settings = load_settings()
        estimator = attach_facing(pipeline, create_tracking_estimator(data_dir=ensure_data_dir(),
                                                                      input_max_px=settings.pose_input_px))
        sinks = _open_sinks(options, frames)
        # the session exists only once everything it needs has opened
        recorder = SessionRecorder(store, options.patient, kind="practice", exercise=ex.name,
                                   profile_version_id=record.version_id if record else None, background=True)
        session_id = recorder.start()
        if before != (None, None):
            recorder.add_checkin("before", pain=before[0], mood=before[1])
        if on_start is not None:
            on_start(session_id, title)
        if settings.pose_rate_hz or settings.pose_input_px:
            log.info("this station sends the pose model %s", estimator.name
                     + (f", at most {settings.pose_rate_hz:g} frames a second" if settings.pose_rate_hz else ""))
        result = run_practice(frames, estimator, pipeline, recorder=recorder, sinks=sinks,
                              render=render_practice_frame if sinks else None,
                              pace=not options.fast, breath=breath, sound=player, timer=timer or NO_TIMER,
                              pose_rate_hz=settings.pose_rate_hz)
        saved = save_breath_result(store, session_id, result.breath)
        saved = recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s) and saved
    finally:
        for sink in sinks:
            sink.close()
        if estimator is not None:
            estimator.close()
        if frames is not None:
            frames.close()
        if stream is not None:
            stream.close()
    return recorder, session_id, result, saved


def _open_sound():
    from feedback.sound import open_sound

    return open_sound()


def _open_sinks(options: PracticeOptions, frames) -> list:
    """The practice window (unless ``--no-window``) and the video file (``--record-video``)."""
    from feedback.render_practice import PracticeWindow, VideoFileSink

    sinks = []
    if options.window:
        sinks.append(PracticeWindow(fullscreen=not options.windowed))
    if options.record_video is not None:
        sinks.append(VideoFileSink(options.record_video, fps=frames.fps or DEFAULT_RECORDING_FPS, size=frames.size))
    return sinks


def open_practice_breath(ex, options: BreathOptions, /):
    """(PracticeBreath or None, belt stream or None) from the (checked) options and the exercise."""
    show_pacer = options.pacer if options.pacer is not None else ex.breath is not None
    guide = None
    if show_pacer:
        from feedback.pacer import Pacer, PacerPlan

        rule = ex.breath
        guide = Pacer(PacerPlan(rate_bpm=rule.pacer_rate_bpm, ie_ratio=rule.pacer_ie_ratio) if rule else PacerPlan())
    feed, stream = None, None
    if options.replay is not None:
        from feedback.session import ReplayFeed
        from sensing.breath_source import load_breath_file

        t_s, values, rate = load_breath_file(options.replay, rate_hz=options.rate_hz, belt_kind=options.belt_kind)
        feed = ReplayFeed(t_s, values, rate_hz=rate)
    elif options.belt is not None:
        from feedback.session import BeltFeed
        from mindmove.commands.belt import _backends
        from sensing.belts import open_belt

        client_backend, scanner_backend = _backends()
        stream = open_belt(options.belt, kind=options.belt_kind, backend=client_backend,
                           scanner_backend=scanner_backend)
        feed = BeltFeed(stream)
    if feed is None and guide is None:
        return None, None
    from feedback.session import PracticeBreath
    from mindmove.inputs import recording_signal

    signal = options.signal or (stream.adapter.signal if stream is not None else None)
    kind = recording_signal(options.replay, signal=signal, belt_kind=options.belt_kind)
    return PracticeBreath(feed=feed, pacer=guide, polarity=options.polarity, signal=kind), stream


def summary_lines(outcome: PracticeOutcome, /) -> list[str]:
    """What the patient is told when the session ends (after the not-all-saved note, if any)."""
    s = outcome.summary
    in_range = s["time_in_range_pct"]
    lines = [f"Session {outcome.session_id} {'saved' if outcome.saved else 'ended'}: {s['repetitions']} repetitions, "
             f"{s['active_min']:.1f} active minutes"
             + (f", {in_range:.0f}% of the time within the comfortable range" if in_range is not None else "")
             + "."]
    b, c = s.get("breath"), s.get("breath_coordination")
    if b is not None and b.get("rate_bpm") is not None:
        lines.append(f"Breath: {b['breaths']} breaths, {b['rate_bpm']:.1f} breaths/min.")
    if c is not None and c["judged"]:
        lines.append(f"Moving with the breath: {c['coordinated']} of {c['judged']} repetitions.")
    return lines
