"""Capture-to-cue latency of the live practice loop against bare MediaPipe inference, interleaved.

    .venv/bin/python benchmarks/practice_latency.py VIDEO [--repeats 5] [--load N]
        [--display none|draw|window] [--exercise NAME] [--pose-rate-hz R] [--input-max-px N]
        [--helper-nice N] [--ab-helper-nice N]

Each repeat runs, in this one process and in alternating order (bare first, then full
first, ...), so slow drift of a shared machine lands on both:

- bare: a fresh estimator (the default legacy MediaPipe, ``model_complexity=1``) on every
  frame of VIDEO, back to back: the time of each ``estimate`` call (BGR->RGB included);
- full: :func:`feedback.session.run_practice` with a fresh estimator (the one ``practice``
  uses, which follows the patient among several people,
  ``sensing.multipose.create_tracking_estimator``; ``--one-person``: the legacy one-person
  model, as the bare loop), VIDEO paced at its
  own frame rate as a camera delivers it (capture thread keeping only the newest frame, pose
  thread, angles + One-Euro, engines, cue policy, a background recorder into a throw-away
  SQLite file) and, with ``--display draw`` (default), the practice view drawn for every
  result and handed to a sink that discards it (``window``: a real window, needs a display;
  ``none``: nothing drawn).

Per repeat it prints the full run's p50/p95 capture->cue latency (from the moment a frame is
due to the moment its cue is decided), frames dropped, and p95 full - p95 bare; then the
median of the differences over the repeats (target: <= +10 ms, <= 1% dropped at 30 fps),
the time per stage (p50/p95 of every stage of every full run: decode, wait in the mailbox,
colour conversion and resizing, inference, landmarks, angles, engines, cue policy,
statistics, recording, drawing, display, database writes) and the CPU seconds per thread,
and the median difference again without each run's first second (SETTLE_FRAMES: with the
estimator that follows one person, the frames before the person is locked run the
several-person model on every frame).
``--load N`` runs N busy processes (one core each) during the whole measurement and stops
them at the end. The load average is printed at the start and the end.
``--ab-helper-nice N`` adds to each repeat a full run with the capture (decoding) thread's
priority lowered by N, in rotating order, and prints its median gap too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._bench import BusyLoad, ThreadCpuSampler, load_average_text  # noqa: E402


class DiscardSink:
    """Takes the drawn image and drops it (the drawing is measured, no window is needed)."""

    stage = "display (discarded)"

    def show(self, image_bgr, /, *, t_s: float) -> bool:
        return True

    def close(self) -> None:
        pass


# The session start: the person to follow is locked once confirmed in a few frames of
# everyone-search (sensing.multipose); the figure after it is printed too (one second at 30 fps).
SETTLE_FRAMES = 30


def run_bare(video: str, *, input_max_px: int | None) -> np.ndarray:
    """ms per estimate call, every frame, back to back."""
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source

    times = []
    with open_source(video) as source, create_pose_estimator(input_max_px=input_max_px) as estimator:
        estimator.estimate(np.zeros((source.size[1], source.size[0], 3), np.uint8), 0.0)  # warm-up
        for frame in source.frames():
            started = time.perf_counter()
            estimator.estimate(frame.image_bgr, frame.t_s)
            times.append(time.perf_counter() - started)
    return 1000 * np.asarray(times)


def run_full(video: str, args, timer, store, *, niceness: int) -> object:
    from calibration.practice import build_practice_pipeline
    from feedback.exercises import load_exercise
    from feedback.render_practice import render_practice_frame
    from feedback.session import run_practice
    from mindmove.store.recording import SessionRecorder
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source

    pipeline = build_practice_pipeline(load_exercise(args.exercise))
    recorder = SessionRecorder(store, "BENCH", exercise=args.exercise, background=True)
    recorder.start()
    sinks = []
    if args.display == "draw":
        sinks.append(DiscardSink())
    elif args.display == "window":
        from feedback.render_practice import PracticeWindow

        sinks.append(PracticeWindow(fullscreen=False))
    try:
        if args.one_person:
            make = lambda: create_pose_estimator(input_max_px=args.input_max_px)  # noqa: E731
        else:
            from mindmove.settings import ensure_data_dir
            from sensing.multipose import create_tracking_estimator

            make = lambda: create_tracking_estimator(data_dir=ensure_data_dir(),  # noqa: E731
                                                     input_max_px=args.input_max_px)
        with open_source(video) as source, make() as estimator:
            estimator.estimate(np.zeros((source.size[1], source.size[0], 3), np.uint8), 0.0)  # warm-up
            result = run_practice(source, estimator, pipeline, recorder=recorder, sinks=sinks,
                                  render=render_practice_frame if sinks else None, pace=True,
                                  finished_show_s=0.0, pose_rate_hz=args.pose_rate_hz, timer=timer,
                                  helper_niceness=niceness)
    finally:
        for sink in sinks:
            sink.close()
    recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s)
    return result


def _p(values, q) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--exercise", default="standing_shoulder_flexion")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--one-person", action="store_true",
                    help="the legacy one-person model in the full run (default: practice's estimator)")
    ap.add_argument("--load", type=int, default=0, help="busy processes during the measurement")
    ap.add_argument("--display", choices=("none", "draw", "window"), default="draw")
    ap.add_argument("--pose-rate-hz", type=float, default=None)
    ap.add_argument("--input-max-px", type=int, default=None)
    ap.add_argument("--helper-nice", type=int, default=0, help="lower the capture thread's priority by N")
    ap.add_argument("--ab-helper-nice", type=int, default=None,
                    help="also run, in each repeat and in rotating order, a full run with the capture thread lowered by N")
    args = ap.parse_args()
    os.environ.setdefault("MINDMOVE_DATA_DIR", tempfile.mkdtemp(prefix="mindmove-bench-"))
    os.environ.setdefault("GLOG_minloglevel", "2")

    from core.timing import StageTimer, format_figures
    from mindmove.store.db import open_store

    print(f"video: {args.video}; display: {args.display}; load: {args.load} busy process(es); "
          f"pose rate: {args.pose_rate_hz or 'every frame'}; model input: {args.input_max_px or 'as decoded'} px")
    print(f"start: {load_average_text()}")
    timer = StageTimer()
    gaps, dropped_pct, nice_gaps, nice_dropped, settled_gaps = [], [], [], [], []
    all_latency, all_pipe_inf, all_bare, all_shown = [], [], [], []
    with open_store() as store, BusyLoad(args.load), ThreadCpuSampler() as cpu:
        for k in range(args.repeats):
            order = ("bare", "full") if k % 2 == 0 else ("full", "bare")
            if args.ab_helper_nice is not None:  # three runs, each first, second and third in turn
                order = ("bare", "full", "nice", "bare", "full")[k % 3:k % 3 + 3]
            for which in order:
                if which == "bare":
                    bare = run_bare(args.video, input_max_px=args.input_max_px)
                elif which == "full":
                    result = run_full(args.video, args, timer, store, niceness=args.helper_nice)
                else:
                    nice_result = run_full(args.video, args, StageTimer(), store, niceness=args.ab_helper_nice)
            if args.ab_helper_nice is not None:
                nice_lat = 1000 * np.asarray(nice_result.latency_s)
                nice_gaps.append(_p(nice_lat, 95) - _p(bare, 95))
                nice_dropped.append(100 * nice_result.frames_dropped / max(nice_result.frames_read, 1))
                print(f"  capture thread lowered by {args.ab_helper_nice}: p95 {_p(nice_lat, 95):.1f} ms, "
                      f"gap {nice_gaps[-1]:+.1f} ms, dropped {nice_result.frames_dropped}")
            lat = 1000 * np.asarray(result.latency_s)
            gap = _p(lat, 95) - _p(bare, 95)
            gaps.append(gap)
            settled_gaps.append(_p(lat[SETTLE_FRAMES:], 95) - _p(bare[SETTLE_FRAMES:], 95))
            dropped_pct.append(100 * result.frames_dropped / max(result.frames_read, 1))
            all_latency += list(lat)
            all_bare += list(bare)
            all_pipe_inf += list(1000 * np.asarray(result.inference_s))
            all_shown += list(1000 * np.asarray(result.shown_latency_s))
            print(f"repeat {k + 1} ({' then '.join(order)}): capture->cue p50 {_p(lat, 50):.1f} p95 {_p(lat, 95):.1f} ms; "
                  f"bare p95 {_p(bare, 95):.1f} ms; gap {gap:+.1f} ms; dropped {result.frames_dropped} of "
                  f"{result.frames_read}; skipped by pose rate {result.frames_skipped}; not shown {result.frames_not_shown}; "
                  f"replay behind real time {result.replay_slips}x ({result.replay_slip_s:.2f} s); "
                  f"{load_average_text()}")
    print()
    print("time per stage, all full runs (threads: decode = capture; db write = recorder writer; "
          "draw, display = calling thread; the rest = pose thread):")
    for line in format_figures(timer.figures()):
        print("  " + line)
    print("CPU seconds per thread over the whole measurement (bare runs included; /proc):")
    for name, seconds in cpu.cpu_s().items():
        if seconds > 0:
            print(f"  {name:<32s} {seconds:7.2f} s")
    print("CPU seconds per thread of the full runs (the threads' own clocks):")
    for name, seconds in sorted(timer.thread_cpu_s.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<32s} {seconds:7.2f} s")
    print()
    print(f"all repeats: capture->cue p50 {_p(all_latency, 50):.1f} ms, p95 {_p(all_latency, 95):.1f} ms; "
          f"capture->shown p95 {_p(all_shown, 95):.1f} ms")
    print(f"inference inside the loop p50 {_p(all_pipe_inf, 50):.1f} p95 {_p(all_pipe_inf, 95):.1f} ms; "
          f"bare p50 {_p(all_bare, 50):.1f} p95 {_p(all_bare, 95):.1f} ms")
    print(f"end: {load_average_text()}")
    print(f"median over {args.repeats} repeats: p95 latency - bare p95 = {statistics.median(gaps):+.1f} ms "
          f"(target <= +10 ms); dropped {statistics.median(dropped_pct):.1f}% (target <= 1%)")
    print(f"the same after the first {SETTLE_FRAMES} frames of each run (the session start, where the person "
          f"to follow is found by looking for everyone on every frame): median gap {statistics.median(settled_gaps):+.1f} ms")
    if nice_gaps:
        print(f"with the capture thread lowered by {args.ab_helper_nice}: median gap {statistics.median(nice_gaps):+.1f} ms, "
              f"dropped {statistics.median(nice_dropped):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
