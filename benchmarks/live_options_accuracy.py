"""What the slow-station options cost in accuracy: a smaller model input, fewer frames.

    .venv/bin/python benchmarks/live_options_accuracy.py [--data ../shared/data] [--cache DIR]

Reference: ``mocap/pose2sim/lunge_4cam_triangulated.trc`` (Pose2Sim's four-camera
triangulation of the lunge trial; frame i of the TRC is frame i of each
``video/pose2sim_lunge_cam0K.mp4``, portrait 1080x1920 at 60 fps). Knee flexion and hip
flexion, both sides, from the triangulated keypoints (``feedback.angles``, the same
formulas) against the same angles from ONE camera through MediaPipe (the legacy
``model_complexity=1`` model of live practice, world landmarks, visibility 0.5, unsmoothed,
as each live frame is computed before the One-Euro filter).

Options, each run over the four videos from the first frame:

- ``full``: every frame, the image as it comes (the default);
- ``input<=N``: the image shrunk to N pixels on its long side before the model
  (``MediaPipePoseEstimator(input_max_px=N)``; a station's ``MINDMOVE_POSE_INPUT_PX``);
- ``every Kth``: only every K-th frame goes to the model (a station's
  ``MINDMOVE_POSE_RATE_HZ`` = 60 / K here): the tracker sees larger moves between frames.

Printed per option: the median and 90th percentile of |error| over all cameras, sides and
frames (only frames the option processed, against the reference at the same frame), the
change of the median against ``full``, the share of frames with a person, and the model's
time per frame (p50; noisy on a shared machine). ``--cache DIR`` keeps the landmarks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CAMERAS = (1, 2, 3, 4)
ANGLES = ("left_knee_flexion_deg", "right_knee_flexion_deg", "left_hip_flexion_deg", "right_hip_flexion_deg")
# OpenPose body_25b keypoint names of the Pose2Sim TRC, for the landmarks the angles need.
BODY25B = {
    "left_shoulder": "LShoulder", "right_shoulder": "RShoulder", "left_hip": "LHip", "right_hip": "RHip",
    "left_knee": "LKnee", "right_knee": "RKnee", "left_ankle": "LAnkle", "right_ankle": "RAnkle",
    "left_heel": "LHeel", "right_heel": "RHeel", "left_foot_index": "LBigToe", "right_foot_index": "RBigToe",
    "left_elbow": "LElbow", "right_elbow": "RElbow", "left_wrist": "LWrist", "right_wrist": "RWrist",
    "nose": "Nose",
}
OPTIONS = (("full", None, 1), ("input<=960", 960, 1), ("input<=640", 640, 1), ("input<=480", 480, 1),
           ("every 2nd (30 Hz)", None, 2), ("every 4th (15 Hz)", None, 4))


def reference_angles(data: Path) -> dict[str, np.ndarray]:
    from feedback.angles import compute_joint_angles
    from sensing.mocap import MarkerMap, load_marker_table, map_markers

    table = load_marker_table(data / "mocap/pose2sim/lunge_4cam_triangulated.trc")
    mapping = MarkerMap(landmarks={k: (v,) for k, v in BODY25B.items()}, up=(0.0, 1.0, 0.0))
    angles = compute_joint_angles(map_markers(table, mapping))
    return {name: angles.values_deg[:, angles.names.index(name)] for name in ANGLES}


def run_option(video: Path, *, input_max_px: int | None, every: int, cache: Path | None):
    """(frame indices processed, LandmarkSeries, model ms per frame) for one camera and option."""
    from mindmove.analyze import compute_landmark_series
    from sensing.landmarks import load_landmarks_csv, save_landmarks_csv
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source

    cached = cache / f"{video.stem}_in{input_max_px}_every{every}.csv" if cache is not None else None
    timings: list[float] = []
    if cached is not None and cached.is_file():
        series = load_landmarks_csv(cached)
    else:
        class Timed:
            def __init__(self, est):
                self.est, self.name = est, est.name

            def estimate(self, image, t_s):
                t0 = time.perf_counter()
                pose = self.est.estimate(image, t_s)
                timings.append(time.perf_counter() - t0)
                return pose

        with open_source(video) as source, create_pose_estimator(input_max_px=input_max_px) as est:
            frames = (f for f in source.frames() if f.index % every == 0)
            series = compute_landmark_series(frames, Timed(est), image_size=source.size, source=str(video))
        if cached is not None:
            cache.mkdir(parents=True, exist_ok=True)
            save_landmarks_csv(series, cached)
    indices = np.arange(len(series)) * every
    return indices, series, 1000 * float(np.median(timings)) if timings else float("nan")


def _ms_text(values: list[float]) -> str:
    finite = [v for v in values if np.isfinite(v)]
    return f"{np.median(finite):.1f}" if finite else "cached"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    from feedback.angles import compute_joint_angles

    ref = reference_angles(args.data)
    print("load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("|error| against the four-camera triangulation, median (p90), degrees; 'vs full': change of the median")
    print(f"{'option':<18s} {'knee flexion':>14s} {'hip flexion':>14s} {'all four':>14s} {'vs full':>8s} "
          f"{'person':>7s} {'model ms':>9s}")
    full_median = None
    for label, input_max_px, every in OPTIONS:
        errors, found, total, model_ms = {}, 0, 0, []
        for cam in CAMERAS:
            indices, series, ms = run_option(args.data / f"video/pose2sim_lunge_cam0{cam}.mp4",
                                             input_max_px=input_max_px, every=every, cache=args.cache)
            angles = compute_joint_angles(series)
            keep = indices < len(next(iter(ref.values())))
            for name in ANGLES:
                mine = angles.values_deg[:, angles.names.index(name)][keep]
                errors.setdefault(name.split("_")[1], []).append(np.abs(mine - ref[name][indices[keep]]))
            found += int(series.frames_with_person().sum())
            total += len(series)
            model_ms.append(ms)
        cells = {}
        for joint in ("knee", "hip", "all"):
            parts = sum((errors[j] for j in (("knee", "hip") if joint == "all" else (joint,))), [])
            err = np.concatenate(parts)
            err = err[np.isfinite(err)]
            cells[joint] = (float(np.median(err)), float(np.percentile(err, 90)))
        median = cells["all"][0]
        full_median = median if full_median is None else full_median
        print(f"{label:<18s} " + " ".join(f"{m:6.2f} ({p:5.1f})" for m, p in cells.values())
              + f" {median - full_median:+8.2f} {100 * found / max(total, 1):6.1f}% {_ms_text(model_ms):>8s}")


if __name__ == "__main__":
    main()
