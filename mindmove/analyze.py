"""Offline analysis: a recording in, landmarks, joint angles and a summary out.

:func:`analyze_input` is what ``mindmove analyze`` runs; tests and the throughput benchmark
call it (or its two halves) directly:

1. :func:`compute_landmark_series` runs a pose estimator over frames. Per frame it only
   estimates and copies the landmarks into preallocated arrays; everything else happens
   once, vectorised, afterwards. A video or image folder is decoded a few frames ahead on a
   thread of its own (:func:`sensing.video.read_ahead`), on the second core while the
   model works.
2. :func:`analyze_series` turns a :class:`~sensing.landmarks.LandmarkSeries` (from video,
   a landmark CSV or motion capture) into ``landmarks.csv``, ``angles.csv`` (zero-lag
   Butterworth-smoothed joint angles) and ``summary.json``, plus gait outputs when the
   person walks (``--task auto``) or when asked (``--task gait``).

With ``overlay=True`` a second pass over the video draws the skeleton and the smoothed
angles into ``overlay.mp4``, so drawing never slows the analysis itself.
"""

from __future__ import annotations

import json
import logging
import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Literal, get_args

import numpy as np

from core.errors import InputError, SourceError
from sensing.landmarks import N_LANDMARKS, LandmarkSeries, PoseFrame, save_landmarks_csv

log = logging.getLogger(__name__)

Task = Literal["auto", "angles", "gait"]  # gait when the person walks, joint angles only, or gait
TASKS: tuple[str, ...] = get_args(Task)
LANDMARK_CSV_SUFFIXES = (".csv",)
MOCAP_SUFFIXES = (".c3d", ".trc")
DEFAULT_CUTOFF_HZ = 6.0
BUTTERWORTH_ORDER = 4  # zero-lag: applied forward and backward, so the effective order is 8
DEFAULT_VISIBILITY_THRESHOLD = 0.5
# Treadmills for walking run up to about 3 m/s; faster is running, or m/s confused with km/h
MAX_TREADMILL_SPEED_M_S = 3.0
# Frames allocated at a time when a source does not say how many it holds.
GROW_FRAMES = 1024
# What the analysis imports after the landmark pass (scipy.signal alone takes about a second):
# imported on a thread during the pass, while the model runs without the GIL.
ANALYSIS_MODULES = ("feedback.angles", "feedback.smoothing", "feedback.gait")

