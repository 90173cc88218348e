"""Walking in place (treadmill, a camera following the walker), passes in both directions and
the event rules, on simulated walks whose contacts are known analytically."""

from __future__ import annotations

import json

import numpy as np
import pytest

from feedback.gait import EVENT_NAMES, FINAL_CONTACT, INITIAL_CONTACT, GaitEvent, compute_gait, save_gait_outputs
from feedback.gait.events import apply_event_rules
from sensing.landmarks import LANDMARK_INDEX, N_LANDMARKS, LandmarkSeries
from synthetic import WalkSpec, simulate_walk

HS_MEDIAN_TOL_S = 0.010  # motion capture on a treadmill (the lab file's target)
VIDEO_HS_MEDIAN_TOL_S = 0.040  # video, as for a fixed camera (tests/test_simulate_walk.py)
MATCH_TOL_S = 0.1


def on_treadmill(series: LandmarkSeries) -> LandmarkSeries:
    """The same walk on a belt: every landmark carried back by the walking speed (world metres)."""
    world = series.world_m.copy()
    sign = 1.0 if series.attrs["heading"] == "+x" else -1.0
    world[..., 0] -= sign * series.attrs["speed_m_s"] * series.t_s[:, None]
    return LandmarkSeries(t_s=series.t_s, world_m=world, visibility=series.visibility, up=series.up,
                          attrs=dict(series.attrs))


def followed_by_camera(series: LandmarkSeries, *, follow: float) -> LandmarkSeries:
    """The same walk filmed by a camera panning with the walker: ``follow`` = 1 keeps the hips
    where they started in the image, 0.8 lags behind by a fifth of the progression."""
    px = series.pixel_px.copy()
    hip = (px[:, LANDMARK_INDEX["left_hip"], 0] + px[:, LANDMARK_INDEX["right_hip"], 0]) / 2
    px[..., 0] -= follow * (hip - hip[0])[:, None]
    px[..., 0] += series.image_size[0] / 2 - hip[0]
    return LandmarkSeries(t_s=series.t_s, world_m=series.world_m, visibility=series.visibility, pixel_px=px,
                          up=series.up, image_size=series.image_size, attrs=dict(series.attrs))


def _errors(series, report, kind: str) -> np.ndarray:
    """Signed error of each true ``kind`` event inside a pass (inf when none of that side)."""
    out = []
    for e in series.attrs["true_events"]:
        if e["kind"] != kind or not any(p.t_start_s + 0.05 <= e["t_s"] <= p.t_end_s - 0.05 for p in report.passes):
            continue
        found = [d.t_s for d in report.events if EVENT_NAMES[d.kind] == kind and d.side == e["side"]]
        out.append(min(found, key=lambda t: abs(t - e["t_s"])) - e["t_s"] if found else np.inf)
    return np.asarray(out)


def test_treadmill_walk_is_analysed_in_place():
    walk = simulate_walk(WalkSpec(duration_s=12.0, cadence_steps_per_min=105.0, step_length_m=0.6))
    series = on_treadmill(walk)
    pelvis = (series.world("left_hip") + series.world("right_hip")) / 2
    assert np.ptp(pelvis[:, 0]) < 0.1  # the body stays where it is
    report = compute_gait(series)
    assert [p.progression for p in report.passes] == ["in_place"] and report.direction == "forward"
    hs = _errors(walk, report, "heel_strike")
    assert hs.size >= 19 and np.all(np.abs(hs) <= MATCH_TOL_S), hs
    assert np.median(np.abs(hs)) <= HS_MEDIAN_TOL_S
    assert np.median(np.abs(_errors(walk, report, "toe_off"))) <= 0.03
    p = report.parameters
    assert p.cadence_steps_per_min == pytest.approx(105.0, abs=1.0)
    # the belt's speed, read from the standing feet, and the step length measured at contact
    assert p.gait_speed_m_s == pytest.approx(walk.attrs["speed_m_s"], rel=0.05)
    assert p.step_length_m == pytest.approx(0.6, abs=0.05)
    assert "walking_in_place" in report.quality.flags and "speed_unknown" not in report.quality.flags


@pytest.mark.parametrize("follow", [1.0, 0.8])
def test_panning_camera_walk_is_analysed_and_speed_is_unknown(follow, tmp_path):
    walk = simulate_walk(WalkSpec(duration_s=12.0, image_size=(1280, 720), noise_m=0.004, seed=3))
    series = followed_by_camera(walk, follow=follow)
    report = compute_gait(series)
    assert [p.progression for p in report.passes] == ["in_place"] and report.direction == "forward"
    hs = _errors(walk, report, "heel_strike")
    assert hs.size >= 19 and np.mean(np.abs(hs) <= MATCH_TOL_S) >= 0.9, hs
    assert np.median(np.abs(hs)) <= VIDEO_HS_MEDIAN_TOL_S
    assert report.parameters.cadence_steps_per_min == pytest.approx(105.0, abs=1.0)
    assert report.parameters.gait_speed_m_s is None and "speed_unknown" in report.quality.flags
    # with the belt's speed given (a filmed treadmill): speed and step length
    belt = compute_gait(series, treadmill_speed_m_s=1.05)
    assert belt.parameters.gait_speed_m_s == pytest.approx(1.05)
    assert belt.parameters.step_length_m == pytest.approx(1.05 * belt.parameters.step_time_s, abs=0.002)
    save_gait_outputs(belt, tmp_path)
    data = json.loads((tmp_path / "gait.json").read_text())
    assert data["passes"][0]["progression"] == "in_place"
    assert data["quality"]["trust"]["gait_speed_m_s"] == "moderate"


