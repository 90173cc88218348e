"""Body reference, walking direction and passes.

- **Pelvis** (:func:`compute_pelvis`): the mid-hip. When hips are unknown (a foot-only marker
  set) it is approximated by the mean of all known heel and toe points low-passed at
  ``PELVIS_FROM_FEET_CUTOFF_HZ`` (about half the stride frequency): at that scale the feet
  centre travels with the body, while the stepping of each foot is filtered out.
- **Passes** (:func:`detect_passes`): walking direction = the pelvis velocity (low-passed at
  ``DIRECTION_CUTOFF_HZ``). Frames where it is slower than the minimum walking speed or turns
  faster than ``MAX_TURN_RATE_DEG_S`` are excluded (``low_speed`` / ``turn``); the remaining
  runs longer than ``MIN_PASS_S`` are passes, each with its own direction.
- **Facing, backward walking**: the facing direction comes from the feet (heel -> toe) and, on
  video, the nose ahead of the ears. A pass whose facing opposes its motion is ``backward``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feedback.gait.frames import (
    FOOT_POINTS, LANDMARK_CUTOFF_HZ, SIDES, FloorFrame, bridge, compute_runs, fill, lowpass, unwrap,
)
from sensing.landmarks import LandmarkSeries

DIRECTION_CUTOFF_HZ = 0.5  # walking direction and speed, about one stride
PELVIS_FROM_FEET_CUTOFF_HZ = 0.5
MIN_SPEED_M_S = 0.2  # slower than this is not walking (world coordinates)
MIN_SPEED_TORSO_PER_S = 0.4  # the same in torso lengths per second (pixel coordinates)
MAX_TURN_RATE_DEG_S = 25.0
MIN_PASS_S = 0.6
BRIDGE_GAP_S = 0.15  # feet unseen this briefly inside a pass are interpolated over
FACING_MIN_AGREEMENT = 0.3


@dataclass(frozen=True)
class GaitPass:
    """A stretch of straight walking one way."""

    start_frame: int
    end_frame: int  # inclusive
    t_start_s: float
    t_end_s: float
    direction: str  # forward / backward / unknown
    heading: tuple[float, float]  # unit vector of motion on the floor plane (or image x)
    speed: float  # metres/s, or pixels/s in pixel coordinates


@dataclass(frozen=True)
class Pelvis:
    """The body reference on the floor plane (NaN outside the analysed stretch)."""

    pos: np.ndarray  # (T, 2)
    kind: str  # "mid_hip", "feet_centre_lowpass" or "none"


def compute_pelvis(fr: FloorFrame, a: int, b: int) -> Pelvis:
    """Pelvis on the floor plane for frames a..b (NaN elsewhere), and how it was obtained."""
    n = len(fr.t_s)
    out = np.full((n, 2), np.nan)
    sl = slice(a, b + 1)
    t = fr.t_s[sl]
    hips = fr.mid("left_hip", "right_hip")[sl]
    if len(hips) and np.isfinite(hips).all(axis=1).mean() >= 0.5:
        out[sl] = lowpass(t, fill(t, hips), LANDMARK_CUTOFF_HZ)
        return Pelvis(out, "mid_hip")
    out[sl] = lowpass(t, fill(t, _feet_centre(fr, sl)), PELVIS_FROM_FEET_CUTOFF_HZ)
    return Pelvis(out, "feet_centre_lowpass")


def _feet_centre(fr: FloorFrame, sl: slice) -> np.ndarray:
    """(n, 2) mean of the known heel and toe points of both feet in each frame."""
    feet = np.stack([fr.pos[f"{s}_{p}"][sl] for s in SIDES for p in FOOT_POINTS])
    known = np.isfinite(feet).all(axis=2)
    total = np.where(known[..., None], feet, 0.0).sum(axis=0)
    count = known.sum(axis=0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def compute_facing(fr: FloorFrame, a: int, b: int) -> np.ndarray:
    """Mean facing unit vector on the floor plane over frames a..b (NaN if unknown)."""
    votes = []
    for s in SIDES:
        v = fr.pos[f"{s}_foot_index"][a:b + 1] - fr.pos[f"{s}_heel"][a:b + 1]
        v = v[np.isfinite(v).all(axis=1)]
        if len(v):
            n = np.linalg.norm(v, axis=1, keepdims=True)
            votes.append(np.mean(v / np.where(n > 0, n, 1), axis=0))
    if fr.pixel:
        ears = fr.mid("left_ear", "right_ear")
        v = fr.pos["nose"][a:b + 1] - ears[a:b + 1]
        v = v[np.isfinite(v).all(axis=1)]
        if len(v):
            votes.append(np.array([np.mean(np.sign(v[:, 0])), 0.0]))
    if not votes:
        return np.array([np.nan, np.nan])
    return np.mean(votes, axis=0)


def compute_facing_turn_rate(fr: FloorFrame, sl: slice) -> np.ndarray:
    """Rotation rate (deg/s) of the feet's heel -> toe direction on the floor plane; NaN
    where the feet's direction is unknown (not "not turning")."""
    vecs = []
    for s in SIDES:
        v = fr.pos[f"{s}_foot_index"][sl] - fr.pos[f"{s}_heel"][sl]
        n = np.linalg.norm(v, axis=1, keepdims=True)
        vecs.append(np.where(n > 0, v / n, np.nan))
    stack = np.stack(vecs)
    known = np.isfinite(stack).all(axis=2)
    count = known.sum(axis=0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):  # no foot known: NaN
        v = np.where(count > 0, np.where(known[..., None], stack, 0.0).sum(axis=0) / count, np.nan)
    t = fr.t_s[sl]
    v = lowpass(t, fill(t, v), 2 * DIRECTION_CUTOFF_HZ)
    if np.isfinite(v).all(axis=1).sum() < 2:
        return np.full(len(v), np.nan)
    angle = unwrap(np.arctan2(v[:, 1], v[:, 0]))
    return np.abs(np.degrees(np.gradient(angle, t)))