ProgressFn = Callable[[int, int | None], None]  # (frames done, total or None)


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything :func:`analyze_series` needs besides the series itself."""

    cutoff_hz: float = DEFAULT_CUTOFF_HZ
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD
    task: Task = "auto"
    roi: tuple[int, int, int, int] | None = None
    scale_m_per_px: float | None = None
    treadmill_speed_m_s: float | None = None
    person: int | None = None  # the identity to analyse (numbered in overlay.mp4)
    people: str = "several"  # several: follow everyone and choose one; one: the one-person model


def software_versions() -> dict[str, str]:
    """Versions of MindMove and the libraries whose behaviour shapes the results."""
    from mindmove import __version__

    versions = {"mindmove": __version__, "python": platform.python_version(),
                "numpy": np.__version__}
    for module, key in (("mediapipe", "mediapipe"), ("cv2", "opencv"), ("scipy", "scipy")):
        try:
            versions[key] = __import__(module).__version__
        except ImportError:
            versions[key] = "not installed"
    return versions


def compute_landmark_series(frames: Iterable, estimator, /, *,
                            image_size: tuple[int, int] | None = None,
                            n_frames_hint: int | None = None, source: str = "",
                            progress: ProgressFn | None = None,
                            keep_poses: list | None = None) -> LandmarkSeries:
    """Run ``estimator`` on each :class:`~sensing.video.Frame` and stack the results.

    The per-frame work is the estimate plus an array copy (see the throughput benchmark).
    ``keep_poses``, when a list, receives each frame's ``PoseFrame | None``.
    """
    capacity = max(int(n_frames_hint or 0), 1)
    t_s = np.zeros(capacity)
    world = np.full((capacity, N_LANDMARKS, 3), np.nan)
    vis = np.zeros((capacity, N_LANDMARKS))
    px = np.full((capacity, N_LANDMARKS, 2), np.nan)
    n = 0
    for frame in frames:
        if n == capacity:
            extra = max(GROW_FRAMES, capacity)
            t_s = np.concatenate([t_s, np.zeros(extra)])
            world = np.concatenate([world, np.full((extra, N_LANDMARKS, 3), np.nan)])
            vis = np.concatenate([vis, np.zeros((extra, N_LANDMARKS))])
            px = np.concatenate([px, np.full((extra, N_LANDMARKS, 2), np.nan)])
            capacity += extra
        pose = estimator.estimate(frame.image_bgr, frame.t_s)
        t_s[n] = frame.t_s
        if pose is not None:
            world[n] = pose.world_m
            vis[n] = pose.visibility
            if pose.pixel_px is not None:
                px[n] = pose.pixel_px
        if keep_poses is not None:
            keep_poses.append(pose)
        n += 1
        if progress is not None:
            progress(n, n_frames_hint)
    return LandmarkSeries(t_s=t_s[:n].copy(), world_m=world[:n].copy(), visibility=vis[:n].copy(),
                          pixel_px=px[:n].copy(), image_size=image_size, source=source,
                          attrs={"pose_model": getattr(estimator, "name", "")})


def _duration_s(t_s: np.ndarray) -> float:
    """Time covered by the frames: last - first + one frame interval (0 for one frame)."""
    if len(t_s) < 2:
        return 0.0
    return float(t_s[-1] - t_s[0] + np.median(np.diff(t_s)))


def _angle_stats(values_deg: np.ndarray) -> dict[str, float | None]:
    finite = values_deg[np.isfinite(values_deg)]
    if finite.size == 0:
        return {"min": None, "max": None, "rom": None}
    lo, hi = float(finite.min()), float(finite.max())
    return {"min": round(lo, 2), "max": round(hi, 2), "rom": round(hi - lo, 2)}


def _smooth_angles(angles, *, cutoff_hz: float, notes: list[str]):
    """Zero-lag Butterworth on every angle column; returns (values, filter description)."""
    from feedback.smoothing import FilterSettings, smooth

    t = angles.t_s
    rate_hz = float(1.0 / np.median(np.diff(t))) if len(t) >= 2 else float("nan")
    if not math.isfinite(rate_hz) or cutoff_hz >= rate_hz / 2.0:
        notes.append(
            f"angles are not smoothed: a {cutoff_hz:g} Hz cutoff needs a frame rate above "
            f"{2 * cutoff_hz:g} Hz, and this recording has {rate_hz:.3g} Hz"
        )
        return angles.values_deg, {"filter": "none", "reason": "frame rate too low or too few frames"}
    settings = FilterSettings(name="butterworth",
                              params={"cutoff_hz": cutoff_hz, "order": BUTTERWORTH_ORDER})
    values = smooth(t, angles.values_deg, settings=settings)
    description = {**settings.describe(), "zero_lag": True,
                   "applied_to": "angles.csv (landmarks.csv is raw)",
                   "rate_hz": round(rate_hz, 3)}
    return values, description


def analyze_series(series: LandmarkSeries, out_dir: str | Path, /, *,
                   options: AnalysisOptions = AnalysisOptions(), input_path: str = "",
                   pose_model: str | None = None, notes: Iterable[str] = (),
                   extra: dict | None = None) -> dict:
    """Write ``landmarks.csv``, ``angles.csv`` and ``summary.json``; return the summary
    (``extra``: more top-level entries of the summary, e.g. ``people``)."""
    from feedback.angles import AngleSeries, compute_joint_angles, save_angles_csv

    out = _prepare_out_dir(out_dir)
    notes = list(notes)
    save_landmarks_csv(series, out / "landmarks.csv")
    frames_with_person = int(series.frames_with_person().sum())
    angles = compute_joint_angles(series, visibility_threshold=options.visibility_threshold)
    if len(series) and frames_with_person:
        values, filter_desc = _smooth_angles(angles, cutoff_hz=options.cutoff_hz, notes=notes)
    else:
        values, filter_desc = angles.values_deg, {"filter": "none", "reason": "no person found"}
    smoothed = AngleSeries(t_s=angles.t_s, names=angles.names, values_deg=values)
    from feedback.trust import compute_angle_trust

    trust = compute_angle_trust(series, values, smoothed.names)
    save_angles_csv(smoothed, out / "angles.csv", trust=trust)
    if frames_with_person == 0:
        notes.append("no person was found in any frame: landmarks and angles are empty")
    upright_frames = int(angles.assumed_upright_frames().sum())
    if upright_frames:
        notes.append(f"the hips were out of view in {upright_frames} frames: shoulder and neck angles there "
                     "assume an upright trunk, and trunk lean is unknown")
    summary = {
        "input": input_path or series.source,
        "frames": len(series),
        "frames_with_person": frames_with_person,
        "duration_s": round(_duration_s(series.t_s), 4),
        "angles": {name: _angle_stats(values[:, k]) for k, name in enumerate(smoothed.names)},
        "angles_file": "angles.csv holds joint angles in degrees after the filter below",
        "filter": filter_desc,
        "visibility_threshold": options.visibility_threshold,
        "assumed_upright_frames": upright_frames,
        # per sided angle: % of its known frames of low trust (a limb the camera sees badly:
        # hidden, or on the far side of the body in a side or oblique view; docs/angles.md)
        "angle_trust": trust.summary(),
        "coordinates": "world_m" if series.has_world else "pixel_px",
        "pose_model": pose_model if pose_model is not None else series.attrs.get("pose_model"),
        "software": software_versions(),
        "outputs": ["landmarks.csv", "angles.csv", "summary.json"],
        "notes": notes,
        **(extra or {}),
    }
    _run_gait(series, out, options=options, summary=summary)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


def _run_gait(series: LandmarkSeries, out: Path, *, options: AnalysisOptions, summary: dict) -> None:
    """Gait outputs when asked (``gait``) or when the person walks (``auto``)."""
    if options.task == "angles":
        summary["task"] = "angles"
        return
    from feedback import gait

    walking = options.task == "gait" or (summary["frames_with_person"] > 0
                                         and bool(gait.detect_walking(series)))
    summary["task"] = "gait" if walking else "angles"
    if not walking:
        return
    report = gait.compute_gait(series, roi=options.roi, scale_m_per_px=options.scale_m_per_px,
                               treadmill_speed_m_s=options.treadmill_speed_m_s)
    written = gait.save_gait_outputs(report, out)
    summary["outputs"] += [Path(p).name for p in written]


def _prepare_out_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"Expected --out to be a folder, but {out} is a file; choose another path.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Expected --out to be a folder MindMove can create, but {out} cannot be made "
                         f"({exc.strerror or exc.__class__.__name__}). Choose another place.") from exc
    return out


# A pixel on the walkway plane covers millimetres; a metre per pixel (or more) is a slip.
MAX_SCALE_M_PER_PX = 1.0
MAX_IMAGE_RATE_HZ = 1000.0  # an image folder's frame rate: high-speed cameras reach hundreds


def _validate_options(options: AnalysisOptions, *, rate_hz: float | None = None) -> None:
    from mindmove.inputs import check_number

    check_number(options.cutoff_hz, option="--cutoff-hz", low=0.0, low_open=True, unit="Hz")
    check_number(options.scale_m_per_px, option="--scale-m-per-px", low=0.0, low_open=True,
                 high=MAX_SCALE_M_PER_PX, unit="m per pixel")
    check_number(rate_hz, option="--rate-hz", low=0.0, low_open=True, high=MAX_IMAGE_RATE_HZ, unit="Hz")
    if options.task not in TASKS:
        raise InputError(f"Expected --task to be one of {', '.join(TASKS)}, but got '{options.task}'.")
    if not (options.cutoff_hz > 0):
        raise InputError(f"Expected a positive --cutoff-hz, but got {options.cutoff_hz}.")
    if not (0.0 <= options.visibility_threshold <= 1.0):
        raise InputError(
            f"Expected --visibility-threshold between 0 and 1, but got {options.visibility_threshold}."
        )
    if options.scale_m_per_px is not None and not options.scale_m_per_px > 0:
        raise InputError(f"Expected a positive --scale-m-per-px, but got {options.scale_m_per_px}.")
    if options.treadmill_speed_m_s is not None and not 0.0 < options.treadmill_speed_m_s <= MAX_TREADMILL_SPEED_M_S:
        raise InputError(f"Expected --treadmill-speed in m/s between 0 and {MAX_TREADMILL_SPEED_M_S:g} "
                         f"(walking), but got {options.treadmill_speed_m_s}; give the belt's speed in m/s.")
    if options.roi is not None and (len(options.roi) != 4 or min(options.roi[2:]) <= 0):
        raise InputError(f"Expected --roi X,Y,W,H with positive width and height, but got {options.roi}.")
    from mindmove.analyze_people import PEOPLE_MODES

    if options.people not in PEOPLE_MODES:
        raise InputError(f"Expected --people to be one of {', '.join(PEOPLE_MODES)}, but got '{options.people}'.")
    if options.person is not None and (options.person < 1 or options.people == "one"):
        raise InputError(f"Expected --person to be a person's number (1, 2, ... as drawn by --overlay) "
                         f"with --people several, but got {options.person}.")


def analyze_input(path: str | Path, out_dir: str | Path, /, *,
                  pose_model: str | Path | None = None, overlay: bool = False,
                  cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                  visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
                  task: str = "auto", roi: tuple[int, int, int, int] | None = None,
                  scale_m_per_px: float | None = None, treadmill_speed_m_s: float | None = None,
                  marker_map: str | Path | None = None,
                  rate_hz: float | None = None, progress: ProgressFn | None = None,
                  estimator=None, person: int | None = None, people: str = "several") -> dict:
    """Analyse a video, an image folder, a landmark CSV or a motion-capture file.

    Images: with ``people="several"`` (the default) everyone in view is followed and one
    person is analysed (``person``, ``roi``, the one who walks, or the one in view longest:
    :mod:`mindmove.analyze_people`); with ``people="one"`` (or an injected ``estimator``,
    for tests and the benchmark) one person is estimated per frame by
    :func:`sensing.pose.create_pose_estimator`.
    """
    options = AnalysisOptions(cutoff_hz=cutoff_hz, visibility_threshold=visibility_threshold,
                              task=task, roi=roi, scale_m_per_px=scale_m_per_px,
                              treadmill_speed_m_s=treadmill_speed_m_s, person=person, people=people)
    _validate_options(options, rate_hz=rate_hz)
    path = Path(path)
    if not path.exists():
        raise InputError(f"Input not found: {path}. Check the path and try again.")
    from mindmove.inputs import check_output_dir

    check_output_dir(out_dir, option="--out")  # before minutes of work, not after
    suffix = path.suffix.lower()
    notes: list[str] = []
    one_person_file = path.is_file() and (suffix in LANDMARK_CSV_SUFFIXES or suffix in MOCAP_SUFFIXES)
    if options.person is not None and one_person_file:
        raise InputError(f"--person picks one of several people in a video or image folder, but {path.name} "
                         f"holds the landmarks of one person; leave out --person.")
    # a .csv given with --markers is a marker table (e.g. gaitmap's), not a landmark CSV
    if path.is_file() and suffix in LANDMARK_CSV_SUFFIXES and marker_map is None:
        from sensing.landmarks import load_landmarks_csv

        series = load_landmarks_csv(path)
        if overlay:
            notes.append("no overlay: a landmark file has no images to draw on")
        return analyze_series(series, out_dir, options=options, input_path=str(path),
                              pose_model="none (landmark file)", notes=notes)
    if path.is_file() and (suffix in MOCAP_SUFFIXES or (suffix == ".csv" and marker_map is not None)):
        if marker_map is None:
            raise InputError(
                f"Motion capture input {path.name} needs --markers MAP.toml saying which marker "
                f"is which landmark (see sensing/marker_maps/)."
            )
        from sensing.mocap import load_mocap

        series = load_mocap(path, marker_map=Path(marker_map))
        if overlay:
            notes.append("no overlay: motion capture has no images to draw on")
        return analyze_series(series, out_dir, options=options, input_path=str(path),
                              pose_model="none (motion capture)", notes=notes)
    return _analyze_images(path, out_dir, options=options, pose_model=pose_model, overlay=overlay,
                           rate_hz=rate_hz, progress=progress, estimator=estimator)


def _import_in_background(names: Iterable[str], /):
    """Start importing ``names`` on a thread (returned, to join). A module that fails here is
    imported again, and its error raised, where it is used."""
    import importlib
    import threading

    def run() -> None:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - raised again by the import where it is used
                log.debug("background import of %s failed: %s", name, exc)

    thread = threading.Thread(target=run, name="mindmove-import", daemon=True)
    thread.start()
    return thread


def _analyze_images(path: Path, out_dir, *, options: AnalysisOptions, pose_model, overlay: bool,
                    rate_hz: float | None, progress: ProgressFn | None, estimator) -> dict:
    if estimator is None and options.people == "several":
        if options.person is None and options.roi is None:  # nobody named: maybe nobody else is there
            from mindmove.analyze_people import alone_summary, compute_alone_series

            series = compute_alone_series(path, pose_model=pose_model, rate_hz=rate_hz, progress=progress)
            if series is not None:
                return _summarise_images(path, out_dir, series, options=options, overlay=overlay, rate_hz=rate_hz,
                                         pose_model=series.attrs.get("pose_model"),
                                         extra={"people": alone_summary(series)})
        return _analyze_people(path, out_dir, options=options, pose_model=pose_model, overlay=overlay,
                               rate_hz=rate_hz, progress=progress)
    from contextlib import closing

    from sensing.pose import create_pose_estimator
    from sensing.video import frame_count_hint, open_source, read_ahead

    with open_source(path, rate_hz=rate_hz) as source:
        importing = _import_in_background(ANALYSIS_MODULES if options.task != "angles" else ANALYSIS_MODULES[:2])
        n_hint = frame_count_hint(source)
        own_estimator = estimator is None
        est = create_pose_estimator(pose_model) if own_estimator else estimator
        try:
            # Decoding runs on its own thread, a few frames ahead, while the model works.
            with closing(read_ahead(source.frames())) as frames:
                series = compute_landmark_series(frames, est, image_size=source.size,
                                                  n_frames_hint=n_hint, source=str(path),
                                                  progress=progress)
        finally:
            if own_estimator:
                est.close()
            importing.join()
    return _summarise_images(path, out_dir, series, options=options, overlay=overlay, rate_hz=rate_hz,
                             pose_model=getattr(est, "name", str(pose_model)))


def _summarise_images(path: Path, out_dir, series: LandmarkSeries, *, options: AnalysisOptions, overlay: bool,
                      rate_hz: float | None, pose_model: str | None, extra: dict | None = None) -> dict:
    summary = analyze_series(series, out_dir, options=options, input_path=str(path), pose_model=pose_model,
                             extra=extra)
    if overlay:
        overlay_path = render_overlay_video(path, series, Path(out_dir) / "overlay.mp4",
                                            rate_hz=rate_hz,
                                            visibility_threshold=options.visibility_threshold)
        summary["outputs"].append(overlay_path.name)
        (Path(out_dir) / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


def _analyze_people(path: Path, out_dir, *, options: AnalysisOptions, pose_model, overlay: bool,
                    rate_hz: float | None, progress: ProgressFn | None) -> dict:
    """Follow everyone, analyse the person chosen (see :mod:`mindmove.analyze_people`)."""
    from mindmove.analyze_people import chosen_series, choose_person, compute_people_tracks, people_summary

    tracks = compute_people_tracks(path, pose_model=pose_model, rate_hz=rate_hz, progress=progress)
    chosen, chosen_by = choose_person(tracks, person=options.person, roi=options.roi, task=options.task)
    series = chosen_series(tracks, chosen, source=str(path))
    notes = []
    if len(tracks.identities) > 1:
        notes.append(f"{len(tracks.identities)} people were in view; person {chosen} was analysed "
                     f"(chosen by {chosen_by.replace('_', ' ')}; --person N picks another)")
    block = people_summary(tracks, chosen, chosen_by)
    summary = analyze_series(series, out_dir, options=options, input_path=str(path),
                             pose_model=block["pose_model"], notes=notes, extra={"people": block})
    if overlay:
        overlay_path = render_overlay_video(path, series, Path(out_dir) / "overlay.mp4", rate_hz=rate_hz,
                                            visibility_threshold=options.visibility_threshold,
                                            people=tracks, analysed=chosen)
        summary["outputs"].append(overlay_path.name)
        (Path(out_dir) / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


def render_overlay_video(path: Path, series: LandmarkSeries, dest: Path, /, *,
                         rate_hz: float | None = None,
                         visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
                         people=None, analysed: int | None = None) -> Path:
    """Re-read the images and write them with skeleton and smoothed angles drawn; with
    ``people`` (a :class:`sensing.people.PeopleTracks`) everyone else in grey, each person
    labelled with their number."""
    import cv2

    from feedback.angles import load_angles_csv
    from feedback.render import render_pose_overlay
    from sensing.video import open_source

    angles = load_angles_csv(dest.parent / "angles.csv")
    with open_source(path, rate_hz=rate_hz) as source:
        fps = source.fps or series.rate_hz or 30.0
        writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), source.size)
        if not writer.isOpened():
            raise SourceError(f"Cannot write the overlay video {dest}; check the folder is writable.")
        try:
            for frame in source.frames():
                i = frame.index
                if i >= len(series):
                    break
                pose = None
                if np.isfinite(series.pixel_px[i]).any():
                    pose = PoseFrame(world_m=series.world_m[i], visibility=series.visibility[i],
                                     pixel_px=series.pixel_px[i])
                values = dict(zip(angles.names, angles.values_deg[i]))
                image = frame.image_bgr
                if people is not None:
                    from mindmove.analyze_people import render_people

                    image = render_people(image, people, i, analysed=analysed,
                                          visibility_threshold=visibility_threshold)
                image = render_pose_overlay(image, pose, values, caption=f"t = {frame.t_s:.2f} s",
                                            visibility_threshold=visibility_threshold)
                if image.shape[1::-1] != tuple(source.size):
                    image = cv2.resize(image, source.size)
                writer.write(image)
        finally:
            writer.release()
    return dest
