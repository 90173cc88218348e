"""Feedback engines on synthetic angle streams with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from feedback.engines import (
    FrameVisibility, PaceEngine, PostureEngine, RangeEngine, RepetitionEngine, VisibilityEngine,
    compute_tracked_angle,
)

RATE_HZ = 30.0
CH = "right_shoulder_flexion_deg"


def feed(engine, t_s, values, *, channel=CH, visibility=None):
    """Feed a stream; returns the list of cue lists, one per frame."""
    return [engine.update(float(t), {channel: float(v)}, visibility) for t, v in zip(t_s, values)]


def keys(frame_cues):
    return [c.message_key for c in frame_cues]


def test_range_engine_zones_and_limits():
    eng = RangeEngine(CH, 0.0, 120.0, caution_margin_deg=10.0)
    assert eng.update(0.0, {CH: 100.0}) == []
    assert keys(eng.update(0.1, {CH: 111.0})) == ["range.approaching_limit"]
    out = eng.update(0.2, {CH: 125.0})
    assert keys(out) == ["range.beyond_limit"]
    assert out[0].kind == "safety" and out[0].limit == 120.0 and out[0].value == 125.0
    # Unknown values say nothing and keep the zone.
    assert eng.update(0.3, {CH: math.nan}) == [] and eng.zone == "beyond"


def test_range_engine_hysteresis_resting_on_threshold_does_not_flicker():
    eng = RangeEngine(CH, 0.0, 120.0, caution_margin_deg=10.0, hysteresis_deg=3.0)
    t = np.arange(0, 5, 1 / RATE_HZ)
    # Noise of +-1.5 deg around the approach threshold (110 deg), after crossing it once.
    values = 110.0 + 1.5 * np.sin(2 * np.pi * 7.0 * t)
    values[0] = 112.0
    zones = []
    for ti, v in zip(t, values):
        eng.update(float(ti), {CH: float(v)})
        zones.append(eng.zone)
    assert set(zones) == {"approaching"}
    # Without hysteresis the same stream would flicker between zones.
    raw = RangeEngine(CH, 0.0, 120.0, caution_margin_deg=10.0, hysteresis_deg=0.0)
    raw_zones = []
    for ti, v in zip(t, values):
        raw.update(float(ti), {CH: float(v)})
        raw_zones.append(raw.zone)
    assert sum(a != b for a, b in zip(raw_zones, raw_zones[1:])) > 10
    # Leaves the zone only hysteresis_deg back inside.
    eng.update(6.0, {CH: 108.0})
    assert eng.zone == "approaching"
    eng.update(6.1, {CH: 106.5})
    assert eng.zone == "inside"


def test_range_engine_lower_and_both_ends():
    knee = "right_knee_flexion_deg"
    eng = RangeEngine(knee, 5.0, 90.0, caution_margin_deg=10.0, limits="lower")
    assert eng.update(0.0, {knee: 88.0}) == []  # the top is not watched for this exercise
    assert keys(eng.update(0.1, {knee: 12.0})) == ["range.approaching_limit"]
    assert keys(eng.update(0.2, {knee: 2.0}))[0] == "range.beyond_limit"
    neck = "neck_rotation_deg"
    both = RangeEngine(neck, -40.0, 40.0, limits="both")
    assert keys(both.update(0.0, {neck: -45.0})) == ["range.beyond_limit"]
    assert both.update(0.0, {neck: -45.0})[0].limit == -40.0


def sine_reps(n_reps, period_s, low_deg, high_deg, *, rate_hz=RATE_HZ, rest_s=1.0):
    """n_reps smooth movements low -> high -> low, each taking period_s, with rests between."""
    t_all, v_all, t0 = [], [], 0.0
    for _ in range(n_reps):
        t = np.arange(0, period_s, 1 / rate_hz)
        v = low_deg + (high_deg - low_deg) * 0.5 * (1 - np.cos(2 * np.pi * t / period_s))
        t_all.append(t0 + t)
        v_all.append(v)
        t0 += period_s
        tr = np.arange(0, rest_s, 1 / rate_hz)
        t_all.append(t0 + tr)
        v_all.append(np.full_like(tr, low_deg))
        t0 += rest_s
    return np.concatenate(t_all), np.concatenate(v_all)


@pytest.mark.parametrize("n_reps", [1, 3, 7])
def test_repetition_count_known_answer(n_reps):
    eng = RepetitionEngine(CH, 0.0, 120.0, start_fraction=0.3, top_fraction=0.7)
    t, v = sine_reps(n_reps, 4.0, 5.0, 100.0)
    out = feed(eng, t, v)
    assert eng.count == n_reps
    assert len(eng.repetitions) == n_reps
    for rep in eng.repetitions:
        assert rep.peak_deg == pytest.approx(100.0, abs=0.5)
        assert 0 < rep.t_end_s - rep.t_start_s < 4.0
    rep_cues = [c for frame in out for c in frame if c.message_key == "repetitions.rep_done"]
    assert [c.fields["count"] for c in rep_cues] == list(range(1, n_reps + 1))


def test_partial_movements_are_not_counted_and_noise_at_threshold_is_one_rep():
    eng = RepetitionEngine(CH, 0.0, 100.0, start_fraction=0.3, top_fraction=0.7)
    # Reaches only 60 deg (below the 70 deg top): not a repetition.
    t, v = sine_reps(2, 3.0, 5.0, 60.0)
    feed(eng, t, v)
    assert eng.count == 0
    # One real repetition whose descent jitters around the start threshold (30 deg).
    t = np.arange(0, 6, 1 / RATE_HZ)
    v = np.interp(t, [0, 2, 3, 6], [5, 90, 31, 31]) + 1.5 * np.sin(2 * np.pi * 6 * t)
    v = np.concatenate([v, np.full(30, 5.0)])
    t = np.concatenate([t, 6 + np.arange(30) / RATE_HZ])
    feed(eng, t + 100, v)
    assert eng.count == 1


def test_repetition_decrease_direction_and_hold_time():
    knee = "right_knee_flexion_deg"
    eng = RepetitionEngine(knee, 0.0, 90.0, direction="decrease", hold_s=2.0, target=2)
    # Seated knee extension: 90 -> 10 deg, hold 3 s, back to 90; twice.
    t = np.arange(0, 9, 1 / RATE_HZ)
    one = np.interp(t, [0, 2.5, 5.5, 8, 9], [90, 10, 10, 90, 90])
    out = feed(eng, np.concatenate([t, t + 9]), np.concatenate([one, one]), channel=knee)
    assert eng.count == 2
    assert eng.repetitions[0].peak_deg == pytest.approx(10.0, abs=0.5)
    # Time above the top threshold (progress >= 0.7, i.e. angle <= 27 deg): about 3 s plus the ramps.
    assert eng.repetitions[0].hold_s == pytest.approx(3.0 + 2 * 2.5 * 17 / 80, abs=0.15)
    flat = [k for frame in out for k in keys(frame)]
    assert "repetitions.hold" in flat and flat.count("repetitions.hold_done") == 2
    assert flat[-1] == "repetitions.well_done"


def test_repetition_both_directions_neck_rotation():
    neck = "neck_rotation_deg"
    eng = RepetitionEngine(neck, -40.0, 40.0, direction="both", start_fraction=0.3, top_fraction=0.6)
    t = np.arange(0, 12, 1 / RATE_HZ)
    v = np.interp(t, [0, 2, 3, 5, 6, 8, 9, 11, 12], [0, 35, 35, 0, 0, -35, -35, 0, 0])
    feed(eng, t, v, channel=neck)
    assert eng.count == 2
    assert [round(r.peak_deg) for r in eng.repetitions] == [35, -35]


def test_pace_engine_slow_movement_no_cue_fast_movement_cue():
    amplitude = 80.0
    slow = PaceEngine(CH, amplitude_deg=amplitude, min_move_s=2.0, fast_factor=1.6)
    # Up in 2.5 s and down in 2.5 s: a mindful pace.
    t, v = sine_reps(3, 5.0, 10.0, 10.0 + amplitude)
    assert not any(feed(slow, t, v))
    fast = PaceEngine(CH, amplitude_deg=amplitude, min_move_s=2.0, fast_factor=1.6)
    # Up in 0.5 s and down in 0.5 s: rushing.
    t, v = sine_reps(3, 1.0, 10.0, 10.0 + amplitude)
    out = feed(fast, t, v)
    cues = [c for frame in out for c in frame]
    assert cues and {c.message_key for c in cues} == {"pace.slow_down"}
    assert all(c.value > c.limit * fast.release_ratio for c in cues)
    # The limit is fast_factor x the peak speed of a smooth 2 s movement over the amplitude.
    assert fast.limit_deg_s == pytest.approx(1.6 * math.pi / 2 * 80.0 / 2.0)


def test_pace_threshold_is_where_the_tempo_says():
    amplitude = 80.0
    # A movement lasting min_move_s / fast_factor * 1.3 is slow enough; / 0.7 is too fast.
    for half_s, expect in ((2.0 / 1.6 * 1.3, False), (2.0 / 1.6 * 0.7, True)):
        eng = PaceEngine(CH, amplitude_deg=amplitude, min_move_s=2.0, fast_factor=1.6, onset_s=0.0)
        t, v = sine_reps(2, 2 * half_s, 0.0, amplitude, rate_hz=60.0)
        got = any(feed(eng, t, v))
        assert got is expect, half_s


def test_posture_engine_onset_neutral_and_hysteresis():
    eng = PostureEngine(["trunk_lean_side"], neutral={"trunk_lateral_lean_deg": 4.0},
                        max_deviation_deg={"trunk_lean_side": 10.0}, onset_s=1.0)
    name = "trunk_lateral_lean_deg"
    # 13 deg is only 9 deg from this patient's neutral of 4: fine.
    assert not any(eng.update(i / 30, {name: 13.0}) for i in range(90))
    # 16 deg (12 from neutral) for 0.5 s: a passing sway, no cue.
    assert not any(eng.update(10 + i / 30, {name: 16.0}) for i in range(15))
    eng.update(10.6, {name: 4.0})
    out = [eng.update(20 + i / 30, {name: 16.0}) for i in range(60)]
    first = next(i for i, c in enumerate(out) if c)
    assert first == 30  # after onset_s = 1.0 s
    assert out[-1][0].message_key == "posture.trunk_lean_side" and out[-1][0].value == pytest.approx(12.0)
    # Back to 12.5 deg (8.5 from neutral): inside the limit but within the 3 deg hysteresis: still on.
    assert eng.update(23.0, {name: 12.5})
    assert eng.update(23.1, {name: 10.0}) == []
    # Unmeasured angles are skipped.
    assert PostureEngine(["shoulders_level"], onset_s=0.0).update(0.0, {}) == []


def test_visibility_engine_absent_and_hidden_landmarks():
    eng = VisibilityEngine(["right_knee", "right_ankle"], body_part_key="body_part.legs", absent_s=0.5)
    gone = FrameVisibility(person_found=False)
    assert eng.update(0.0, {}, gone) == []
    assert eng.update(0.4, {}, gone) == []
    out = eng.update(0.5, {}, gone)
    assert keys(out) == ["visibility.step_into_view"]
    seen = FrameVisibility(True, {"right_knee": 0.9, "right_ankle": 0.95})
    assert eng.update(0.6, {}, seen) == []
    hidden = FrameVisibility(True, {"right_knee": 0.9, "right_ankle": 0.2})
    assert eng.update(1.0, {}, hidden) == []
    out = eng.update(1.6, {}, hidden)
    assert keys(out) == ["visibility.show_joint"]
    assert out[0].text() == "Let the camera see your legs"


def test_tracked_angle_mean_of_known_sides():
    a = {"left_knee_flexion_deg": 80.0, "right_knee_flexion_deg": math.nan}
    assert compute_tracked_angle(a, angle_names=["left_knee_flexion_deg", "right_knee_flexion_deg"]) == 80.0
    a["right_knee_flexion_deg"] = 90.0
    assert compute_tracked_angle(a, angle_names=["left_knee_flexion_deg", "right_knee_flexion_deg"]) == 85.0
    assert math.isnan(compute_tracked_angle({}, angle_names=["x"]))
