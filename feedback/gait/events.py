"""Initial and final contacts of each foot (Zeni et al. 2008, *Gait & Posture* 27:710-714).

**Where.** Between two crossings of the feet (:mod:`.stepping`) the foot that just passed
lands once and the other foot lifts once. In each such window, along the travel direction
and relative to the body: initial contact at the maximum of the leading foot point, final
contact at the minimum of the trailing one, each only where it is a true extreme inside the
window (not at its edge: the signal still rising there means the contact lies outside it).
Forward: leading point = heel, trailing = toe. Backward: the toe touches down first and the
heel leaves last, so initial contact is read from the toe and final contact from the heel;
``landmark`` says which point was used. Events are never swapped by reading the facing.

**When.** Motion capture over still ground: the extreme itself (markers unfiltered, events on
their samples; the body = the pelvis low-passed over a stride). Video over still ground:
landmarks are low-passed at ``LANDMARK_CUTOFF_HZ``, initial contacts are found against the
centre of both feet' leading points low-passed at ``PELVIS_FROM_FEET_CUTOFF_HZ`` (the 2-D
mid-hip lags and jitters in side views), and each extreme is placed to a fraction of a frame
(the vertex of a parabola through it and its neighbours): on hand-labelled real video this
is within a third of a frame of the contacts seen, where fitting the heel's stop in the
image was one to two frames late (``docs/gait.md``). Walking in place (treadmill, camera
following the walker): the extreme is where the foot moves at the body's speed, well before
it lands (53 ms on an instrumented treadmill), so the contact is timed where the point joins
the ground's motion (:func:`.timing.compute_landing` / :func:`.timing.compute_lift`).

**Rules** (:func:`apply_event_rules`). No foot has two events within ``MIN_PHASE_S`` (stance
and swing each last far longer), and initial contacts alternate left and right: two of the
same foot with none of the other between, closer than a stride allows, are one too many.
Rejected events are counted by reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedback.gait.frames import LANDMARK_CUTOFF_HZ, SIDES, FloorFrame, fill, lowpass, other_side
from feedback.gait.passes import PELVIS_FROM_FEET_CUTOFF_HZ, GaitPass, Pelvis
from feedback.gait.stepping import MIN_STEP_S, foot_centre
from feedback.gait.timing import compute_landing, compute_lift

INITIAL_CONTACT = "initial_contact"  # gait.json: "heel_strike"
FINAL_CONTACT = "final_contact"  # gait.json: "toe_off"
MIN_STRIDE_S = 2 * MIN_STEP_S  # same-side initial contacts closer than this are not a stride
# No phase of walking is shorter than this: stance and swing each last >= 0.25 s even at a
# festinating 200 steps/min; two events of one foot this close cannot both be real.
MIN_PHASE_S = 0.1


@dataclass(frozen=True)
class GaitEvent:
    """One named, timestamped event: ``kind`` is :data:`INITIAL_CONTACT` or :data:`FINAL_CONTACT`."""

    t_s: float
    side: str
    kind: str
    frame: int
    landmark: str
    pass_index: int


def _windows(p: GaitPass) -> list[tuple[int, int]]:
    """(lo, hi) frame ranges of the pass split at the feet's crossings."""
    bounds = [p.start_frame] + [int(round(c)) for c in p.crossings] + [p.end_frame]
    return [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi - lo >= 2]


