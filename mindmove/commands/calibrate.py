"""`mindmove calibrate`: guided capture of a patient's comfortable ranges or neutral posture.

    mindmove calibrate --patient P001 --motion right_shoulder_flexion [--motion ...]
        [--source FILE | --camera N] [--no-window] [--accept | --set MIN MAX] --by NAME
    mindmove calibrate --patient P001 --neutral standing --source FILE --accept --by NAME

The patient moves slowly through their comfortable range three times; MindMove proposes a
range (median of the per-repetition peaks of the smoothed angle) and the therapist accepts
(``a`` / ``--accept``), edits (``e``, or ``--set MIN MAX``) or rejects (``r``) it. Accepted
ranges are stored as a new profile version, audited as ``edit_calibration`` by
``cli:<operating-system user>``. A refusal (too little visibility, too few repetitions,
outside physiological limits, the person moved) exits 2 with one line and stores nothing.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from feedback.motions import motions_help
from mindmove.commands import cli_actor
from core.errors import InputError, MindMoveError

console = Console(highlight=False)

DEFAULT_CAMERA_CAPTURE_S = 30.0  # a live range capture ends after this unless finished earlier
DEFAULT_NEUTRAL_S = 5.0


def _quiet_opencv() -> None:
    from mindmove.commands.analyze import _quiet_opencv as quiet

    quiet()


def _observed(capture) -> str:
    import numpy as np

    a = capture.angles_deg
    seen = a[np.isfinite(a)]
    if seen.size == 0:
        return f"not seen in {a.size} frames"
    return (f"median {np.median(seen):.0f} deg, {np.min(seen):.0f}..{np.max(seen):.0f} deg over {a.size} frames, "
            f"visible {capture.visible_fraction:.0%}")


def _prompt_range(motion: str, proposed) -> tuple[float, float]:
    lo = typer.prompt(f"{motion} minimum (deg)", default=proposed.min_deg if proposed else None, type=float)
    hi = typer.prompt(f"{motion} maximum (deg)", default=proposed.max_deg if proposed else None, type=float)
    return lo, hi


def _decide(motion: str, proposal, refusal: MindMoveError | None, *, accept: bool,
            set_range: tuple[float, float] | None, window, margin_deg: float):
    """The SafeRange to store for ``motion``, or None when rejected."""
    from calibration.limits import check_range
    from core.ranges import SafeRange

    if set_range is not None:
        check_range(motion, *set_range)
        return SafeRange(set_range[0], set_range[1], margin_deg)
    if refusal is not None:
        raise refusal
    proposed = proposal.range
    text = f"{motion}: proposed {proposed.min_deg:g}..{proposed.max_deg:g} deg"
    if accept:
        return proposed
    if window is not None:
        choice = window.ask_decision(text)
    elif sys.stdin.isatty():
        choice = {"a": "accept", "e": "edit", "r": "reject"}.get(
            typer.prompt(f"{text}. [a]ccept, [e]dit or [r]eject?", default="a").strip().lower()[:1], "reject")
    else:
        raise InputError(f"{text}, but no decision was given: use --accept or --set MIN MAX with --no-window.")
    if choice == "accept":
        return proposed
    if choice == "edit":
        lo, hi = _prompt_range(motion, proposed)
        check_range(motion, lo, hi)
        return SafeRange(lo, hi, margin_deg)
    return None


MAX_CAPTURE_S = 600.0  # ten minutes: a capture is three slow repetitions or a moment of stillness


def _check_before_capture(patient: str, motions, *, set_range, duration_s, camera: int, no_window: bool) -> None:
    """Everything that can be refused without the camera, refused before it opens."""
    from calibration.limits import check_range
    from core.patients import check_patient_code
    from feedback.messages import load_catalogue
    from mindmove.inputs import check_number

    check_patient_code(patient)
    if set_range is not None:
        check_range(motions[0], *set_range)  # --set 500 -5: refused now, not after the capture
    check_number(duration_s, option="--duration", low=0.0, low_open=True, high=MAX_CAPTURE_S, unit="s")
    if camera < 0:
        raise InputError(f"Expected --camera to be a camera number (0, 1, ...), but got {camera}.")
    load_catalogue()  # the instructions shown come from the clinic's message file: checked first
    if not no_window:
        from mindmove.display import check_display

        check_display(window="the calibration window")


def calibrate(
    patient: str = typer.Option(..., "--patient", help="The patient's code, e.g. P001."),
    motions: list[str] = typer.Option([], "--motion", help=f"Motion to capture (repeatable): {motions_help()}."),
    neutral: str | None = typer.Option(None, "--neutral", help="Capture neutral posture instead: standing or seated."),
    source: str | None = typer.Option(None, "--source", help="A video file or image folder instead of the camera."),
    camera: int = typer.Option(0, "--camera", help="Camera index when no --source is given."),
    no_window: bool = typer.Option(False, "--no-window", help="Do not open a window (scripted use)."),
    accept: bool = typer.Option(False, "--accept", help="Accept the proposed range(s) without asking."),
    set_range: tuple[float, float] | None = typer.Option(None, "--set", help="Store MIN MAX instead of the proposal."),
    margin_deg: float = typer.Option(10.0, "--margin", help="Caution margin before each end, degrees."),
    repetitions: int = typer.Option(3, "--repetitions", min=1, help="Repetitions the capture must contain."),
    duration_s: float | None = typer.Option(None, "--duration",
                                            help="Seconds to capture (neutral: default 5; camera range: default 30)."),
    by: str = typer.Option(..., "--by", help="Name of the therapist."),
    reason: str | None = typer.Option(None, "--reason", help="Why (default: 'guided capture of ...')."),
) -> None:
    """Capture comfortable ranges (--motion) or neutral posture (--neutral) and store them."""
    from calibration.profile import Profile
    from feedback.messages import message
    from mindmove.store import open_store
    from mindmove.store.profiles import load_profile, save_profile_change

    _check_options(motions, neutral, set_range=set_range, accept=accept, by=by, margin_deg=margin_deg)
    _check_before_capture(patient, motions, set_range=set_range, duration_s=duration_s, camera=camera,
                          no_window=no_window)
    _quiet_opencv()
    window = None
    if not no_window:
        from calibration.window import CalibrationWindow

        key = "calibration.stay_still" if neutral else "calibration.move_slowly"
        window = CalibrationWindow(tuple(motions), instruction=message(key))
    try:
        captured = _capture(source if source is not None else camera, motions, neutral, window=window,
                            duration_s=duration_s, camera=source is None, repetitions=repetitions,
                            margin_deg=margin_deg)
        with open_store() as store:
            current = load_profile(store, patient)
            profile = current.profile if current else Profile()
            if neutral:
                change = _neutral_change(profile, captured, neutral, accept=accept, window=window)
            else:
                change = _range_change(profile, captured, accept=accept, set_range=set_range, window=window,
                                       margin_deg=margin_deg)
            if change is None:
                return
            new, default_reason, accepted = change
            record = save_profile_change(store, patient, profile, new, actor=cli_actor(), by=by,
                                         reason=reason or default_reason, detail_prefix=f"by={by}; calibrate: ")
    finally:
        if window is not None:
            window.close()
    console.print(f"Patient {patient}: profile version {record.version} saved by {record.created_by}.")
    for motion, rng in accepted.items():
        console.print(f"  {motion}: {rng.min_deg:g}..{rng.max_deg:g} deg (margin {rng.caution_margin_deg:g})")
    console.print(message("calibration.capture_done"))


def _check_options(motions, neutral, *, set_range, accept: bool, by: str, margin_deg: float) -> None:
    """Refuse contradictory or out-of-range options before the camera opens."""
    from calibration.limits import check_motion
    from calibration.profile import MAX_CAUTION_MARGIN_DEG, NEUTRAL_POSTURES

    if bool(motions) == bool(neutral):
        raise InputError("Give either --motion NAME (one or more) or --neutral standing|seated.")
    if neutral is not None and neutral not in NEUTRAL_POSTURES:
        raise InputError(f"Expected --neutral standing or seated, but got {neutral!r}.")
    for motion in motions:
        check_motion(motion)
    if set_range is not None and (accept or len(motions) != 1):
        raise InputError("--set MIN MAX takes exactly one --motion and cannot be combined with --accept.")
    if not by.strip():
        raise InputError("Expected the therapist's name in --by, but got nothing.")
    if not 0.0 <= margin_deg <= MAX_CAUTION_MARGIN_DEG:
        raise InputError(f"Expected --margin between 0 and {MAX_CAUTION_MARGIN_DEG:g} deg, but got {margin_deg:g}. "
                         "Choose a margin in that range.")


def _capture(spec, motions, neutral, *, window, duration_s, camera: bool, repetitions: int, margin_deg: float):
    """The neutral capture (``neutral``), or one range capture per motion, from ``spec``'s frames."""
    from calibration.guided import run_neutral_capture, run_range_capture
    from mindmove.settings import ensure_data_dir
    from sensing.multipose import create_tracking_estimator
    from sensing.video import open_source

    on_frame = window.show_capture if window is not None else None
    with open_source(spec) as frames, create_tracking_estimator(data_dir=ensure_data_dir()) as estimator:
        if neutral:
            return run_neutral_capture(frames.frames(), estimator, on_frame=on_frame,
                                       duration_s=duration_s or DEFAULT_NEUTRAL_S)
        limit_s = duration_s if duration_s is not None else (DEFAULT_CAMERA_CAPTURE_S if camera else None)
        return run_range_capture(frames.frames(), estimator, motions, on_frame=on_frame,
                                 max_duration_s=limit_s, min_repetitions=repetitions, caution_margin_deg=margin_deg)


