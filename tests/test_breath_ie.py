"""The inhale:exhale ratio against known answers: synthetic belts with set inhale and exhale
times, and the real capnogram, whose inspiration and expiration are sharp edges.

The ratio drives the pacer's "let the exhale be a little longer" cue, so each phase's
duration must be right, not only the breath count. Before onsets were timed at the turning
points, a 1:2 belt at 6/min read as about 1:1 (the exhale onset was found up to 2 s late).

The capnogram reference is derived here, independently of the analyzer: inspiration onsets
are the falling and expiration onsets the rising crossings of the raw signal through the
midpoint between plateau (90th percentile) and baseline (10th percentile), each counted only
if the new level holds for 0.3 s, time interpolated between samples.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from feedback.breath import BreathAnalyzer, analyze_breath, compute_corner_time
from sensing.breath_source import load_breath_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from breath_references import co2_reference  # noqa: E402  (how the CO2 reference is derived)

RATE_HZ = 25.0


def _belt(rate_bpm, ie_ratio, *, seconds=150.0, noise=0.05, drift=0.3, timing_cv=0.05, seed=0):
    """A belt-like wave: a half cosine up over each inhale, down over each exhale (``ie_ratio``
    times as long), breath lengths varying ``timing_cv``, with noise and a slow baseline drift.
    Returns times, values, and the true inhale and exhale durations of every breath."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 1.0 / RATE_HZ)
    n = int(seconds * rate_bpm / 60) + 4
    periods = 60.0 / rate_bpm * (1.0 + timing_cv * rng.standard_normal(n))
    starts = np.concatenate([[0.0], np.cumsum(periods)])
    k = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, n - 1)
    phase = (t - starts[k]) / periods[k]
    share = 1.0 / (1.0 + ie_ratio)
    angle = np.where(phase < share, np.pi * phase / share, np.pi * (1.0 + (phase - share) / (1.0 - share)))
    values = -np.cos(angle) + drift * np.sin(2 * np.pi * t / 97.0) + noise * rng.standard_normal(t.size)
    return t, values, share * periods, (1.0 - share) * periods


@pytest.mark.parametrize("rate_bpm", [6.0, 10.0, 15.0])
@pytest.mark.parametrize("ie_ratio", [1.0, 1.5, 2.0, 3.0])
def test_synthetic_ie_ratio_within_15_percent(rate_bpm, ie_ratio):
    t, v, inhale_s, exhale_s = _belt(rate_bpm, ie_ratio, seed=int(10 * rate_bpm + ie_ratio))
    a = analyze_breath(t, v, rate_hz=RATE_HZ, polarity="normal")
    truth = float(np.median(exhale_s / inhale_s))
    assert a.summary["ie_ratio_median"] == pytest.approx(truth, rel=0.15)
    assert a.summary["inhale_s_median"] == pytest.approx(float(np.median(inhale_s)), rel=0.15)


def test_auto_polarity_keeps_the_ratio():
    """Polarity auto (the default) calls the shorter phase the inhale; a 1:2 belt stays 2.0."""
    t, v, inhale_s, exhale_s = _belt(6.0, 2.0, seconds=180.0, seed=3)
    a = analyze_breath(t, v, rate_hz=RATE_HZ)
    assert a.polarity == "normal"
    assert a.summary["ie_ratio_median"] == pytest.approx(2.0, rel=0.15)


def test_onsets_are_reported_after_they_happen_and_stream_like_a_block():
    """Causal: an onset is returned by the chunk that confirms it, never before its time;
    fed in small chunks the onsets are those of one block."""
    t, v, *_ = _belt(10.0, 2.0, seconds=90.0, seed=4)
    live = BreathAnalyzer(rate_hz=RATE_HZ, polarity="normal")
    for i in range(0, t.size, 5):
        for event in live.update(t[i:i + 5], v[i:i + 5]):
            assert event.t_s <= t[min(i + 4, t.size - 1)]
    whole = analyze_breath(t, v, rate_hz=RATE_HZ, polarity="normal")
    assert [e.t_s for e in live.events] == pytest.approx([e.t_s for e in whole.events])
    assert live.ie_ratio() == pytest.approx(2.0, rel=0.15)


def test_corner_time_of_a_lopsided_trough():
    """The fit finds the bottom of a trough that is four times steeper on one side, where the
    lowest noisy sample drifts towards the flat side."""
    t = np.arange(-2.0, 0.5, 0.04)
    z = np.where(t < 0.1, 0.25 * (t - 0.1) ** 2, 4.0 * (t - 0.1) ** 2)
    z = z + np.random.default_rng(0).normal(0, 0.005, t.size)
    assert compute_corner_time(t, z) == pytest.approx(0.1, abs=0.03)


# ------------------------------------------------------------------ real capnogram
def _co2_reference_breaths(falls, rises):
    """(inspiration onset, expiration onset, next inspiration onset) for every full breath."""
    breaths = []
    for f0, f1 in zip(falls, falls[1:]):
        r = rises[(rises > f0) & (rises < f1)]
        if r.size == 1:
            breaths.append((f0, r[0], f1))
    return np.asarray(breaths)


def test_co2_inhale_exhale_durations_and_ratio(shared):
    t, x, rate = load_breath_file(shared("breath/resp4_CO2.npy"), rate_hz=60.0)
    edges = co2_reference(x, rate)  # inspiration (falling) and expiration (rising) onsets, s
    falls, rises = edges["inhale"], edges["exhale"]
    ref = _co2_reference_breaths(falls, rises)
    assert falls.size == 81 and len(ref) >= 78  # the README's count: the reference is sane
    ref_inhale, ref_exhale = ref[:, 1] - ref[:, 0], ref[:, 2] - ref[:, 1]
    assert np.median(ref_inhale) == pytest.approx(1.17, abs=0.05)  # README: median inspiration
    assert np.median(ref[:, 2] - ref[:, 0]) == pytest.approx(3.9, abs=0.1)  # README: cycle

    a = analyze_breath(t, x, rate_hz=rate)
    assert a.polarity == "inverted"
    inhale = np.array([b.inhale_s for b in a.breaths])
    exhale = np.array([b.exhale_s for b in a.breaths])
    assert len(a.breaths) >= 0.95 * len(ref)
    assert np.median(inhale) == pytest.approx(np.median(ref_inhale), abs=0.2)
    assert np.median(exhale) == pytest.approx(np.median(ref_exhale), abs=0.2)
    assert a.summary["ie_ratio_median"] == pytest.approx(np.median(ref_exhale / ref_inhale), rel=0.15)

    # breath by breath, for the breaths whose inspiration onset matches a reference one
    starts = np.array([b.inhale_onset_s for b in a.breaths])
    errors = []
    for f0, r0, f1 in ref:
        j = int(np.argmin(np.abs(starts - f0)))
        if abs(starts[j] - f0) < 0.5:
            errors.append((inhale[j] - (r0 - f0), exhale[j] - (f1 - r0)))
    errors = np.abs(np.asarray(errors))
    assert len(errors) >= 0.95 * len(ref)
    assert np.median(errors[:, 0]) <= 0.1 and np.median(errors[:, 1]) <= 0.1
    # expiration onsets are timed as well as inspiration onsets
    expirations = np.array([e.t_s for e in a.events if e.kind == "exhale_onset"])
    exp_errors = np.array([np.min(np.abs(expirations - r)) for r in rises])
    assert np.median(exp_errors) <= 0.3