def _signals(fr: FloorFrame, pelvis: Pelvis, body: np.ndarray, p: GaitPass, side: str, part: str,
             kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(Zeni signal to maximise, the point's own progression for timing or None), pass-local."""
    sl = slice(p.start_frame, p.end_frame + 1)
    h = np.asarray(p.heading)
    t = fr.t_s[sl]
    sign = 1.0 if kind == INITIAL_CONTACT else -1.0
    raw = fr.pos[f"{side}_{part}"][sl]
    if not fr.pixel:
        rel = fill(t, (raw - body[sl]) @ h)
        return sign * rel, rel
    smooth = lowpass(t, raw, LANDMARK_CUTOFF_HZ)
    if p.progression == "in_place":
        return sign * fill(t, (smooth - body[sl]) @ h), fill(t, (raw - body[sl]) @ h)
    if kind == FINAL_CONTACT:
        return sign * fill(t, (smooth - pelvis.pos[sl]) @ h), None
    # The unfiltered midpoint of the feet would carry the other foot's motion, which differs
    # between a short and a long step: the reference is that midpoint low-passed over a stride.
    both = (raw + fr.pos[f"{other_side(side)}_{part}"][sl]) / 2
    ref = lowpass(t, fill(t, both), PELVIS_FROM_FEET_CUTOFF_HZ)
    return fill(t, (smooth - ref) @ h), None


def _leading_side(fr: FloorFrame, p: GaitPass, lo: int, hi: int) -> str | None:
    """The foot ahead along the travel direction in the middle of a window."""
    mid = slice((lo + hi) // 2, (lo + hi) // 2 + 1)
    d = (foot_centre(fr, "left", mid) - foot_centre(fr, "right", mid)) @ np.asarray(p.heading)
    if not np.isfinite(d).all() or d[0] == 0:
        return None
    return "left" if d[0] > 0 else "right"


def detect_events(fr: FloorFrame, pelvis: Pelvis, body: np.ndarray, p: GaitPass, pass_index: int) -> list[GaitEvent]:
    """Initial and final contacts of both feet inside one pass."""
    lead, trail = ("foot_index", "heel") if p.direction == "backward" else ("heel", "foot_index")
    signals = {(side, kind): _signals(fr, pelvis, body, p, side, part, kind)
               for side in SIDES for part, kind in ((lead, INITIAL_CONTACT), (trail, FINAL_CONTACT))}
    events = []
    for lo, hi in _windows(p):
        ahead = _leading_side(fr, p, lo, hi)
        if ahead is None:
            continue
        for side, part, kind in ((ahead, lead, INITIAL_CONTACT), (other_side(ahead), trail, FINAL_CONTACT)):
            sig, along = signals[(side, kind)]
            k = _interior_maximum(sig, lo - p.start_frame, hi - p.start_frame)
            if k is not None and fr.known[f"{side}_{part}"][p.start_frame + k]:
                events.append(_timed_event(fr, p, pass_index, side, part, kind, k, sig, along))
    return events


def _interior_maximum(sig: np.ndarray, lo: int, hi: int) -> int | None:
    """Index of the maximum of sig[lo..hi] when it is not at either end (and known)."""
    seg = sig[lo:hi + 1]
    if seg.size < 3 or not np.isfinite(seg).any():
        return None
    k = int(np.nanargmax(seg))
    return lo + k if 0 < k < seg.size - 1 else None


def _parabolic_peak(sig: np.ndarray, k: int) -> float:
    """Sub-frame position of the maximum at ``k`` (the vertex of the parabola through k-1, k, k+1)."""
    if 0 < k < len(sig) - 1 and np.isfinite(sig[k - 1:k + 2]).all():
        a, b, c = sig[k - 1], sig[k], sig[k + 1]
        curvature = a - 2 * b + c
        if curvature < 0:
            return k + 0.5 * (a - c) / curvature
    return float(k)


def _timed_event(fr: FloorFrame, p: GaitPass, pass_index: int, side: str, part: str, kind: str, k: int,
                 sig: np.ndarray, along: np.ndarray | None) -> GaitEvent:
    i = p.start_frame + k
    t_event = float(fr.t_s[i])
    in_place = p.progression == "in_place"
    if fr.pixel and not in_place:  # video over still ground: the extreme itself, to a fraction of a frame
        t_event = float(np.interp(p.start_frame + _parabolic_peak(sig, k), np.arange(len(fr.t_s)), fr.t_s))
    elif along is not None and in_place and np.isfinite(along).all():
        sign = 1.0 if kind == INITIAL_CONTACT else -1.0
        if kind == INITIAL_CONTACT:
            at = compute_landing(sign * along, k, fr.rate_hz, ground_moves=in_place)
        else:
            at = compute_lift(sign * along, k, fr.rate_hz, ground_moves=in_place)
        t_event = float(np.interp(p.start_frame + at, np.arange(len(fr.t_s)), fr.t_s))
    return GaitEvent(t_event, side, kind, i, f"{side}_{part}", pass_index)


# ----------------------------------------------------------------------------- rules

def apply_event_rules(events: list[GaitEvent], /) -> tuple[list[GaitEvent], dict[str, int]]:
    """Events that survive the physiological rules, and the count rejected by each rule."""
    counts = {"too_close_same_foot": 0, "alternation": 0}
    kept = []
    for side in SIDES:  # a foot's events closer than MIN_PHASE_S to its previous one go, chained:
        previous = None  # of a cluster of them only the first (the real contact came first) stays
        for e in sorted((e for e in events if e.side == side), key=lambda e: e.t_s):
            if previous is not None and e.pass_index == previous.pass_index and e.t_s - previous.t_s < MIN_PHASE_S:
                counts["too_close_same_foot"] += 1
            else:
                kept.append(e)
            previous = e
    kept, counts["alternation"] = _alternation(kept)
    return sorted(kept, key=lambda e: (e.t_s, e.side, e.kind)), counts


def _alternation(events: list[GaitEvent]) -> tuple[list[GaitEvent], int]:
    """Drop same-foot contacts of one kind with none of the other foot between them that are
    closer than ``MIN_STRIDE_S``: of the pair, the one further from midway between the other
    foot's neighbouring contacts of that kind (the later one when that is unknown)."""
    drop: set[int] = set()
    for kind in (INITIAL_CONTACT, FINAL_CONTACT):
        seq = sorted((e for e in events if e.kind == kind), key=lambda e: e.t_s)
        for k in range(1, len(seq)):
            a, b = seq[k - 1], seq[k]
            if id(a) in drop or a.side != b.side or a.pass_index != b.pass_index or b.t_s - a.t_s >= MIN_STRIDE_S:
                continue
            before = [e.t_s for e in seq[:k - 1] if e.side != a.side and e.pass_index == a.pass_index]
            after = [e.t_s for e in seq[k + 1:] if e.side != a.side and e.pass_index == a.pass_index]
            worse = b
            if before and after:
                middle = (before[-1] + after[0]) / 2
                worse = a if abs(a.t_s - middle) > abs(b.t_s - middle) else b
            drop.add(id(worse))
    return [e for e in events if id(e) not in drop], len(drop)