def _neutral_change(profile, capture, neutral: str, *, accept: bool, window):
    """(new profile, default reason, {}) with the captured neutral posture, or None when rejected."""
    angles = capture.result()
    console.print(f"Neutral {neutral}: " + ", ".join(f"{k} {v:g}" for k, v in angles.items()))
    if not accept:
        text = f"neutral {neutral} over {capture.elapsed_s:.1f} s"
        if window is not None and window.ask_decision(text) != "accept":
            console.print("Rejected: nothing stored.")
            return None
        if window is None and not (sys.stdin.isatty() and typer.confirm(f"Store {text}?")):
            if not sys.stdin.isatty():
                raise InputError(f"Captured {text}, but no decision was given: use --accept with --no-window.")
            console.print("Rejected: nothing stored.")
            return None
    return profile.with_neutral(neutral, angles), f"guided capture of neutral {neutral} posture", {}


def _range_change(profile, captures, *, accept: bool, set_range, window, margin_deg: float):
    """(new profile, default reason, accepted ranges) from the proposals, or None when none is accepted."""
    accepted = {}
    for motion, capture in captures.items():
        console.print(f"{motion}: observed {_observed(capture)}")
        try:
            proposal, refusal = capture.proposal(), None
            console.print(f"{motion}: proposed {proposal.range.min_deg:g}..{proposal.range.max_deg:g} deg "
                          f"(peaks {', '.join(f'{p:.0f}' for p in proposal.peaks_deg)})")
        except MindMoveError as exc:
            proposal, refusal = None, exc
            if set_range is not None:
                console.print(f"{motion}: no proposal ({exc})")
        chosen = _decide(motion, proposal, refusal, accept=accept, set_range=set_range, window=window,
                         margin_deg=margin_deg)
        if chosen is None:
            console.print(f"{motion}: rejected.")
        else:
            accepted[motion] = chosen
    if not accepted:
        console.print("Nothing accepted: the profile is unchanged.")
        return None
    new = profile
    for motion, rng in accepted.items():
        new = new.with_range(motion, rng)
    return new, f"guided capture of {', '.join(accepted)}", accepted


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to ``app``."""
    app.command("calibrate")(calibrate)
