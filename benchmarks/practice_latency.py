"""Capture-to-cue latency of the live practice pipeline, against bare MediaPipe inference.

    .venv/bin/python benchmarks/practice_latency.py VIDEO [--exercise NAME]

Feeds VIDEO at its own frame rate (as a camera would) through the whole live pipeline
(capture thread keeping only the newest frame, pose, angles + One-Euro, engines, cue policy,
recorder into a throw-away SQLite file) and prints p50/p95 capture->cue latency and the share
of frames dropped; the pose comes from the estimator ``practice`` uses, which follows the
patient among several people (``sensing.multipose.create_tracking_estimator``; ``--one-person``
for the legacy one-person model instead). Then runs bare one-person MediaPipe inference
(the legacy solution) over every frame of the same video and prints its p50/p95. Target: p95 latency <= inference p95 + 10 ms, no frames dropped at 30 fps.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--exercise", default="standing_shoulder_flexion")
    ap.add_argument("--one-person", action="store_true", help="the legacy one-person model in the pipeline")
    args = ap.parse_args()
    os.environ.setdefault("MINDMOVE_DATA_DIR", tempfile.mkdtemp(prefix="mindmove-bench-"))

    from feedback.exercises import load_exercise
    from calibration.practice import build_practice_pipeline
    from feedback.session import run_practice
    from mindmove.store.db import open_store
    from mindmove.store.recording import SessionRecorder
    from sensing.multipose import create_tracking_estimator
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source

    store = open_store()
    pipeline = build_practice_pipeline(load_exercise(args.exercise))
    recorder = SessionRecorder(store, "BENCH", exercise=args.exercise)
    recorder.start()
    make = create_pose_estimator if args.one_person else create_tracking_estimator
    with open_source(args.video) as source, make() as estimator:
        fps = source.fps
        estimator.estimate(np.zeros((source.size[1], source.size[0], 3), np.uint8), 0.0)  # warm-up
        t0 = time.monotonic()
        result = run_practice(source, estimator, pipeline, recorder=recorder, pace=True)
        wall_s = time.monotonic() - t0
        pose_name, paths = estimator.name, getattr(estimator, "frames_by_path", None)
    recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s)
    lat_ms = np.array(result.latency_s) * 1000
    pipe_inf_ms = np.array(result.inference_s) * 1000

    bare_ms = []
    with open_source(args.video) as source, create_pose_estimator() as estimator:
        estimator.estimate(np.zeros((source.size[1], source.size[0], 3), np.uint8), 0.0)
        for frame in source.frames():
            t = time.perf_counter()
            estimator.estimate(frame.image_bgr, frame.t_s)
            bare_ms.append((time.perf_counter() - t) * 1000)
    bare_ms = np.array(bare_ms)

    print(f"video: {args.video} ({fps:.0f} fps, {result.frames_read} frames, {wall_s:.1f} s wall), "
          f"cores: {os.cpu_count()}")
    print(f"capture->cue latency: p50 {np.percentile(lat_ms, 50):.1f} ms, p95 {np.percentile(lat_ms, 95):.1f} ms")
    print(f"frames dropped: {result.frames_dropped} of {result.frames_read} "
          f"({100 * result.frames_dropped / max(result.frames_read, 1):.1f} %)")
    print(f"pose in the pipeline: {pose_name}" + (f", frames by path {paths}" if paths else ""))
    print(f"inference inside the pipeline: p50 {np.percentile(pipe_inf_ms, 50):.1f} ms, "
          f"p95 {np.percentile(pipe_inf_ms, 95):.1f} ms")
    print(f"bare MediaPipe inference: p50 {np.percentile(bare_ms, 50):.1f} ms, p95 {np.percentile(bare_ms, 95):.1f} ms")
    p95_gap = np.percentile(lat_ms, 95) - np.percentile(bare_ms, 95)
    print(f"p95 latency - bare inference p95: {p95_gap:+.1f} ms (target <= +10 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
