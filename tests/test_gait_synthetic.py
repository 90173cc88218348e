"""Gait events on a synthetic walker whose true contacts are known analytically."""

from __future__ import annotations

import json

import numpy as np
import pytest

from feedback.gait import EVENT_NAMES, INITIAL_CONTACT, compute_gait, detect_walking, save_gait_outputs
from sensing.landmarks import LANDMARK_INDEX, N_LANDMARKS, LandmarkSeries

RATE_HZ = 100.0
STRIDE_S = 1.1
STANCE_FRAC = 0.6
SPEED_M_S = 1.2
FOOT_M = 0.2
# With a cosine swing the foot is as fast as the pelvis ~36 ms before landing / after lifting:
# Zeni's extremes fall there, so events are checked to this tolerance.
TOL_S = 0.05


def _walk(n_strides: float, *, heading: float, backward: bool, t0: float, x0: np.ndarray):
    """Feet and hips for a straight walk; returns (t, positions dict, contacts, lifts)."""
    dur = n_strides * STRIDE_S
    t = t0 + np.arange(int(dur * RATE_HZ)) / RATE_HZ
    move = np.array([np.cos(heading), np.sin(heading), 0.0])
    lateral = np.array([-move[1], move[0], 0.0])
    facing = -move if backward else move
    stride_m = SPEED_M_S * STRIDE_S
    pelvis = x0 + np.outer(t - t0, move) * SPEED_M_S
    pos, contacts, lifts = {}, [], []
    for side, phase, lat in (("left", 0.0, 0.1), ("right", 0.5, -0.1)):
        # foot lands at cycle time 0 (phase shifted), stands for STANCE_FRAC, swings the rest
        tau = ((t - t0) / STRIDE_S + phase) % 1.0
        k = np.floor((t - t0) / STRIDE_S + phase)
        swing = np.clip((tau - STANCE_FRAC) / (1 - STANCE_FRAC), 0, 1)
        along = (k + np.where(tau >= STANCE_FRAC, (1 - np.cos(np.pi * swing)) / 2, 0.0)) * stride_m
        along = along - phase * stride_m + 0.25 * stride_m  # feet straddle the pelvis
        foot = x0 + np.outer(along, move) + lat * lateral
        # the toe points along ``facing``: ahead of the heel forward, behind it backward
        pos[f"{side}_heel"] = foot
        pos[f"{side}_foot_index"] = foot + FOOT_M * facing
        pos[f"{side}_hip"] = pelvis + lat * lateral + np.array([0, 0, 0.9])
        for j in range(-1, int(n_strides) + 2):
            tc = t0 + (j - phase) * STRIDE_S
            tl = tc + STANCE_FRAC * STRIDE_S
            if t[0] + 0.2 < tc < t[-1] - 0.2:
                contacts.append((side, tc))
            if t[0] + 0.2 < tl < t[-1] - 0.2:
                lifts.append((side, tl))
    return t, pos, contacts, lifts


def _series(parts) -> LandmarkSeries:
    t = np.concatenate([p[0] for p in parts])
    world = np.full((len(t), N_LANDMARKS, 3), np.nan)
    vis = np.zeros((len(t), N_LANDMARKS))
    for name in parts[0][1]:
        world[:, LANDMARK_INDEX[name]] = np.concatenate([p[1][name] for p in parts])
        vis[:, LANDMARK_INDEX[name]] = 1.0
    return LandmarkSeries(t_s=t, world_m=world, visibility=vis, up=(0.0, 0.0, 1.0), source="synthetic")


def _turn(t0: float, x: np.ndarray, last: dict, dur_s: float) -> tuple:
    """Standing turn: feet and hips rotate 180 degrees on the spot about the pelvis."""
    t = t0 + np.arange(int(dur_s * RATE_HZ)) / RATE_HZ
    centre = (last["left_hip"] + last["right_hip"]) / 2
    centre[2] = 0.0
    angle = np.pi * (t - t0) / dur_s
    pos = {}
    for name, p in last.items():
        rel = p - centre
        c, s = np.cos(angle), np.sin(angle)
        pos[name] = np.stack([centre[0] + c * rel[0] - s * rel[1], centre[1] + s * rel[0] + c * rel[1],
                              np.full(len(t), p[2])], axis=1)
    return t, pos, [], []


def _errors(report, truth, kind):
    det = {side: np.array([e.t_s for e in report.events if e.side == side and EVENT_NAMES[e.kind] == kind])
           for side in ("left", "right")}
    return np.array([np.min(np.abs(det[s] - tc)) if det[s].size else np.inf for s, tc in truth])


