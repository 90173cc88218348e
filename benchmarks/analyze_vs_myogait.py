"""Wall time of `mindmove analyze --task gait` against `myogait run` on the same video, interleaved.

    MYOGAIT_PATH=DIR .venv/bin/python benchmarks/analyze_vs_myogait.py ../shared/data/video/sports2d_demo.mp4 [--repeats 3]

myogait (MIT) is a video gait toolkit of the field; ``myogait run VIDEO`` extracts the pose
with MediaPipe, normalises, computes angles and detects gait events into one JSON file.
Its package depends on ``opencv-python-headless`` and numpy 2, which would replace the
project's OpenCV and break the pinned MediaPipe, so install it beside the project and name
the folder: ``.venv/bin/pip install --no-deps --target DIR myogait openpyxl et-xmlfile`` and
``MYOGAIT_PATH=DIR`` (or ``--myogait-path DIR``); its other dependencies (pandas, scipy,
matplotlib, gaitkit) must be importable from the project's environment. When myogait cannot
be imported, this prints why and exits 0.

Both commands run as fresh processes of the project's Python (interpreter start, imports and
model set-up included, as a clinician would run them), alternately (MindMove first, then
myogait first, ...), ``--repeats`` times; each pair gives ``mindmove / myogait`` and the last
line is their median, ``ratio=...`` (target <= 0.6). myogait's default model is MediaPipe
Tasks' *heavy* landmarker, which it downloads on first use; offline that fails and myogait
falls back to MediaPipe's legacy ``model_complexity=1`` model, the same one MindMove runs.
Which model myogait used is read from its log and printed: without that line the two
figures are not comparable. ``HOME`` is a temporary folder for myogait, so a heavy model
downloaded earlier into ``~/.myogait`` is never picked up silently.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._bench import load_average_text  # noqa: E402

FALLBACK_LINE = "trying legacy API"  # myogait's warning when the Tasks model cannot be had
TASKS_LINE = "PoseLandmarker"  # in myogait's log when it runs the Tasks (heavy) model


def _env(extra_path: str | None, home: str) -> dict:
    env = {**os.environ, "GLOG_minloglevel": "2", "HOME": home}
    paths = [p for p in (extra_path, str(REPO), env.get("PYTHONPATH")) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def find_myogait(path: str | None) -> str | None:
    """None when ``import myogait`` works (with ``path`` first); else the reason."""
    probe = subprocess.run([sys.executable, "-c", "import myogait, myogait.cli"], env=_env(path, tempfile.gettempdir()),
                           capture_output=True, text=True)
    return None if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["no output"])[-1]


def timed(argv: list[str], env: dict, cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} ... failed ({done.returncode}): {done.stderr[-1500:]}")
    return wall, done.stdout + done.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--myogait-path", default=os.environ.get("MYOGAIT_PATH"))
    ap.add_argument("--people", choices=("several", "one"), default="several",
                    help="analyze's --people (default: analyze's own default, the one-person model "
                         "unless a second person is found; myogait follows one person)")
    args = ap.parse_args()
    video = args.video.resolve()
    reason = find_myogait(args.myogait_path)
    if reason is not None:
        print(f"myogait cannot be imported ({reason}); skipped. Install it beside the project "
              "(see this script's docstring) and set MYOGAIT_PATH.")
        return 0
    print(f"video: {video.name}; start: {load_average_text()}")
    ratios, models = [], set()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = _env(args.myogait_path, str(tmp))
        for k in range(args.repeats):
            order = ("mindmove", "myogait") if k % 2 == 0 else ("myogait", "mindmove")
            for which in order:
                if which == "mindmove":
                    ours, _ = timed([sys.executable, "-m", "mindmove", "analyze", str(video), "--out",
                                     str(tmp / f"mm{k}"), "--task", "gait", "--people", args.people], env, REPO)
                else:
                    theirs, log = timed([sys.executable, "-m", "myogait", "-v", "run", str(video), "-o",
                                         str(tmp / f"myogait{k}.json")], env, tmp)
                    models.add("legacy model_complexity=1 (the heavy model could not be downloaded)"
                               if FALLBACK_LINE in log else "Tasks heavy" if TASKS_LINE in log else "not stated in its log")
            ratios.append(ours / theirs)
            print(f"pair {k + 1} ({' then '.join(order)}): mindmove analyze --task gait {ours:.1f} s, "
                  f"myogait run {theirs:.1f} s, ratio {ours / theirs:.2f}; {load_average_text()}")
    ours_model = ("legacy model_complexity=1" if args.people == "one"
                  else "legacy model_complexity=1 while everyone looked for every 0.5 s finds one person; "
                       "the Tasks landmarker (same network), everyone followed, once two are found")
    print(f"myogait's pose model: {', '.join(sorted(models))}; MindMove's: {ours_model} (--people {args.people})")
    print(f"end: {load_average_text()}")
    print(f"ratio={statistics.median(ratios):.2f} (mindmove / myogait wall time; target <= 0.6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
