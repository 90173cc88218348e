"""Reference breaths for the shared recordings, derived independently of MindMove's analyzer.

    .venv/bin/python benchmarks/breath_references.py   # rewrites tests/data/breath_annotations/

- ``resp4_CO2`` (capnography): inspiration onsets are the falling, expiration onsets the rising
  crossings of the raw signal through the midpoint of plateau (90th percentile) and baseline
  (10th), each kept only if the new level holds 0.3 s, interpolated between samples (derived
  at run time by :func:`co2_reference`, not stored).
- belt and airflow files (``resp3_belt``, ``resp1_airflow``, ``biosppy_chest_belt``,
  ``neurokit/bio_resting_5min_100hz``, ``neurokit/bio_resting_8min_100hz``): **the breath list
  by eye, the timing by a written rule.** Candidates: the extrema between successive zero
  crossings of a zero-phase 0.05-1 Hz band-pass (airflow: of its integral, inspiration up),
  pairs of extrema closer than 0.3 of the recording's median swing removed; every candidate
  was then checked by eye on plots of 60-90 s (the raw signal behind the filtered one), and the
  edits below were made (``ADD``: onsets the candidates missed; ``UNSCORED``: stretches where
  by eye it is not clear what is a breath, left out of every count and timing). The time of
  each onset is then the documented convention (docs/breath.md), applied offline on the whole
  signal: on a zero-phase 2 Hz low-pass, the samples within 20 % of the swing of the extreme,
  up to where the wave last leaves that band on its way to the next extreme (ripples of a
  pause included), are fitted with a parabola in, a flat stretch (possibly empty) and a
  parabola out; the onset is where the flat stretch ends (the end of a pause, else the bottom
  or top of a rounded turn). Inhale onsets at troughs, exhale onsets
  at peaks of the inhalation-up signal.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import signal

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "breath"
OUT = REPO / "tests" / "data" / "breath_annotations"

# name: (path, column or None, rate_hz, inhalation sign, shape)
RECORDS = {
    "resp3_belt": ("resp3_belt.npy", None, 1000.0, 1, "volume"),
    "resp1_airflow": ("resp1_airflow.npy", None, 1000.0, -1, "flow"),
    "biosppy_chest_belt": ("biosppy_chest_belt.txt", None, 1000.0, 1, "volume"),
    "bio_resting_5min": ("neurokit/bio_resting_5min_100hz.csv", "RSP", 100.0, 1, "volume"),
    "bio_resting_8min": ("neurokit/bio_resting_8min_100hz.csv", "RSP", 100.0, 1, "volume"),
}
# By-eye edits (seconds). resp3: the deep breath at 3.7-6.3 s starts after two small humps
# the candidates merged into it; the humps themselves (0-3.5 s) are unclear. bio_resting_5min:
# 117.6-123.2 s shallow oscillations of a fifth of a breath every 2 s (shallow breaths or not),
# 223-232.5 s a small hump, then dips far below the baseline (movement or speech).
# bio_resting_8min: the recording opens with a breath whose inhalation starts at 1.0 s.
ADD = {"resp3_belt": {"inhale": [3.7]}, "bio_resting_8min": {"inhale": [1.0]}}
# biosppy_chest_belt: three small humps (6.1-7.3 s, 27.8-29.9 s, 32.9-36.0 s), a quarter to a
# third of the neighbouring swings, which by eye may be shallow breaths or movement of the piezo.
UNSCORED = {"resp3_belt": [(0.0, 3.5)], "bio_resting_5min": [(117.6, 123.2), (223.0, 232.5)],
            "biosppy_chest_belt": [(6.1, 7.3), (27.8, 29.9), (32.9, 36.0)]}


def load_record(name: str) -> tuple[np.ndarray, float]:
    path, column, rate_hz, _, _ = RECORDS[name]
    full = DATA / path
    if column is not None:
        return pd.read_csv(full)[column].to_numpy(dtype=float), rate_hz
    if full.suffix == ".npy":
        return np.load(full).astype(float), rate_hz
    return np.loadtxt(full, comments="#"), rate_hz


def inhalation_up(name: str, x: np.ndarray, rate_hz: float) -> np.ndarray:
    """The signal oriented so that it rises on inhalation (airflow: its integral)."""
    _, _, _, sign, shape = RECORDS[name]
    y = sign * (x - np.median(x))
    return np.cumsum(y) / rate_hz if shape == "flow" else y


def _candidates(y: np.ndarray) -> np.ndarray:
    crossings = np.flatnonzero(np.diff(np.sign(y)) != 0)
    ex = np.array([a + (np.argmax(y[a:b + 1]) if y[a:b + 1].mean() > 0 else np.argmin(y[a:b + 1]))
                   for a, b in zip(crossings, crossings[1:])])
    threshold = 0.3 * np.median(np.abs(np.diff(y[ex])))
    while ex.size > 2:
        d = np.abs(np.diff(y[ex]))
        k = int(np.argmin(d))
        if d[k] >= threshold:
            break
        ex = np.delete(ex, [k, k + 1] if k + 1 < ex.size else [k])
    return ex


def _pause_end(t: np.ndarray, w: np.ndarray) -> float:
    """The end of the flat stretch of a fall-flat-rise fit (each arm a parabola of its own
    curvature, the flat stretch possibly empty), by a plain grid search, least squares."""
    best, best_b = np.inf, t[0]
    grid = t[::max(1, t.size // 60)]
    for i, a in enumerate(grid):
        for b in grid[i:]:
            m = np.column_stack([np.ones_like(t), np.minimum(t - a, 0) ** 2, np.maximum(t - b, 0) ** 2])
            res = w - m @ np.linalg.lstsq(m, w, rcond=None)[0]
            if res @ res < best:
                best, best_b = res @ res, b
    return float(best_b)


def _timed(t: np.ndarray, z: np.ndarray, i: int, kind: int, swing: float, rate_hz: float, end: int) -> float:
    """The convention of docs/breath.md: the samples within the band (20 % of the swing) of
    the extreme, up to where the wave last leaves it before the next extreme ``end`` (ripples
    of a pause stay in), are fitted fall-flat-rise; the onset is where the flat part ends."""
    w = -kind * z
    band = 0.2 * swing
    inside = np.flatnonzero(w[i:end] <= w[i] + band)
    hi = min(w.size - 1, i + int(inside[-1]) + 1)
    lo = i
    while lo > 0 and w[lo - 1] <= w[i] + band and i - lo < 12 * rate_hz:
        lo -= 1
    step = max(1, int(rate_hz // 25))
    return _pause_end(t[lo:hi + 1:step], w[lo:hi + 1:step]) if hi - lo > 3 * step else float(t[i])


def build_reference(name: str) -> dict[str, np.ndarray]:
    x, rate_hz = load_record(name)
    u = inhalation_up(name, x, rate_hz)
    t = np.arange(u.size) / rate_hz
    y = signal.sosfiltfilt(signal.butter(2, [0.05, 1.0], btype="band", fs=rate_hz, output="sos"), u)
    z = signal.sosfiltfilt(signal.butter(2, 2.0, fs=rate_hz, output="sos"), u)
    ex = _candidates(y)
    swing = float(np.median(np.abs(np.diff(z[ex]))))
    inhale, exhale = [], []
    for k, i in enumerate(ex):  # the band-pass shifts levels, not times: the extreme of z nearby
        kind = 1 if y[i] > 0 else -1
        win = slice(max(0, i - int(0.5 * rate_hz)), min(z.size, i + int(0.5 * rate_hz)))
        i_true = win.start + int(np.argmax(kind * z[win]))
        end = max(int(ex[k + 1]) if k + 1 < ex.size else z.size, i_true + 1)
        (exhale if kind > 0 else inhale).append(_timed(t, z, i_true, kind, swing, rate_hz, end))
    for kind, times in ADD.get(name, {}).items():
        (inhale if kind == "inhale" else exhale).extend(times)
    return {"inhale": np.sort(inhale), "exhale": np.sort(exhale),
            "unscored": np.asarray(UNSCORED.get(name, []), dtype=float).reshape(-1, 2)}


def co2_reference(x: np.ndarray, rate_hz: float, debounce_s: float = 0.3) -> dict[str, np.ndarray]:
    """Inspiration (falling) and expiration (rising) onsets of a capnogram, in seconds: where it
    crosses the level half-way between its 10th and 90th percentiles and stays across for
    ``debounce_s``, interpolated between samples."""
    level = (np.percentile(x, 90) + np.percentile(x, 10)) / 2
    above = x > level
    hold = int(debounce_s * rate_hz)
    state, falls, rises = above[0], [], []
    for k in np.flatnonzero(np.diff(above.astype(int)) != 0) + 1:
        new = above[k]
        if new != state and np.all(above[k:k + hold] == new):
            crossing = (k - 1 + (level - x[k - 1]) / (x[k] - x[k - 1])) / rate_hz
            (rises if new else falls).append(crossing)
            state = new
    return {"inhale": np.asarray(falls), "exhale": np.asarray(rises), "unscored": np.zeros((0, 2))}


def load_reference(name: str) -> dict[str, np.ndarray]:
    """A stored reference (tests/data/breath_annotations/NAME.csv)."""
    rows = list(csv.DictReader((OUT / f"{name}.csv").open()))
    pick = lambda kind: np.array([float(r["t_s"]) for r in rows if r["event"] == kind])  # noqa: E731
    unscored = np.array([[float(r["t_s"]), float(r["end_s"])] for r in rows if r["event"] == "unscored"])
    return {"inhale": pick("inhale_onset"), "exhale": pick("exhale_onset"), "unscored": unscored.reshape(-1, 2)}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in RECORDS:
        ref = build_reference(name)
        with (OUT / f"{name}.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["event", "t_s", "end_s"])
            for kind, key in (("inhale_onset", "inhale"), ("exhale_onset", "exhale")):
                w.writerows([kind, f"{v:.3f}", ""] for v in ref[key])
            w.writerows(["unscored", f"{a:.1f}", f"{b:.1f}"] for a, b in ref["unscored"])
        print(f"{name}: {ref['inhale'].size} inhale, {ref['exhale'].size} exhale onsets")


if __name__ == "__main__":
    main()
