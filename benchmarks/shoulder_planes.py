"""Shoulder flexion / abduction on real MediaPipe output, with the arm's plane of elevation.

    .venv/bin/python benchmarks/shoulder_planes.py [../shared/data/video]

Runs the default estimator (legacy MediaPipe, video mode, as ``mindmove analyze`` and the
live window) on ``sports2d_demo.mp4`` and the four ``pose2sim_tpose`` and four
``pose2sim_lunge`` clips, computes raw per-frame angles (no gap filling, no smoothing) and,
per clip and arm, prints the distribution of shoulder flexion, abduction, elevation and
plane of elevation (see docs/angles.md, "Shoulder"), and how many frames read flexion over
180 or under -60, or abduction over 180, with the elevation and plane at those frames.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from feedback.angles import compute_joint_angles  # noqa: E402
from feedback.body_frame import build_body_frame, dot  # noqa: E402
from mindmove.analyze import compute_landmark_series  # noqa: E402
from sensing.pose import create_pose_estimator  # noqa: E402
from sensing.video import open_source  # noqa: E402

CLIPS = ["sports2d_demo"] + [f"pose2sim_{kind}_cam0{k}" for kind in ("tpose", "lunge") for k in range(1, 5)]
FLEXION_RANGE_DEG = (-60.0, 180.0)
ABDUCTION_MAX_DEG = 180.0


def _describe(values: np.ndarray) -> str:
    known = values[np.isfinite(values)]
    if known.size == 0:
        return "all NaN"
    p = np.percentile(known, [0, 5, 50, 95, 100])
    return f"n={known.size:3d} min {p[0]:6.1f} p5 {p[1]:6.1f} median {p[2]:6.1f} p95 {p[3]:6.1f} max {p[4]:6.1f}"


def _arm_elevation_and_plane(body, side: str) -> tuple[np.ndarray, np.ndarray]:
    arm = body.p(f"{side}_elbow") - body.p(f"{side}_shoulder")
    away = dot(arm, body.right("shoulder")) * (1.0 if side == "right" else -1.0)
    forward = dot(arm, body.anterior("shoulder"))
    down = -dot(arm, body.trunk_up)
    return (np.degrees(np.arctan2(np.hypot(forward, away), down)),
            np.degrees(np.arctan2(forward, away)))


def main() -> None:
    video_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data" / "video"
    totals = {"flexion_out": 0, "abduction_out": 0, "flexion_known": 0, "abduction_known": 0}
    for clip in CLIPS:
        with open_source(video_dir / f"{clip}.mp4") as source, create_pose_estimator() as estimator:
            series = compute_landmark_series(source.frames(), estimator, image_size=source.size, source=clip)
        angles = compute_joint_angles(series, max_gap_s=0.0)
        body = build_body_frame(series, visibility_threshold=0.5, use_pixels=False)
        print(f"\n== {clip} ({len(series)} frames)")
        for side in ("left", "right"):
            elevation, plane = _arm_elevation_and_plane(body, side)
            flexion = angles.column(f"{side}_shoulder_flexion")
            abduction = angles.column(f"{side}_shoulder_abduction")
            print(f"  {side:5s} flexion   {_describe(flexion)}")
            print(f"  {side:5s} abduction {_describe(abduction)}")
            print(f"  {side:5s} elevation {_describe(elevation)}")
            print(f"  {side:5s} plane     {_describe(plane)}")
            low, high = FLEXION_RANGE_DEG
            for label, out, values in (
                ("flexion > 180 or < -60", np.isfinite(flexion) & ((flexion > high) | (flexion < low)), flexion),
                ("abduction > 180", np.isfinite(abduction) & (abduction > ABDUCTION_MAX_DEG), abduction),
            ):
                line = f"  {side:5s} {label}: {int(out.sum())}"
                if out.any():
                    line += (f" (values {values[out].min():.0f}..{values[out].max():.0f}, elevation "
                             f"{elevation[out].min():.0f}..{elevation[out].max():.0f}, plane "
                             f"{plane[out].min():.0f}..{plane[out].max():.0f})")
                print(line)
            totals["flexion_out"] += int((np.isfinite(flexion) & ((flexion > high) | (flexion < low))).sum())
            totals["abduction_out"] += int((np.isfinite(abduction) & (abduction > ABDUCTION_MAX_DEG)).sum())
            totals["flexion_known"] += int(np.isfinite(flexion).sum())
            totals["abduction_known"] += int(np.isfinite(abduction).sum())
    print("\n" + " ".join(f"{key}={value}" for key, value in totals.items()))


if __name__ == "__main__":
    main()
