"""Strides, steps and the spatiotemporal parameters computed from them.

Cadence = 60 / mean step time (same pass, alternating sides, ``MIN_STEP_S`` to half of
``MAX_STRIDE_S``); strides = consecutive same-side initial contacts ``MIN_STRIDE_S`` to
``MAX_STRIDE_S`` apart in one pass; stance % from the own final contact inside the stride;
double support = initial + terminal double support; symmetry index = |L-R| / mean(L,R) x 100;
CV = SD / mean x 100. Speed = pelvis progression along each pass; step length = distance
between the leading points along the walking direction at initial contact.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from feedback.gait.events import FINAL_CONTACT, INITIAL_CONTACT, MIN_STRIDE_S, GaitEvent
from feedback.gait.frames import SIDES, FloorFrame, other_side
from feedback.gait.passes import GaitPass

MIN_STEP_S = 0.25  # a step shorter than this is a tracking glitch, not a step
MAX_STRIDE_S = 2.5


@dataclass(frozen=True)
class Stride:
    """One side's initial contact to its next, in one pass."""

    side: str
    t_start_s: float
    t_end_s: float
    frame_start: int
    frame_end: int
    stride_time_s: float
    pass_index: int
    stance_pct: float | None
    double_support_pct: float | None


@dataclass(frozen=True)
class Step:
    """One initial contact to the next of the other side, in one pass (``side`` = the later)."""

    side: str
    step_time_s: float
    frame: int
    frame_start: int
    pass_index: int


@dataclass(frozen=True)
class GaitParameters:
    """The figures of ``gait.json`` ``parameters`` (None = unknown)."""

    n_strides: int
    n_steps: int
    cadence_steps_per_min: float | None = None
    stride_time_s: float | None = None
    step_time_s: float | None = None
    stance_pct: float | None = None
    swing_pct: float | None = None
    double_support_pct: float | None = None
    step_time_left_s: float | None = None
    step_time_right_s: float | None = None
    stance_left_pct: float | None = None
    stance_right_pct: float | None = None
    step_time_symmetry_index_pct: float | None = None
    stance_symmetry_index_pct: float | None = None
    stride_time_cv_pct: float | None = None
    step_time_cv_pct: float | None = None
    gait_speed_m_s: float | None = None
    step_length_m: float | None = None
    stride_length_m: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def compute_strides(events: list[GaitEvent], /) -> list[Stride]:
    """Per side, consecutive initial contacts in one pass with the final contacts between."""
    out = []
    for side in SIDES:
        ics = sorted((e for e in events if e.side == side and e.kind == INITIAL_CONTACT), key=lambda e: e.t_s)
        for e0, e1 in zip(ics[:-1], ics[1:]):
            dur = e1.t_s - e0.t_s
            if e0.pass_index == e1.pass_index and MIN_STRIDE_S <= dur <= MAX_STRIDE_S:
                out.append(_stride(events, e0, e1))
    return out


def _stride(events: list[GaitEvent], e0: GaitEvent, e1: GaitEvent) -> Stride:
    side, dur = e0.side, e1.t_s - e0.t_s
    inside = [e for e in events if e.pass_index == e0.pass_index and e0.t_s < e.t_s < e1.t_s]
    own_fc = [e for e in inside if e.side == side and e.kind == FINAL_CONTACT]
    c_fc = [e for e in inside if e.side != side and e.kind == FINAL_CONTACT]
    c_ic = [e for e in inside if e.side != side and e.kind == INITIAL_CONTACT]
    stance = own_fc[0].t_s - e0.t_s if len(own_fc) == 1 else None
    ds = None
    if stance is not None and len(c_fc) >= 1 and len(c_ic) == 1:
        init = c_fc[0].t_s - e0.t_s
        term = own_fc[0].t_s - c_ic[0].t_s
        if 0 <= init <= stance and 0 <= term <= stance:
            ds = (init + term) / dur * 100.0
    return Stride(side, e0.t_s, e1.t_s, e0.frame, e1.frame, dur, e0.pass_index,
                  None if stance is None else stance / dur * 100.0, ds)


def compute_steps(events: list[GaitEvent], /) -> list[Step]:
    ics = sorted((e for e in events if e.kind == INITIAL_CONTACT), key=lambda e: e.t_s)
    out = []
    for e0, e1 in zip(ics[:-1], ics[1:]):
        dur = e1.t_s - e0.t_s
        if e0.pass_index == e1.pass_index and e0.side != e1.side and MIN_STEP_S <= dur <= MAX_STRIDE_S / 2:
            out.append(Step(e1.side, dur, e1.frame, e0.frame, e1.pass_index))
    return out


def _mean(x) -> float | None:
    x = [v for v in x if v is not None and math.isfinite(v)]
    return float(np.mean(x)) if x else None


