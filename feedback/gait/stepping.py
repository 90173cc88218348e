"""Walking recognised from the feet alone: the two feet alternate, one ahead of the other.

Whether the body crosses the room, walks on a treadmill or is followed by a panning camera,
walking shows in the *separation* of the feet along the body's axis (left minus right): it
swings from one foot ahead to the other foot ahead and back once per stride, because the feet
move in antiphase. Neither the pelvis nor the ground is needed to see it.

- **Crossings.** The separation minus its running median (over ``CENTRE_WINDOW_S``, the longest
  stride; the median absorbs a step-to gait, where one foot only comes level with the other)
  must swing beyond ``STEP_HYSTERESIS_FOOT`` foot lengths on both sides. Each swing from one
  side to the other is a *crossing*: the swinging foot passes the standing one (mid-swing).
  Between two crossings lie exactly one initial contact (of the foot that just passed) and
  one final contact (of the other foot); :mod:`.events` searches each contact there.
- **Walking rate.** Consecutive crossings are one step apart. Walking is a bout of crossings
  ``MIN_STEP_S`` to ``MAX_STEP_S`` apart (stride frequency 0.4-2 Hz). Two crossings closer than
  ``MIN_STEP_S`` are a tracking glitch (a left/right swap of the feet and back) and cancel.
- **Travel direction relative to the body.** In walking the stance phase is longer than the
  swing phase (over 50 % of the cycle: walking has double support), and during stance the foot
  moves backward relative to the body at the walking speed. So the relative velocity of the
  feet along the axis is negative (opposite to travel) for most of the time: the sign of its
  median gives the travel direction with no progression, on a treadmill or a panning camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedback.gait.frames import FOOT_POINTS, SIDES, FloorFrame, fill, lowpass

# Foot length as a fraction of torso length (mid-shoulder to mid-hip) in pixels: foot 0.152 H,
# shoulder 0.818 H, greater trochanter 0.530 H (Drillis & Contini 1966, in Winter 2009, ch. 4).
FOOT_PER_TORSO = 0.152 / (0.818 - 0.530)
STEP_HYSTERESIS_FOOT = 0.25  # a step moves one foot at least a quarter foot length past the other
MIN_STEP_S = 0.25  # cadence <= 240 steps/min: faster than festination's quickest steps
MAX_STEP_S = 1.25  # cadence >= 48 steps/min: a longer pause between steps is standing or freezing
CENTRE_WINDOW_S = 2.5  # the longest stride (stride frequency 0.4 Hz)
SEPARATION_CUTOFF_HZ = 3.0  # the separation's content: stride frequency and its first harmonics
# Feet moving backward relative to the body at least this fraction of the time walk: stance
# alone is over half the cycle (walking has double support); 0.55 leaves room for tracking noise
WALK_MIN_BACKWARD_FRACTION = 0.55


@dataclass(frozen=True)
class Stepping:
    """The feet's alternation over frames a..b (arrays local to that range)."""

    separation: np.ndarray  # (n,) left minus right foot along ``axis``, minus its running median
    crossings: tuple[float, ...]  # local frame positions (sub-frame) where the feet pass each other
    stepping: np.ndarray  # (n,) bool: inside a bout of crossings at a walking rate
    unit: float  # one foot length in the analysis unit
    axis: np.ndarray  # (n, 2) unit body axis on the floor plane (video: image x)


def foot_centre(fr: FloorFrame, side: str, sl: slice) -> np.ndarray:
    """(n, 2) mean of the heel and toe of one foot (either alone where the other is unknown)."""
    pts = np.stack([fr.pos[f"{side}_{p}"][sl] for p in FOOT_POINTS])
    known = np.isfinite(pts).all(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known.any(axis=0)[:, None],
                        np.where(known[..., None], pts, 0.0).sum(axis=0) / known.sum(axis=0)[:, None], np.nan)


def compute_foot_length(fr: FloorFrame, sl: slice, torso: float) -> float:
    """One foot length: heel to toe on the floor plane (motion capture), from the torso on video."""
    if fr.pixel:
        return FOOT_PER_TORSO * torso
    lengths = [np.linalg.norm(fr.pos[f"{s}_foot_index"][sl] - fr.pos[f"{s}_heel"][sl], axis=1) for s in SIDES]
    lengths = np.concatenate(lengths)
    lengths = lengths[np.isfinite(lengths)]
    return float(np.median(lengths)) if lengths.size else float("nan")


def compute_body_axis(fr: FloorFrame, sl: slice) -> np.ndarray:
    """(n, 2) unit axis the body faces: image x on video; on the floor plane the mean heel -> toe
    direction of both feet (each foot's toe-out cancels), low-passed over a stride."""
    t = fr.t_s[sl]
    if fr.pixel:
        return np.tile([1.0, 0.0], (len(t), 1))
    units = []
    for s in SIDES:
        v = fr.pos[f"{s}_foot_index"][sl] - fr.pos[f"{s}_heel"][sl]
        n = np.linalg.norm(v, axis=1, keepdims=True)
        units.append(np.where(n > 0, v / n, np.nan))
    stack = np.stack(units)
    count = np.isfinite(stack).all(axis=2).sum(axis=0)[:, None]
    mean = np.where(count > 0, np.nansum(stack, axis=0) / np.maximum(count, 1), np.nan)
    mean = lowpass(t, fill(t, mean), 2 * 0.5)
    norm = np.linalg.norm(mean, axis=1, keepdims=True)
    return np.where(norm > 0, mean / norm, np.nan)


