"""Breath analysis: synthetic breaths with known answers, options, outputs.

The real recordings against references derived independently (CO2 edges, breath lists
checked by eye): tests/test_breath_recordings.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from feedback.breath import BreathAnalyzer, analyze_breath, save_breath_outputs
from sensing.breath_source import load_breath_file

TEST_RATE_HZ = 50.0


def _sine_breaths(rate_bpm=12.0, *, ie_ratio=1.5, duration_s=120.0, rate_hz=50.0, sign=1.0, noise=0.0, seed=0):
    """A volume-like breath wave: cosine rise over the inhale, cosine fall over the exhale."""
    t = np.arange(0, duration_s, 1 / rate_hz)
    cycle = 60.0 / rate_bpm
    inhale = cycle / (1 + ie_ratio)
    ph = np.mod(t, cycle)
    v = np.where(ph < inhale, (1 - np.cos(np.pi * ph / inhale)) / 2,
                 (1 + np.cos(np.pi * (ph - inhale) / (cycle - inhale))) / 2)
    v = sign * v + 0.05 * t / duration_s  # a slow drift
    if noise:
        v = v + np.random.default_rng(seed).normal(0, noise, t.size)
    return t, v, cycle, inhale


def _decimated(path, rate_hz, *, to_hz=TEST_RATE_HZ):
    t, x, rate = load_breath_file(path, rate_hz=rate_hz)
    q = int(rate // to_hz) if to_hz else 1
    y = signal.decimate(x, q, ftype="fir", zero_phase=True) if q > 1 else x
    return np.arange(y.size) / (rate / q), y, rate / q


# ------------------------------------------------------------------ synthetic, analytic answers
@pytest.mark.parametrize("rate_bpm", [6.0, 12.0, 20.0])
def test_sine_rate_and_ratio(rate_bpm):
    t, v, cycle, inhale = _sine_breaths(rate_bpm, ie_ratio=1.5)
    a = analyze_breath(t, v, rate_hz=50.0)
    assert a.polarity == "normal"
    assert a.summary["rate_bpm_median"] == pytest.approx(rate_bpm, abs=0.2)
    assert a.summary["ie_ratio_median"] == pytest.approx(1.5, rel=0.15)
    expected = math.floor(t[-1] / cycle)
    assert expected - 3 <= a.summary["inhale_onsets"] <= expected
    # inhalation onsets sit at the troughs (multiples of the cycle): timed at the turning
    # point with the onset filter's delay taken off (the slope rule once put them ~0.35 s late)
    onsets = np.array([e.t_s for e in a.events if e.kind == "inhale_onset"])
    lag = onsets - cycle * np.round(onsets / cycle)
    assert abs(np.median(lag)) <= 0.05


def test_inverted_signal_is_detected_and_override_respected():
    t, v, cycle, inhale = _sine_breaths(10.0, ie_ratio=2.0, sign=-1.0)
    auto = analyze_breath(t, v, rate_hz=50.0)
    assert auto.polarity == "inverted"
    assert auto.summary["ie_ratio_median"] == pytest.approx(2.0, rel=0.15)
    forced = analyze_breath(t, v, rate_hz=50.0, polarity="normal")
    assert forced.polarity == "normal"
    assert forced.summary["ie_ratio_median"] == pytest.approx(0.5, rel=0.15)  # inhale/exhale swapped


def test_streaming_chunks_give_the_same_onsets_as_one_block():
    t, v, *_ = _sine_breaths(12.0, noise=0.02, rate_hz=200.0)
    whole = analyze_breath(t, v, rate_hz=200.0)
    a = BreathAnalyzer(rate_hz=200.0)
    for i in range(0, t.size, 37):  # odd chunk size, crossing decimation boundaries
        a.update(t[i:i + 37], v[i:i + 37])
    a.finish()
    assert [e.t_s for e in a.events] == pytest.approx([e.t_s for e in whole.events])


def test_nan_gap_resets_without_inventing_breaths():
    t, v, cycle, _ = _sine_breaths(12.0, duration_s=120.0)
    gap = (t > 50) & (t < 58)
    v = v.copy()
    v[gap] = np.nan
    a = analyze_breath(t, v, rate_hz=50.0)
    assert a.summary["gaps"] == 1
    for b in a.breaths:  # no breath spans the gap
        assert not (b.inhale_onset_s < 58 and b.end_s > 50)
    assert a.summary["rate_bpm_median"] == pytest.approx(12.0, abs=0.3)
    clean = analyze_breath(*_sine_breaths(12.0, duration_s=120.0)[:2], rate_hz=50.0)
    assert len(a.breaths) < len(clean.breaths)


def test_a_dropout_does_not_lower_the_rate():
    """12 breaths/min with 60 s of no signal (a belt dropout): the rate stays 12/min. Counting
    onsets over the span from the first to the last one gave 7.4/min here."""
    t, v, *_ = _sine_breaths(12.0, duration_s=180.0)
    v = v.copy()
    v[(t > 60) & (t < 120)] = np.nan
    a = analyze_breath(t, v, rate_hz=50.0)
    assert a.summary["gaps"] == 1
    assert a.summary["rate_bpm"] == pytest.approx(12.0, abs=0.2)
    assert a.summary["rate_bpm_median"] == pytest.approx(12.0, abs=0.2)
    # a time jump (samples missing, no NaN marker) is a gap as well
    keep = (t <= 60) | (t >= 120)
    jumped = analyze_breath(t[keep], v[keep], rate_hz=50.0)
    assert jumped.summary["gaps"] == 1 and jumped.summary["rate_bpm"] == pytest.approx(12.0, abs=0.2)


def test_phase_follows_the_wave_and_rate_is_live():
    t, v, cycle, inhale = _sine_breaths(10.0, ie_ratio=2.0, duration_s=90.0)
    a = BreathAnalyzer(rate_hz=50.0, polarity="normal")
    agree = total = 0
    for i in range(0, t.size, 5):
        a.update(t[i:i + 5], v[i:i + 5])
        if a.phase in ("inhale", "exhale") and t[i] > 20:
            truth = "inhale" if np.mod(t[i + 4], cycle) < inhale else "exhale"
            agree += a.phase == truth
            total += 1
    assert total > 500 and agree / total > 0.85
    assert a.rate_bpm() == pytest.approx(10.0, abs=0.3)
    assert a.ie_ratio() == pytest.approx(2.0, rel=0.15)
    assert 0.9 <= a.amplitude_rel <= 1.0


def test_bad_options_raise_one_line_errors():
    from core.errors import MindMoveError
    with pytest.raises(MindMoveError, match="polarity"):
        BreathAnalyzer(polarity="upside")
    with pytest.raises(MindMoveError, match="signal"):
        BreathAnalyzer(signal="sonar")
    with pytest.raises(MindMoveError, match="rate_hz"):
        BreathAnalyzer().update(np.array([0.0]), np.array([1.0]))
    for bad in (0.0, 1e-300, -5.0, float("nan"), float("inf"), 1e6):
        with pytest.raises(MindMoveError, match="sampling rate"):
            BreathAnalyzer(rate_hz=bad)


def test_every_signal_name_has_its_physics():
    from core.signals import BREATH_SIGNALS
    from feedback.breath_signals import SIGNAL_KINDS

    assert tuple(SIGNAL_KINDS) == BREATH_SIGNALS


def test_outputs_written(tmp_path):
    t, v, *_ = _sine_breaths(12.0)
    csv_path, json_path = save_breath_outputs(analyze_breath(t, v, rate_hz=50.0), tmp_path / "out")
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "inhale_onset_s,exhale_onset_s,duration_s"
    assert float(rows[1].split(",")[2]) == pytest.approx(5.0, abs=0.1)
    import json
    s = json.loads(json_path.read_text())
    assert {"breaths", "rate_bpm_median", "ie_ratio_median", "polarity"} <= set(s)


# ------------------------------------------------------------------ real recordings
# Counts, rates and onset timing on every shared recording against references derived
# independently: tests/test_breath_recordings.py.


def test_full_rate_input_is_decimated_inside(shared):
    """A 1000 Hz belt fed as it comes finds the breaths of the same belt fed at 50 Hz."""
    t, x, rate = load_breath_file(shared("breath/resp3_belt.npy"), rate_hz=1000.0)
    full = analyze_breath(t[:120_000], x[:120_000], rate_hz=rate, signal="belt")
    sub = _decimated(shared("breath/resp3_belt.npy"), 1000.0)
    low = analyze_breath(sub[0][:int(120 * sub[2])], sub[1][:int(120 * sub[2])], rate_hz=sub[2], signal="belt")
    assert len(full.breaths) == len(low.breaths)
    a = np.array([e.t_s for e in full.events])
    b = np.array([e.t_s for e in low.events])
    assert np.median(np.abs(a - b)) <= 0.05