def _si(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or (a + b) == 0:
        return None
    return float(abs(a - b) / (0.5 * (a + b)) * 100.0)


def _cv(x: list[float]) -> float | None:
    return float(np.std(x, ddof=1) / np.mean(x) * 100.0) if len(x) >= 2 else None


def _r(v: float | None, nd: int = 4):
    return None if v is None or not math.isfinite(v) else round(float(v), nd)


def compute_parameters(events: list[GaitEvent], passes: list[GaitPass], fr: FloorFrame, body: np.ndarray, *,
                       include: set[int] | None = None, scale: float | None = None,
                       treadmill_speed_m_s: float | None = None) -> GaitParameters:
    """Figures from the events of the passes in ``include`` (all when None).

    Speed: the body's progression over still ground; walking in place, ``treadmill_speed_m_s``
    when given, else (motion capture) the belt's speed read from the standing feet, else
    unknown. Step length: the leading points' separation at initial contact when a scale is
    known, else (in place, belt speed known) speed x step time.
    """
    chosen = set(range(len(passes))) if include is None else set(include)
    events = [e for e in events if e.pass_index in chosen]
    strides, steps = compute_strides(events), compute_steps(events)
    stride_t = [s.stride_time_s for s in strides]
    step_t = [s.step_time_s for s in steps]
    stance = [s.stance_pct for s in strides if s.stance_pct is not None]
    side = {
        s: {"step": _mean(x.step_time_s for x in steps if x.side == s),
            "stance": _mean(x.stance_pct for x in strides if x.side == s)}
        for s in SIDES
    }
    mean_step, mean_stride = _mean(step_t), _mean(stride_t)
    if mean_step is not None:
        cadence = 60.0 / mean_step
    else:
        cadence = None if mean_stride is None else 120.0 / mean_stride
    speed = _speed(events, [passes[k] for k in sorted(chosen)], fr, body, scale, treadmill_speed_m_s)
    step_length = _step_length(events, passes, fr, scale)
    if step_length is None and speed is not None and mean_step is not None \
            and all(passes[k].progression == "in_place" for k in chosen):
        step_length = speed * mean_step  # on a belt: the belt carries one step length per step
    return GaitParameters(
        n_strides=len(strides), n_steps=len(steps),
        cadence_steps_per_min=_r(cadence, 2), stride_time_s=_r(mean_stride), step_time_s=_r(mean_step),
        stance_pct=_r(_mean(stance), 2),
        swing_pct=_r(None if not stance else 100.0 - float(np.mean(stance)), 2),
        double_support_pct=_r(_mean(s.double_support_pct for s in strides), 2),
        step_time_left_s=_r(side["left"]["step"]), step_time_right_s=_r(side["right"]["step"]),
        stance_left_pct=_r(side["left"]["stance"], 2), stance_right_pct=_r(side["right"]["stance"], 2),
        step_time_symmetry_index_pct=_r(_si(side["left"]["step"], side["right"]["step"]), 2),
        stance_symmetry_index_pct=_r(_si(side["left"]["stance"], side["right"]["stance"]), 2),
        stride_time_cv_pct=_r(_cv(stride_t), 2), step_time_cv_pct=_r(_cv(step_t), 2),
        gait_speed_m_s=_r(speed, 3), step_length_m=_r(step_length, 3),
        stride_length_m=_r(None if speed is None or mean_stride is None else speed * mean_stride, 3),
    )


def _speed(events: list[GaitEvent], passes: list[GaitPass], fr: FloorFrame, body: np.ndarray,
           scale: float | None, treadmill_speed_m_s: float | None) -> float | None:
    """Mean speed (m/s) over the passes weighted by duration; None when a pass's is unknown."""
    total, weighted = 0.0, 0.0
    for p in passes:
        if p.progression == "overground":
            v = None if scale is None or p.speed is None else p.speed * scale
        elif treadmill_speed_m_s is not None:
            v = treadmill_speed_m_s
        else:
            v = None if fr.pixel else _belt_speed(events, p, fr, body)
        if v is None:
            return None
        total += p.t_end_s - p.t_start_s
        weighted += v * (p.t_end_s - p.t_start_s)
    return weighted / total if total > 0 else None


def _belt_speed(events: list[GaitEvent], p: GaitPass, fr: FloorFrame, body: np.ndarray) -> float | None:
    """Walking in place over a moving belt (world metres): how fast the standing foot moves back
    relative to the body, over the middle of its stance (foot flat: ~12-50 % of stance, Perry &
    Burnfield 2010)."""
    h = np.asarray(p.heading)
    own = sorted((e for e in events if p.t_start_s <= e.t_s <= p.t_end_s), key=lambda e: e.t_s)
    speeds = []
    for e in own:
        if e.kind != INITIAL_CONTACT:
            continue
        fc = [f.t_s for f in own if f.side == e.side and f.kind == FINAL_CONTACT and f.t_s > e.t_s]
        if not fc or fc[0] - e.t_s > MAX_STRIDE_S:
            continue
        stance = fc[0] - e.t_s
        mask = (fr.t_s >= e.t_s + stance * 0.12) & (fr.t_s <= e.t_s + stance * 0.5)
        rel = (fr.pos[e.landmark][mask] - body[mask]) @ h
        if rel.size >= 3 and np.isfinite(rel).all():
            speeds.append(-np.polyfit(fr.t_s[mask], rel, 1)[0])
    return float(np.median(speeds)) if speeds else None


def _step_length(events: list[GaitEvent], passes: list[GaitPass], fr: FloorFrame,
                 scale: float | None) -> float | None:
    """Mean separation of the leading points at initial contact (metres), None without a scale."""
    if scale is None:
        return None
    lengths = []
    for e in events:
        if e.kind != INITIAL_CONTACT:
            continue
        part = e.landmark.split("_", 1)[1]
        other = fr.pos[f"{other_side(e.side)}_{part}"][e.frame]
        d = (fr.pos[e.landmark][e.frame] - other) @ np.asarray(passes[e.pass_index].heading)
        if math.isfinite(d) and d > 0:
            lengths.append(d * scale)
    return _mean(lengths)
