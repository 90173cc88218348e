"""`mindmove analyze` (offline analysis of a recording) and `mindmove info` (install check)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from core.errors import InputError

# The camera `mindmove info` probes; no camera is a normal answer.
CAMERA_PROBE_INDEX = 0


def _quiet_opencv() -> None:
    """Keep OpenCV's and FFmpeg's own log lines off the terminal (set before first use)."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    os.environ.setdefault("OPENCV_VIDEOIO_PRIORITY_OBSENSOR", "0")
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ info/warning lines
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # older OpenCV builds without the logging module
        pass


def _parse_roi(text: str | None) -> tuple[int, int, int, int] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError as exc:
        raise InputError(f"Expected --roi as four whole numbers X,Y,W,H, but got '{text}'.") from exc
    if len(values) != 4:
        raise InputError(f"Expected --roi as four whole numbers X,Y,W,H, but got '{text}'.")
    return values  # type: ignore[return-value]


def _progress_bar():
    """A Rich progress bar on a terminal, or None (tests, pipes, logs)."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn,
                               TextColumn, TimeElapsedColumn)
    from rich.text import Text

    class FramesPerSecond(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.speed
            return Text("" if speed is None else f"{speed:.1f} frames/s")

    return Progress(TextColumn("analysing"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("frames"), FramesPerSecond(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=False)


def analyze(
    input_path: Path = typer.Argument(..., metavar="INPUT",
                                      help="A video, a folder of images, a landmark CSV, or a .c3d/.trc file."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Folder for landmarks.csv, angles.csv, summary.json (needed unless --patient)."),
    pose_model: Optional[Path] = typer.Option(None, "--pose-model",
                                              help="A MediaPipe pose_landmarker .task bundle (default: the offline full model)."),
    overlay: bool = typer.Option(False, "--overlay", help="Also write overlay.mp4 with skeleton and angles drawn."),
    cutoff_hz: float = typer.Option(6.0, "--cutoff-hz", help="Butterworth low-pass cutoff for the angles (Hz)."),
    visibility_threshold: float = typer.Option(0.5, "--visibility-threshold",
                                               help="Landmarks less visible than this give no angle."),
    task: str = typer.Option("auto", "--task", help="auto (gait when the person walks), angles, or gait."),
    roi: Optional[str] = typer.Option(None, "--roi", help="X,Y,W,H region in pixels: analyse the person inside it (and the walkway, for gait)."),
    person: Optional[int] = typer.Option(None, "--person", help="Analyse person N (as numbered in overlay.mp4) when several are in view."),
    people: str = typer.Option("several", "--people", help="several (follow everyone, analyse one: the default) or one (the faster one-person model)."),
    scale_m_per_px: Optional[float] = typer.Option(None, "--scale-m-per-px",
                                                   help="Metres per pixel on the walkway plane (gait)."),
    treadmill_speed: Optional[float] = typer.Option(None, "--treadmill-speed", metavar="M_S",
                                                    help="Belt speed in m/s when walking on a treadmill "
                                                         "(gait speed and step length)."),
    markers: Optional[Path] = typer.Option(None, "--markers", help="Marker map (.toml) for motion capture input."),
    rate_hz: Optional[float] = typer.Option(None, "--rate-hz", help="Frame rate of an image folder (default 30)."),
    patient: Optional[str] = typer.Option(None, "--patient",
                                          help="Store the gait result in this patient's record (with --task gait)."),
    by: Optional[str] = typer.Option(None, "--by", help="Who ran the analysis (with --patient; default: the computer's user)."),
    setup: Optional[str] = typer.Option(None, "--setup", help="Camera set-up whose distance scale to use (gait)."),
) -> None:
    """Analyse a recording: landmarks, joint angles and a summary in --out; with --patient, store the gait."""
    _quiet_opencv()
    from mindmove.analyze import analyze_input

    if out is None and patient is None:
        raise InputError("Give --out FOLDER for the results (or --patient CODE to store a gait result).")
    if patient is not None:
        _store_gait_for_patient(input_path, out, patient=patient, by=by, setup=setup, task=task,
                                scale_m_per_px=scale_m_per_px, pose_model=pose_model, roi=_parse_roi(roi),
                                marker_map=markers, rate_hz=rate_hz, cutoff_hz=cutoff_hz,
                                visibility_threshold=visibility_threshold)
        return

    bar = _progress_bar()
    progress_fn = None
    if bar is not None:
        bar.start()
        task_id = bar.add_task("analyse", total=None)

        def progress_fn(done: int, total: int | None) -> None:
            bar.update(task_id, completed=done, total=total)
    try:
        summary = analyze_input(input_path, out, pose_model=pose_model, overlay=overlay,
                                cutoff_hz=cutoff_hz, visibility_threshold=visibility_threshold,
                                task=task, roi=_parse_roi(roi), scale_m_per_px=scale_m_per_px,
                                treadmill_speed_m_s=treadmill_speed,
                                marker_map=markers, rate_hz=rate_hz, progress=progress_fn,
                                person=person, people=people)
    finally:
        if bar is not None:
            bar.stop()
    typer.echo(f"{summary['frames']} frames, a person in {summary['frames_with_person']}, "
               f"{summary['duration_s']:.2f} s; wrote {', '.join(summary['outputs'])} to {out}")
    for note in summary.get("notes", []):
        typer.echo(f"note: {note}")


def _store_gait_for_patient(input_path: Path, out: Path | None, *, patient: str, by: str | None, setup: str | None,
                            task: str, scale_m_per_px: float | None, **analysis) -> None:
    """``analyze --patient``: the gait analysis of ``input_path`` stored as a gait assessment
    (what ``gait.json`` holds, with its quality flags and passes), with its provenance. The
    patient is checked first; a recording without walking stores nothing (exit 2)."""
    import json
    import tempfile
    from datetime import datetime, timezone

    from feedback.assessments.walking import gait_assessment_from_report
    from mindmove.analyze import analyze_input
    from mindmove.auth import audit
    from mindmove.commands import cli_actor
    from mindmove.commands.assess import _scale
    from mindmove.store import open_store
    from mindmove.store.assessments import Provenance, find_patient_id, record_assessment

    if task != "gait":
        raise InputError("--patient stores a gait result: give --task gait (angles are not stored per patient).")
    with open_store() as store:
        find_patient_id(store, patient)
        scale, scale_detail = _scale(store, setup, scale_m_per_px)
        started = datetime.now(timezone.utc)
        with tempfile.TemporaryDirectory(prefix="mindmove-analyze-") as tmp:
            folder = out if out is not None else Path(tmp)
            summary = analyze_input(input_path, folder, task="gait", scale_m_per_px=scale, **analysis)
            gait = json.loads((Path(folder) / "gait.json").read_text(encoding="utf-8"))
        result = gait_assessment_from_report(gait, source=input_path.name)
        if scale_detail:
            result = type(result)(**{**result.__dict__, "detail": {**result.detail, "scale": scale_detail}})
        suffix = input_path.suffix.lower()
        kind = "mocap" if suffix in (".c3d", ".trc") or analysis.get("marker_map") else (
            "landmarks" if suffix == ".csv" else "video")
        run_by = (by or "").strip() or cli_actor()
        provenance = Provenance(run_by=run_by, source_kind=kind, source_name=input_path.name,
                                pose_model=str(summary.get("pose_model") or ""), started_at=started,
                                ended_at=datetime.now(timezone.utc), software=summary.get("software", {}))
        assessment_id = record_assessment(store, patient, result, provenance)
        audit(store, cli_actor(), "record_assessment", patient_code=patient,
              detail=f"test=gait; value={result.value}; by={run_by}; source={kind}")
    params = gait["parameters"]
    typer.echo(f"Gait for {patient}: cadence {params.get('cadence_steps_per_min')} steps/min, "
               f"gait speed {params.get('gait_speed_m_s') if params.get('gait_speed_m_s') is not None else '-'} m/s, "
               f"{len(gait['passes'])} pass(es) (stored as assessment {assessment_id}).")
    for flag in result.flags:
        typer.echo(f"  flag: {flag.replace('_', ' ')}")


def probe_camera(index: int = CAMERA_PROBE_INDEX, /) -> bool:
    """Whether camera ``index`` opens and gives a picture (quick; False without a camera)."""
    from core.errors import SourceError
    from sensing.video import CameraSource

    try:
        CameraSource(index).close()
    except SourceError:
        return False
    return True


def info() -> None:
    """Versions, pose model files, camera, data folder and database: an install check."""
    _quiet_opencv()
    from mindmove.analyze import software_versions
    from mindmove.settings import hide_password, load_settings
    from sensing.pose import bundled_pose_model_files

    versions = software_versions()
    for key in ("mindmove", "python", "mediapipe", "numpy", "opencv"):
        typer.echo(f"{key:<22}{versions.get(key, 'unknown')}")
    for rel, present in bundled_pose_model_files().items():
        typer.echo(f"{'pose model':<22}{'present' if present else 'MISSING'}  mediapipe/{rel}")
    camera = probe_camera(CAMERA_PROBE_INDEX)
    typer.echo(f"{'camera ' + str(CAMERA_PROBE_INDEX):<22}"
               f"{'available' if camera else 'not available (no webcam found at index 0)'}")
    settings = load_settings()
    typer.echo(f"{'data directory':<22}{settings.data_dir}")
    state, problem = _database_state(settings.db_url)
    typer.echo(f"{'database':<22}{hide_password(settings.db_url)}  {state}")
    if problem is not None:
        raise problem


def _database_state(url: str):
    """(what to show, the MindMoveError to report or None) for the database at ``url``.
    Nothing is created or upgraded: an install check changes nothing."""
    from core.errors import MindMoveError, StoreError
    from mindmove.inputs import check_output_dir
    from mindmove.store.db import first_line, open_store
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    if url.startswith("sqlite:///") and url.removeprefix("sqlite:///") not in ("", ":memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            try:
                check_output_dir(path.parent, option="the database folder (MINDMOVE_DB_URL, MINDMOVE_DATA_DIR)")
            except MindMoveError as exc:
                return "PROBLEM", exc
            return "not created yet (made at first use)", None
    try:
        store = open_store(url, create=False)
    except StoreError as exc:
        return "PROBLEM", exc
    try:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        from mindmove.settings import hide_password

        return "PROBLEM", StoreError(f"Cannot reach the database at {hide_password(url)}: {first_line(exc)}. "
                                     "Check MINDMOVE_DB_URL and that the server is running.")
    finally:
        store.dispose()
    return "reachable", None


def register(app: typer.Typer) -> None:
    """Add `analyze` and `info` to ``app``."""
    app.command("analyze")(analyze)
    app.command("info")(info)
