"""PacerScorer accounting: a gap of unknown breath is not handed to the next frame (review
item 6); the recent window is bounded and its running sums agree with a direct sum (item 14)."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.pacer import MAX_SCORED_STEP_S, PacerScorer

FRAME_S = 0.1


def test_gap_of_unknown_breath_does_not_count_as_agreement():
    """10 s disagreeing, 30 s unknown (the caller skips those frames), one agreeing frame:
    the agreement is about 0 %, not the 75 % that giving the gap to that frame produced."""
    scorer = PacerScorer()
    for t in np.arange(0.0, 10.0, FRAME_S):
        scorer.update(float(t), "inhale", "exhale")
    score = scorer.update(40.0, "inhale", "inhale")
    known_s = 10.0 - FRAME_S + MAX_SCORED_STEP_S
    assert score.agreement_pct == pytest.approx(100.0 * MAX_SCORED_STEP_S / known_s, abs=0.5)
    assert score.agreement_pct < 6.0


def test_agreement_over_ordinary_frames_is_time_weighted():
    scorer = PacerScorer()
    for k in range(300):  # 20 s agreeing, then 10 s disagreeing
        t = k * FRAME_S
        scorer.update(t, "exhale", "exhale" if t < 20.0 else "inhale")
    assert scorer.agreement_pct == pytest.approx(100.0 * 20.0 / 29.9, abs=0.5)


def test_recent_window_is_bounded_and_matches_a_direct_sum():
    rng = np.random.default_rng(7)
    scorer = PacerScorer(window_s=60.0)
    history = []
    t = 0.0
    for _ in range(20000):  # about 33 minutes of 10 Hz frames, irregular
        dt = float(rng.uniform(0.02, 0.2))
        t += dt
        breath = str(rng.choice(["inhale", "exhale", "pause"]))
        scorer.update(t, "inhale", breath, choose_cue=False)
        history.append((t, min(dt, MAX_SCORED_STEP_S), breath == "inhale"))
    window = [(ti, d, a) for ti, d, a in history if ti >= t - 60.0]
    direct = 100.0 * sum(d for _, d, a in window if a) / sum(d for _, d, _ in window)
    assert scorer.recent_agreement_pct == pytest.approx(direct, abs=1e-6)
    assert len(scorer._recent) == len(window) < 0.2 * len(history)  # memory bounded by the window
    assert scorer.cues == []  # choose_cue=False: nothing chosen


def test_rate_difference_keeps_only_the_latest_value():
    scorer = PacerScorer()
    for k in range(1000):
        scorer.update(k * FRAME_S, "inhale", "inhale", breath_rate_bpm=6.0 + k / 1000, pacer_rate_bpm=6.0)
    assert scorer.rate_difference_bpm == pytest.approx(0.999)
    assert not hasattr(scorer, "rate_differences")  # no list growing every frame
