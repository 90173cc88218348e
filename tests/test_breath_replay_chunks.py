"""A replayed recording hands over every sample, whatever its length (review item 17)."""

from __future__ import annotations

import numpy as np
import pytest

from sensing.breath_source import ReplayBreathSource


@pytest.mark.parametrize("n, rate_hz", [(1001, 100.0), (45, 10.0), (111, 25.0), (441, 100.0), (1000, 100.0),
                                        (2, 50.0), (777, 18.2)])
def test_every_sample_is_replayed_once_in_order(n, rate_hz):
    t = np.arange(n) / rate_hz
    values = np.sin(t)
    chunks = list(ReplayBreathSource(t, values, rate_hz=rate_hz, realtime=False).samples())
    got_t = np.concatenate([c[0] for c in chunks])
    assert got_t.size == n  # 1001 samples at 100 Hz gave 1000 before the fix
    assert np.array_equal(got_t, t)
    assert np.array_equal(np.concatenate([c[1] for c in chunks]), values)


def test_max_s_stops_at_that_time_inclusive():
    t = np.arange(1001) / 100.0
    chunks = list(ReplayBreathSource(t, t, rate_hz=100.0, realtime=False, max_s=5.0).samples())
    got = np.concatenate([c[0] for c in chunks])
    assert got.size == 501 and got[-1] == pytest.approx(5.0)


def test_realtime_replay_waits_for_each_chunk_edge():
    """A fake clock: the replay sleeps until each chunk's edge (the last one the end)."""
    now = [0.0]
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        now[0] += s

    t = np.arange(101) / 100.0  # 1.0 s, ten 0.1 s chunks
    source = ReplayBreathSource(t, t, rate_hz=100.0, realtime=True, clock=lambda: now[0], sleep=sleep)
    chunks = list(source.samples())
    assert sum(c[0].size for c in chunks) == 101
    assert now[0] == pytest.approx(1.0)
    assert len(sleeps) == 10
