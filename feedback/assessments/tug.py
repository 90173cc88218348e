"""Timed Up and Go from a landmark series (Podsiadlo & Richardson 1991, *J Am Geriatr Soc* 39:142).

The person rises from a chair, walks to a line 3 m away, turns, walks back and sits down.
The time runs from the onset of the movement out of the chair to the moment the person is
seated and still again (:mod:`feedback.assessments.sitstand`): the excursion out of the
chair that reached full standing and lasted longest.

Phases (as in the instrumented TUG, Salarian et al. 2010, *IEEE TNSRE* 18:303): sit-to-stand
(onset to full standing), walk out, turn, walk back, turn-to-sit (from the start of the
last turn to seated). Turns come from the facing direction about the vertical (world
landmarks): its difference from the heading of the walk out, folded into 0-180 degrees, is
about 0 walking out, 180 walking back and 0 again once turned to sit; a turn is where it
passes 90 degrees. Each turn's start and end are read from the rate of turning as the
movements out of the chair are (:func:`~feedback.assessments.edges.compute_edge_time`:
the crossing of a tenth of the turn's peak rate, or three times the rate while walking
straight, extrapolated to zero). "Straight" is facing within ``TURN_EDGE_DEG`` of the walk
(the pelvis' yaw swings a few degrees with each step and the pose model's facing wobbles by
up to about 15 degrees in a side view). Without world landmarks, or when the turns cannot
be told, the time is still given and the phases are left out (flag ``turns_not_found``).
"""

from __future__ import annotations

import math

import numpy as np

from core.errors import ValidationError
from feedback.assessments.chair import compute_rise_quality, list_rise_events
from feedback.assessments.result import AssessmentResult, rounded
from feedback.assessments.sitstand import (
    REST_FLOOR_DEG_S, SitStandRules, SitStandTrace, compute_sit_stand_trace, detect_rises,
)
from feedback.assessments.edges import compute_edge_time
from sensing.landmarks import LandmarkSeries

TURN_EDGE_DEG = 30.0
HEADING_WINDOW_S = 0.5  # the walk-out heading: median facing over this long after standing
SIDE_VIEW_MIN_FACING = 0.7  # walking out within 45 deg of the image plane: read turns from the image
PHASES = ("sit_to_stand", "walk_out", "turn", "walk_back", "turn_to_sit")


def _folded(deg: np.ndarray) -> np.ndarray:
    return np.abs((deg + 180.0) % 360.0 - 180.0)


def _first(mask: np.ndarray, start: int, stop: int) -> int | None:
    idx = np.flatnonzero(mask[start:stop])
    return start + int(idx[0]) if idx.size else None


def _last(mask: np.ndarray, start: int, stop: int) -> int | None:
    idx = np.flatnonzero(mask[start:stop])
    return start + int(idx[-1]) if idx.size else None


def _relative_facing(trace: SitStandTrace, i_stand: int) -> tuple[np.ndarray, str] | None:
    """Facing relative to the walk out, 0-180 deg, and where it was read from: the image
    (side view: the body faces along the image's x axis when walking out) or the world
    landmarks (any view)."""
    t = trace.t_s
    window = (t >= t[i_stand]) & (t <= t[i_stand] + HEADING_WINDOW_S)
    x = trace.facing_image_x
    if np.isfinite(x[window]).any():
        start = float(np.nanmedian(x[window]))
        if abs(start) >= SIDE_VIEW_MIN_FACING:
            return np.degrees(np.arccos(np.clip(np.sign(start) * x, -1.0, 1.0))), "image (side view)"
    facing = trace.facing_deg
    if not np.isfinite(facing[window]).any():
        return None
    return _folded(facing - float(np.nanmedian(facing[window]))), "world landmarks"


