"""`mindmove assess`: a standard functional test from the camera or a recording, into the record.

    mindmove assess --patient P001 --test tug [--source FILE | --camera N] [--by NAME]
        [--setup NAME | --scale-m-per-px S] [--distance-m 4] [--no-window] [--windowed]

The tests come from the registry (:mod:`feedback.assessments.registry`). With the camera the
patient sees one instruction at a time, a countdown and the result; the start and end come
from the movement, and the therapist may start (space), stop (s) or cancel (q). A video
file, or a landmark CSV, is analysed whole. The result is stored with who ran it, when, the
source, the software, the pose model and the calibration profile version; a refusal (an
unknown patient, nobody standing up, no walking) is one line, exit 2, and nothing stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from core.errors import InputError, ValidationError
from mindmove.commands import cli_actor

LANDMARK_SUFFIXES = (".csv",)


def _test_help() -> str:
    from feedback.assessments import ASSESSMENTS

    return "The test: " + ", ".join(f"{name} ({a.title})" for name, a in ASSESSMENTS.items()) + "."


def _scale(store, setup: str | None, scale_m_per_px: float | None) -> tuple[float | None, dict]:
    if setup is not None and scale_m_per_px is not None:
        raise InputError("Give either --setup NAME or --scale-m-per-px, not both.")
    if scale_m_per_px is not None:
        if not scale_m_per_px > 0:
            raise InputError(f"Expected a positive --scale-m-per-px, but got {scale_m_per_px}.")
        return scale_m_per_px, {"scale_m_per_px": scale_m_per_px}
    if setup is None:
        return None, {}
    from mindmove.store.camera_setups import load_camera_setup

    record = load_camera_setup(store, setup)
    if record is None:
        raise ValidationError(f"No camera set-up named {setup!r}: measure it first with 'mindmove scale set --setup "
                              f"{setup} ...'. Nothing was measured or stored.")
    return record.metres_per_pixel, {"camera_setup": record.name, "scale_m_per_px": record.metres_per_pixel,
                                     "scale_method": record.method}


def _value_text(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} {unit}" if unit == "stands" else f"{value:.2f} {unit}"


def _result_message(assessment, result) -> str:
    """The plain sentence the patient sees (message catalogue), never a judgement."""
    from feedback.messages import message

    if result.value is None:
        return message("assessment.result_walk")
    key = "assessment.result_speed" if result.unit == "m/s" else assessment.result_message
    shown = f"{result.value:.0f}" if result.unit == "stands" else f"{result.value:.1f}"
    return message(key, value=shown)


def assess(
    patient: str = typer.Option(..., "--patient", help="The patient's clinic code, e.g. P001."),
    test: str = typer.Option(..., "--test", help="The test (see above)."),
    source: Optional[Path] = typer.Option(None, "--source", help="A video file (or landmark CSV) instead of the camera."),
    camera: Optional[int] = typer.Option(None, "--camera", help="Camera number (default 0)."),
    by: Optional[str] = typer.Option(None, "--by", help="Who runs the test (default: the computer's user)."),
    setup: Optional[str] = typer.Option(None, "--setup", help="Camera set-up whose distance scale to use (walking tests)."),
    scale_m_per_px: Optional[float] = typer.Option(None, "--scale-m-per-px", help="Metres per pixel on the walking plane."),
    distance_m: float = typer.Option(4.0, "--distance-m", help="Marked distance for gait-speed, metres."),
    no_window: bool = typer.Option(False, "--no-window", help="Run without a display."),
    windowed: bool = typer.Option(False, "--windowed", help="A window instead of the full screen."),
) -> None:
    """Run a standard functional test for a patient and store the result in their record."""
    from feedback.assessments import AssessmentOptions, get_assessment
    from feedback.messages import load_catalogue
    from mindmove.store import open_store
    from mindmove.store.assessments import find_patient_id

    assessment = get_assessment(test)
    if camera is not None and source is not None:
        raise InputError("Give either --camera or --source, not both.")
    if source is not None and not source.exists():
        raise InputError(f"Recording not found: {source}. Check the path and try again.")
    load_catalogue()  # a clinic's message file is checked before the camera opens
    run_by = (by or "").strip() or cli_actor()
    with open_store() as store:
        find_patient_id(store, patient)  # an unknown patient is refused before anything is measured
        scale, scale_detail = _scale(store, setup, scale_m_per_px)
        if assessment.needs_scale and scale is None and not _is_landmarks(source):
            raise ValidationError(f"{assessment.title} needs a distance scale: give --setup NAME (see 'mindmove "
                                  "scale set') or --scale-m-per-px. Nothing was measured or stored.")
        options = AssessmentOptions(scale_m_per_px=scale, distance_m=distance_m)
        capture, sinks, kind, name, pose_model = _capture(assessment, source=source, camera=camera,
                                                          no_window=no_window, windowed=windowed)
        try:
            _analyse_and_store(store, patient, assessment, capture, options, sinks=sinks, run_by=run_by, kind=kind,
                               name=name, pose_model=pose_model, scale_detail=scale_detail)
        finally:
            for sink in sinks:
                sink.close()


def _is_landmarks(source: Path | None) -> bool:
    return source is not None and source.suffix.lower() in LANDMARK_SUFFIXES


def _capture(assessment, *, source: Path | None, camera: int | None, no_window: bool, windowed: bool):
    """(Capture, the windows, source kind, source name, pose model), with the window when asked."""
    from datetime import datetime, timedelta, timezone

    from mindmove.assess.run import Capture, capture_assessment

    if _is_landmarks(source):
        from sensing.landmarks import load_landmarks_csv

        series = load_landmarks_csv(source)
        now = datetime.now(timezone.utc)
        span = float(series.t_s[-1] - series.t_s[0]) if len(series) > 1 else 0.0
        return (Capture(series, now, now + timedelta(seconds=span), "end_of_input", len(series)), [],
                "landmarks", source.name, "none (landmark file)")
    from mindmove.commands.analyze import _quiet_opencv
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source

    _quiet_opencv()
    sinks = []
    frames = open_source(source if source is not None else (camera if camera is not None else 0))
    try:
        estimator = create_pose_estimator()
        try:
            if not no_window:
                from mindmove.assess.window import AssessmentWindow

                sinks.append(AssessmentWindow(fullscreen=not windowed))
            name = source.name if source is not None else f"camera {camera if camera is not None else 0}"
            if sinks:  # the keys only matter with a window
                typer.echo(f"{assessment.title}: {'analysing ' + name if source else 'the camera is on'}. "
                           "Keys: space start, s stop, q cancel.", err=True)
            capture = capture_assessment(frames, estimator, assessment, recorded=source is not None, sinks=sinks,
                                         source_name=name, render=_renderer(assessment) if sinks else None)
            pose_model = getattr(estimator, "name", "")
        except BaseException:
            for sink in sinks:
                sink.close()
            raise
        finally:
            estimator.close()
    finally:
        frames.close()
    if capture.cancelled:
        for sink in sinks:
            sink.close()
        raise InputError("The test was cancelled; nothing was stored.")
    return capture, sinks, ("video" if source is not None else "camera"), name, pose_model


def _renderer(assessment):
    from mindmove.assess.window import render_assessment_frame

    def render(image, pose, view, t_s, text=None):
        return render_assessment_frame(image, pose, view, title=assessment.title, t_s=t_s, text=text)

    return render


def _analyse_and_store(store, patient, assessment, capture, options, *, sinks, run_by, kind, name, pose_model,
                       scale_detail) -> None:
    from core.errors import MindMoveError
    from feedback.messages import message
    from mindmove.analyze import software_versions
    from mindmove.assess.run import show_outcome
    from mindmove.auth import audit
    from mindmove.store.assessments import Provenance, record_assessment

    series = capture.series
    try:
        if not series.frames_with_person().any():
            raise ValidationError(f"Nobody was found in {name}, so nothing was measured or stored. Check that the "
                                  "whole body is in view of the camera.")
        result = assessment.analyse(series, options)
    except MindMoveError:
        if sinks:
            show_outcome(capture, sinks, message("assessment.not_measured"), title=assessment.title,
                         render=_renderer(assessment))
        raise
    if scale_detail:
        result = type(result)(**{**result.__dict__, "detail": {**result.detail, "scale": scale_detail}})
    provenance = Provenance(run_by=run_by, source_kind=kind, source_name=name, pose_model=pose_model,
                            started_at=capture.started_at, ended_at=capture.ended_at, software=software_versions())
    assessment_id = record_assessment(store, patient, result, provenance)
    audit(store, cli_actor(), "record_assessment", patient_code=patient,
          detail=f"test={assessment.name}; value={result.value}; by={run_by}; source={kind}")
    if sinks:
        show_outcome(capture, sinks, _result_message(assessment, result), title=assessment.title,
                     render=_renderer(assessment))
    typer.echo(f"{assessment.title} for {patient}: {_value_text(result.value, result.unit)} "
               f"(stored as assessment {assessment_id}).")
    shown = {k: v for k, v in result.fields.items() if k.endswith("_s") and k not in ("start_s", "end_s")}
    if shown:
        typer.echo("  " + ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.2f} s"
                                    for k, v in shown.items() if v is not None))
    for flag in result.flags:
        typer.echo(f"  flag: {flag.replace('_', ' ')}")
    for note in result.notes:
        typer.echo(f"  note: {note}")


def register(app: typer.Typer) -> None:
    """Add ``assess`` to ``app``, its help built from the registry."""
    from feedback.assessments import ASSESSMENTS

    assess.__doc__ = ("Run a standard functional test for a patient and store the result in their record. Tests: "
                      + "; ".join(f"{name} = {a.title}" for name, a in ASSESSMENTS.items()) + ".")
    app.command("assess")(assess)
