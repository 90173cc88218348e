"""MindMove's gait events side by side with gaitkit's detectors on every mocap walk (prints; no assertions).

    .venv/bin/python benchmarks/gait_vs_peers.py [--video]

Walks: every motion-capture walk in ``../shared/data`` with reference events: gaitmap's
overground walk (events from its stride list, straight walking only, as in
``tests/test_gait_mocap.py``) and each C3D in ``mocap/gaitkit/`` (events from the file's EVENT
section; the marker map is chosen by the markers the file has).

Methods: ``mindmove`` (:func:`feedback.gait.compute_gait`), and gaitkit's BIKE, Zeni and
O'Connor detectors (``pip install gaitkit``, MIT), each fed twice where possible:
``gk-own`` = gaitkit's own loader for that data set (its extractor, as its authors evaluate
those files), ``gk-same`` = the same anatomical points MindMove uses (the marker map's heel,
toe, ankle, knee and hip markers, through ``gaitkit.load_c3d(marker_map=...)``); the better of
the two is what a comparison should quote.

Per file and method: heel strike (initial contact) and toe off (final contact) median and max
absolute error in ms over the reference events found, events found / reference events
(found = a detection of that side and kind within ``MATCH_WINDOW_S``), and extra detections
(further than that from every reference event, inside the referenced time span).

``--video`` adds the hand-labelled video walk (``tests/data/video_gait_events.csv``) with
MindMove beside myogait's detectors on the same landmarks (``benchmarks/gait_video_peers.py``).
"""

from __future__ import annotations

import argparse
import csv
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from feedback.gait import EVENT_NAMES, compute_gait
from sensing.mocap import MARKER_MAP_DIR, load_gaitmap_mocap, load_marker_map, load_mocap

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MATCH_WINDOW_S = 0.1  # a detection further than this from the reference is not that event
GAITMAP_IMU_RATE_HZ = 204.8  # gaitmap's stride list counts samples of its foot IMUs
KINDS = ("heel_strike", "toe_off")
GAITKIT_METHODS = ("bike", "zeni", "oconnor")


@dataclass(frozen=True)
class Walk:
    name: str
    series: object  # LandmarkSeries
    reference: list[tuple[float, str, str]]  # (t_s, side, kind as in gait.json)
    gaitkit_inputs: dict[str, Callable[[], object]]  # input label -> gaitkit trial


# --------------------------------------------------------------------------- walks

def _gaitmap() -> Walk:
    series = load_gaitmap_mocap(DATA / "mocap/gaitmap/mocap_sample.csv")
    straight = _straight_walking(series)
    reference = []
    with (DATA / "mocap/gaitmap/stride_events_sample.csv").open() as fh:
        for row in csv.DictReader(fh):
            for column, kind in (("ic", "heel_strike"), ("tc", "toe_off")):
                t = float(row[column]) / GAITMAP_IMU_RATE_HZ
                if straight[min(int(round(t * series.rate_hz)), len(series) - 1)]:
                    reference.append((t, row["foot"], kind))
    return Walk("gaitmap overground, healthy (straight parts)", series, reference,
                {"gk-same": lambda: _frames_from_series(series)})


def _straight_walking(series) -> np.ndarray:
    """The test's independent definition: feet centre (1 s mean) faster than 0.8 m/s and
    heading within 20 degrees of its pass's median."""
    feet = np.mean([series.world(n)[:, :2] for n in ("left_heel", "right_heel", "left_foot_index",
                                                     "right_foot_index")], axis=0)
    k = int(series.rate_hz)
    smooth = np.stack([np.convolve(feet[:, i], np.ones(k) / k, mode="same") for i in range(2)], axis=1)
    vel = np.gradient(smooth, series.t_s, axis=0)
    ok = np.linalg.norm(vel, axis=1) > 0.8
    ok[:k] = ok[-k:] = False
    heading = np.arctan2(vel[:, 1], vel[:, 0])
    ref = np.where(vel[:, 0] >= 0, np.median(heading[ok & (vel[:, 0] >= 0)]),
                   np.median(heading[ok & (vel[:, 0] < 0)]))
    return ok & (np.degrees(np.abs(np.angle(np.exp(1j * (heading - ref))))) < 20)


def _c3d_walks() -> list[Walk]:
    import ezc3d

    walks = []
    for path in sorted((DATA / "mocap/gaitkit").glob("*.c3d")):
        labels = [s.strip() for s in ezc3d.c3d(str(path))["parameters"]["POINT"]["LABELS"]["value"]]
        map_name = "figshare_pd.toml" if "R.MT2" in labels else "fukuchi_lower_body.toml"
        series = load_mocap(path, marker_map=MARKER_MAP_DIR / map_name)
        reference = [(e.t_s, e.side, EVENT_NAMES[e.kind]) for e in series.attrs["reference_events"]]
        inputs = {"gk-same": lambda p=path, m=map_name: _gaitkit_c3d(p, m)}
        own = _gaitkit_extractor(path)
        if own is not None:
            inputs["gk-own"] = own
        walks.append(Walk(path.stem, series, reference, inputs))
    return walks


