"""Pathological gait on the simulated walker (analytic contacts): shuffling, festination,
freezing, slow short steps -- in world metres (as motion capture) and on side-on video pixels."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.gait import EVENT_NAMES, compute_gait
from synthetic import WalkSpec, simulate_walk

MATCH_TOL_S = 0.1
HS_MEDIAN_TOL_S = 0.040  # as for the healthy simulated walk (tests/test_simulate_walk.py)

PATTERNS = {
    # Parkinsonian shuffle: short quick steps, flat-foot landing, the foot barely lifted
    "shuffling": dict(cadence_steps_per_min=125.0, step_length_m=0.3, stance_pct=68.0,
                      contact_pitch_deg=2.0, swing_lift_m=0.005),
    # festination: steps quicker (110 -> 170 /min) and shorter (0.45 -> 0.15 m) as the walk goes on
    "festination": dict(cadence_steps_per_min=110.0, cadence_end_steps_per_min=170.0, step_length_m=0.45,
                        step_length_end_m=0.15, stance_pct=65.0, contact_pitch_deg=3.0, swing_lift_m=0.01),
    # hesitant: slow short steps with a walking aid's long double support
    "slow_short": dict(cadence_steps_per_min=70.0, step_length_m=0.25, stance_pct=72.0, contact_pitch_deg=5.0),
    # freezing of gait: 3 s stopped in double support, legs trembling at 5 Hz
    "freezing": dict(cadence_steps_per_min=100.0, step_length_m=0.4, stance_pct=65.0, freeze_at_s=5.0, freeze_s=3.0),
}


def _errors(series, report, kind: str) -> np.ndarray:
    out = []
    for e in series.attrs["true_events"]:
        if e["kind"] != kind or not any(p.t_start_s + 0.05 <= e["t_s"] <= p.t_end_s - 0.05 for p in report.passes):
            continue
        found = [d.t_s for d in report.events if EVENT_NAMES[d.kind] == kind and d.side == e["side"]]
        out.append(min(found, key=lambda t: abs(t - e["t_s"])) - e["t_s"] if found else np.inf)
    return np.asarray(out)


def _true_cadence(series, report) -> float:
    """Steps per minute of the true initial contacts inside the passes (same pass, both feet)."""
    steps = []
    for p in report.passes:
        t = sorted(e["t_s"] for e in series.attrs["true_events"]
                   if e["kind"] == "heel_strike" and p.t_start_s <= e["t_s"] <= p.t_end_s)
        steps += list(np.diff(t))
    return 60.0 / float(np.mean(steps))


@pytest.mark.parametrize("video", [False, True], ids=["world", "video"])
@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_pathological_contacts_are_found_and_timed(pattern, video):
    series = simulate_walk(WalkSpec(duration_s=12.0, image_size=(1280, 720) if video else None,
                           noise_m=0.003 if video else 0.0, seed=1, **PATTERNS[pattern]))
    report = compute_gait(series)
    hs = _errors(series, report, "heel_strike")
    all_hs = [e for e in series.attrs["true_events"] if e["kind"] == "heel_strike"]
    assert hs.size >= len(all_hs) - (4 if pattern == "freezing" else 2)  # all but the edges (and the freeze)
    assert np.all(np.abs(hs) <= MATCH_TOL_S), np.round(hs * 1000)
    assert np.median(np.abs(hs)) <= HS_MEDIAN_TOL_S
    to = _errors(series, report, "toe_off")
    assert np.mean(np.abs(to) <= MATCH_TOL_S) >= 0.9
    assert report.parameters.cadence_steps_per_min == pytest.approx(_true_cadence(series, report), abs=1.5)
    assert sum(report.quality.rejected_events.values()) == 0


def test_a_freeze_splits_the_walk_and_its_trembling_is_no_step():
    series = simulate_walk(WalkSpec(duration_s=12.0, seed=1, **PATTERNS["freezing"]))
    start, end = series.attrs["freeze_s"]
    report = compute_gait(series)
    assert len(report.passes) == 2
    frozen = (series.t_s > start + 0.7) & (series.t_s < end - 0.7)  # a step's margin either side
    assert not report.frames_used[frozen].any()
    assert not [e for e in report.events if start + 0.3 < e.t_s < end - 0.3]
    # no stride or step spans the freeze: cadence is that of the walking
    assert report.parameters.cadence_steps_per_min == pytest.approx(100.0, abs=1.0)
    assert report.parameters.stride_time_s == pytest.approx(1.2, abs=0.02)


def test_the_walker_freezes_in_double_support_and_festinating_steps_shorten():
    frozen = simulate_walk(WalkSpec(duration_s=12.0, rate_hz=100.0, **PATTERNS["freezing"]))
    start, end = frozen.attrs["freeze_s"]
    inside = (frozen.t_s > start) & (frozen.t_s < end)
    ground = float(np.nanmax(frozen.world_m[..., 1]))
    for side in ("left", "right"):  # both feet on the floor (heel or toes) all through the freeze
        lowest = np.maximum(frozen.world(f"{side}_heel")[inside, 1], frozen.world(f"{side}_foot_index")[inside, 1])
        assert np.all(ground - lowest < 0.002)
    hip = (frozen.world("left_hip") + frozen.world("right_hip")) / 2
    assert np.ptp(hip[inside, 0]) < 1e-9  # the body stands still
    assert not [e for e in frozen.attrs["true_events"] if start < e["t_s"] < end]
    fest = simulate_walk(WalkSpec(duration_s=12.0, rate_hz=100.0, **PATTERNS["festination"]))
    contacts = [e for e in fest.attrs["true_events"] if e["kind"] == "heel_strike" and e["side"] == "left"]
    at = [fest.world("left_heel")[int(round(e["t_s"] * 100)), 0] for e in contacts]
    strides = np.diff(at)
    times = np.diff([e["t_s"] for e in contacts])
    assert strides[-1] < 0.5 * strides[0] and times[-1] < 0.75 * times[0]
