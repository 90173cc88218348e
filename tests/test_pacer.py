"""Pacer waveform (rates, ratios, holds, ramp: analytic answers) and scoring."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.messages import message
from feedback.pacer import (EXHALE, HOLD_IN, HOLD_OUT, INHALE, Pacer, PacerPlan, PacerScorer,
                            parse_box, parse_ratio)
from core.errors import ValidationError


def _phase_durations(pacer, t_end, dt=0.01):
    t = np.arange(0, t_end, dt)
    phases = [pacer.state(x).phase for x in t]
    runs, start = [], 0
    for i in range(1, len(phases)):
        if phases[i] != phases[i - 1]:
            runs.append((phases[i - 1], (i - start) * dt))
            start = i
    return runs[1:]  # the first may be cut


def test_default_six_per_minute_one_to_two():
    p = Pacer(PacerPlan())
    runs = _phase_durations(p, 60.0)
    inh = [d for ph, d in runs if ph == INHALE]
    exh = [d for ph, d in runs if ph == EXHALE]
    assert np.mean(inh) == pytest.approx(10 / 3, abs=0.02)
    assert np.mean(exh) == pytest.approx(20 / 3, abs=0.02)
    assert p.state(60.0).cycle == 6


@pytest.mark.parametrize("rate, ratio", [(4.0, 1.0), (10.0, 1.5), (12.0, 3.0)])
def test_rates_and_ratios(rate, ratio):
    plan = PacerPlan(rate_bpm=rate, ie_ratio=ratio)
    p = Pacer(plan)
    assert p.state(600.0).cycle == pytest.approx(rate * 10, abs=1)
    inhale = 60 / rate / (1 + ratio)
    assert p.state(inhale * 0.5).phase == INHALE
    assert p.state(inhale * 1.01).phase == EXHALE
    assert p.state(inhale * 0.5).size == pytest.approx(0.5, abs=1e-9)  # cosine easing midpoint


def test_box_breathing_holds():
    p = Pacer(PacerPlan.box(*parse_box("4-4-4-4")))
    assert p.plan.rate_bpm == pytest.approx(3.75)
    expected = [(INHALE, 2.0), (HOLD_IN, 6.0), (EXHALE, 10.0), (HOLD_OUT, 14.0)]
    for phase, t in expected:
        assert p.state(t).phase == phase
        assert p.state(t + 16.0).phase == phase
    assert p.state(6.0).size == 1.0 and p.state(14.0).size == 0.0
    assert p.state(6.0).message_key == "breath.hold"
    runs = _phase_durations(p, 64.0)
    assert all(d == pytest.approx(4.0, abs=0.02) for _, d in runs)


def test_shape_is_smooth():
    p = Pacer(PacerPlan(rate_bpm=6, ie_ratio=2, hold_after_inhale_s=1.0))
    sizes = np.array([p.state(t).size for t in np.arange(0, 30, 0.01)])
    assert sizes.min() >= 0 and sizes.max() <= 1
    assert np.max(np.abs(np.diff(sizes))) < 0.01  # no jumps at phase changes


def test_ramp_is_the_integral_of_a_linear_rate():
    plan = PacerPlan(rate_bpm=6.0, ramp_from_bpm=12.0, ramp_s=180.0)
    p = Pacer(plan)
    assert p.rate_at(0) == 12.0 and p.rate_at(90) == pytest.approx(9.0) and p.rate_at(400) == 6.0
    # cycles over the ramp: mean rate 9/min for 3 minutes = 27 cycles; then 6/min
    assert p.cycles_at(180.0) == pytest.approx(27.0)
    assert p.cycles_at(240.0) == pytest.approx(33.0)
    assert p.state(180.0 + 1e-6).cycle == 27
    # numerically, the cycle count matches the integral of the rate
    t = np.linspace(0, 180, 100001)
    assert np.trapz([p.rate_at(x) for x in t[::100]], t[::100]) / 60 == pytest.approx(27.0, rel=1e-3)


def test_plan_validation():
    assert parse_ratio("1:2") == 2.0
    with pytest.raises(ValidationError):
        parse_ratio("1-2")
    with pytest.raises(ValidationError):
        parse_box("4-4-4")
    with pytest.raises(ValidationError, match="no time to breathe"):
        PacerPlan(rate_bpm=10, hold_after_inhale_s=4, hold_after_exhale_s=3)
    with pytest.raises(ValidationError):
        PacerPlan(rate_bpm=0.5)


def test_message_keys_exist_in_the_catalogue():
    p = Pacer(PacerPlan.box())
    for t in (1, 5, 9, 13):
        assert message(p.state(t).message_key)


def _score(pacer, breath_phase_of, t_end, **kw):
    scorer = PacerScorer()
    score = None
    for t in np.arange(0, t_end, 0.1):
        st = pacer.state(t)
        score = scorer.update(t, st.phase, breath_phase_of(t), pacer_rate_bpm=st.rate_bpm, **kw)
    return scorer, score


def test_scoring_agreement_and_cues():
    pacer = Pacer(PacerPlan(rate_bpm=6, ie_ratio=2.0))
    follows = lambda t: pacer.state(t).breath_phase
    scorer, score = _score(pacer, follows, 120, breath_rate_bpm=6.0)
    assert score.agreement_pct == pytest.approx(100.0)
    assert score.rate_difference_bpm == 0.0
    assert ("breath.lovely_rhythm" in [k for _, k in scorer.cues])
    # breathing at 12/min with a 1:1 ratio: half the time in phase, faster, short exhale
    other = Pacer(PacerPlan(rate_bpm=12, ie_ratio=1.0))
    scorer, score = _score(pacer, lambda t: other.state(t).breath_phase, 120, breath_rate_bpm=12.0)
    assert 30 <= score.agreement_pct <= 70
    assert score.rate_difference_bpm == pytest.approx(6.0)
    assert scorer.cues[0][1] == "breath.slower"
    scorer, _ = _score(pacer, lambda t: other.state(t).breath_phase, 120, breath_rate_bpm=6.0,
                       ie_ratio=1.0, target_ie_ratio=2.0)
    assert scorer.cues[0][1] == "breath.longer_exhale"
    times = [t for t, _ in scorer.cues]
    assert np.all(np.diff(times) >= 30.0)  # gentle: at most one cue every 30 s