def _gaitkit_c3d(path: Path, map_name: str):
    import gaitkit

    mmap = load_marker_map(MARKER_MAP_DIR / map_name).landmarks
    names = {"heel": "heel", "toe": "foot_index", "ankle": "ankle", "knee": "knee", "hip": "hip"}
    spec = {}
    for side in ("left", "right"):
        for theirs, ours in names.items():
            markers = mmap.get(f"{side}_{ours}")
            if markers:
                spec[f"{side}_{theirs}"] = markers[0] if len(markers) == 1 else tuple(markers[:2])
    return gaitkit.load_c3d(str(path), marker_map=spec)


def _gaitkit_extractor(path: Path):
    from gaitkit.extractors.figshare_pd_extractor import FigsharePDExtractor
    from gaitkit.extractors.fukuchi_extractor import FukuchiExtractor

    kind = FigsharePDExtractor if path.name.startswith("figshare_pd") else (
        FukuchiExtractor if path.name.startswith("fukuchi") else None)
    return None if kind is None else (lambda: kind(str(path.parent)).extract_file(path))


def _frames_from_series(series) -> dict:
    """gaitkit angle frames (mm) from a landmark series: heel, toe and whatever else is known."""
    names = {"heel": "heel", "toe": "foot_index", "ankle": "ankle", "knee": "knee", "hip": "hip"}
    frames = []
    for i in range(len(series)):
        lp = {}
        for side in ("left", "right"):
            for theirs, ours in names.items():
                p = series.world(f"{side}_{ours}")[i]
                if np.isfinite(p).all():
                    lp[f"{side}_{theirs}"] = tuple(float(v) * 1000.0 for v in p)
        frames.append({"frame_index": i, "landmark_positions": lp or None})
    return {"angle_frames": frames, "fps": series.rate_hz}


# --------------------------------------------------------------------------- methods

def _mindmove(walk: Walk) -> list[tuple[float, str, str]]:
    report = compute_gait(walk.series)
    return [(e.t_s, e.side, EVENT_NAMES[e.kind]) for e in report.events]


def _gaitkit(trial, method: str, t0_s: float) -> list[tuple[float, str, str]]:
    import gaitkit

    result = gaitkit.detect(trial, method=method)
    out = []
    for kind, get in (("heel_strike", result.hs), ("toe_off", result.to)):
        for side in ("left", "right"):
            out += [(t0_s + float(e["time"]), side, kind) for e in get(side)]
    return out


# --------------------------------------------------------------------------- scoring

def _score(detected, reference, kind: str) -> tuple[list[float], int, int]:
    """(abs errors of the found reference events, reference count, extra detections)."""
    ref = [(t, s) for t, s, k in reference if k == kind]
    det = [(t, s) for t, s, k in detected if k == kind]
    errors = []
    for t, side in ref:
        near = [abs(d - t) for d, s in det if s == side]
        if near and min(near) <= MATCH_WINDOW_S:
            errors.append(min(near))
    lo, hi = min(t for t, _ in ref) - 0.5, max(t for t, _ in ref) + 0.5
    extra = sum(1 for d, s in det if lo <= d <= hi
                and all(abs(d - t) > MATCH_WINDOW_S for t, rs in ref if rs == s))
    return errors, len(ref), extra


def _row(label: str, detected, reference) -> str:
    cells = []
    for kind in KINDS:
        errors, n, extra = _score(detected, reference, kind)
        med = f"{1000 * np.median(errors):6.1f}" if errors else "     -"
        mx = f"{1000 * np.max(errors):6.1f}" if errors else "     -"
        cells.append(f"{med} {mx}  {len(errors):3d}/{n:<3d} {extra:3d}")
    return f"  {label:22s} " + "   ".join(cells)


def _cadence(events) -> float | None:
    ics = sorted(t for t, _, k in events if k == "heel_strike")
    steps = np.diff(ics)
    steps = steps[(steps > 0.25) & (steps < 1.25)]
    return float(60.0 / np.mean(steps)) if steps.size else None


def run_mocap() -> None:
    walks = [_gaitmap()] + _c3d_walks()
    header = ("heel strike: median max (ms)  found/ref extra   "
              "toe off: median max (ms)  found/ref extra")
    for walk in walks:
        print(f"\n{walk.name}  ({len(walk.series)} frames, {walk.series.rate_hz:g} Hz)")
        print(f"  {'method':22s} {header}")
        ours = _mindmove(walk)
        print(_row("mindmove", ours, walk.reference))
        t0 = float(walk.series.t_s[0])
        for method in GAITKIT_METHODS:
            for label, make in walk.gaitkit_inputs.items():
                try:
                    detected = _gaitkit(make(), method, t0)
                except (ValueError, KeyError, IndexError, RuntimeError) as exc:
                    print(f"  {'gaitkit ' + method + ' ' + label:22s} could not run: {exc}"[:160])
                    continue
                print(_row(f"gaitkit {method} {label}", detected, walk.reference))
        ref_cad, our_cad = _cadence(walk.reference), compute_gait(walk.series).parameters.cadence_steps_per_min
        print(f"  cadence: reference events {ref_cad:.2f}, mindmove {our_cad} steps/min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", action="store_true", help="also the hand-labelled video walks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    run_mocap()
    if args.video:
        import importlib.util

        spec = importlib.util.spec_from_file_location("gait_video_peers", Path(__file__).with_name("gait_video_peers.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.run_video()


if __name__ == "__main__":
    main()
