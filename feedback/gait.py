"""Gait events and parameters from any landmark series (video or motion capture).

Method (Zeni et al. 2008, *Gait & Posture* 27:710-714), whichever way the person walks:

1. **Coordinates.** A series with pixel coordinates (video) is analysed in the image: the
   horizontal image axis is the walking axis (side-on view), and MediaPipe's world landmarks
   are not used for progression because they are centred on the hips. A series without pixels
   (motion capture) is analysed in world metres, projected on the floor plane (normal ``up``).
2. **Person consistency** (video). MediaPipe follows one person and silently jumps to another.
   A new identity starts where the mid-hip jumps by more than ``JUMP_TORSO_LENGTHS`` torso
   lengths in one frame, where the torso length or a thigh/shank length changes by more than
   ``SIZE_JUMP_RATIO`` in one frame, or after nobody was found for ``GAP_S``. One stretch is
   analysed: the one whose mid-hip lies most inside ``roi``, else the one where someone walks
   (most frames of steady, upright progression).
3. **Body reference.** The pelvis is the mid-hip. When hips are unknown (a foot-only marker
   set) it is approximated by the mean of all known heel and toe points low-passed at
   ``PELVIS_FROM_FEET_CUTOFF_HZ`` (about half the stride frequency): at that scale the feet
   centre travels with the body, while the stepping of each foot is filtered out.
4. **Passes, turns.** Walking direction = the pelvis velocity (low-passed at
   ``DIRECTION_CUTOFF_HZ``). Frames where it is slower than the minimum walking speed or turns
   faster than ``MAX_TURN_RATE_DEG_S`` are excluded (``turn`` / ``low_speed``); the remaining
   runs longer than ``MIN_PASS_S`` are passes, each with its own direction.
5. **Facing, backward walking.** The facing direction comes from the feet (heel -> toe) and, on
   video, the nose ahead of the ears. A pass whose facing opposes its motion is ``backward``.
6. **Events.** Along the motion direction, relative to the pelvis: initial contact at the
   maximum of the leading foot point, final contact at the minimum of the trailing one.
   Forward: leading point = heel (``heel_strike``), trailing = toe (``toe_off``). Backward: the
   toe touches down first and the heel leaves last, so initial contact is read from the toe
   and final contact from the heel; events keep the kinds ``heel_strike`` (= initial contact)
   and ``toe_off`` (= final contact) with ``landmark`` saying which point was used, and the
   report says ``backward``. Events are never swapped by reading the facing direction.
   On video, initial contacts are found against the centre of both feet' leading points
   low-passed at ``PELVIS_FROM_FEET_CUTOFF_HZ`` instead of the 2-D mid-hip (which lags and
   jitters in side views), trajectories are low-passed at ``LANDMARK_CUTOFF_HZ``, and each
   contact is then timed to a fraction of a frame where the unfiltered leading point stops
   (a decelerating approach joined to standing still, see ``_landing``). Motion-capture
   markers are used unfiltered and events fall on their samples.
7. **Walking, not just moving** (choosing the stretch on video). A step counts when the heels
   are ``MIN_STEP_LENGTH_TORSO`` torso lengths apart and the pelvis moved on by about that much
   (``STEP_PROGRESSION_RATIO``); ties go to the stretch with more upright frames.

Only numpy and scipy: no OpenCV, MediaPipe or database here.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

from feedback.angles import compute_joint_angles
from feedback.smoothing import compute_true_runs, fill_gaps, smooth_butterworth
from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries

log = logging.getLogger(__name__)

SIDES = ("left", "right")
MIN_VISIBILITY = 0.5
LANDMARK_CUTOFF_HZ = 6.0  # light smoothing of every trajectory
LOWPASS_ORDER = 2  # every low-pass here: 2nd-order Butterworth, run forward and backward
DIRECTION_CUTOFF_HZ = 0.5  # walking direction and speed, about one stride
PELVIS_FROM_FEET_CUTOFF_HZ = 0.5
MIN_SPEED_M_S = 0.2  # slower than this is not walking (world coordinates)
MIN_SPEED_TORSO_PER_S = 0.4  # the same in torso lengths per second (pixel coordinates)
MAX_TURN_RATE_DEG_S = 25.0
MIN_PASS_S = 0.6
MIN_STRIDE_S = 0.5  # same-side events closer than this are one event
MIN_STEP_S = 0.25  # a step shorter than this is a tracking glitch, not a step
MIN_STEP_LENGTH_TORSO = 0.5  # heels apart by less than this (torso lengths) is not a walking step
# While walking the pelvis moves on by about one step length per step (ratio to heel spacing)
STEP_PROGRESSION_RATIO = (0.7, 1.6)
BRIDGE_GAP_S = 0.15  # feet unseen this briefly inside a pass are interpolated over
MAX_STRIDE_S = 2.5
EVENT_PROMINENCE_FRACTION = 0.2  # of the 5-95 % range of the signal in the pass
FEW_STRIDES = 4
JUMP_TORSO_LENGTHS = 1.0
SIZE_JUMP_RATIO = 1.35
GAP_S = 0.5
MAX_UPRIGHT_LEAN_DEG = 30.0
SIDE_ON_MAX_WIDTH_RATIO = 0.5  # hip width / torso length in pixels above this: not side-on
LOW_VISIBILITY = 0.6
FACING_MIN_AGREEMENT = 0.3
CYCLE_POINTS = 101
MIN_FRAMES = 5  # a stretch shorter than this is too short to analyse
# Video contact timing (sub-frame): the leading point's landing is fitted this long either side
CONTACT_FIT_S = 0.1
CONTACT_SEARCH_S = 0.07  # the landing is looked for up to this long after the signal's maximum
CONTACT_STEP_FRAMES = 0.05  # resolution of that search


@dataclass(frozen=True)
class GaitEvent:
    """One named, timestamped event: ``kind`` is ``heel_strike`` or ``toe_off``."""

    t_s: float
    side: str
    kind: str
    frame: int
    landmark: str
    pass_index: int


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
class GaitReport:
    """Everything ``save_gait_outputs`` writes; see ``docs/gait.md``."""

    events: tuple[GaitEvent, ...]
    parameters: dict
    direction: str
    passes: tuple[GaitPass, ...]
    frames_used: np.ndarray  # (T,) bool
    excluded: tuple[dict, ...]
    identity_switch_frames: tuple[int, ...]
    quality: dict
    cycles: tuple[dict, ...]
    coordinates: str  # "world_m" or "pixel_px"
    t_s: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        used = np.flatnonzero(self.frames_used)
        return {
            "events": [
                {"t_s": round(e.t_s, 4), "side": e.side, "kind": e.kind, "frame": e.frame,
                 "landmark": e.landmark, "pass": e.pass_index}
                for e in self.events
            ],
            "parameters": self.parameters,
            "direction": self.direction,
            "passes": [
                {"start_frame": p.start_frame, "end_frame": p.end_frame,
                 "t_start_s": round(p.t_start_s, 4), "t_end_s": round(p.t_end_s, 4),
                 "direction": p.direction, "heading": [round(h, 4) for h in p.heading]}
                for p in self.passes
            ],
            "coordinates": self.coordinates,
            "frames_total": int(len(self.frames_used)),
            "frames_used": _runs_to_list(self.frames_used, self.t_s),
            "n_frames_used": int(used.size),
            "excluded": list(self.excluded),
            "identity_switch_frames": list(self.identity_switch_frames),
            "quality": self.quality,
        }


# ----------------------------------------------------------------------------- helpers

def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end inclusive) of each run of True (:func:`feedback.smoothing.compute_true_runs`)."""
    return [(start, stop - 1) for start, stop in compute_true_runs(mask)]


