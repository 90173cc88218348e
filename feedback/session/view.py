"""What a practice screen shows for one frame, as data: for a renderer that is not ours.

The clinic's station draws its view itself (:mod:`feedback.render_practice`); a patient's
browser at home draws the same things from :class:`PracticeView`, which the telehealth
server sends back for each frame: the cue sentence (from the catalogue), the tracked angle
on the gauge with its band, the comfortable range, the repetition count, the pacer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from feedback.cues import Cue
from feedback.session.stats import compute_range_band


@dataclass(frozen=True)
class GaugeView:
    value_deg: float | None  # None when unknown
    band: str | None  # comfortable | caution | beyond; None when unknown
    min_deg: float
    max_deg: float
    caution_margin_deg: float
    limits: str  # upper | lower | both | none: which end(s) are watched


@dataclass(frozen=True)
class PacerView:
    phase: str  # inhale | hold_after_inhale | exhale | hold_after_exhale
    size: float  # 0..1, the shape's size
    fraction: float  # 0..1 through the phase
    rate_bpm: float
    text: str  # "Breathe in", from the catalogue


@dataclass(frozen=True)
class PracticeView:
    cue_text: str | None
    cue_kind: str | None
    gauge: GaugeView | None
    repetitions: int | None
    target: int | None
    pacer: PacerView | None

    def as_dict(self) -> dict:
        """Plain values for JSON (as :func:`dataclasses.asdict`, without its deep copies: once a frame)."""
        return {"cue_text": self.cue_text, "cue_kind": self.cue_kind,
                "gauge": None if self.gauge is None else dict(vars(self.gauge)),
                "repetitions": self.repetitions, "target": self.target,
                "pacer": None if self.pacer is None else dict(vars(self.pacer))}


def compute_pacer_view(state, /) -> PacerView | None:
    """The pacer's state (:class:`feedback.pacer.PacerState`) for a renderer (None without a pacer)."""
    from feedback.messages import message

    if state is None:
        return None
    return PacerView(phase=state.phase, size=round(float(state.size), 4), fraction=round(float(state.fraction), 4),
                     rate_bpm=round(float(state.rate_bpm), 3), text=message(state.message_key))


def compute_practice_view(pipeline, angles: dict, cue: Cue | None, /) -> PracticeView:
    """The view of one frame from a :class:`~feedback.session.pipeline.PracticePipeline`, the
    frame's smoothed ``angles`` and the cue on screen."""
    safe, tracking = pipeline.safe, pipeline.exercise.tracking
    value = angles.get(pipeline.channel, math.nan)
    known = value is not None and math.isfinite(value)
    gauge = GaugeView(value_deg=round(float(value), 2) if known else None,
                      band=compute_range_band(float(value), safe, limits=tracking.limits) if known else None,
                      min_deg=safe.min_deg, max_deg=safe.max_deg, caution_margin_deg=safe.caution_margin_deg,
                      limits=tracking.limits)
    rep = pipeline.rep_engine
    return PracticeView(cue_text=cue.text() if cue is not None else None, cue_kind=cue.kind if cue is not None else None,
                        gauge=gauge, repetitions=rep.count if rep is not None else None,
                        target=pipeline.exercise.repetition.target if rep is not None else None,
                        pacer=compute_pacer_view(getattr(pipeline, "pacer_state", None)))
