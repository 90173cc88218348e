"""Breathing the analysis must get right, with known answers (synthetic.breathing): speech,
sighs, breath holds, an impedance-like wave with long end-expiratory pauses, clipping, spikes
and ADC wrap-around; polarity under --signal and auto; streaming equals one block."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.breath import BreathAnalyzer, analyze_breath
from feedback.breath_signals import SIGNAL_KINDS, SIGNALS
from synthetic.breathing import (
    SimBreath, add_artefacts, simulate_breathing, simulate_holds, simulate_sighs, simulate_speech,
)

RATE_HZ = 25.0


def _onsets(a, kind):
    return np.array([e.t_s for e in a.events if e.kind == kind])


def _match(found, truth, tol_s=0.5):
    """(missed true onsets, extra found onsets, |error| of the matched ones)."""
    err = np.array([np.min(np.abs(found - r)) if found.size else np.inf for r in truth])
    extra = sum(1 for f in found if np.min(np.abs(truth - f)) > tol_s)
    return int(np.sum(err > tol_s)), extra, err[err <= tol_s]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_speech_every_quick_inhalation_is_a_breath(seed):
    """Quick inhalations (0.3-0.6 s) of varying size between speaking exhalations of 2-6 s, on a
    drifting baseline: every breath found once (the old midline rule found 178 of 227)."""
    wave = simulate_breathing(simulate_speech(30, seed=seed), seed=seed, drift=0.3)
    a = analyze_breath(wave.t_s, wave.values, rate_hz=RATE_HZ, signal="belt")
    missed, extra, err = _match(_onsets(a, "inhale_onset"), wave.inhale_onsets_s)
    assert (missed, extra) == (0, 0)
    assert np.median(err) <= 0.05
    assert np.median(_match(_onsets(a, "exhale_onset"), wave.exhale_onsets_s)[2]) <= 0.05
    true_rate = 60.0 / np.mean(np.diff(wave.inhale_onsets_s))
    assert a.summary["rate_bpm"] == pytest.approx(true_rate, abs=0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sighs_count_once_and_hide_no_neighbour(seed):
    wave = simulate_breathing(simulate_sighs(30, seed=seed), seed=seed, drift=0.3)
    a = analyze_breath(wave.t_s, wave.values, rate_hz=RATE_HZ, signal="belt")
    missed, extra, err = _match(_onsets(a, "inhale_onset"), wave.inhale_onsets_s)
    assert (missed, extra) == (0, 0) and np.median(err) <= 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_breath_holds_of_5_to_20_s(seed):
    """Holds after an inhalation or an exhalation: no breath lost, none invented in the hold."""
    wave = simulate_breathing(simulate_holds(24, seed=seed), seed=seed)
    a = analyze_breath(wave.t_s, wave.values, rate_hz=RATE_HZ, signal="belt")
    missed, extra, err = _match(_onsets(a, "inhale_onset"), wave.inhale_onsets_s)
    assert (missed, extra) == (0, 0) and np.median(err) <= 0.1
    assert a.summary["excluded"] == []  # a still chest with noise is not a flat line


def test_a_cardiac_ripple_in_the_pauses_adds_no_breath():
    """The heartbeat on an impedance trace (5 % of a breath at 72/min) during pauses and holds."""
    wave = simulate_breathing(simulate_holds(24, seed=5), seed=5, cardiac=0.05)
    a = analyze_breath(wave.t_s, wave.values, rate_hz=RATE_HZ, signal="impedance")
    missed, extra, err = _match(_onsets(a, "inhale_onset"), wave.inhale_onsets_s)
    assert (missed, extra) == (0, 0)
    assert np.median(err) <= 0.25  # the ripple hides the first 0.2 s of a slow rise (measured 0.11-0.18)


def test_the_first_breath_counts():
    wave = simulate_breathing([SimBreath(1.5, 2.5, pause_s=0.5)] * 8, lead_s=0.8, seed=3)
    a = analyze_breath(wave.t_s, wave.values, rate_hz=RATE_HZ, signal="belt")
    assert abs(_onsets(a, "inhale_onset")[0] - wave.inhale_onsets_s[0]) <= 0.1
    assert len(a.breaths) == 7  # eight inhalations: seven complete breaths


def _impedance(seed=0, sign=1.0):
    """Impedance pneumography: a fast rise, a passive exhale and a long flat end-expiratory pause
    at the LOW level, with the heartbeat on top."""
    breaths = [SimBreath(0.8, 1.5, 1.0, pause_s=2.5)] * 25
    wave = simulate_breathing(breaths, exhale_shape="passive", seed=seed, cardiac=0.08)
    return wave, sign * wave.values


@pytest.mark.parametrize("seed", [0, 1])
def test_impedance_with_long_pauses_is_not_inverted_under_auto(seed):
    """The case where the old "shorter phase is the inhale" rule chose inverted: the onsets of
    a flat pause sat at its start, so the measured "rise" included the whole pause."""
    wave, values = _impedance(seed)
    a = analyze_breath(wave.t_s, values, rate_hz=RATE_HZ, signal="auto")
    assert a.polarity == "normal" and a.summary["polarity_basis"] == "shape"
    assert a.summary["polarity_confidence"] >= 0.9 and a.summary["warnings"] == []
    assert len(_onsets(a, "inhale_onset")) == len(wave.inhale_onsets_s)
    missed, extra, err = _match(_onsets(a, "inhale_onset"), wave.inhale_onsets_s)
    assert missed <= 1  # the heartbeat in a pause can move one onset by a beat (measured: 0-1)
    assert np.median(err) <= 0.15  # at the END of the pause, not its lowest sample
    inverted = analyze_breath(wave.t_s, -values, rate_hz=RATE_HZ, signal="auto")
    assert inverted.polarity == "inverted" and inverted.summary["polarity_confidence"] >= 0.9


@pytest.mark.parametrize("signal", SIGNALS)
def test_each_signal_kind_sets_the_polarity_from_its_physics(signal):
    """Under every --signal the polarity is the kind's own (auto: the shape); a shape that
    contradicts a known kind is a warning in the summary, never a flip."""
    wave, values = _impedance(0)
    a = analyze_breath(wave.t_s, values, rate_hz=RATE_HZ, signal=signal)
    kind = SIGNAL_KINDS[signal]
    expected = "normal" if kind.polarity == "auto" else kind.polarity
    assert a.polarity == expected
    disagrees = any("opposite polarity" in w for w in a.summary["warnings"])
    assert disagrees == (kind.polarity == "inverted")


def test_symmetric_breathing_under_auto_warns_of_low_confidence():
    """Box-like breathing (equal phases, holds at both ends) gives the shape nothing to go on."""
    wave = simulate_breathing([SimBreath(3.0, 3.0, hold_s=2.0, pause_s=2.0)] * 12, seed=2, noise=0.05)
    a = analyze_breath(wave.t_s, wave.values, rate_hz=RATE_HZ)
    assert a.summary["polarity_confidence"] < 0.8
    assert any("low confidence" in w for w in a.summary["warnings"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clipping_and_spikes_every_breath_found_no_artefact_counted(seed):
    wave = simulate_breathing(simulate_sighs(30, seed=seed), seed=seed)
    values = add_artefacts(wave, clip_at=0.9, spikes_s=(20.3, 41.7, 70.1))
    a = analyze_breath(wave.t_s, values, rate_hz=RATE_HZ, signal="belt")
    missed, extra, err = _match(_onsets(a, "inhale_onset"), wave.inhale_onsets_s)
    assert (missed, extra) == (0, 0) and np.median(err) <= 0.1
    reasons = {s["reason"] for s in a.summary["excluded"]}
    assert {"clipping", "spike"} <= reasons
    for ts in (20.3, 41.7, 70.1):  # each spike lies in an excluded stretch
        assert any(s["start_s"] <= ts <= s["end_s"] for s in a.summary["excluded"])


def test_adc_wrap_around_is_excluded_and_the_rate_holds():
    """An ADC that wrapped round (the signal 20 breaths lower for 15 s) and back: two jumps,
    each excluded as a gap; no breath spans them, none is invented, the rate is unchanged."""
    wave = simulate_breathing(simulate_sighs(40, seed=4), seed=4)
    values = add_artefacts(wave, spikes_s=(33.3,), wrap_s=(80.0, 95.0))
    a = analyze_breath(wave.t_s, values, rate_hz=RATE_HZ, signal="belt")
    assert [s["reason"] for s in a.summary["excluded"]].count("jump") == 2
    _, extra, _ = _match(_onsets(a, "inhale_onset"), wave.inhale_onsets_s)
    assert extra == 0
    true_rate = 60.0 / np.mean(np.diff(wave.inhale_onsets_s))
    assert a.summary["rate_bpm"] == pytest.approx(true_rate, abs=0.5)
    for b in a.breaths:
        assert not (b.inhale_onset_s < 80.0 < b.end_s or b.inhale_onset_s < 95.0 < b.end_s)


def test_a_flat_line_is_a_gap_not_a_breath_hold():
    wave = simulate_breathing(simulate_sighs(20, seed=6), seed=6)
    values = wave.values.copy()
    values[(wave.t_s > 30) & (wave.t_s < 40)] = 0.3  # the sensor stopped reporting changes
    a = analyze_breath(wave.t_s, values, rate_hz=RATE_HZ, signal="belt")
    assert any(s["reason"] == "flat_line" and s["start_s"] <= 31 and s["end_s"] >= 39 for s in a.summary["excluded"])
    assert all(not (b.inhale_onset_s < 35 < b.end_s) for b in a.breaths)


@pytest.mark.parametrize("chunk", [1, 7, 25, 333])
def test_streaming_in_chunks_finds_the_breaths_of_one_block(chunk):
    wave = simulate_breathing(simulate_speech(20, seed=8), seed=8, drift=0.3)
    values = add_artefacts(wave, spikes_s=(15.5,), clip_at=1.3)
    block = analyze_breath(wave.t_s, values, rate_hz=RATE_HZ)
    live = BreathAnalyzer(rate_hz=RATE_HZ)
    for i in range(0, wave.t_s.size, chunk):
        for event in live.update(wave.t_s[i:i + chunk], values[i:i + chunk]):
            assert event.t_s <= wave.t_s[min(i + chunk, wave.t_s.size) - 1]  # causal
    live.finish()
    assert [(e.kind, round(e.t_s, 9)) for e in live.events] == [(e.kind, round(e.t_s, 9)) for e in block.events]


def test_fifteen_minutes_of_impedance_with_a_strong_heartbeat():
    """220 breaths of varied size with passive exhales and pauses, and a heartbeat ripple of
    15 % of a unit breath at 78/min (cardiogenic oscillation on impedance pneumography): the
    heartbeat is never counted (with the detection low-pass at 1.5 Hz it was, 407 of 220, once
    the local amplitude had shrunk), every breath is."""
    rng = np.random.default_rng(3)
    breaths = [SimBreath(rng.uniform(0.8, 1.4), rng.uniform(1.5, 3.0), rng.uniform(0.4, 1.6),
                         pause_s=rng.uniform(0.3, 2.0)) for _ in range(220)]
    wave = simulate_breathing(breaths, rate_hz=62.5, exhale_shape="passive", cardiac=0.15, heart_hz=1.3,
                              seed=3, drift=0.5)
    a = analyze_breath(wave.t_s, wave.values, rate_hz=62.5, signal="impedance")
    assert len(_onsets(a, "inhale_onset")) == 220
    missed, extra, err = _match(_onsets(a, "inhale_onset"), wave.inhale_onsets_s, tol_s=1.0)
    assert missed <= 0.03 * 220 and np.median(err) <= 0.3  # a ripple can move an onset by a beat (4 of 220)
