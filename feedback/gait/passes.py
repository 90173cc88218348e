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
from feedback.gait.stepping import Stepping, compute_stepping, compute_travel_sign

DIRECTION_CUTOFF_HZ = 0.5  # walking direction and speed, about one stride
PELVIS_FROM_FEET_CUTOFF_HZ = 0.5
# Slower than this the body is "not moving on" (world m/s; video torso lengths/s): it only
# names why frames without stepping were excluded (low_speed vs no_stepping).
MIN_SPEED_M_S = 0.2
MIN_SPEED_TORSO_PER_S = 0.4
MAX_TURN_RATE_DEG_S = 25.0
TURN_MARGIN_S = 0.5  # video: about one step either side of the moment the person faces the other way
MIN_PASS_S = 0.6
BRIDGE_GAP_S = 0.15  # feet unseen this briefly inside a pass are interpolated over
FACING_MIN_AGREEMENT = 0.3
# Over still ground each step carries the body on by about one step length (Perry & Burnfield
# 2010): a pass whose body moves on by less than half of that walks in place (a treadmill belt
# or a camera that follows the walker).
PROGRESSION_MIN_RATIO = 0.5
# Walking in place has no progression to confirm it: it needs a stride (two steps: three
# crossings of the feet) as well as the stance/swing asymmetry of walking
MIN_IN_PLACE_CROSSINGS = 3


@dataclass(frozen=True)
class GaitPass:
    """A stretch of straight walking one way."""

    start_frame: int
    end_frame: int  # inclusive
    t_start_s: float
    t_end_s: float
    direction: str  # forward / backward / unknown: facing along or against the travel
    heading: tuple[float, float]  # unit vector of travel on the floor plane (or image x)
    speed: float | None  # body progression, metres/s or pixels/s; None walking in place
    progression: str = "overground"  # or "in_place": treadmill, or a camera following the walker
    crossings: tuple[float, ...] = ()  # frame positions where the feet pass each other


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


def compute_body(fr: FloorFrame, pelvis: Pelvis, sl: slice) -> np.ndarray:
    """(T, 2) the body's progression: the pelvis low-passed at ``DIRECTION_CUTOFF_HZ`` (over a
    stride its within-step surges cancel), NaN outside ``sl``."""
    out = np.full_like(pelvis.pos, np.nan)
    t = fr.t_s[sl]
    out[sl] = lowpass(t, fill(t, pelvis.pos[sl]), DIRECTION_CUTOFF_HZ)
    return out


def _turning(fr: FloorFrame, vel: np.ndarray, moving: np.ndarray, sl: slice) -> np.ndarray:
    """Frames where the walking direction turns faster than ``MAX_TURN_RATE_DEG_S``: the
    progression's heading while the body moves on, and (floor plane) the feet's heel -> toe
    direction; on video, frames within ``TURN_MARGIN_S`` of the facing flipping sides."""
    t = fr.t_s[sl]
    heading_rate = np.abs(np.degrees(np.gradient(unwrap(np.arctan2(vel[:, 1], vel[:, 0])), t)))
    turning = moving & (heading_rate > MAX_TURN_RATE_DEG_S)
    if not fr.pixel:  # a turn on the spot: the pelvis hardly moves but the feet rotate
        return turning | (compute_facing_turn_rate(fr, sl) > MAX_TURN_RATE_DEG_S)
    facing = _facing_sign(fr, sl)
    margin = int(round(TURN_MARGIN_S * fr.rate_hz))
    for k in np.flatnonzero(np.diff(facing) != 0):
        if facing[k] != 0 and facing[k + 1] != 0:
            turning[max(0, k - margin):k + margin + 1] = True
    return turning


def _facing_sign(fr: FloorFrame, sl: slice) -> np.ndarray:
    """Video: +1 / -1 where the person faces image +x / -x (feet and nose, smoothed), 0 unknown."""
    t = fr.t_s[sl]
    votes = [np.sign(fr.pos[f"{s}_foot_index"][sl, 0] - fr.pos[f"{s}_heel"][sl, 0]) for s in SIDES]
    votes.append(np.sign(fr.pos["nose"][sl, 0] - fr.mid("left_ear", "right_ear")[sl, 0]))
    stack = np.stack(votes)
    count = np.isfinite(stack).sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.where(count > 0, np.nansum(stack, axis=0) / np.maximum(count, 1), np.nan)
    smooth = lowpass(t, fill(t, mean), 2 * DIRECTION_CUTOFF_HZ)
    return np.where(np.isfinite(smooth), np.sign(smooth), 0.0)