def _runs_to_list(mask: np.ndarray, t_s: np.ndarray) -> list[dict]:
    return [{"start_frame": a, "end_frame": b, "t_start_s": round(float(t_s[a]), 4),
             "t_end_s": round(float(t_s[b]), 4)} for a, b in _runs(mask)]


def _lowpass(t_s: np.ndarray, values: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth (:func:`feedback.smoothing.smooth_butterworth`), each
    finite run on its own; unchanged when ``cutoff_hz`` is not below the Nyquist frequency."""
    t = np.asarray(t_s, dtype=float)
    if t.size < 2:
        return np.array(values, dtype=float)
    rate_hz = 1.0 / float(np.median(np.diff(t)))
    if not math.isfinite(rate_hz) or cutoff_hz >= rate_hz / 2:
        return np.array(values, dtype=float)
    return smooth_butterworth(t, values, cutoff_hz=cutoff_hz, order=LOWPASS_ORDER)


def _fill(t_s: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Every interior NaN run interpolated (:func:`feedback.smoothing.fill_gaps`, no length
    limit); leading and trailing NaN stay unknown."""
    return fill_gaps(t_s, values, max_gap_s=math.inf)


def _unwrap(angle_rad: np.ndarray) -> np.ndarray:
    """``np.unwrap`` over the known samples (a NaN would poison every angle after it)."""
    out = np.full(len(angle_rad), np.nan)
    ok = np.isfinite(angle_rad)
    out[ok] = np.unwrap(angle_rad[ok])
    return out


def _bridge(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Close runs of False no longer than ``max_gap`` that have True on both sides."""
    out = np.array(mask, bool)
    for s, e in _runs(~out):
        if s > 0 and e < len(out) - 1 and e - s + 1 <= max_gap:
            out[s:e + 1] = True
    return out


@dataclass(frozen=True)
class _Frame:
    """Floor-plane coordinates for the analysis (2-D; image x and 0 on video)."""

    pos: dict  # landmark name -> (T, 2)
    height: dict  # landmark name -> (T,) along up
    known: dict  # name -> (T,) bool
    pixel: bool
    rate_hz: float
    t_s: np.ndarray  # (T,) the series' times


def _floor_frame(series: LandmarkSeries) -> _Frame:
    use_px = series.pixel_px is not None and bool(np.isfinite(series.pixel_px).any())
    rate = series.rate_hz
    pos, height, known = {}, {}, {}
    if use_px:
        for name, j in LANDMARK_INDEX.items():
            p = series.pixel_px[:, j, :]
            ok = np.isfinite(p).all(axis=1) & (series.visibility[:, j] >= MIN_VISIBILITY)
            if series.image_size is not None:
                w, h = series.image_size
                ok &= (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
            p = np.where(ok[:, None], p, np.nan)
            pos[name] = np.stack([p[:, 0], np.zeros(len(p))], axis=1)
            pos[name][~ok] = np.nan
            height[name] = -p[:, 1]
            known[name] = ok
        return _Frame(pos, height, known, True, rate, series.t_s)
    up = np.asarray(series.up, float)
    up = up / np.linalg.norm(up)
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(up, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    for name, j in LANDMARK_INDEX.items():
        w = series.world_m[:, j, :]
        ok = np.isfinite(w).all(axis=1) & (series.visibility[:, j] >= MIN_VISIBILITY)
        w = np.where(ok[:, None], w, np.nan)
        pos[name] = np.stack([w @ e1, w @ e2], axis=1)
        height[name] = w @ up
        known[name] = ok
    return _Frame(pos, height, known, False, rate, series.t_s)


def _mid(fr: _Frame, a: str, b: str) -> np.ndarray:
    return (fr.pos[a] + fr.pos[b]) / 2


def _pixel_mid(series: LandmarkSeries, a: str, b: str) -> np.ndarray:
    return (series.pixel_px[:, LANDMARK_INDEX[a]] + series.pixel_px[:, LANDMARK_INDEX[b]]) / 2


def _pixel_len(series: LandmarkSeries, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(series.pixel_px[:, LANDMARK_INDEX[a]] - series.pixel_px[:, LANDMARK_INDEX[b]], axis=1)


# ----------------------------------------------------------------------------- identity

def detect_identity_switches(series: LandmarkSeries, /) -> list[int]:
    """Frames where the tracked person changes (video, pixel coordinates); [] without pixels.

    A switch is a one-frame jump of the mid-hip by more than ``JUMP_TORSO_LENGTHS`` torso
    lengths, or of the torso, thigh or shank length by more than ``SIZE_JUMP_RATIO``; nobody
    found for longer than ``GAP_S`` also starts a new stretch (reported the same way).
    """
    if series.pixel_px is None:
        return []
    hip = _pixel_mid(series, "left_hip", "right_hip")
    torso = np.linalg.norm(_pixel_mid(series, "left_shoulder", "right_shoulder") - hip, axis=1)
    segs = [torso] + [
        _pixel_len(series, f"{s}_hip", f"{s}_knee") for s in SIDES
    ] + [_pixel_len(series, f"{s}_knee", f"{s}_ankle") for s in SIDES]
    present = np.isfinite(hip).all(axis=1) & np.isfinite(torso) & (torso > 0)
    switches: list[int] = []
    last = None
    for i in np.flatnonzero(present):
        if last is None:
            last = i
            continue
        gap_s = series.t_s[i] - series.t_s[last]
        jump = np.linalg.norm(hip[i] - hip[last]) / max(torso[last], torso[i])
        size_jump = False
        for seg in segs:
            a, b = seg[last], seg[i]
            if np.isfinite(a) and np.isfinite(b) and min(a, b) > 0 and max(a, b) / min(a, b) > SIZE_JUMP_RATIO:
                size_jump = seg is torso or size_jump
        # a limb length alone changes with foreshortening; only the torso counts as size
        if gap_s > GAP_S or jump > JUMP_TORSO_LENGTHS * max(1, round(gap_s * series.rate_hz)) or size_jump:
            switches.append(int(i))
        last = i
    return switches


def _stretches(series: LandmarkSeries, switches: list[int]) -> list[tuple[int, int]]:
    present = series.frames_with_person()
    bounds = [0] + sorted(switches) + [len(series)]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = np.flatnonzero(present[a:b])
        if idx.size:
            out.append((a + int(idx[0]), a + int(idx[-1])))
    return out


# ----------------------------------------------------------------------------- passes

def _pelvis(fr: _Frame, a: int, b: int) -> tuple[np.ndarray, str]:
    """Pelvis on the floor plane for frames a..b (NaN elsewhere), and how it was obtained."""
    n = len(next(iter(fr.pos.values())))
    out = np.full((n, 2), np.nan)
    sl = slice(a, b + 1)
    t = fr.t_s[sl]
    hips = _mid(fr, "left_hip", "right_hip")[sl]
    if len(hips) and np.isfinite(hips).all(axis=1).mean() >= 0.5:
        out[sl] = _lowpass(t, _fill(t, hips), LANDMARK_CUTOFF_HZ)
        return out, "mid_hip"
    feet = np.stack([fr.pos[f"{s}_{p}"][sl] for s in SIDES for p in ("heel", "foot_index")])
    known = np.isfinite(feet).all(axis=2)
    total = np.where(known[..., None], feet, 0.0).sum(axis=0)
    count = known.sum(axis=0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(count > 0, total / count, np.nan)
    out[sl] = _lowpass(t, _fill(t, centre), PELVIS_FROM_FEET_CUTOFF_HZ)
    return out, "feet_centre_lowpass"


def _body_size(series: LandmarkSeries, fr: _Frame, sl: slice) -> float:
    """Torso length in the analysis unit over the stretch (pixel mode), else 1."""
    if not fr.pixel:
        return 1.0
    hip = _pixel_mid(series, "left_hip", "right_hip")[sl]
    sh = _pixel_mid(series, "left_shoulder", "right_shoulder")[sl]
    t = np.linalg.norm(sh - hip, axis=1)
    t = t[np.isfinite(t)]
    return float(np.median(t)) if t.size else float("nan")


def _facing(series: LandmarkSeries, fr: _Frame, a: int, b: int) -> np.ndarray:
    """Mean facing unit vector on the floor plane over frames a..b (NaN if unknown)."""
    votes = []
    for s in SIDES:
        v = fr.pos[f"{s}_foot_index"][a:b + 1] - fr.pos[f"{s}_heel"][a:b + 1]
        v = v[np.isfinite(v).all(axis=1)]
        if len(v):
            n = np.linalg.norm(v, axis=1, keepdims=True)
            votes.append(np.mean(v / np.where(n > 0, n, 1), axis=0))
    if fr.pixel:
        ears = (fr.pos["left_ear"] + fr.pos["right_ear"]) / 2
        v = fr.pos["nose"][a:b + 1] - ears[a:b + 1]
        v = v[np.isfinite(v).all(axis=1)]
        if len(v):
            votes.append(np.array([np.mean(np.sign(v[:, 0])), 0.0]))
    if not votes:
        return np.array([np.nan, np.nan])
    return np.mean(votes, axis=0)


def _facing_turn_rate(series: LandmarkSeries, fr: _Frame, sl: slice) -> np.ndarray:
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
    v = _lowpass(t, _fill(t, v), 2 * DIRECTION_CUTOFF_HZ)
    if np.isfinite(v).all(axis=1).sum() < 2:
        return np.full(len(v), np.nan)
    angle = _unwrap(np.arctan2(v[:, 1], v[:, 0]))
    return np.abs(np.degrees(np.gradient(angle, t)))


def _passes(series, fr, pelvis, a: int, b: int, size: float, valid: np.ndarray):
    """Split frames a..b into passes; returns (passes, per-frame reason array)."""
    n = len(series)
    reason = np.array([""] * n, dtype=object)
    sl = slice(a, b + 1)
    t = fr.t_s[sl]
    smooth = _lowpass(t, _fill(t, pelvis[sl]), DIRECTION_CUTOFF_HZ)
    vel = np.gradient(smooth, t, axis=0)
    speed = np.linalg.norm(vel, axis=1)  # NaN where the pelvis is unknown: counted as slow
    heading = _unwrap(np.arctan2(vel[:, 1], vel[:, 0]))
    turn_rate = np.abs(np.degrees(np.gradient(heading, t)))
    if not fr.pixel:  # a turn on the spot: the pelvis hardly moves but the feet rotate
        # Where the feet's direction is unknown (NaN), the pelvis heading alone decides:
        # np.fmax takes the known one of the two.
        turn_rate = np.fmax(turn_rate, _facing_turn_rate(series, fr, sl))
    min_speed = MIN_SPEED_TORSO_PER_S * size if fr.pixel else MIN_SPEED_M_S
    slow = ~(speed >= min_speed)
    turning = turn_rate > MAX_TURN_RATE_DEG_S
    local_valid = _bridge(valid[sl], int(round(BRIDGE_GAP_S * fr.rate_hz)))
    for k in range(len(speed)):
        if not local_valid[k]:
            reason[a + k] = "not_visible"
        elif slow[k]:
            reason[a + k] = "low_speed"
        elif turning[k]:
            reason[a + k] = "turn"
    moving = local_valid & ~slow & ~turning
    passes = []
    for s, e in _runs(moving):
        if series.t_s[a + e] - series.t_s[a + s] < MIN_PASS_S:
            reason[a + s:a + e + 1] = "short_pass"
            continue
        v = vel[s:e + 1].mean(axis=0)
        heading_vec = v / np.linalg.norm(v)
        facing = _facing(series, fr, a + s, a + e)
        agree = float(np.dot(facing, heading_vec)) if np.isfinite(facing).all() else float("nan")
        if not math.isfinite(agree) or abs(agree) < FACING_MIN_AGREEMENT:
            direction = "unknown"
        else:
            direction = "forward" if agree > 0 else "backward"
        passes.append(GaitPass(a + s, a + e, float(series.t_s[a + s]), float(series.t_s[a + e]),
                               direction, (float(heading_vec[0]), float(heading_vec[1])),
                               float(np.mean(np.dot(vel[s:e + 1], heading_vec)))))
    return passes, reason


# ----------------------------------------------------------------------------- events

def _extrema(sig: np.ndarray, rate_hz: float) -> list[int]:
    """Maxima at least half a minimal stride apart that stand out within a minimal stride.

    A maximum must drop by ``EVENT_PROMINENCE_FRACTION`` of the signal's 5-95 % range on both
    sides within that window; next to the pass edge, where one side is cut off, the other
    side's drop alone decides (a contact just after the person came into view still counts).
    """
    spread = float(np.percentile(sig, 95) - np.percentile(sig, 5))
    need = EVENT_PROMINENCE_FRACTION * spread
    half = max(1, int(MIN_STRIDE_S * rate_hz / 2))
    # The drop is looked for within a whole minimal stride: on video the contact signal (feet
    # midpoint reference) stays flat through double support, which a slow or limping walker
    # holds for longer than half a minimal stride.
    reach = max(1, int(MIN_STRIDE_S * rate_hz))
    cands, _ = find_peaks(sig, distance=max(1, 2 * half))  # interior local maxima only
    out = []
    for c in cands:
        drops = []
        if c - half >= 0:
            drops.append(sig[c] - sig[max(0, c - reach):c + 1].min())
        if c + half < len(sig):
            drops.append(sig[c] - sig[c:c + reach + 1].min())
        if drops and all(d >= need for d in drops):
            out.append(int(c))
    return out


def _detect_events(series, fr, pelvis, p: GaitPass, pass_index: int) -> list[GaitEvent]:
    sl = slice(p.start_frame, p.end_frame + 1)
    h = np.asarray(p.heading)
    backward = p.direction == "backward"
    lead, trail = ("foot_index", "heel") if backward else ("heel", "foot_index")
    rate = fr.rate_hz
    t = fr.t_s[sl]
    events = []
    for side in SIDES:
        for part, kind, sign in ((lead, "heel_strike", 1.0), (trail, "toe_off", -1.0)):
            name = f"{side}_{part}"
            raw = fr.pos[name][sl]
            ref = pelvis[sl]
            if fr.pixel:  # video landmarks jitter; motion capture markers are used as they are
                unfiltered = raw
                raw = _lowpass(t, raw, LANDMARK_CUTOFF_HZ)
                if kind == "heel_strike":
                    # On video the initial contact is read against the centre of both feet
                    # low-passed over a stride (MediaPipe's 2-D hips lag and jitter in side
                    # views). The unfiltered midpoint of the feet would carry the other foot's
                    # motion, which differs between a short and a long step and biased them.
                    other = f"{'right' if side == 'left' else 'left'}_{part}"
                    ref = _lowpass(t, _fill(t, (unfiltered + fr.pos[other][sl]) / 2), PELVIS_FROM_FEET_CUTOFF_HZ)
            rel = (raw - ref) @ h
            ok = np.isfinite(rel)
            if ok.sum() < 3:
                continue
            known = np.flatnonzero(ok)
            lo, hi = int(known[0]), int(known[-1]) + 1  # the signal from its first to last known sample
            sig = sign * _fill(t[lo:hi], rel[lo:hi])
            along = None  # video: the leading point's own unfiltered progression, for the timing
            if fr.pixel and kind == "heel_strike":
                along = sign * _fill(t[lo:hi], (unfiltered @ h)[lo:hi])
            for k in _extrema(sig, rate):
                if not ok[lo + k]:
                    continue
                i = p.start_frame + lo + int(k)
                t_event = float(series.t_s[i])
                if along is not None:
                    at = p.start_frame + lo + _landing(along, k, rate)
                    t_event = float(np.interp(at, np.arange(len(series.t_s)), series.t_s))
                events.append(GaitEvent(t_event, side, kind, i, name, pass_index))
    return events


def _landing(along: np.ndarray, peak: int, rate_hz: float) -> float:
    """Sub-frame index where a foot point moving along ``along`` lands (video initial contact).

    The low-passed Zeni signal peaks where the point slows below the body, a little before it
    lands, and only on the frame grid. Around contact the point decelerates, then stands
    still in the image: ``along`` is fitted with a quadratic approach joined to a constant
    level over ``CONTACT_FIT_S`` either side, for landings from ``peak`` up to
    ``CONTACT_SEARCH_S`` later, and the best-fitting landing is returned.
    """
    fit = max(2, int(round(CONTACT_FIT_S * rate_hz)))
    search = max(1.0, CONTACT_SEARCH_S * rate_hz)
    a, b = max(0, peak - fit), min(len(along), peak + int(math.ceil(search)) + fit + 1)
    x = np.arange(a, b, dtype=float)
    y = along[a:b]
    if len(x) < 4 or not np.isfinite(y).all():
        return float(peak)
    best_res, best = math.inf, float(peak)
    for land in np.arange(peak, peak + search + 1e-9, CONTACT_STEP_FRAMES):
        before = np.minimum(x - land, 0.0)
        design = np.stack([np.ones_like(x), before, before ** 2], axis=1)
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        res = float(np.sum((design @ coef - y) ** 2))
        if res < best_res:
            best_res, best = res, float(land)
    return best


# ----------------------------------------------------------------------------- parameters

def _mean(x) -> float | None:
    x = [v for v in x if v is not None and math.isfinite(v)]
    return float(np.mean(x)) if x else None


def _si(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or (a + b) == 0:
        return None
    return float(abs(a - b) / (0.5 * (a + b)) * 100.0)


def _r(v: float | None, nd: int = 4):
    return None if v is None or not math.isfinite(v) else round(float(v), nd)


def _strides(events: list[GaitEvent]) -> list[dict]:
    """Per side, consecutive initial contacts in one pass with the final contacts between."""
    out = []
    for side in SIDES:
        other = "right" if side == "left" else "left"
        ics = sorted((e for e in events if e.side == side and e.kind == "heel_strike"), key=lambda e: e.t_s)
        for e0, e1 in zip(ics[:-1], ics[1:]):
            dur = e1.t_s - e0.t_s
            if e0.pass_index != e1.pass_index or not (MIN_STRIDE_S <= dur <= MAX_STRIDE_S):
                continue
            inside = [e for e in events if e.pass_index == e0.pass_index and e0.t_s < e.t_s < e1.t_s]
            own_fc = [e for e in inside if e.side == side and e.kind == "toe_off"]
            c_fc = [e for e in inside if e.side == other and e.kind == "toe_off"]
            c_ic = [e for e in inside if e.side == other and e.kind == "heel_strike"]
            stance = own_fc[0].t_s - e0.t_s if len(own_fc) == 1 else None
            ds = None
            if stance is not None and len(c_fc) >= 1 and len(c_ic) == 1:
                init = c_fc[0].t_s - e0.t_s
                term = own_fc[0].t_s - c_ic[0].t_s
                if 0 <= init <= stance and 0 <= term <= stance:
                    ds = (init + term) / dur * 100.0
            out.append({"side": side, "t_start_s": e0.t_s, "t_end_s": e1.t_s, "frame_start": e0.frame,
                        "frame_end": e1.frame, "stride_time_s": dur, "pass": e0.pass_index,
                        "stance_pct": None if stance is None else stance / dur * 100.0,
                        "double_support_pct": ds})
    return out


def _steps(events: list[GaitEvent]) -> list[dict]:
    ics = sorted((e for e in events if e.kind == "heel_strike"), key=lambda e: e.t_s)
    out = []
    for e0, e1 in zip(ics[:-1], ics[1:]):
        dur = e1.t_s - e0.t_s
        if e0.pass_index == e1.pass_index and e0.side != e1.side and MIN_STEP_S <= dur <= MAX_STRIDE_S / 2:
            out.append({"side": e1.side, "step_time_s": dur, "frame": e1.frame, "frame_start": e0.frame,
                        "pass": e1.pass_index})
    return out


def _parameters(events, strides, steps, passes, fr, scale: float | None, series) -> dict:
    stride_t = [s["stride_time_s"] for s in strides]
    step_t = [s["step_time_s"] for s in steps]
    stance = [s["stance_pct"] for s in strides if s["stance_pct"] is not None]
    ds = [s["double_support_pct"] for s in strides if s["double_support_pct"] is not None]
    per_side = {
        side: {
            "step": _mean(s["step_time_s"] for s in steps if s["side"] == side),
            "stance": _mean(s["stance_pct"] for s in strides if s["side"] == side),
            "stride": _mean(s["stride_time_s"] for s in strides if s["side"] == side),
        }
        for side in SIDES
    }
    mean_step = _mean(step_t)
    mean_stride = _mean(stride_t)
    if mean_step is not None:
        cadence = 60.0 / mean_step
    elif mean_stride is not None:
        cadence = 120.0 / mean_stride
    else:
        cadence = None
    params = {
        "n_strides": len(strides),
        "n_steps": len(steps),
        "cadence_steps_per_min": _r(cadence, 2),
        "stride_time_s": _r(mean_stride),
        "step_time_s": _r(mean_step),
        "stance_pct": _r(_mean(stance), 2),
        "swing_pct": _r(None if not stance else 100.0 - float(np.mean(stance)), 2),
        "double_support_pct": _r(_mean(ds), 2),
        "step_time_left_s": _r(per_side["left"]["step"]),
        "step_time_right_s": _r(per_side["right"]["step"]),
        "stance_left_pct": _r(per_side["left"]["stance"], 2),
        "stance_right_pct": _r(per_side["right"]["stance"], 2),
        "step_time_symmetry_index_pct": _r(_si(per_side["left"]["step"], per_side["right"]["step"]), 2),
        "stance_symmetry_index_pct": _r(_si(per_side["left"]["stance"], per_side["right"]["stance"]), 2),
        "stride_time_cv_pct": _r(float(np.std(stride_t, ddof=1) / np.mean(stride_t) * 100.0)
                                 if len(stride_t) >= 2 else None, 2),
        "step_time_cv_pct": _r(float(np.std(step_t, ddof=1) / np.mean(step_t) * 100.0)
                               if len(step_t) >= 2 else None, 2),
    }
    if scale is not None and passes:
        dur = sum(p.t_end_s - p.t_start_s for p in passes)
        speed = sum(p.speed * (p.t_end_s - p.t_start_s) for p in passes) / dur * scale if dur > 0 else None
        lengths = []
        for e in events:
            if e.kind != "heel_strike":
                continue
            p = passes[e.pass_index]
            other = "right" if e.side == "left" else "left"
            part = e.landmark.split("_", 1)[1]
            d = (fr.pos[e.landmark][e.frame] - fr.pos[f"{other}_{part}"][e.frame]) @ np.asarray(p.heading)
            if math.isfinite(d) and d > 0:
                lengths.append(d * scale)
        params["gait_speed_m_s"] = _r(speed, 3)
        params["step_length_m"] = _r(_mean(lengths), 3)
        params["stride_length_m"] = _r(None if speed is None or mean_stride is None else speed * mean_stride, 3)
    else:
        params["gait_speed_m_s"] = None
        params["step_length_m"] = None
    return params


# ----------------------------------------------------------------------------- cycles

CYCLE_ANGLES = ("hip_flexion_deg", "knee_flexion_deg", "ankle_dorsiflexion_deg")


def _angle_columns(series: LandmarkSeries) -> dict[str, np.ndarray]:
    """Sagittal hip/knee/ankle angles from the shared angle code (:mod:`feedback.angles`)."""
    angles = compute_joint_angles(series)
    out = {}
    for side in SIDES:
        for joint in CYCLE_ANGLES:
            name = f"{side}_{joint}"
            if name in angles.names:
                out[name] = np.asarray(angles.column(name), dtype=float)
    return out


def _cycles(series: LandmarkSeries, strides: list[dict]) -> list[dict]:
    angles = _angle_columns(series) if strides else {}
    pct = np.linspace(0.0, 100.0, CYCLE_POINTS)
    out = []
    for k, s in enumerate(strides):
        a, b = s["frame_start"], s["frame_end"]
        t = series.t_s[a:b + 1]
        curves = {}
        for joint in CYCLE_ANGLES:
            col = angles.get(f"{s['side']}_{joint}")
            if col is None or not np.isfinite(col[a:b + 1]).any():
                curves[joint] = np.full(CYCLE_POINTS, np.nan)
                continue
            y = col[a:b + 1]
            ok = np.isfinite(y)
            tp = (t - t[0]) / (t[-1] - t[0]) * 100.0
            curves[joint] = np.interp(pct, tp[ok], y[ok]) if ok.sum() >= 2 else np.full(CYCLE_POINTS, np.nan)
        out.append({"cycle": k, "side": s["side"], "t_start_s": s["t_start_s"], "t_end_s": s["t_end_s"],
                    "curves": curves})
    return out


# ----------------------------------------------------------------------------- main entry

def _walking_score(series, fr, a: int, b: int, size: float, valid) -> tuple[int, int]:
    """(walking steps, upright frames in passes): larger means more clearly walking.

    A walking step has the heels apart by ``MIN_STEP_LENGTH_TORSO`` torso lengths and the pelvis
    moving on by about that much meanwhile (``STEP_PROGRESSION_RATIO``).
    """
    if b - a + 1 < MIN_FRAMES:
        return (0, 0)
    pelvis, _ = _pelvis(fr, a, b)
    passes, _ = _passes(series, fr, pelvis, a, b, size, valid)
    events = []
    for k, p in enumerate(passes):
        events += _detect_events(series, fr, pelvis, p, k)
    n_steps = 0
    for st in _steps(events):  # a step counts when the feet are apart by a walking step
        p = passes[st["pass"]]
        other = "right" if st["side"] == "left" else "left"
        d = (fr.pos[f"{st['side']}_heel"][st["frame"]] - fr.pos[f"{other}_heel"][st["frame"]]) @ np.asarray(p.heading)
        moved = (pelvis[st["frame"]] - pelvis[st["frame_start"]]) @ np.asarray(p.heading)
        if (np.isfinite(d) and abs(d) >= MIN_STEP_LENGTH_TORSO * size
                and STEP_PROGRESSION_RATIO[0] <= moved / abs(d) <= STEP_PROGRESSION_RATIO[1]):
            n_steps += 1
    score = 0
    for p in passes:
        sl = slice(p.start_frame, p.end_frame + 1)
        hip = _mid(fr, "left_hip", "right_hip")[sl]
        up_h = (fr.height["left_shoulder"] + fr.height["right_shoulder"])[sl] / 2 - \
            (fr.height["left_hip"] + fr.height["right_hip"])[sl] / 2
        sh = _mid(fr, "left_shoulder", "right_shoulder")[sl]
        horiz = np.linalg.norm(sh - hip, axis=1)
        lean = np.degrees(np.arctan2(horiz, up_h))
        upright = ~(lean > MAX_UPRIGHT_LEAN_DEG)  # unknown trunk counts as upright
        score += int(upright.sum())
    return (n_steps, score)


def _select_stretch(series, fr, stretches, roi, valid) -> int | None:
    if not stretches:
        return None
    if roi is not None and series.pixel_px is not None:
        x, y, w, h = roi
        hip = _pixel_mid(series, "left_hip", "right_hip")
        inside = [int(((hip[a:b + 1, 0] >= x) & (hip[a:b + 1, 0] <= x + w)
                       & (hip[a:b + 1, 1] >= y) & (hip[a:b + 1, 1] <= y + h)).sum()) for a, b in stretches]
        return int(np.argmax(inside)) if max(inside) > 0 else None
    scores = [_walking_score(series, fr, a, b, _body_size(series, fr, slice(a, b + 1)), valid)
              for a, b in stretches]
    return max(range(len(scores)), key=lambda k: scores[k])


def compute_gait(series: LandmarkSeries, /, *, roi: tuple[int, int, int, int] | None = None,
                 scale_m_per_px: float | None = None) -> GaitReport:
    """Gait events, parameters, cycles and quality for one person (see module docstring)."""
    n = len(series)
    fr = _floor_frame(series)
    feet = [f"{s}_{p}" for s in SIDES for p in ("heel", "foot_index")]
    valid = np.all([fr.known[f] for f in feet], axis=0) if n else np.zeros(0, bool)
    switches = detect_identity_switches(series) if fr.pixel else []
    stretches = _stretches(series, switches) if fr.pixel else ([(0, n - 1)] if n else [])
    chosen = _select_stretch(series, fr, stretches, roi, valid)
    reason = np.array(["no_person"] * n, dtype=object)
    for k, (a, b) in enumerate(stretches):
        reason[a:b + 1] = "other_person" if k != chosen else ""
    if roi is not None and chosen is None:
        reason[reason == ""] = "outside_roi"
    passes: list[GaitPass] = []
    pelvis_kind = "none"
    if chosen is not None and stretches[chosen][1] - stretches[chosen][0] + 1 >= MIN_FRAMES:
        a, b = stretches[chosen]
        pelvis, pelvis_kind = _pelvis(fr, a, b)
        size = _body_size(series, fr, slice(a, b + 1))
        passes, pass_reason = _passes(series, fr, pelvis, a, b, size, valid)
        reason[a:b + 1] = pass_reason[a:b + 1]
    used = reason == ""
    events: list[GaitEvent] = []
    for k, p in enumerate(passes):
        events += _detect_events(series, fr, pelvis, p, k)
    events.sort(key=lambda e: (e.t_s, e.side, e.kind))
    strides = _strides(events)
    steps = _steps(events)
    scale = (scale_m_per_px if fr.pixel else 1.0)
    params = _parameters(events, strides, steps, passes, fr, scale, series)
    directions = sorted({p.direction for p in passes})
    direction = directions[0] if len(directions) == 1 else ("mixed" if directions else "unknown")
    excluded = []
    for why in sorted({r for r in reason if r}):
        for s, e in _runs(reason == why):
            excluded.append({"start_frame": s, "end_frame": e, "t_start_s": round(float(series.t_s[s]), 4),
                             "t_end_s": round(float(series.t_s[e]), 4), "reason": why})
    excluded.sort(key=lambda d: d["start_frame"])
    quality = _quality(series, fr, params, strides, used, switches, passes, pelvis_kind, scale, valid)
    return GaitReport(tuple(events), params, direction, tuple(passes), used, tuple(excluded),
                      tuple(switches), quality, tuple(_cycles(series, strides)),
                      "pixel_px" if fr.pixel else "world_m", np.asarray(series.t_s, float))


def _quality(series, fr, params, strides, used, switches, passes, pelvis_kind, scale, valid) -> dict:
    flags = []
    n_strides = len(strides)
    if n_strides < FEW_STRIDES:
        flags.append("few_strides")
    if not passes:
        flags.append("no_walking_found")
    if switches:
        flags.append("identity_switch")
    vis_idx = [LANDMARK_INDEX[f"{s}_{p}"] for s in SIDES for p in ("heel", "foot_index", "ankle")]
    vis = float(np.mean(series.visibility[used][:, vis_idx])) if used.any() else 0.0
    if fr.pixel and vis < LOW_VISIBILITY:
        flags.append("low_visibility")
    side_on = None
    if fr.pixel and used.any():
        width = _pixel_len(series, "left_hip", "right_hip")[used]
        torso = np.linalg.norm(_pixel_mid(series, "left_shoulder", "right_shoulder")
                               - _pixel_mid(series, "left_hip", "right_hip"), axis=1)[used]
        ratio = float(np.nanmedian(width / torso)) if np.isfinite(width / torso).any() else float("nan")
        side_on = bool(ratio <= SIDE_ON_MAX_WIDTH_RATIO) if math.isfinite(ratio) else None
        if side_on is False:
            flags.append("not_side_on")
    if pelvis_kind != "mid_hip":
        flags.append("pelvis_approximated_from_feet")
    if any(p.direction == "unknown" for p in passes):
        flags.append("direction_unknown")
    lab = not fr.pixel
    base = "high" if lab and n_strides >= FEW_STRIDES else ("moderate" if n_strides >= FEW_STRIDES else "low")
    if "low_visibility" in flags or "not_side_on" in flags:
        base = "low"
    trust = {
        "cadence_steps_per_min": base if params["n_steps"] else "none",
        "stride_time_s": base if n_strides else "none",
        "step_time_s": base if params["n_steps"] else "none",
        "stance_pct": (base if lab else "low") if params["stance_pct"] is not None else "none",
        "swing_pct": (base if lab else "low") if params["swing_pct"] is not None else "none",
        "double_support_pct": ("moderate" if lab and base == "high" else "low")
        if params["double_support_pct"] is not None else "none",
        "symmetry": ("moderate" if n_strides >= 2 * FEW_STRIDES else "low")
        if params["step_time_symmetry_index_pct"] is not None else "none",
        "stride_time_cv_pct": ("moderate" if n_strides >= 2 * FEW_STRIDES else "low")
        if params["stride_time_cv_pct"] is not None else "none",
        "gait_speed_m_s": ("high" if lab else "low") if params.get("gait_speed_m_s") is not None else "none",
        "step_length_m": ("moderate" if lab else "low") if params.get("step_length_m") is not None else "none",
    }
    return {
        "n_strides": n_strides,
        "n_steps": params["n_steps"],
        "n_passes": len(passes),
        "flags": flags,
        "foot_visibility_mean": round(vis, 3),
        "side_on": side_on,
        "pelvis_reference": pelvis_kind,
        "scale_known": scale is not None,
        "trust": trust,
        "notes": ("Trust levels: high = motion capture with >= 4 strides; moderate = video with "
                  ">= 4 strides or variability/symmetry from >= 8; low = fewer strides, an oblique "
                  "view, low visibility, or a figure video measures poorly (stance, double support, "
                  "metres from a pixel scale)."),
    }


def detect_walking(series: LandmarkSeries, /) -> bool:
    """True when some stretch of the series shows a person walking (>= 1 step in a pass)."""
    if len(series) < 3:
        return False
    report = compute_gait(series)
    return bool(report.passes) and report.parameters["n_steps"] >= 1


# ----------------------------------------------------------------------------- outputs

def save_gait_outputs(report: GaitReport, out_dir: Path, /) -> list[Path]:
    """Write ``gait.json`` and ``gait_cycles.csv`` into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "gait.json"
    json_path.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    csv_path = out_dir / "gait_cycles.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["cycle", "side", "t_start_s", "t_end_s", "cycle_pct", *CYCLE_ANGLES])
        pct = np.linspace(0.0, 100.0, CYCLE_POINTS)
        for c in report.cycles:
            for i, p in enumerate(pct):
                vals = [c["curves"][j][i] for j in CYCLE_ANGLES]
                writer.writerow([c["cycle"], c["side"], f"{c['t_start_s']:.4f}", f"{c['t_end_s']:.4f}",
                                 f"{p:g}", *["" if not math.isfinite(v) else f"{v:.3f}" for v in vals]])
    return [json_path, csv_path]