def detect_passes(fr: FloorFrame, pelvis: Pelvis, a: int, b: int, size: float,
                  valid: np.ndarray) -> tuple[list[GaitPass], np.ndarray]:
    """Split frames a..b into passes; returns (passes, per-frame exclusion reason, "" = used)."""
    reason = np.array([""] * len(fr.t_s), dtype=object)
    sl = slice(a, b + 1)
    t = fr.t_s[sl]
    smooth = lowpass(t, fill(t, pelvis.pos[sl]), DIRECTION_CUTOFF_HZ)
    vel = np.gradient(smooth, t, axis=0)
    speed = np.linalg.norm(vel, axis=1)  # NaN where the pelvis is unknown: counted as slow
    turn_rate = np.abs(np.degrees(np.gradient(unwrap(np.arctan2(vel[:, 1], vel[:, 0])), t)))
    if not fr.pixel:  # a turn on the spot: the pelvis hardly moves but the feet rotate
        # Where the feet's direction is unknown (NaN), the pelvis heading alone decides:
        # np.fmax takes the known one of the two.
        turn_rate = np.fmax(turn_rate, compute_facing_turn_rate(fr, sl))
    min_speed = MIN_SPEED_TORSO_PER_S * size if fr.pixel else MIN_SPEED_M_S
    slow = ~(speed >= min_speed)
    turning = turn_rate > MAX_TURN_RATE_DEG_S
    local_valid = bridge(valid[sl], int(round(BRIDGE_GAP_S * fr.rate_hz)))
    local = np.where(~local_valid, "not_visible", np.where(slow, "low_speed", np.where(turning, "turn", "")))
    reason[sl] = local
    passes = []
    for s, e in compute_runs(local == ""):
        if fr.t_s[a + e] - fr.t_s[a + s] < MIN_PASS_S:
            reason[a + s:a + e + 1] = "short_pass"
            continue
        passes.append(_make_pass(fr, vel[s:e + 1], a + s, a + e))
    return passes, reason


def _make_pass(fr: FloorFrame, vel: np.ndarray, start: int, end: int) -> GaitPass:
    v = vel.mean(axis=0)
    heading = v / np.linalg.norm(v)
    facing = compute_facing(fr, start, end)
    agree = float(np.dot(facing, heading)) if np.isfinite(facing).all() else float("nan")
    if not math.isfinite(agree) or abs(agree) < FACING_MIN_AGREEMENT:
        direction = "unknown"
    else:
        direction = "forward" if agree > 0 else "backward"
    return GaitPass(start, end, float(fr.t_s[start]), float(fr.t_s[end]), direction,
                    (float(heading[0]), float(heading[1])), float(np.mean(vel @ heading)))