def detect_crossings(t_s: np.ndarray, separation: np.ndarray, hysteresis: float) -> list[float]:
    """Sub-frame positions where ``separation`` goes from beyond -h to beyond +h or back; the
    crossing is placed at its last zero before the threshold was passed."""
    state, out = 0, []
    last_zero = 0.0
    for i in range(1, len(separation)):
        a, b = separation[i - 1], separation[i]
        if not (np.isfinite(a) and np.isfinite(b)):
            state = 0
            continue
        if (a <= 0 < b) or (a >= 0 > b):
            last_zero = i - 1 + a / (a - b)
        if state <= 0 and b > hysteresis:
            if state < 0:
                out.append(last_zero)
            state = 1
        elif state >= 0 and b < -hysteresis:
            if state > 0:
                out.append(last_zero)
            state = -1
    return _cancel_glitches(out, t_s)


def _cancel_glitches(crossings: list[float], t_s: np.ndarray) -> list[float]:
    """Drop pairs of crossings closer than ``MIN_STEP_S`` (a swap of the feet and back)."""
    rate = 1.0 / float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1.0
    out: list[float] = []
    for c in crossings:
        if out and (c - out[-1]) / rate < MIN_STEP_S:
            out.pop()
            continue
        out.append(c)
    return out


def compute_stepping_mask(n: int, crossings: list[float], rate_hz: float) -> np.ndarray:
    """Frames inside bouts of crossings ``MIN_STEP_S``..``MAX_STEP_S`` apart, each bout widened
    by one of its steps on either side (its first toe off and last initial contact). A lone
    crossing (one step seen) stands for half the longest step either side; whether it is
    walking is decided by the pass (:func:`feedback.gait.passes.detect_passes`)."""
    mask = np.zeros(n, bool)
    c = np.asarray(crossings)
    gaps = np.diff(c) / rate_hz
    ok = (gaps >= MIN_STEP_S) & (gaps <= MAX_STEP_S)
    in_bout = np.zeros(len(c), bool)
    k = 0
    while k < len(ok):
        if not ok[k]:
            k += 1
            continue
        j = k
        while j + 1 < len(ok) and ok[j + 1]:
            j += 1
        in_bout[k:j + 2] = True
        _mark(mask, c[k] - (c[k + 1] - c[k]), c[j + 1] + (c[j + 1] - c[j]))
        k = j + 1
    half = MAX_STEP_S / 2 * rate_hz
    for x in c[~in_bout]:
        _mark(mask, x - half, x + half)
    return mask


def _mark(mask: np.ndarray, lo: float, hi: float) -> None:
    mask[max(0, int(np.floor(lo))):min(len(mask), int(np.ceil(hi)) + 1)] = True


def _running_median(x: np.ndarray, half: int) -> np.ndarray:
    """Median of the known samples within ``half`` frames either side (fewer at the ends: the
    ends are not padded with a repeated value, which would drag the median toward it)."""
    known = np.isfinite(x)
    out = np.full(len(x), np.nan)
    for i in np.flatnonzero(known):
        window = x[max(0, i - half):i + half + 1]
        out[i] = np.median(window[np.isfinite(window)])
    return out


def compute_stepping(fr: FloorFrame, sl: slice, valid: np.ndarray, torso: float) -> Stepping:
    """The feet's separation, its crossings and the stepping frames over ``sl``."""
    t = fr.t_s[sl]
    axis = compute_body_axis(fr, sl)
    sep = np.sum((foot_centre(fr, "left", sl) - foot_centre(fr, "right", sl)) * axis, axis=1)
    sep = np.where(valid, fill(t, sep), np.nan)
    sep = lowpass(t, sep, SEPARATION_CUTOFF_HZ)
    rate = fr.rate_hz
    rel = sep - _running_median(sep, max(1, int(round(CENTRE_WINDOW_S * rate / 2))))
    unit = compute_foot_length(fr, sl, torso)
    crossings = detect_crossings(t, rel, STEP_HYSTERESIS_FOOT * unit) if np.isfinite(unit) else []
    return Stepping(rel, tuple(crossings), compute_stepping_mask(len(t), crossings, rate) & valid, unit, axis)


def compute_travel_sign(fr: FloorFrame, body: np.ndarray, axis: np.ndarray, sl: slice) -> float:
    """+1 when the person travels along ``axis``, -1 against it, from the feet alone; 0 when the
    feet do not move as in walking.

    In walking each foot moves backward relative to the body for longer than it moves forward:
    through stance (>= ~58 % of the cycle even at the fastest walking, Perry & Burnfield 2010)
    plus the end of swing. Feet that move back and forth for equal times (a scissor jump,
    swinging a leg) are not walking: at least ``WALK_MIN_BACKWARD_FRACTION`` of the time must
    be one way.
    """
    t = fr.t_s[sl]
    if len(t) < 3:
        return 0.0
    vel = []
    for s in SIDES:
        rel = np.sum((foot_centre(fr, s, sl) - body[sl]) * axis[sl], axis=1)
        vel.append(np.gradient(lowpass(t, fill(t, rel), SEPARATION_CUTOFF_HZ), t))
    v = np.concatenate(vel)
    v = v[np.isfinite(v)]
    if not v.size:
        return 0.0
    backward = float(np.mean(v < 0))
    if backward >= WALK_MIN_BACKWARD_FRACTION:
        return 1.0
    return -1.0 if 1.0 - backward >= WALK_MIN_BACKWARD_FRACTION else 0.0
