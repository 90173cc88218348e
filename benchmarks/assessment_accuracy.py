"""Accuracy of the functional tests through the real pose model, against analytic timings.

    .venv/bin/python benchmarks/assessment_accuracy.py [--rate-hz 30] [--cache DIR] [--quick]

For each test (TUG, 30-second chair stand, five times sit-to-stand), pace (frail, typical,
brisk) and camera height (seated 1.0 m, standing 1.7 m), a simulated person with known
timings (:mod:`synthetic.assessments`) is rendered to video (:mod:`synthetic.render`), MediaPipe
Pose (the offline full model) reads every frame, and the analysis (:mod:`feedback.assessments`)
measures the test. Printed per row: the measured and true result and the error. A TUG and a
chair stand with a second person walking in front of the camera are run too: there MediaPipe
itself chooses whom to follow, as it would in a clinic. Landmarks are cached in ``--cache``
(default ``/tmp/mindmove-assessment-accuracy``), so a second run re-measures the analysis
only. Not a test: no assertion, only figures (see the README's accuracy table).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PACE_NAMES = ("frail", "typical", "brisk")
CAMERA_HEIGHTS_M = (1.0, 1.7)


def _simulate(test: str, pace: str, height: float, rate_hz: float, second: bool):
    from synthetic.assessments import (
        PACES, Camera, ChairStandSpec, SecondPerson, TugSpec, simulate_chair_stands, simulate_tug,
    )

    p = PACES[pace]
    if test == "tug":
        spec = TugSpec(pace=p, camera=Camera(height_m=height, distance_m=4.5, aim_x_m=1.5), rate_hz=rate_hz)
        plain = simulate_tug(spec)
        if not second:
            return plain
        start = plain.attrs["truth"]["standing_s"] + 1.0
        return simulate_tug(TugSpec(pace=p, camera=spec.camera, rate_hz=rate_hz,
                                    second_person=SecondPerson(start_s=start, duration_s=1.5)))
    stands = {"sit-to-stand-5x": 5}.get(test, {"frail": 7, "typical": 13, "brisk": 20}[pace])
    spec = ChairStandSpec(pace=p, stands=stands, camera=Camera(height_m=height), rate_hz=rate_hz,
                          incomplete=(3,) if test == "chair-stand-30s" else ())
    plain = simulate_chair_stands(spec)
    if not second:
        return plain
    rise = plain.attrs["truth"]["rises"][2]
    return simulate_chair_stands(ChairStandSpec(pace=p, stands=stands, camera=spec.camera, rate_hz=rate_hz,
                                                incomplete=spec.incomplete,
                                                second_person=SecondPerson(start_s=rise["t_standing_s"] - 0.5,
                                                                           duration_s=1.0)))


def _landmarks(sim, name: str, cache: Path):
    from mindmove.analyze import compute_landmark_series
    from sensing.landmarks import LandmarkSeries, load_landmarks_csv, save_landmarks_csv
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source
    from synthetic.render import render_simulated_video

    csv = cache / f"{name}.csv"
    if not csv.exists():
        video = render_simulated_video(sim, cache / f"{name}.mp4")
        with open_source(video) as source, create_pose_estimator() as estimator:
            series = compute_landmark_series(source.frames(), estimator, image_size=source.size, source=str(video))
        save_landmarks_csv(series, csv)
    s = load_landmarks_csv(csv)
    return LandmarkSeries(t_s=s.t_s, world_m=s.world_m, visibility=s.visibility, pixel_px=s.pixel_px,
                          image_size=sim.attrs["camera"].image_size, source=name)


def _truth(test: str, sim) -> float:
    t = sim.attrs["truth"]
    return {"tug": t.get("total_s"), "chair-stand-30s": t.get("count_30s"),
            "sit-to-stand-5x": t.get("five_times_s")}[test]


def main() -> None:
    from core.errors import MindMoveError
    from feedback.assessments import compute_assessment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate-hz", type=float, default=30.0)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mindmove-assessment-accuracy"))
    parser.add_argument("--quick", action="store_true", help="typical pace, seated camera only")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    paces = ("typical",) if args.quick else PACE_NAMES
    heights = (1.0,) if args.quick else CAMERA_HEIGHTS_M
    rows = [(test, pace, h, False) for test in ("tug", "chair-stand-30s", "sit-to-stand-5x")
            for pace in paces for h in heights]
    rows += [("tug", "typical", 1.0, True), ("chair-stand-30s", "typical", 1.0, True)]
    print(f"load average {os.getloadavg()[0]:.1f}; frames at {args.rate_hz:g} Hz; MediaPipe Pose full model")
    print(f"{'test':18s} {'pace':8s} {'camera':>6s} {'2nd':>4s} {'measured':>9s} {'truth':>7s} {'error':>7s}")
    worst: dict[str, float] = {}
    for test, pace, height, second in rows:
        sim = _simulate(test, pace, height, args.rate_hz, second)
        name = f"{test}_{pace}_{height:g}_{'second' if second else 'alone'}_{args.rate_hz:g}hz"
        started = time.perf_counter()
        series = _landmarks(sim, name, args.cache)
        try:
            value = compute_assessment(test, series).value
        except MindMoveError as exc:
            print(f"{test:18s} {pace:8s} {height:6.1f} {'yes' if second else '':>4s} refused: {exc}")
            continue
        truth = _truth(test, sim)
        error = value - truth
        key = test + (" (2nd person)" if second else "")
        worst[key] = max(worst.get(key, 0.0), abs(error))
        print(f"{test:18s} {pace:8s} {height:6.1f} {'yes' if second else '':>4s} {value:9.3f} {truth:7.3f} "
              f"{error:+7.3f}   ({time.perf_counter() - started:.1f} s)")
    print("worst absolute error: " + "; ".join(f"{k} {v:.3f}" for k, v in worst.items()))


if __name__ == "__main__":
    main()
