"""How much does `mindmove analyze` add to MediaPipe's own cost?

    .venv/bin/python benchmarks/analyze_throughput.py ../shared/data/video/sports2d_demo.mp4

Decodes every frame of VIDEO once, then, in this one process and on the same decoded
frames, times

- the bare loop: ``mediapipe.solutions.pose.Pose(model_complexity=1).process(rgb)`` per
  frame, nothing else (BGR->RGB conversion included, as any caller needs it);
- the full path: :func:`mindmove.analyze.compute_landmark_series` with the default
  estimator, then :func:`mindmove.analyze.analyze_series` (angles, Butterworth smoothing,
  landmarks.csv, angles.csv, summary.json written to a temporary folder).

The two are run alternately ``--repeats`` times, each with a fresh model, and the fastest
run of each is kept (the machine is shared; the minimum is the least disturbed figure).
It also replays the poses of one run through the full path with no model, which
measures what the analysis adds per frame independently of the model (useful when the
machine is busy and the two loops' times are noisy). The last line is ``ratio=<full fps / bare fps>``; the target is >= 0.90.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WARMUP_FRAMES = 5


def decode_all(path: Path):
    from sensing.video import open_source

    with open_source(path) as source:
        return list(source.frames()), source.size


def run_bare(frames) -> float:
    import cv2
    from mediapipe.python.solutions import pose as mp_pose

    with mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                      enable_segmentation=False) as pose:
        for f in frames[:WARMUP_FRAMES]:
            pose.process(cv2.cvtColor(f.image_bgr, cv2.COLOR_BGR2RGB))
        pose.reset()
        start = time.perf_counter()
        for f in frames:
            pose.process(cv2.cvtColor(f.image_bgr, cv2.COLOR_BGR2RGB))
        return time.perf_counter() - start


def run_full(frames, size, out_dir: Path) -> float:
    from mindmove.analyze import AnalysisOptions, analyze_series, compute_landmark_series
    from sensing.pose import create_pose_estimator

    with create_pose_estimator() as est:
        for f in frames[:WARMUP_FRAMES]:
            est.estimate(f.image_bgr, f.t_s)
        est._pose.reset()  # same starting state as the bare loop
        start = time.perf_counter()
        series = compute_landmark_series(frames, est, image_size=size, n_frames_hint=len(frames))
        analyze_series(series, out_dir, options=AnalysisOptions(task="angles"))
        return time.perf_counter() - start


class ReplayEstimator:
    """Returns poses recorded earlier, instantly: isolates what the analysis adds."""

    name = "replay"

    def __init__(self, poses) -> None:
        self._poses = iter(poses)

    def estimate(self, image_bgr, t_s):
        return next(self._poses)

    def close(self) -> None:
        pass


def run_overhead(frames, size, out_dir: Path) -> float:
    """Seconds the full path spends outside the model (poses replayed from one real run)."""
    from mindmove.analyze import AnalysisOptions, analyze_series, compute_landmark_series
    from sensing.pose import create_pose_estimator

    with create_pose_estimator() as est:
        poses = [est.estimate(f.image_bgr, f.t_s) for f in frames]
    start = time.perf_counter()
    series = compute_landmark_series(frames, ReplayEstimator(poses), image_size=size,
                                      n_frames_hint=len(frames))
    analyze_series(series, out_dir, options=AnalysisOptions(task="angles"))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")

    t0 = time.perf_counter()
    frames, size = decode_all(args.video)
    n = len(frames)
    print(f"video: {args.video.name}, {n} frames, {size[0]}x{size[1]}, "
          f"decoded in {time.perf_counter() - t0:.2f} s")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    bare, full = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            bare.append(run_bare(frames))
            full.append(run_full(frames, size, Path(tmp) / f"run{k}"))
            print(f"run {k + 1}: bare {1000 * bare[-1] / n:.2f} ms/frame, "
                  f"full {1000 * full[-1] / n:.2f} ms/frame")
        overhead = run_overhead(frames, size, Path(tmp) / "overhead")
    bare_fps, full_fps = n / min(bare), n / min(full)
    print(f"analysis outside the model: {1000 * overhead / n:.2f} ms/frame "
          f"({100 * overhead / min(bare):.1f}% of the bare loop's time)")
    print(f"bare MediaPipe loop: {bare_fps:.1f} frames/s ({1000 / bare_fps:.2f} ms/frame, best of {args.repeats})")
    print(f"full analyze path:   {full_fps:.1f} frames/s ({1000 / full_fps:.2f} ms/frame, best of {args.repeats})")
    print(f"ratio={full_fps / bare_fps:.2f}")


if __name__ == "__main__":
    main()
