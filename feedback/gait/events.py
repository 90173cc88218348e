"""Initial and final contacts of each foot (Zeni et al. 2008, *Gait & Posture* 27:710-714).

Along the motion direction, relative to the pelvis: initial contact at the maximum of the
leading foot point, final contact at the minimum of the trailing one. Forward: leading point =
heel, trailing = toe. Backward: the toe touches down first and the heel leaves last, so
initial contact is read from the toe and final contact from the heel; ``landmark`` says which
point was used. Events are never swapped by reading the facing direction.

On video, initial contacts are found against the centre of both feet' leading points
low-passed at ``PELVIS_FROM_FEET_CUTOFF_HZ`` instead of the 2-D mid-hip (which lags and
jitters in side views), trajectories are low-passed at ``LANDMARK_CUTOFF_HZ``, and each contact
is then timed to a fraction of a frame where the unfiltered leading point stops (a
decelerating approach joined to standing still, see :func:`compute_landing`). Motion-capture
markers are used unfiltered and events fall on their samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from feedback.gait.frames import LANDMARK_CUTOFF_HZ, SIDES, FloorFrame, fill, lowpass, other_side
from feedback.gait.passes import PELVIS_FROM_FEET_CUTOFF_HZ, GaitPass, Pelvis

INITIAL_CONTACT = "initial_contact"  # gait.json: "heel_strike"
FINAL_CONTACT = "final_contact"  # gait.json: "toe_off"
MIN_STRIDE_S = 0.5  # same-side events closer than this are one event
EVENT_PROMINENCE_FRACTION = 0.2  # of the 5-95 % range of the signal in the pass
# Video contact timing (sub-frame): the leading point's landing is fitted this long either side
CONTACT_FIT_S = 0.1
CONTACT_SEARCH_S = 0.07  # the landing is looked for up to this long after the signal's maximum
CONTACT_STEP_FRAMES = 0.05  # resolution of that search


@dataclass(frozen=True)
class GaitEvent:
    """One named, timestamped event: ``kind`` is :data:`INITIAL_CONTACT` or :data:`FINAL_CONTACT`."""

    t_s: float
    side: str
    kind: str
    frame: int
    landmark: str
    pass_index: int


def compute_extrema(sig: np.ndarray, rate_hz: float) -> list[int]:
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


def detect_events(fr: FloorFrame, pelvis: Pelvis, p: GaitPass, pass_index: int) -> list[GaitEvent]:
    """Initial and final contacts of both feet inside one pass."""
    backward = p.direction == "backward"
    lead, trail = ("foot_index", "heel") if backward else ("heel", "foot_index")
    events = []
    for side in SIDES:
        for part, kind in ((lead, INITIAL_CONTACT), (trail, FINAL_CONTACT)):
            events += _detect_point(fr, pelvis, p, pass_index, side, part, kind)
    return events


def _detect_point(fr: FloorFrame, pelvis: Pelvis, p: GaitPass, pass_index: int, side: str,
                  part: str, kind: str) -> list[GaitEvent]:
    sl = slice(p.start_frame, p.end_frame + 1)
    h = np.asarray(p.heading)
    sign = 1.0 if kind == INITIAL_CONTACT else -1.0
    t = fr.t_s[sl]
    name = f"{side}_{part}"
    raw = fr.pos[name][sl]
    ref = pelvis.pos[sl]
    unfiltered = raw
    if fr.pixel:  # video landmarks jitter; motion capture markers are used as they are
        raw = lowpass(t, raw, LANDMARK_CUTOFF_HZ)
        if kind == INITIAL_CONTACT:
            # On video the initial contact is read against the centre of both feet low-passed
            # over a stride (MediaPipe's 2-D hips lag and jitter in side views). The unfiltered
            # midpoint of the feet would carry the other foot's motion, which differs between
            # a short and a long step and biased them.
            both = (unfiltered + fr.pos[f"{other_side(side)}_{part}"][sl]) / 2
            ref = lowpass(t, fill(t, both), PELVIS_FROM_FEET_CUTOFF_HZ)
    rel = (raw - ref) @ h
    ok = np.isfinite(rel)
    if ok.sum() < 3:
        return []
    known = np.flatnonzero(ok)
    lo, hi = int(known[0]), int(known[-1]) + 1  # the signal from its first to last known sample
    sig = sign * fill(t[lo:hi], rel[lo:hi])
    along = None  # video: the leading point's own unfiltered progression, for the timing
    if fr.pixel and kind == INITIAL_CONTACT:
        along = sign * fill(t[lo:hi], (unfiltered @ h)[lo:hi])
    events = []
    for k in compute_extrema(sig, fr.rate_hz):
        if not ok[lo + k]:
            continue
        i = p.start_frame + lo + int(k)
        t_event = float(fr.t_s[i])
        if along is not None:
            at = p.start_frame + lo + compute_landing(along, k, fr.rate_hz)
            t_event = float(np.interp(at, np.arange(len(fr.t_s)), fr.t_s))
        events.append(GaitEvent(t_event, side, kind, i, name, pass_index))
    return events


def compute_landing(along: np.ndarray, peak: int, rate_hz: float) -> float:
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
