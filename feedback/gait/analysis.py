"""The gait pipeline for one person's landmark series: :func:`compute_gait`.

Stages: coordinates and identity (:mod:`.frames`) -> body reference and passes
(:mod:`.passes`) -> initial / final contacts (:mod:`.events`) -> strides, steps and parameters
(:mod:`.parameters`) -> quality (:mod:`.quality`) -> joint-angle cycles (:mod:`.cycles`).

**Walking, not just moving** (choosing the stretch on video): a step counts when the heels are
``MIN_STEP_LENGTH_TORSO`` torso lengths apart and the pelvis moved on by about that much
(``STEP_PROGRESSION_RATIO``); ties go to the stretch with more upright frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from feedback.gait.cycles import GaitCycle, compute_cycles
from feedback.gait.events import GaitEvent, detect_events
from feedback.gait.frames import (
    FOOT_POINTS, SIDES, FloorFrame, compute_body_size, compute_floor_frame, compute_runs, compute_stretches,
    detect_identity_switches, other_side, pixel_mid,
)
from feedback.gait.parameters import GaitParameters, compute_parameters, compute_steps, compute_strides
from feedback.gait.passes import GaitPass, Pelvis, compute_pelvis, detect_passes
from feedback.gait.quality import GaitQuality, compute_quality
from sensing.landmarks import LandmarkSeries

MIN_STEP_LENGTH_TORSO = 0.5  # heels apart by less than this (torso lengths) is not a walking step
# While walking the pelvis moves on by about one step length per step (ratio to heel spacing)
STEP_PROGRESSION_RATIO = (0.7, 1.6)
MAX_UPRIGHT_LEAN_DEG = 30.0
MIN_FRAMES = 5  # a stretch shorter than this is too short to analyse


@dataclass(frozen=True)
class GaitReport:
    """Everything ``save_gait_outputs`` writes; see ``docs/gait.md``."""

    events: tuple[GaitEvent, ...]
    parameters: GaitParameters
    direction: str
    passes: tuple[GaitPass, ...]
    frames_used: np.ndarray  # (T,) bool
    excluded: tuple[dict, ...]
    identity_switch_frames: tuple[int, ...]
    quality: GaitQuality
    cycles: tuple[GaitCycle, ...]
    coordinates: str  # "world_m" or "pixel_px"
    t_s: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        from feedback.gait.outputs import report_to_dict

        return report_to_dict(self)


def _analyse(fr: FloorFrame, a: int, b: int, size: float, valid: np.ndarray):
    """Pelvis, passes, per-frame reasons and events of frames a..b."""
    pelvis = compute_pelvis(fr, a, b)
    passes, reason = detect_passes(fr, pelvis, a, b, size, valid)
    events: list[GaitEvent] = []
    for k, p in enumerate(passes):
        events += detect_events(fr, pelvis, p, k)
    return pelvis, passes, reason, events


def _walking_score(series: LandmarkSeries, fr: FloorFrame, a: int, b: int, valid: np.ndarray) -> tuple[int, int]:
    """(walking steps, upright frames in passes): larger means more clearly walking."""
    if b - a + 1 < MIN_FRAMES:
        return (0, 0)
    size = compute_body_size(series, fr, slice(a, b + 1))
    pelvis, passes, _, events = _analyse(fr, a, b, size, valid)
    n_steps = 0
    for st in compute_steps(events):  # a step counts when the feet are apart by a walking step
        h = np.asarray(passes[st.pass_index].heading)
        d = (fr.pos[f"{st.side}_heel"][st.frame] - fr.pos[f"{other_side(st.side)}_heel"][st.frame]) @ h
        moved = (pelvis.pos[st.frame] - pelvis.pos[st.frame_start]) @ h
        if (np.isfinite(d) and abs(d) >= MIN_STEP_LENGTH_TORSO * size
                and STEP_PROGRESSION_RATIO[0] <= moved / abs(d) <= STEP_PROGRESSION_RATIO[1]):
            n_steps += 1
    upright = 0
    for p in passes:
        sl = slice(p.start_frame, p.end_frame + 1)
        up_h = ((fr.height["left_shoulder"] + fr.height["right_shoulder"])[sl] / 2
                - (fr.height["left_hip"] + fr.height["right_hip"])[sl] / 2)
        horiz = np.linalg.norm(fr.mid("left_shoulder", "right_shoulder")[sl] - fr.mid("left_hip", "right_hip")[sl],
                               axis=1)
        lean = np.degrees(np.arctan2(horiz, up_h))
        upright += int((~(lean > MAX_UPRIGHT_LEAN_DEG)).sum())  # unknown trunk counts as upright
    return (n_steps, upright)


def _select_stretch(series: LandmarkSeries, fr: FloorFrame, stretches, roi, valid) -> int | None:
    if not stretches:
        return None
    if roi is not None and series.pixel_px is not None:
        x, y, w, h = roi
        hip = pixel_mid(series, "left_hip", "right_hip")
        inside = [int(((hip[a:b + 1, 0] >= x) & (hip[a:b + 1, 0] <= x + w)
                       & (hip[a:b + 1, 1] >= y) & (hip[a:b + 1, 1] <= y + h)).sum()) for a, b in stretches]
        return int(np.argmax(inside)) if max(inside) > 0 else None
    scores = [_walking_score(series, fr, a, b, valid) for a, b in stretches]
    return max(range(len(scores)), key=lambda k: scores[k])


def _excluded(reason: np.ndarray, t_s: np.ndarray) -> tuple[dict, ...]:
    out = []
    for why in sorted({r for r in reason if r}):
        for s, e in compute_runs(reason == why):
            out.append({"start_frame": s, "end_frame": e, "t_start_s": round(float(t_s[s]), 4),
                        "t_end_s": round(float(t_s[e]), 4), "reason": why})
    return tuple(sorted(out, key=lambda d: d["start_frame"]))


def compute_gait(series: LandmarkSeries, /, *, roi: tuple[int, int, int, int] | None = None,
                 scale_m_per_px: float | None = None) -> GaitReport:
    """Gait events, parameters, cycles and quality for one person (see the module docstring)."""
    n = len(series)
    fr = compute_floor_frame(series)
    feet = [f"{s}_{p}" for s in SIDES for p in FOOT_POINTS]
    valid = np.all([fr.known[f] for f in feet], axis=0) if n else np.zeros(0, bool)
    switches = detect_identity_switches(series) if fr.pixel else []
    stretches = compute_stretches(series, switches) if fr.pixel else ([(0, n - 1)] if n else [])
    chosen = _select_stretch(series, fr, stretches, roi, valid)
    reason = np.array(["no_person"] * n, dtype=object)
    for k, (a, b) in enumerate(stretches):
        reason[a:b + 1] = "other_person" if k != chosen else ""
    if roi is not None and chosen is None:
        reason[reason == ""] = "outside_roi"
    passes: list[GaitPass] = []
    events: list[GaitEvent] = []
    pelvis: Pelvis | None = None
    if chosen is not None and stretches[chosen][1] - stretches[chosen][0] + 1 >= MIN_FRAMES:
        a, b = stretches[chosen]
        pelvis, passes, pass_reason, events = _analyse(fr, a, b, compute_body_size(series, fr, slice(a, b + 1)),
                                                       valid)
        reason[a:b + 1] = pass_reason[a:b + 1]
    used = reason == ""
    events.sort(key=lambda e: (e.t_s, e.side, e.kind))
    strides = compute_strides(events)
    scale = scale_m_per_px if fr.pixel else 1.0
    params = compute_parameters(events, strides, compute_steps(events), passes, fr, scale)
    directions = sorted({p.direction for p in passes})
    direction = directions[0] if len(directions) == 1 else ("mixed" if directions else "unknown")
    quality = compute_quality(series, fr, params, strides, used, switches, passes, pelvis, scale)
    return GaitReport(tuple(events), params, direction, tuple(passes), used, _excluded(reason, series.t_s),
                      tuple(switches), quality, tuple(compute_cycles(series, strides)),
                      "pixel_px" if fr.pixel else "world_m", np.asarray(series.t_s, float))


def detect_walking(series: LandmarkSeries, /) -> bool:
    """True when some stretch of the series shows a person walking (>= 1 step in a pass)."""
    if len(series) < 3:
        return False
    report = compute_gait(series)
    return bool(report.passes) and report.parameters.n_steps >= 1
