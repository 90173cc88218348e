"""`mindmove practice` (a live session, run by :mod:`mindmove.practice`) and `mindmove exercises`
(what can be practised)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from sensing.belts.kinds import belt_kinds_help


def _ask(label: str, low: int, high: int) -> int | None:
    """Ask one check-in question on the terminal; empty answer skips it."""
    while True:
        answer = typer.prompt(f"{label} ({low}-{high}, Enter to skip)", default="", show_default=False).strip()
        if not answer:
            return None
        if answer.isdigit() and low <= int(answer) <= high:
            return int(answer)
        typer.echo(f"Please type a whole number from {low} to {high}, or press Enter to skip.")


def _ask_checkin(when: str) -> tuple[int | None, int | None]:
    from mindmove.store.recording import MOOD_RANGE, PAIN_RANGE

    return _ask(f"Pain {when} the session", *PAIN_RANGE), _ask(f"Mood {when} the session", *MOOD_RANGE)


def _ask_satisfaction() -> int | None:
    from feedback.messages import message
    from mindmove.store.recording import SATISFACTION_RANGE

    return _ask(message("checkin.satisfaction"), *SATISFACTION_RANGE)


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
    satisfaction: Optional[int] = typer.Option(None, "--satisfaction", help="Satisfaction with the session, 1-5 (optional)."),
    belt: Optional[str] = typer.Option(None, "--belt", help="A breathing belt's name or address (breath joins the session)."),
    breath_replay: Optional[Path] = typer.Option(None, "--breath-replay", help="Replay a breath recording on the session clock."),
    rate_hz: Optional[float] = typer.Option(None, "--rate-hz", help="Sampling rate of the breath replay, if it has no times."),
    belt_kind: Optional[str] = typer.Option(None, "--belt-kind", help=f"{belt_kinds_help()} (a belt, or a raw log replay)."),
    signal: Optional[str] = typer.Option(None, "--signal", help="What the breath recording or belt measures: belt | impedance | airflow | co2 | thermistor | accelerometer | auto (default: the file's or belt's own)."),
    polarity: Optional[str] = typer.Option(None, "--polarity", help="Override the breath signal's polarity: auto | normal (rise = inhale) | inverted."),
    pacer: Optional[bool] = typer.Option(None, "--pacer/--no-pacer", help="Show the breathing guide (default: when the exercise asks for breath coordination)."),
    profile: bool = typer.Option(False, "--profile", help="At the end, print where the time went (per stage and thread)."),
    sound: bool = typer.Option(False, "--sound", help="Soft tones at the guide's phase changes and a quiet chime per repetition."),
) -> None:
    """Practise an exercise with live, gentle guidance; the session is recorded as it happens."""
    from feedback.messages import message
    from mindmove.practice import BreathOptions, PracticeOptions, run_practice_session, summary_lines

    options = PracticeOptions(
        patient=patient, exercise=exercise, camera=camera, source=source, side=side, window=not no_window,
        windowed=windowed, record_video=record_video, fast=fast, sound=sound, profile=profile,
        before=(pain_before, mood_before), after=(pain_after, mood_after), satisfaction=satisfaction,
        breath=BreathOptions(belt=belt, replay=breath_replay, rate_hz=rate_hz, belt_kind=belt_kind,
                             signal=signal, polarity=polarity, pacer=pacer))
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    outcome = run_practice_session(
        options, ask_checkin=_ask_checkin if interactive else None,
        ask_satisfaction=_ask_satisfaction if interactive else None,
        on_start=lambda sid, title: typer.echo(f"Session {sid}: {title}. Press q or Esc to finish.", err=True))
    if not outcome.saved:
        typer.echo(message("session.not_all_saved"))
    for line in summary_lines(outcome):
        typer.echo(line)
    for warning in outcome.warnings:
        typer.echo(f"Warning: {warning}", err=True)
    if outcome.timer is not None:
        _print_profile(outcome.timer, outcome.result)


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


def exercises() -> None:
    """List the exercises (shipped, and the clinic's own from MINDMOVE_EXERCISES_DIR)."""
    from feedback.exercises import load_exercises
    from mindmove.settings import load_settings

    row = "{:28s} {:9s} {:20s} {:11s} {}"
    typer.echo(row.format("exercise (--exercise)", "position", "tracked motion", "sides", "title"))
    for name, ex in load_exercises(directory=load_settings().exercises_dir).items():
        typer.echo(row.format(name, ex.position, ex.tracking.motion, "/".join(ex.tracking.sides) or "-", ex.title))


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.command("practice")(practice)
    app.command("exercises")(exercises)
