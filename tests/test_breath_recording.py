"""The one breath-recording piece shared by `breathe` and practice (feedback.breath_session)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from feedback.breath_session import BreathRecording
from feedback.pacer import Pacer, PacerPlan


class ListRecorder:
    """Collects add_samples calls (the recorder's interface; the SQLite path is tested in
    tests/test_practice_breath.py and tests/test_breath_cli.py)."""

    def __init__(self):
        self.rows = []

    def add_samples(self, t_s, values):
        self.rows.append((t_s, values["breath"]))


def sine(rate_bpm, duration_s, rate_hz, *, t0=0.0):
    t = t0 + np.arange(0.0, duration_s, 1.0 / rate_hz)
    return t, -np.cos(2 * np.pi * rate_bpm / 60.0 * t)


def test_unknown_rate_is_measured_and_samples_thinned_to_25_hz():
    t, v = sine(12.0, 120.0, 100.0)
    rec, sink = BreathRecording(polarity="normal"), ListRecorder()
    for i in range(0, t.size, 3):  # a belt delivering 3 samples at a time, rate unknown
        rec.update(t[i:i + 3], v[i:i + 3], recorder=sink)
    assert rec.analyzer.rate_hz == pytest.approx(100.0)
    stored = np.array([r[0] for r in sink.rows])
    assert stored.size == pytest.approx(120.0 * 25.0, abs=2) == rec.samples_stored
    assert np.median(np.diff(stored)) == pytest.approx(0.04)
    assert rec.result()["rate_bpm"] == pytest.approx(12.0, abs=0.2)


def test_gap_markers_are_stored_and_do_not_lower_the_rate():
    t, v = sine(12.0, 180.0, 50.0)
    v[(t > 60) & (t < 120)] = np.nan  # a 60 s dropout
    rec, sink = BreathRecording(rate_hz=50.0, polarity="normal"), ListRecorder()
    for i in range(0, t.size, 5):
        rec.update(t[i:i + 5], v[i:i + 5], recorder=sink)
    nan_rows = [ts for ts, val in sink.rows if math.isnan(val)]
    assert len(nan_rows) == int(np.sum((t > 60) & (t < 120)))  # every gap marker kept
    fields = rec.result()
    assert fields["detail"]["gaps"] == 1
    assert fields["rate_bpm"] == pytest.approx(12.0, abs=0.2)  # the span over onsets gave 7.4


def test_rate_difference_is_the_paced_breaths_rate_minus_the_target():
    """Breathing at 12/min for a minute, then 8/min once the 6/min guide is on: the
    difference is about the paced breaths (8 - 6 = 2), the rate about all of them."""
    t1, v1 = sine(12.0, 60.0, 50.0)
    t2 = np.arange(60.0, 180.0, 1 / 50.0)
    v2 = -np.cos(2 * np.pi * (8.0 / 60.0) * (t2 - 60.0))
    t, v = np.concatenate([t1, t2]), np.concatenate([v1, v2])
    rec = BreathRecording(rate_hz=50.0, polarity="normal")
    for i in range(0, t.size, 10):
        chunk_t = t[i:i + 10]
        rec.update(chunk_t, v[i:i + 10])
        if rec.pacer is None and chunk_t[-1] >= 60.0:
            rec.start_pacer(Pacer(PacerPlan(rate_bpm=6.0, ie_ratio=1.0)), t_s=float(chunk_t[-1]))
        rec.score(float(chunk_t[-1]), rec.pacer_state(float(chunk_t[-1])))
    fields = rec.result(resting_rate_bpm=rec.rate_before_bpm(60.0, min_breaths=3))
    assert fields["resting_rate_bpm"] == pytest.approx(12.0, abs=0.3)
    assert fields["detail"]["paced_rate_bpm"] == pytest.approx(8.0, abs=0.3)
    assert fields["rate_difference_bpm"] == pytest.approx(2.0, abs=0.3)
    assert 9.0 < fields["rate_bpm"] < 10.5  # 12 breaths at 12/min and 16 at 8/min: 28 in 180 s
    assert fields["pacer_target_bpm"] == 6.0 and 0.0 <= fields["pacer_agreement_pct"] <= 100.0


def test_without_samples_the_result_says_nothing_was_measured():
    rec = BreathRecording()
    rec.start_pacer(Pacer(PacerPlan(rate_bpm=5.0)), t_s=0.0)
    fields = rec.result()
    assert fields["breaths"] == 0 and fields["rate_bpm"] is None and fields["rate_difference_bpm"] is None
    assert fields["pacer_target_bpm"] == 5.0