def detect_passes(fr: FloorFrame, pelvis: Pelvis, a: int, b: int, size: float,
                  valid: np.ndarray) -> tuple[list[GaitPass], np.ndarray]:
    """Split frames a..b into passes; returns (passes, per-frame exclusion reason, "" = used).

    A pass is a run of at least ``MIN_PASS_S`` in which the feet alternate at a walking rate
    (:mod:`.stepping`), both feet are seen, and the walking direction does not turn.
    """
    reason = np.array([""] * len(fr.t_s), dtype=object)
    sl = slice(a, b + 1)
    t = fr.t_s[sl]
    local_valid = bridge(valid[sl], int(round(BRIDGE_GAP_S * fr.rate_hz)))
    steps = compute_stepping(fr, sl, local_valid, size)
    body = compute_body(fr, pelvis, sl)
    vel = np.gradient(body[sl], t, axis=0) if len(t) > 1 else np.zeros((len(t), 2))
    speed = np.linalg.norm(vel, axis=1)  # NaN where the pelvis is unknown: counted as slow
    min_speed = MIN_SPEED_TORSO_PER_S * size if fr.pixel else MIN_SPEED_M_S
    moving = speed >= min_speed
    turning = _turning(fr, vel, moving, sl)
    idle = np.where(moving, "no_stepping", "low_speed")
    local = np.where(~local_valid, "not_visible", np.where(~steps.stepping, idle, np.where(turning, "turn", "")))
    reason[sl] = local
    passes = []
    for s, e in compute_runs(local == ""):
        if fr.t_s[a + e] - fr.t_s[a + s] < MIN_PASS_S:
            reason[a + s:a + e + 1] = "short_pass"
            continue
        p = _make_pass(fr, body, steps, a, s, e)
        if p is None:
            reason[a + s:a + e + 1] = "not_walking"
            continue
        passes.append(p)
    return passes, reason


def _make_pass(fr: FloorFrame, body: np.ndarray, steps: Stepping, a: int, s: int, e: int) -> GaitPass | None:
    """One pass over local frames s..e of the stretch starting at ``a``; None when the feet
    alternate there but not as in walking (in place: fewer than ``MIN_IN_PLACE_CROSSINGS``, or no
    stance/swing asymmetry, :func:`~feedback.gait.stepping.compute_travel_sign`)."""
    start, end = a + s, a + e
    crossings = tuple(a + c for c in steps.crossings if s <= c <= e)
    axis = np.nanmean(steps.axis[s:e + 1], axis=0)
    axis = axis / np.linalg.norm(axis)
    first, last = _known_ends(body, start, end)
    moved = (body[last] - body[first]) @ axis if last > first else 0.0
    overground = _progression_ratio(body, steps, a, s, e, axis) >= PROGRESSION_MIN_RATIO
    if overground:
        travel = float(np.sign(moved))
    else:
        travel = compute_travel_sign(fr, body, np.tile(axis, (len(fr.t_s), 1)), slice(start, end + 1))
        if travel == 0 or len(crossings) < MIN_IN_PLACE_CROSSINGS:
            return None
    heading = travel * axis if travel else axis
    if overground and not fr.pixel:
        v = body[last] - body[first]
        heading = v / np.linalg.norm(v)
    facing = compute_facing(fr, start, end)
    agree = float(np.dot(facing, heading)) if np.isfinite(facing).all() and travel else float("nan")
    if not math.isfinite(agree) or abs(agree) < FACING_MIN_AGREEMENT:
        direction = "unknown"
    else:
        direction = "forward" if agree > 0 else "backward"
    speed = float(np.linalg.norm(body[last] - body[first]) / (fr.t_s[last] - fr.t_s[first])) if overground else None
    return GaitPass(start, end, float(fr.t_s[start]), float(fr.t_s[end]), direction,
                    (float(heading[0]), float(heading[1])), speed,
                    "overground" if overground else "in_place", crossings)


def _known_ends(body: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """First and last frame in start..end where the body position is known (start, start if none)."""
    known = np.flatnonzero(np.isfinite(body[start:end + 1]).all(axis=1))
    return (start + int(known[0]), start + int(known[-1])) if known.size else (start, start)


def _progression_ratio(body: np.ndarray, steps: Stepping, a: int, s: int, e: int, axis: np.ndarray) -> float:
    """Median over the pass's steps of how far the body moved on during a step (from one peak
    separation of the feet, an initial contact, to the next) per step length (the mean of
    those two peak separations); 0 when no step is seen."""
    bounds = [s] + [int(round(c)) for c in steps.crossings if s < c < e] + [e]
    peaks = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        seg = np.abs(steps.separation[lo:hi + 1])
        if seg.size >= 3 and np.isfinite(seg).any():
            k = int(np.nanargmax(seg))
            if 0 < k < seg.size - 1:
                peaks.append((a + lo + k, float(seg[k])))
    ratios = [abs((body[j1] - body[j0]) @ axis) / ((m0 + m1) / 2)  # NaN where the body is unknown
              for (j0, m0), (j1, m1) in zip(peaks[:-1], peaks[1:]) if m0 + m1 > 0]
    ratios = [r for r in ratios if np.isfinite(r)]
    return float(np.median(ratios)) if ratios else 0.0
