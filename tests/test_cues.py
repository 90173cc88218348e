"""The cue policy: one cue at a time, priority, 1.5 s minimum, hysteresis, rate limit."""

from __future__ import annotations

import numpy as np

from feedback.cues import Cue, CuePolicy

DT = 1 / 30


def safety(t):
    return Cue.of("safety", "range.approaching_limit", t_s=t, value=112.0, limit=110.0)


def posture(t):
    return Cue.of("posture", "posture.trunk_upright", t_s=t)


def pace(t):
    return Cue.of("pace", "pace.slow_down", t_s=t)


def rep(t, n):
    return Cue.of("encouragement", "repetitions.rep_done", t_s=t, params={"count": n})


def run(policy, stream):
    """stream: list of (t, [cues]); returns the message key on screen per frame."""
    return [(c.message_key if (c := policy.update(t, cues)) else None) for t, cues in stream]


def test_priority_safety_over_posture_over_pace_over_encouragement():
    policy = CuePolicy()
    t = 0.0
    shown = policy.update(t, [rep(t, 1), pace(t), posture(t), safety(t)])
    assert shown.message_key == "range.approaching_limit"
    assert policy.update(0.0, [pace(0.0), rep(0.0, 1)]) is shown  # at most one cue, the first stays
    p2 = CuePolicy()
    assert p2.update(0.0, [rep(0.0, 1), pace(0.0)]).kind == "pace"
    assert CuePolicy().update(0.0, [rep(0.0, 1), posture(0.0)]).kind == "posture"


def test_each_cue_stays_at_least_min_display():
    policy = CuePolicy(min_display_s=1.5)
    times = np.arange(0, 3, DT)
    # A one-frame encouragement at t=0, then a posture problem from t=0.5 on.
    stream = [(t, [rep(t, 1)] if t == 0 else ([posture(t)] if t >= 0.5 else [])) for t in times]
    shown = run(policy, stream)
    switch = next(i for i, k in enumerate(shown) if k == "posture.trunk_upright")
    assert all(k == "repetitions.rep_done" for k in shown[:switch])
    assert times[switch] >= 1.5 - 1e-9 and times[switch] < 1.5 + 2 * DT
    # A one-frame cue with nothing after it also stays 1.5 s, then clears.
    p2 = CuePolicy(min_display_s=1.5, clear_after_s=0.5)
    shown = run(p2, [(t, [pace(t)] if t == 0 else []) for t in times])
    visible_s = sum(k is not None for k in shown) * DT
    assert 1.5 <= visible_s <= 1.5 + 2 * DT


def test_hysteresis_in_time_a_flickering_condition_keeps_one_steady_line():
    policy = CuePolicy(min_display_s=1.5, clear_after_s=0.5)
    times = np.arange(0, 6, DT)
    # The posture condition toggles every 0.2 s (value resting on its threshold).
    stream = [(t, [posture(t)] if int(t / 0.2) % 2 == 0 else []) for t in times]
    shown = run(policy, stream)
    changes = sum(a != b for a, b in zip(shown, shown[1:]))
    assert changes == 0 and shown[0] == "posture.trunk_upright"


def test_rate_limit_and_repeat_interval():
    policy = CuePolicy(min_display_s=1.5, repeat_interval_s=6.0, max_new_per_min=4)
    times = np.arange(0, 60, DT)
    # A repetition acknowledged every 2 s for a minute: 30 candidates.
    stream = [(t, [rep(t, int(t // 2) + 1)] if abs(t % 2.0) < DT / 2 else []) for t in times]
    run(policy, stream)
    shown_starts = []
    p = CuePolicy(min_display_s=1.5, repeat_interval_s=6.0, max_new_per_min=4)
    for t, cues in stream:
        p.update(t, cues)
        if p.changed:
            shown_starts.append(t)
    assert len(shown_starts) == 4  # the per-minute cap
    assert all(b - a >= 6.0 for a, b in zip(shown_starts, shown_starts[1:]))  # same sentence spaced out
    # Safety is never rate limited: a limit approached again is always said.
    p = CuePolicy(min_display_s=1.5, repeat_interval_s=6.0, max_new_per_min=1)
    starts = []
    for t in times[:600]:
        cues = [safety(t)] if (t % 4.0) < 1.0 else []
        p.update(t, cues)
        if p.changed:
            starts.append(t)
    assert len(starts) == 5


def test_cue_records_reason_and_text_from_catalogue():
    c = Cue.of("safety", "range.beyond_limit", t_s=3.0, value=125.0, limit=120.0, priority_boost=1)
    assert (c.kind, c.value, c.limit, c.t_s) == ("safety", 125.0, 120.0, 3.0)
    assert c.priority > safety(0).priority
    assert c.text().startswith("Ease back a little")
    assert rep(0, 4).text() == "That's 4"