def test_a_fixed_camera_walk_is_overground():
    report = compute_gait(simulate_walk(WalkSpec(duration_s=12.0, image_size=(1280, 720))))
    assert [p.progression for p in report.passes] == ["overground"]
    assert "walking_in_place" not in report.quality.flags


def _concatenate(a: LandmarkSeries, b: LandmarkSeries, *, gap_s: float) -> LandmarkSeries:
    """Walk ``a`` then, after ``gap_s`` standing still, walk ``b`` from where ``a`` ended."""
    dt = 1.0 / a.rate_hz
    hip = lambda s, i: (s.world("left_hip")[i] + s.world("right_hip")[i]) / 2  # noqa: E731
    shift = hip(a, -1) - hip(b, 0)
    shift[1] = 0.0
    still = np.repeat(a.world_m[-1:], int(round(gap_s / dt)), axis=0)
    world = np.concatenate([a.world_m, still, b.world_m + shift])
    t = np.arange(len(world)) * dt
    events = list(a.attrs["true_events"]) + [
        {**e, "t_s": e["t_s"] + len(a) * dt + len(still) * dt} for e in b.attrs["true_events"]]
    return LandmarkSeries(t_s=t, world_m=world, visibility=np.ones((len(t), N_LANDMARKS)), up=a.up,
                          attrs={"true_events": events})


def test_forward_and_backward_passes_give_separate_figures():
    forward = simulate_walk(WalkSpec(duration_s=8.0, cadence_steps_per_min=110.0, heading="+x"))
    backward = simulate_walk(WalkSpec(duration_s=8.0, cadence_steps_per_min=90.0, step_length_m=0.4,
                             direction="backward", heading="-x"))
    series = _concatenate(forward, backward, gap_s=2.0)
    report = compute_gait(series)
    assert [p.direction for p in report.passes] == ["forward", "backward"]
    assert report.direction == "mixed" and "backward_pass" in report.quality.flags
    assert report.headline_passes == (0,)
    # the headline is the forward pass alone, not a blend of both
    assert report.parameters.cadence_steps_per_min == pytest.approx(110.0, abs=1.0)
    assert report.parameters_by_direction["backward"].cadence_steps_per_min == pytest.approx(90.0, abs=1.0)
    assert report.pass_parameters[1].cadence_steps_per_min == pytest.approx(90.0, abs=1.0)
    assert all(e.pass_index == 0 for e in report.events if e.t_s < 8.0)


def _ev(t, side, kind):
    return GaitEvent(t, side, kind, int(t * 100), f"{side}_heel", 0)


def test_a_spurious_contact_pair_just_after_a_heel_strike_is_rejected_and_counted():
    # Real walk: steps of 0.55 s; the right foot gets a spurious heel strike + toe off 0.1 s
    # after its real heel strike at 1.65 s (as seen on a real clip).
    events = []
    for k in range(8):
        side = "left" if k % 2 == 0 else "right"
        events += [_ev(0.55 * k, side, INITIAL_CONTACT), _ev(0.55 * k + 0.65, side, FINAL_CONTACT)]
    spurious = [_ev(1.75, "right", INITIAL_CONTACT), _ev(1.76, "right", FINAL_CONTACT)]
    kept, counts = apply_event_rules(events + spurious)
    assert sorted(kept, key=lambda e: (e.t_s, e.side)) == sorted(events, key=lambda e: (e.t_s, e.side))
    assert counts["too_close_same_foot"] + counts["alternation"] == 2


def test_same_foot_contacts_without_the_other_foot_between_are_one_too_many():
    events = [_ev(0.0, "left", INITIAL_CONTACT), _ev(0.55, "right", INITIAL_CONTACT),
              _ev(1.10, "left", INITIAL_CONTACT), _ev(1.35, "left", INITIAL_CONTACT),
              _ev(1.65, "right", INITIAL_CONTACT), _ev(2.20, "left", INITIAL_CONTACT)]
    kept, counts = apply_event_rules(events)
    assert [e.t_s for e in kept] == [0.0, 0.55, 1.10, 1.65, 2.20]  # the off-rhythm one goes
    assert counts == {"too_close_same_foot": 0, "alternation": 1}
    # a missed contact of the other foot is not a reason to drop a real one (a stride apart)
    gap = [_ev(0.0, "left", INITIAL_CONTACT), _ev(1.10, "left", INITIAL_CONTACT), _ev(1.65, "right", INITIAL_CONTACT)]
    assert len(apply_event_rules(gap)[0]) == 3


def test_scissor_jumps_in_place_are_not_walking():
    """Feet swinging fore and aft in antiphase, each as long forward as backward (no stance
    phase longer than swing), at a walking rate: not walking."""
    t = np.arange(0.0, 8.0, 0.01)
    world = np.full((t.size, N_LANDMARKS, 3), np.nan)
    swing = 0.25 * np.sin(2 * np.pi * 0.9 * t)
    for side, sign, lat in (("left", 1.0, 0.1), ("right", -1.0, -0.1)):
        heel = np.stack([sign * swing, np.zeros_like(t), np.full_like(t, lat)], axis=1)
        world[:, LANDMARK_INDEX[f"{side}_heel"]] = heel
        world[:, LANDMARK_INDEX[f"{side}_foot_index"]] = heel + [0.22, 0.0, 0.0]
        world[:, LANDMARK_INDEX[f"{side}_hip"]] = [0.0, 0.9 + 0.05 * np.sin(0.0), lat]
    series = LandmarkSeries(t_s=t, world_m=world, visibility=np.where(np.isfinite(world[..., 0]), 1.0, 0.0),
                            up=(0.0, 1.0, 0.0))
    report = compute_gait(series)
    assert report.passes == ()
    assert "no_walking_found" in report.quality.flags
    assert any(x["reason"] == "not_walking" for x in report.excluded)
