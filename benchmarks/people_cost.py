"""What following several people costs per frame, against one-person mode.

    .venv/bin/python benchmarks/people_cost.py ../shared/data/video/sports2d_demo.mp4 [more videos]

Decodes every frame of each VIDEO once, then times on the same decoded frames, each with a
fresh model (best of ``--repeats`` alternating runs, the machine being shared):

- ``one``: the one-person Tasks landmarker (the offline bundle, ``num_poses=1``, VIDEO
  mode): one-person mode, the reference;
- ``legacy``: the legacy ``mediapipe.solutions.pose`` one-person model (``analyze --people one``);
- ``several``: the multi-person landmarker of ``mindmove analyze`` plus the identity
  tracker (square tiles on a wide frame, :func:`sensing.multipose.create_people_estimator`);
- ``live``: the estimator of practice and calibration
  (:func:`sensing.multipose.create_tracking_estimator`): the locked person's pose, the
  cheap one-person path while they are alone, everyone looked for while others are in view.

Prints milliseconds per frame (median and p95) for each and the ratio of each to ``one``,
and for ``live`` how many frames took the one-person path.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def decode_all(path: Path):
    from sensing.video import open_source

    with open_source(path) as source:
        return list(source.frames()), source.size


def _time_frames(frames, step) -> list[float]:
    out = []
    for f in frames:
        start = time.perf_counter()
        step(f)
        out.append(time.perf_counter() - start)
    return out


def run_one(frames, size, bundle):
    from sensing.pose import TasksPoseEstimator

    with TasksPoseEstimator(bundle, num_poses=1) as est:
        return _time_frames(frames, lambda f: est.estimate(f.image_bgr, f.t_s)), {}


def run_legacy(frames, size, bundle):
    from sensing.pose import MediaPipePoseEstimator

    with MediaPipePoseEstimator() as est:
        return _time_frames(frames, lambda f: est.estimate(f.image_bgr, f.t_s)), {}


def run_several(frames, size, bundle):
    from sensing.multipose import create_people_estimator
    from sensing.people import PersonTracker

    tracker = PersonTracker()
    with create_people_estimator(bundle, image_size=size) as est:
        times = _time_frames(frames, lambda f: tracker.update(f.t_s, est.estimate_all(f.image_bgr, f.t_s)))
        return times, {"tiles": len(est.offsets)}


def run_live(frames, size, bundle):
    from sensing.multipose import create_tracking_estimator

    with create_tracking_estimator(bundle) as est:
        times = _time_frames(frames, lambda f: est.estimate(f.image_bgr, f.t_s))
        return times, dict(est.frames_by_path)


RUNS = {"one": run_one, "legacy": run_legacy, "several": run_several, "live": run_live}


def _pct(values, q):
    import numpy as np

    return 1000.0 * float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    from sensing.pose import build_offline_task_bundle

    bundle = build_offline_task_bundle(Path(os.environ.get("TMPDIR", "/tmp")) / "mindmove-bench-models")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    for video in args.videos:
        frames, size = decode_all(video)
        best: dict[str, tuple[list[float], dict]] = {}
        for _ in range(args.repeats):
            for name, run in RUNS.items():
                times, info = run(frames, size, bundle)
                if name not in best or sum(times) < sum(best[name][0]):
                    best[name] = (times, info)
        ref = _pct(best["one"][0], 50)
        print(f"{video.name}: {len(frames)} frames, {size[0]}x{size[1]}")
        for name, (times, info) in best.items():
            extra = f"  {info}" if info else ""
            print(f"  {name:8s} median {_pct(times, 50):6.1f} ms  p95 {_pct(times, 95):6.1f} ms  "
                  f"ratio={_pct(times, 50) / ref:.2f}{extra}")
    print("load average after: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
