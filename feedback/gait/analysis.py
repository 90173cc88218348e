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
from feedback.gait.events import GaitEvent, apply_event_rules, detect_events
from feedback.gait.frames import (
    FOOT_POINTS, SIDES, FloorFrame, compute_body_size, compute_floor_frame, compute_runs, compute_stretches,
    detect_identity_switches, other_side, pixel_mid,
)
from feedback.gait.parameters import GaitParameters, compute_parameters, compute_steps, compute_strides
from feedback.gait.passes import GaitPass, Pelvis, compute_body, compute_pelvis, detect_passes
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
    parameters: GaitParameters  # the headline: passes walked facing forward (and of unknown facing)
    direction: str
    passes: tuple[GaitPass, ...]
    frames_used: np.ndarray  # (T,) bool
    excluded: tuple[dict, ...]
    identity_switch_frames: tuple[int, ...]
    quality: GaitQuality
    cycles: tuple[GaitCycle, ...]
    coordinates: str  # "world_m" or "pixel_px"
    t_s: np.ndarray = field(repr=False)
    parameters_by_direction: dict = field(default_factory=dict)  # "forward" / "backward" / ... -> GaitParameters
    pass_parameters: tuple[GaitParameters, ...] = ()  # one per pass
    headline_passes: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        from feedback.gait.outputs import report_to_dict

        return report_to_dict(self)


@dataclass(frozen=True)
class _Stretch:
    """One person's analysed frames: body references, passes, exclusion reasons, events."""

    pelvis: Pelvis
    body: np.ndarray
    passes: list[GaitPass]
    reason: np.ndarray
    events: list[GaitEvent]
    rejected: dict


def _analyse(fr: FloorFrame, a: int, b: int, size: float, valid: np.ndarray) -> _Stretch:
    """Pelvis, passes, per-frame reasons and events (after the rules) of frames a..b."""
    pelvis = compute_pelvis(fr, a, b)
    body = compute_body(fr, pelvis, slice(a, b + 1))
    passes, reason = detect_passes(fr, pelvis, a, b, size, valid)
    events: list[GaitEvent] = []
    for k, p in enumerate(passes):
        events += detect_events(fr, pelvis, body, p, k)
    events, rejected = apply_event_rules(events)
    return _Stretch(pelvis, body, passes, reason, events, rejected)


def _walking_score(series: LandmarkSeries, fr: FloorFrame, a: int, b: int,
                   valid: np.ndarray) -> tuple[int, int, int]:
    """(steps carrying the body on, steps in place, upright frames in passes): larger is more
    clearly walking."""
    if b - a + 1 < MIN_FRAMES:
        return (0, 0, 0)
    size = compute_body_size(series, fr, slice(a, b + 1))
    found = _analyse(fr, a, b, size, valid)
    passes = found.passes
    n_steps, in_place = 0, 0
    for st in compute_steps(found.events):  # a step counts when the feet are apart by a walking step
        if passes[st.pass_index].progression == "in_place":
            in_place += 1
            continue
        h = np.asarray(passes[st.pass_index].heading)
        d = (fr.pos[f"{st.side}_heel"][st.frame] - fr.pos[f"{other_side(st.side)}_heel"][st.frame]) @ h
        moved = (found.pelvis.pos[st.frame] - found.pelvis.pos[st.frame_start]) @ h
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
    return (n_steps, in_place, upright)


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
                 scale_m_per_px: float | None = None, treadmill_speed_m_s: float | None = None) -> GaitReport:
    """Gait events, parameters, cycles and quality for one person (see the module docstring).

    ``treadmill_speed_m_s``: the belt's speed, for walking in place (speed and step length).
    """
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
    found = None
    if chosen is not None and stretches[chosen][1] - stretches[chosen][0] + 1 >= MIN_FRAMES:
        a, b = stretches[chosen]
        found = _analyse(fr, a, b, compute_body_size(series, fr, slice(a, b + 1)), valid)
        reason[a:b + 1] = found.reason[a:b + 1]
    passes = found.passes if found else []
    events = found.events if found else []
    body = found.body if found else np.full((n, 2), np.nan)
    used = reason == ""
    scale = scale_m_per_px if fr.pixel else 1.0

    def figures(include) -> GaitParameters:
        return compute_parameters(events, passes, fr, body, include=include, scale=scale,
                                  treadmill_speed_m_s=treadmill_speed_m_s)

    headline = tuple(k for k, p in enumerate(passes) if p.direction != "backward")
    by_direction = {d: figures({k for k, p in enumerate(passes) if p.direction == d})
                    for d in sorted({p.direction for p in passes})}
    params = figures(set(headline))
    strides = compute_strides([e for e in events if e.pass_index in headline])
    directions = sorted({p.direction for p in passes})
    direction = directions[0] if len(directions) == 1 else ("mixed" if directions else "unknown")
    quality = compute_quality(series, fr, params, strides, used, switches, passes,
                              found.pelvis if found else None, scale,
                              rejected=found.rejected if found else {}, treadmill_speed=treadmill_speed_m_s)
    return GaitReport(tuple(events), params, direction, tuple(passes), used, _excluded(reason, series.t_s),
                      tuple(switches), quality, tuple(compute_cycles(series, strides)),
                      "pixel_px" if fr.pixel else "world_m", np.asarray(series.t_s, float),
                      by_direction, tuple(figures({k}) for k in range(len(passes))), headline)


def detect_walking(series: LandmarkSeries, /) -> bool:
    """True when some stretch of the series shows a person walking (>= 1 step in a pass)."""
    if len(series) < 3:
        return False
    report = compute_gait(series)
    return bool(report.passes) and any(p.n_steps >= 1 for p in report.pass_parameters)