def _turns(trace: SitStandTrace, i_stand: int, i_return: int) -> dict | None:
    """Turn times (s), or None when they cannot be told."""
    t = trace.t_s
    found = _relative_facing(trace, i_stand)
    if found is None:
        return None
    phi, read_from = found
    known = np.isfinite(phi)
    mid1 = _first(known & (phi >= 90.0), i_stand, i_return)
    mid2 = None if mid1 is None else _first(known & (phi <= 90.0), mid1, i_return + 1)
    if mid2 is None:
        return None
    rate = np.abs(np.gradient(np.nan_to_num(phi, nan=0.0), t))
    rate[~known] = np.nan
    straight = known & ((phi <= TURN_EDGE_DEG) | (phi >= 180.0 - TURN_EDGE_DEG))
    straight[:i_stand] = straight[i_return:] = False
    noise = float(np.nanmedian(rate[straight])) if straight.any() else 0.0
    split = (mid1 + mid2) // 2
    rules = trace.rules
    out = {}
    for name, lo, hi in (("turn", i_stand, split), ("turn_to_sit", split, i_return)):
        if hi <= lo or not np.isfinite(rate[lo:hi]).any():
            return None
        peak = lo + int(np.nanargmax(rate[lo:hi]))
        rest = max(REST_FLOOR_DEG_S, rules.rest_noise_factor * noise)
        thr = max(rules.onset_fraction * rate[peak], rest)
        start = compute_edge_time(t, rate, peak, lo, thr, step=-1, rest_threshold=rest, min_rest_s=rules.min_rest_s)
        end = (compute_edge_time(t, rate, peak, i_return, thr, step=1, rest_threshold=rest,
                                 min_rest_s=rules.min_rest_s) if name == "turn" else None)
        if start is None or (name == "turn" and end is None):
            return None
        out[f"{name}_start_s"] = start
        if end is not None:
            out[f"{name}_end_s"] = end
    out["facing_from"] = read_from
    return out


def compute_tug(series: LandmarkSeries, /, *, rules: SitStandRules = SitStandRules()) -> AssessmentResult:
    """Timed Up and Go: time and phases (see the module docstring)."""
    trace = compute_sit_stand_trace(series, rules=rules)
    rises = [r for r in detect_rises(trace) if r.full and r.t_standing_s is not None]
    where = series.source or "the recording"
    if not rises:
        raise ValidationError(f"Nobody stood up from the chair in {where}, so there is no Timed Up and Go to "
                              "measure and nothing was stored. Check that the chair and the whole walk are in view.")
    back = [r for r in rises if r.t_return_s is not None and r.t_end_s is not None]
    if not back:
        raise ValidationError(f"The person stood up but was not seen sitting down again in {where}, so the time "
                              "cannot be read and nothing was stored. Keep the chair in view until they are seated.")
    tug = max(back, key=lambda r: r.t_end_s - r.t_onset_s)
    total = tug.t_end_s - tug.t_onset_s
    flags, notes = compute_rise_quality(trace, [tug])
    i_stand = int(np.searchsorted(trace.t_s, tug.t_standing_s))
    i_return = int(np.searchsorted(trace.t_s, tug.t_return_s))
    turns = _turns(trace, i_stand, i_return)
    fields = {"time_s": rounded(total), "start_s": rounded(tug.t_onset_s), "end_s": rounded(tug.t_end_s)}
    phases = None
    if turns is None:
        flags.append("turns_not_found")
        notes.append("The turns could not be told from the facing direction, so the phases are not given.")
    else:
        marks = [tug.t_onset_s, tug.t_standing_s, turns["turn_start_s"], turns["turn_end_s"],
                 turns["turn_to_sit_start_s"], tug.t_end_s]
        if any(b < a for a, b in zip(marks, marks[1:])):
            flags.append("turns_not_found")
            notes.append("The turns found were out of order, so the phases are not given.")
        else:
            phases = {name: rounded(b - a) for name, a, b in zip(PHASES, marks, marks[1:])}
            fields.update({f"{name}_s": value for name, value in phases.items()})
    events = list(list_rise_events([tug]))
    if turns is not None:
        events += [{"t_s": round(v, 3), "kind": k.removesuffix("_s"), "rise": tug.index} for k, v in turns.items()
                   if isinstance(v, float) and math.isfinite(v)]
    events.sort(key=lambda e: e["t_s"])
    extra = [r for r in rises if r is not tug]
    if extra:
        flags.append("other_rises")
        notes.append(f"{len(extra)} other rise(s) out of the chair were not part of the timed walk.")
    return AssessmentResult("tug", total, "s", fields, tuple(events), tuple(dict.fromkeys(flags)), tuple(notes),
                            {"rise": tug.to_dict(), "phases_s": phases, "turns_s": turns,
                             "turn_edge_deg": TURN_EDGE_DEG, "rules": vars(rules).copy()})
