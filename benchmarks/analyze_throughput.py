"""`mindmove analyze` against a bare MediaPipe loop on the same video file, interleaved.

    .venv/bin/python benchmarks/analyze_throughput.py ../shared/data/video/sports2d_demo.mp4 [--repeats 5] [--load N]

Both start from the video file and end when the last frame is done, model set-up included:

- bare: the loop of MediaPipe's own examples, one thread: ``cv2.VideoCapture.read()``,
  ``cv2.cvtColor(BGR->RGB)``, ``mediapipe.solutions.pose.Pose(model_complexity=1).process``,
  nothing kept;
- full: :func:`mindmove.analyze.analyze_input` with ``task="angles"`` and ``people="one"``
  (the same one-person model): the video decoded a few frames ahead on its own thread
  (:func:`sensing.video.read_ahead`) while the model runs, the landmarks copied out, then
  angles, Butterworth smoothing, ``landmarks.csv``, ``angles.csv`` and ``summary.json``
  written to a temporary folder;
- several (unless ``--no-several``): the same with ``people="several"``, analyze's default:
  the one-person model first while everyone is looked for every 0.5 s on another thread
  (:func:`mindmove.analyze_people.compute_alone_series`); when a scan finds two people, it
  finds and follows everyone in view (the Tasks landmarker with several poses, on square
  tiles of a wide frame) and analyses one person. On a recording with one person this is
  what the scans cost; with two (``sports2d_demo.mp4``), what following several people costs.

They run in rotating order ``--repeats`` times in this one process; each repeat gives
``bare time / full time`` (and ``bare time / several time``); the last lines are the medians
of those ratios, ``ratio=<full fps / bare fps>`` (target >= 1.0) and ``ratio_several=``. It also replays the poses of
one run through the full path with no model, which measures what the analysis adds per
frame independently of the model. ``--load N`` runs N busy processes meanwhile. The load
average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._bench import BusyLoad, load_average_text  # noqa: E402


def run_bare(video: Path) -> tuple[float, int]:
    """(seconds, frames) of the one-thread loop of MediaPipe's examples."""
    import cv2
    from mediapipe.python.solutions import pose as mp_pose

    start = time.perf_counter()
    n = 0
    cap = cv2.VideoCapture(str(video))
    try:
        with mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                          enable_segmentation=False) as pose:
            while True:
                ok, image = cap.read()
                if not ok:
                    break
                pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
                n += 1
    finally:
        cap.release()
    return time.perf_counter() - start, n


def run_full(video: Path, out_dir: Path, *, people: str = "one") -> tuple[float, int]:
    from mindmove.analyze import analyze_input

    start = time.perf_counter()
    summary = analyze_input(video, out_dir, task="angles", people=people)
    return time.perf_counter() - start, int(summary["frames"])


class ReplayEstimator:
    """Returns poses recorded earlier, instantly: isolates what the analysis adds."""

    name = "replay"

    def __init__(self, poses) -> None:
        self._poses = iter(poses)

    def estimate(self, image_bgr, t_s):
        return next(self._poses)

    def close(self) -> None:
        pass


def run_overhead(video: Path, out_dir: Path) -> tuple[float, int]:
    """Seconds the full path spends outside the model and the decoder (poses of one real run
    replayed on tiny frames with the video's times)."""
    import numpy as np

    from mindmove.analyze import AnalysisOptions, analyze_series, compute_landmark_series
    from sensing.pose import create_pose_estimator
    from sensing.video import Frame, open_source

    poses, times = [], []
    with open_source(video) as source, create_pose_estimator() as est:
        size = source.size
        for f in source.frames():
            poses.append(est.estimate(f.image_bgr, f.t_s))
            times.append(f.t_s)
    tiny = np.zeros((1, 1, 3), np.uint8)
    frames = [Frame(tiny, t, i) for i, t in enumerate(times)]
    start = time.perf_counter()
    series = compute_landmark_series(frames, ReplayEstimator(poses), image_size=size, n_frames_hint=len(frames))
    analyze_series(series, out_dir, options=AnalysisOptions(task="angles"))
    return time.perf_counter() - start, len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--load", type=int, default=0, help="busy processes during the measurement")
    parser.add_argument("--no-several", action="store_true", help="leave out analyze's several-people default")
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")

    print(f"video: {args.video.name}; machine: {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}; load: {args.load} busy process(es)")
    print(f"start: {load_average_text()}")
    ratios, several_ratios, bare_all, full_all = [], [], [], []
    kinds = ("bare", "full") if args.no_several else ("bare", "full", "several")
    with tempfile.TemporaryDirectory() as tmp, BusyLoad(args.load):
        run_bare(args.video)  # warm the file cache and the model's first load
        for k in range(args.repeats):
            order = kinds[k % len(kinds):] + kinds[:k % len(kinds)]
            several_s = None
            for which in order:
                if which == "bare":
                    bare_s, n = run_bare(args.video)
                elif which == "full":
                    full_s, n_full = run_full(args.video, Path(tmp) / f"run{k}")
                else:
                    several_s, _ = run_full(args.video, Path(tmp) / f"several{k}", people="several")
            assert n == n_full, f"the two loops saw {n} and {n_full} frames"
            ratios.append(bare_s / full_s)
            bare_all.append(bare_s)
            full_all.append(full_s)
            several = "" if several_s is None else \
                f", several {1000 * several_s / n:.2f} ms/frame (ratio {bare_s / several_s:.3f})"
            if several_s is not None:
                several_ratios.append(bare_s / several_s)
            print(f"repeat {k + 1} ({' then '.join(order)}): bare {1000 * bare_s / n:.2f} ms/frame, "
                  f"full {1000 * full_s / n:.2f} ms/frame, ratio {bare_s / full_s:.3f}{several}; {load_average_text()}")
        overhead_s, n_over = run_overhead(args.video, Path(tmp) / "overhead")
    print(f"analysis outside the model and the decoder: {1000 * overhead_s / n_over:.2f} ms/frame")
    print(f"bare loop median {1000 * statistics.median(bare_all) / n:.2f} ms/frame, "
          f"full median {1000 * statistics.median(full_all) / n:.2f} ms/frame ({n} frames, model set-up included)")
    print(f"end: {load_average_text()}")
    if several_ratios:
        print(f"ratio_several={statistics.median(several_ratios):.2f}")
    print(f"ratio={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
