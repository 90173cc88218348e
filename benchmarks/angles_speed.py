"""How long do the joint angles and filters take? (live budget: a 30 fps frame is 33 ms)

    .venv/bin/python benchmarks/angles_speed.py

Times, on synthetic bodies from :mod:`synthetic` (no camera, no model):

- ``compute_frame_angles`` on one frame, as the live session calls it every frame;
- ``OneEuroFilter.update`` on one frame's vector of angles;
- ``compute_joint_angles`` over a 60 s recording at 30 fps (offline analysis);
- ``smooth_butterworth`` over the same recording's angle table.

Each is repeated and the fastest repeat is kept (the machine may be shared).
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from feedback.angles import ANGLE_NAMES, compute_frame_angles, compute_joint_angles  # noqa: E402
from synthetic import BodySpec, simulate_landmark_series, simulate_pose_frame  # noqa: E402
from feedback.smoothing import OneEuroFilter, smooth_butterworth  # noqa: E402

REPEATS = 5


def _best_s(fn, n_calls: int) -> float:
    best = math.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(n_calls):
            fn()
        best = min(best, (time.perf_counter() - start) / n_calls)
    return best


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    frame = simulate_pose_frame({"right_shoulder_flexion": 70, "right_elbow_flexion": 40}, BodySpec(yaw_deg=30))
    per_frame = _best_s(lambda: compute_frame_angles(frame.world_m, frame.visibility), 500)
    print(f"compute_frame_angles: {per_frame * 1e3:.3f} ms per frame")

    flt = OneEuroFilter()
    values = np.zeros(len(ANGLE_NAMES))
    clock = iter(np.arange(10_000_000) / 30.0)
    per_update = _best_s(lambda: flt.update(next(clock), values), 2000)
    print(f"OneEuroFilter.update ({len(ANGLE_NAMES)} angles): {per_update * 1e3:.3f} ms per frame")

    t = np.arange(60 * 30) / 30.0
    series = simulate_landmark_series(
        t, lambda ti: {"right_knee_flexion": 40 + 30 * math.sin(ti), "left_shoulder_flexion": 60})
    offline = _best_s(lambda: compute_joint_angles(series), 1)
    print(f"compute_joint_angles: {offline * 1e3:.1f} ms for {len(t)} frames "
          f"({offline / len(t) * 1e6:.1f} us per frame)")
    table = compute_joint_angles(series).values_deg
    butter = _best_s(lambda: smooth_butterworth(t, table, cutoff_hz=6.0), 1)
    print(f"smooth_butterworth: {butter * 1e3:.1f} ms for {table.shape[0]} x {table.shape[1]} values")


if __name__ == "__main__":
    main()