def test_forward_walk_events_and_cadence():
    t, pos, contacts, lifts = _walk(8, heading=0.3, backward=False, t0=0.0, x0=np.zeros(3))
    report = compute_gait(_series([(t, pos, contacts, lifts)]))
    assert report.direction == "forward"
    hs = _errors(report, contacts, "heel_strike")
    to = _errors(report, lifts, "toe_off")
    assert np.all(hs <= TOL_S), hs
    assert np.all(to <= TOL_S), to
    assert abs(report.parameters.cadence_steps_per_min - 120 / STRIDE_S) < 1.0
    assert abs(report.parameters.stride_time_s - STRIDE_S) < 0.02
    assert abs(report.parameters.gait_speed_m_s - SPEED_M_S) < 0.1
    assert abs(report.parameters.step_length_m - SPEED_M_S * STRIDE_S / 2) < 0.1
    assert 55 <= report.parameters.stance_pct <= 72
    assert report.parameters.step_time_symmetry_index_pct < 5
    assert "few_strides" not in report.quality.flags
    assert detect_walking(_series([(t, pos, contacts, lifts)]))


def test_backward_walk_is_recognised_and_events_not_swapped():
    t, pos, contacts, lifts = _walk(8, heading=np.pi, backward=True, t0=0.0, x0=np.zeros(3))
    report = compute_gait(_series([(t, pos, contacts, lifts)]))
    assert report.direction == "backward"
    hs = _errors(report, contacts, "heel_strike")
    assert np.all(hs <= TOL_S), hs  # initial contacts at the true contacts, not at lift-off
    to = _errors(report, lifts, "toe_off")
    assert np.all(to <= TOL_S), to
    assert {e.landmark.split("_", 1)[1] for e in report.events if e.kind == INITIAL_CONTACT} == {"foot_index"}
    # a backward pass is reported under its own heading, never in the headline
    assert report.parameters.cadence_steps_per_min is None
    assert "backward_pass" in report.quality.flags
    backward = report.parameters_by_direction["backward"]
    assert abs(backward.cadence_steps_per_min - 120 / STRIDE_S) < 1.0


def test_turn_is_excluded_and_both_passes_analysed():
    a = _walk(6, heading=0.0, backward=False, t0=0.0, x0=np.zeros(3))
    last = {k: v[-1] for k, v in a[1].items()}
    turn = _turn(a[0][-1] + 1 / RATE_HZ, None, last, 2.0)
    start = (last["left_hip"] + last["right_hip"]) / 2
    start[2] = 0.0
    b = _walk(6, heading=np.pi, backward=False, t0=turn[0][-1] + 1 / RATE_HZ, x0=start)
    series = _series([a, turn, b])
    report = compute_gait(series)
    assert len(report.passes) == 2
    assert report.direction == "forward"
    turn_mask = (series.t_s >= turn[0][0] + 0.2) & (series.t_s <= turn[0][-1] - 0.2)
    assert not report.frames_used[turn_mask].any()
    reasons = {d["reason"] for d in report.excluded
               if d["t_start_s"] < turn[0][-1] and d["t_end_s"] > turn[0][0]}
    assert reasons & {"turn", "low_speed"}
    assert not [e for e in report.events if turn[0][0] + 0.2 < e.t_s < turn[0][-1] - 0.2]
    hs = _errors(report, a[2] + b[2], "heel_strike")
    assert np.mean(hs <= TOL_S) >= 0.9
    assert abs(report.parameters.cadence_steps_per_min - 120 / STRIDE_S) < 1.0


def test_few_strides_are_flagged(tmp_path):
    t, pos, contacts, lifts = _walk(3, heading=0.0, backward=False, t0=0.0, x0=np.zeros(3))
    report = compute_gait(_series([(t, pos, contacts, lifts)]))
    assert 0 < report.quality.n_strides < 4
    assert "few_strides" in report.quality.flags
    assert report.quality.trust["cadence_steps_per_min"] in ("moderate", "low")
    paths = save_gait_outputs(report, tmp_path)
    data = json.loads(paths[0].read_text())
    assert {"t_s", "side", "kind"} <= set(data["events"][0])
    assert {e["kind"] for e in data["events"]} == {"heel_strike", "toe_off"}
    assert data["parameters"]["cadence_steps_per_min"] == pytest.approx(120 / STRIDE_S, abs=1.5)
    assert "few_strides" in data["quality"]["flags"]
    assert data["direction"] == "forward"
    rows = paths[1].read_text().splitlines()
    assert rows[0].startswith("cycle,side,t_start_s,t_end_s,cycle_pct")
    assert len(rows) - 1 == 101 * report.quality.n_strides


def test_standing_still_is_not_walking():
    t = np.arange(300) / RATE_HZ
    world = np.full((len(t), N_LANDMARKS, 3), np.nan)
    vis = np.zeros((len(t), N_LANDMARKS))
    for name, p in {"left_heel": (0, 0.1, 0), "right_heel": (0, -0.1, 0), "left_foot_index": (0.2, 0.1, 0),
                    "right_foot_index": (0.2, -0.1, 0), "left_hip": (0, 0.1, 0.9), "right_hip": (0, -0.1, 0.9)}.items():
        world[:, LANDMARK_INDEX[name]] = np.array(p, float) + 0.002 * np.sin(t)[:, None]
        vis[:, LANDMARK_INDEX[name]] = 1.0
    series = LandmarkSeries(t_s=t, world_m=world, visibility=vis, up=(0.0, 0.0, 1.0))
    assert not detect_walking(series)
    report = compute_gait(series)
    assert "no_walking_found" in report.quality.flags
    assert report.parameters.cadence_steps_per_min is None
