"""The breath analysis' results: onsets, breaths and excluded stretches (frozen records)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BreathEvent:
    """An inhalation or exhalation onset; ``value`` is the signal's level there."""

    kind: str  # "inhale_onset" | "exhale_onset"
    t_s: float
    value: float


@dataclass(frozen=True)
class Breath:
    """One breath: inhalation onset, exhalation onset, and the next inhalation onset."""

    inhale_onset_s: float
    exhale_onset_s: float
    end_s: float | None
    amplitude: float  # peak minus trough, in the input's units

    @property
    def inhale_s(self) -> float:
        return self.exhale_onset_s - self.inhale_onset_s

    @property
    def exhale_s(self) -> float | None:
        return None if self.end_s is None else self.end_s - self.exhale_onset_s

    @property
    def duration_s(self) -> float | None:
        return None if self.end_s is None else self.end_s - self.inhale_onset_s


@dataclass(frozen=True)
class ExcludedSegment:
    """A stretch of signal that is not breathing: never a breath, never inside one.

    ``reason``: ``"flat_line"`` (the value did not change: a sensor off the body or
    disconnected), ``"clipping"`` (held at the top or bottom of the range), ``"jump"``
    (a step faster than breathing can move that left the level changed: ADC wrap-around or
    a sensor knock), ``"spike"`` (a fast excursion that came back; bridged), ``"motion"``
    (a burst of fast movement lasting longer than a spike).
    """

    start_s: float
    end_s: float
    reason: str

    def as_dict(self) -> dict:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "reason": self.reason}


@dataclass(frozen=True)
class BreathAnalysis:
    """The offline result: every complete breath, every onset, excluded stretches, a summary."""

    breaths: list[Breath]
    events: list[BreathEvent]
    summary: dict
    polarity: str
    excluded: list[ExcludedSegment]
