"""Knee flexion from ONE camera against a four-camera triangulation of the same movement.

    .venv/bin/python benchmarks/angles_vs_multicam.py [--data ../shared/data] [--cache DIR] [--legacy]

Reference: ``mocap/pose2sim/lunge_4cam_triangulated.trc`` (Pose2Sim, BSD-3-Clause: OpenPose
keypoints of the four synchronized cameras triangulated; frame i of the TRC is frame i of
each ``video/pose2sim_lunge_cam0K.mp4``), read through ``sensing/marker_maps/pose2sim_body25b.toml``;
knee flexion = 180 - angle(hip, knee, ankle), which needs no body frame.

For each camera, MediaPipe (the Tasks one-person landmarker of live practice, or with
``--legacy`` the legacy solution of ``analyze --people one``) gives the landmarks; the knee
flexion of each side is computed as ``mindmove analyze`` does (world landmarks, visibility
0.5, gaps filled, Butterworth 6 Hz zero-lag) and, for comparison, from the image pixels
(the in-image angle). Printed per camera and side: the median and 90th percentile of the
absolute error over all frames, the share of frames of low trust (``feedback.trust``) and
the error over the frames of high trust only, and which side the camera faces (the side
that is not the far side in most frames). ``--cache DIR`` keeps the landmarks between runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CAMERAS = (1, 2, 3, 4)
SIDES = ("left", "right")
CUTOFF_HZ = 6.0


def landmarks(video: Path, *, legacy: bool, cache: Path | None):
    from mindmove.analyze import compute_landmark_series
    from sensing.landmarks import load_landmarks_csv, save_landmarks_csv
    from sensing.pose import MediaPipePoseEstimator, TasksPoseEstimator, build_offline_task_bundle
    from sensing.video import open_source

    tag = "legacy" if legacy else "tasks"
    cached = cache / f"{video.stem}_{tag}.csv" if cache is not None else None
    if cached is not None and cached.is_file():
        return load_landmarks_csv(cached)
    if legacy:
        est = MediaPipePoseEstimator()
    else:
        est = TasksPoseEstimator(build_offline_task_bundle(Path(os.environ.get("TMPDIR", "/tmp")) / "mindmove-bench-models"))
    with open_source(video) as source, est:
        series = compute_landmark_series(source.frames(), est, image_size=source.size, source=str(video))
    if cached is not None:
        cache.mkdir(parents=True, exist_ok=True)
        save_landmarks_csv(series, cached)
    return series


def knee(series, side: str, *, use_pixels: bool = False) -> np.ndarray:
    from feedback.angles import compute_joint_angle
    from feedback.smoothing import smooth_butterworth

    raw = compute_joint_angle(series, joint="knee_flexion", side=side, use_pixels=use_pixels)
    return smooth_butterworth(series.t_s, raw, cutoff_hz=CUTOFF_HZ, order=4)


def _stats(err: np.ndarray) -> str:
    err = err[np.isfinite(err)]
    if err.size == 0:
        return "   -  /   -  (n=0)"
    return f"{np.median(err):5.1f} / {np.percentile(err, 90):5.1f} (n={err.size})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--legacy", action="store_true")
    args = parser.parse_args()
    from feedback.angles import compute_joint_angle
    from feedback.trust import compute_angle_trust, compute_far_side
    from sensing.mocap import MARKER_MAP_DIR, load_mocap

    ref_series = load_mocap(args.data / "mocap/pose2sim/lunge_4cam_triangulated.trc",
                            marker_map=MARKER_MAP_DIR / "pose2sim_body25b.toml")
    ref = {s: compute_joint_angle(ref_series, joint="knee_flexion", side=s) for s in SIDES}
    print(f"estimator: {'legacy solutions' if args.legacy else 'tasks one-person'}; load average "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("knee flexion error (deg), median / p90: all frames (world) | from pixels | low trust | high-trust frames")
    facing_errors = []
    for cam in CAMERAS:
        series = landmarks(args.data / f"video/pose2sim_lunge_cam0{cam}.mp4", legacy=args.legacy, cache=args.cache)
        n = min(len(series), len(ref_series))
        far = compute_far_side(series.world_m[:n])
        faced = [s for s in SIDES if (far == s).mean() < 0.5]
        values = np.stack([knee(series, s) for s in SIDES], axis=1)
        trust = compute_angle_trust(series, values, tuple(f"{s}_knee_flexion_deg" for s in SIDES))
        for k, side in enumerate(SIDES):
            err = np.abs(values[:n, k] - ref[side][:n])
            err_px = np.abs(knee(series, side, use_pixels=True)[:n] - ref[side][:n])
            high = trust.level[:n, k] == "high"
            low_pct = 100.0 * (trust.level[:n, k] == "low").mean()
            tag = "faces camera" if side in faced else "far side    "
            print(f"cam{cam} {side:5s} {tag}: {_stats(err)} | {_stats(err_px)} | low {low_pct:3.0f}% | {_stats(err[high])}")
            if side in faced:
                facing_errors.append((cam, side, float(np.nanmedian(err))))
    print("camera-facing knee, median error: " + ", ".join(f"cam{c} {s} {e:.1f}" for c, s, e in facing_errors))


if __name__ == "__main__":
    main()
