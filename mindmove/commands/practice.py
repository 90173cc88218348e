"""`mindmove practice` (a live session) and `mindmove exercises` (what can be practised)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from core.errors import InputError, StoreError

log = logging.getLogger(__name__)


def _ask(label: str, low: int, high: int) -> int | None:
    """Ask one check-in question on the terminal; empty answer skips it."""
    while True:
        answer = typer.prompt(f"{label} ({low}-{high}, Enter to skip)", default="", show_default=False).strip()
        if not answer:
            return None
        if answer.isdigit() and low <= int(answer) <= high:
            return int(answer)
        typer.echo(f"Please type a whole number from {low} to {high}, or press Enter to skip.")


def _checkin(pain: int | None, mood: int | None, *, when: str, interactive: bool) -> tuple[int | None, int | None]:
    from mindmove.store.recording import MOOD_RANGE, PAIN_RANGE, validate_checkin

    if interactive and pain is None and mood is None:
        pain = _ask(f"Pain {when} the session", *PAIN_RANGE)
        mood = _ask(f"Mood {when} the session", *MOOD_RANGE)
    validate_checkin(pain, mood)
    return pain, mood


def practice(
    patient: str = typer.Option(..., "--patient", help="The patient's clinic ID, e.g. P001."),
    exercise: str = typer.Option(..., "--exercise", help="Exercise name (see 'mindmove exercises')."),
    camera: Optional[int] = typer.Option(None, "--camera", help="Camera number (default 0)."),
    source: Optional[Path] = typer.Option(None, "--source", help="Practise on a video file instead of the camera."),
    side: Optional[str] = typer.Option(None, "--side", help="left or right, for a one-sided exercise."),
    no_window: bool = typer.Option(False, "--no-window", help="Run without a display (servers, tests)."),
    windowed: bool = typer.Option(False, "--windowed", help="A window instead of the full screen (default: full screen, readable from 2-3 m)."),
    record_video: Optional[Path] = typer.Option(None, "--record-video", help="Write the annotated frames to OUT.mp4."),
    fast: bool = typer.Option(False, "--fast", help="With --source: process frames as fast as possible, not at the video's rate."),
    pain_before: Optional[int] = typer.Option(None, "--pain-before", help="Pain before, 0-10."),
    mood_before: Optional[int] = typer.Option(None, "--mood-before", help="Mood before, 1-5."),
    pain_after: Optional[int] = typer.Option(None, "--pain-after", help="Pain after, 0-10."),
    mood_after: Optional[int] = typer.Option(None, "--mood-after", help="Mood after, 1-5."),
    belt: Optional[str] = typer.Option(None, "--belt", help="A breathing belt's name or address (breath joins the session)."),
    breath_replay: Optional[Path] = typer.Option(None, "--breath-replay", help="Replay a breath recording on the session clock."),
    rate_hz: Optional[float] = typer.Option(None, "--rate-hz", help="Sampling rate of the breath replay, if it has no times."),
    belt_kind: Optional[str] = typer.Option(None, "--belt-kind", help="vernier | polar | generic (a belt, or a raw log replay)."),
    polarity: str = typer.Option("auto", "--polarity", help="Breath polarity: auto | normal (rise = inhale) | inverted."),
    pacer: Optional[bool] = typer.Option(None, "--pacer/--no-pacer", help="Show the breathing guide (default: when the exercise asks for breath coordination)."),
    sound: bool = typer.Option(False, "--sound", help="Soft tones at the guide's phase changes and a quiet chime per repetition."),
    profile: bool = typer.Option(False, "--profile", help="At the end, print where the time went (per stage and thread)."),
) -> None:
    """Practise an exercise with live, gentle guidance; the session is recorded as it happens."""
    from calibration.practice import build_practice_pipeline
    from core.timing import NO_TIMER, StageTimer
    from mindmove.store.profiles import load_profile
    from feedback.exercises import exercise_title, load_exercise
    from feedback.messages import load_catalogue
    from feedback.render_practice import PracticeWindow, VideoFileSink, render_practice_frame
    from feedback.session import run_practice
    from mindmove.store.db import open_store
    from mindmove.settings import load_settings
    from mindmove.store.recording import SessionRecorder
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source

    if camera is not None and source is not None:
        raise InputError("Give either --camera or --source, not both.")
    if belt is not None and breath_replay is not None:
        raise InputError("Give either --belt or --breath-replay, not both.")
    if belt is not None and fast:
        raise InputError("--fast runs the video faster than real time, which a live belt cannot follow; "
                         "leave out --fast, or use --breath-replay FILE.")
    load_catalogue()  # a clinic's message file is checked now, before the camera opens
    settings = load_settings()
    ex = load_exercise(exercise, directory=settings.exercises_dir)
    if side is not None:
        ex = ex.with_side(side)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    before = _checkin(pain_before, mood_before, when="before", interactive=interactive)
    _checkin(pain_after, mood_after, when="after", interactive=False)  # refuse a bad value before the session
    with open_store() as store:
        record = load_profile(store, patient)
        pipeline = build_practice_pipeline(ex, profile_record=record)
        breath, stream = _open_breath(ex, belt=belt, breath_replay=breath_replay, rate_hz=rate_hz,
                                      belt_kind=belt_kind, polarity=polarity, pacer=pacer)
        player = None
        if sound:
            from feedback.sound import open_sound

            player = open_sound()
        sinks = []
        frames = None
        try:
            frames = open_source(source if source is not None else (camera if camera is not None else 0))
            estimator = create_pose_estimator(input_max_px=settings.pose_input_px)
            recorder = SessionRecorder(store, patient, kind="practice", exercise=ex.name,
                                       profile_version_id=record.version_id if record else None, background=True)
            session_id = recorder.start()
            if before != (None, None):
                recorder.add_checkin("before", pain=before[0], mood=before[1])
            if not no_window:
                sinks.append(PracticeWindow(fullscreen=not windowed))
            if record_video is not None:
                sinks.append(VideoFileSink(record_video, fps=frames.fps or 30.0, size=frames.size))
            typer.echo(f"Session {session_id}: {exercise_title(ex)}. Press q or Esc to finish.", err=True)
            timer = StageTimer() if profile else NO_TIMER
            if settings.pose_rate_hz or settings.pose_input_px:
                log.info("this station sends the pose model %s", estimator.name
                         + (f", at most {settings.pose_rate_hz:g} frames a second" if settings.pose_rate_hz else ""))
            result = run_practice(frames, estimator, pipeline, recorder=recorder, sinks=sinks,
                                  render=render_practice_frame if sinks else None,
                                  pace=not fast, breath=breath, sound=player, timer=timer,
                                  pose_rate_hz=settings.pose_rate_hz)
            if profile:
                _print_profile(timer, result)
            saved = True
            if result.breath is not None:
                from mindmove.store.models import BreathResult

                try:
                    with store.session() as db:
                        db.add(BreathResult(session_id=session_id, **result.breath))
                except StoreError as exc:
                    log.warning("session %d: breath result not saved: %s", session_id, exc)
                    saved = False
            saved = recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s) and saved
        finally:
            for sink in sinks:
                sink.close()
            if frames is not None:
                frames.close()
            if stream is not None:
                stream.close()
        after = _checkin(pain_after, mood_after, when="after", interactive=interactive)
        if after != (None, None):
            try:
                recorder.add_checkin("after", pain=after[0], mood=after[1])
            except StoreError as exc:
                log.warning("session %d: check-in after not saved: %s", session_id, exc)
                saved = False
    if not saved:
        from feedback.messages import message

        typer.echo(message("session.not_all_saved"))
    s = result.summary
    in_range = s["time_in_range_pct"]
    typer.echo(f"Session {session_id} {'saved' if saved else 'ended'}: {s['repetitions']} repetitions, "
               f"{s['active_min']:.1f} active minutes"
               + (f", {in_range:.0f}% of the time within the comfortable range" if in_range is not None else "")
               + ".")
    b, c = s.get("breath"), s.get("breath_coordination")
    if b is not None and b.get("rate_bpm") is not None:
        typer.echo(f"Breath: {b['breaths']} breaths, {b['rate_bpm']:.1f} breaths/min.")
    if c is not None and c["judged"]:
        typer.echo(f"Moving with the breath: {c['coordinated']} of {c['judged']} repetitions.")


def _print_profile(timer, result) -> None:
    """``--profile``: time per stage and CPU per thread, on stderr."""
    from core.timing import format_figures
    from feedback.session.stats import compute_percentile

    p95 = compute_percentile(result.latency_s, 95)
    typer.echo(f"profile: {result.frames_processed} frames processed, {result.frames_dropped} dropped, "
               f"{result.frames_skipped} skipped by the pose rate, {result.frames_not_shown} not shown; "
               f"capture->cue p95 {1000 * p95:.1f} ms" if p95 is not None else "profile: no frame processed", err=True)
    for line in format_figures(timer.figures()):
        typer.echo("  " + line, err=True)
    for name, seconds in sorted(timer.thread_cpu_s.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  CPU {name:<28s} {seconds:7.2f} s", err=True)


def _open_breath(ex, *, belt, breath_replay, rate_hz, belt_kind, polarity, pacer):
    """(PracticeBreath or None, belt stream or None) from the options and the exercise."""
    from feedback.breath import POLARITIES

    if polarity not in POLARITIES:
        raise InputError(f"--polarity is one of {', '.join(POLARITIES)}, but got {polarity!r}.")
    if rate_hz is not None and breath_replay is None:
        raise InputError("--rate-hz goes with --breath-replay FILE; leave it out otherwise.")
    show_pacer = pacer if pacer is not None else ex.breath is not None
    guide = None
    if show_pacer:
        from feedback.pacer import Pacer, PacerPlan

        rule = ex.breath
        guide = Pacer(PacerPlan(rate_bpm=rule.pacer_rate_bpm, ie_ratio=rule.pacer_ie_ratio) if rule else PacerPlan())
    feed, stream = None, None
    if breath_replay is not None:
        from feedback.session import ReplayFeed
        from sensing.breath_source import load_breath_file

        t_s, values, rate = load_breath_file(breath_replay, rate_hz=rate_hz, belt_kind=belt_kind)
        feed = ReplayFeed(t_s, values, rate_hz=rate)
    elif belt is not None:
        from feedback.session import BeltFeed
        from mindmove.commands.belt import _backends
        from sensing.belts import open_belt

        client_backend, scanner_backend = _backends()
        stream = open_belt(belt, kind=belt_kind, backend=client_backend, scanner_backend=scanner_backend)
        feed = BeltFeed(stream)
    if feed is None and guide is None:
        return None, None
    from feedback.session import PracticeBreath

    return PracticeBreath(feed=feed, pacer=guide, polarity=polarity), stream


def exercises() -> None:
    """List the exercises (shipped, and the clinic's own from MINDMOVE_EXERCISES_DIR)."""
    from feedback.exercises import load_exercises
    from mindmove.settings import load_settings

    for name, ex in load_exercises(directory=load_settings().exercises_dir).items():
        sides = "/".join(ex.tracking.sides) or "-"
        typer.echo(f"{name:28s} {ex.position:9s} {ex.tracking.motion:20s} {sides:11s} {ex.title}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.command("practice")(practice)
    app.command("exercises")(exercises)
