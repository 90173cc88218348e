"""The breathing guide (pacer) and how well breathing follows it.

A :class:`PacerPlan` says what to breathe: a rate, an exhale/inhale ratio (``ie_ratio=2.0``
is inhale:exhale 1:2), optional holds after the inhale and after the exhale (box breathing
4-4-4-4 is :meth:`PacerPlan.box`), and an optional ramp from the patient's own resting rate
towards the target.

:class:`Pacer` turns the plan into a waveform: ``Pacer.state(t_s)`` gives the phase, how far
through it (0..1), and the size of the on-screen shape (0..1, cosine eased so it grows and
shrinks smoothly, never jumps). During a ramp the rate changes linearly with time; the
breath phase is the integral of the instantaneous rate, so the guide never jumps either.
The phase proportions (inhale, holds, exhale) are those of the target cycle, scaled to the
current cycle length during the ramp.

:class:`PacerScorer` compares the breath phase measured from a belt with the guide's phase:
agreement in % of the time both are known (holds excluded: a belt cannot tell a hold from a
slow breath), the rate difference, and at most one gentle cue key every ``cue_interval_s``.
Each call accounts the time since the previous one, at most ``MAX_SCORED_STEP_S``: a caller
that skipped frames while the breath was unknown does not hand that gap to the next frame.
The recent window keeps running sums (constant work per call, memory bounded by the window).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from core.errors import ValidationError

INHALE, HOLD_IN, EXHALE, HOLD_OUT = "inhale", "hold_after_inhale", "exhale", "hold_after_exhale"
MESSAGE_KEYS = {INHALE: "breath.breathe_in", HOLD_IN: "breath.hold",
                EXHALE: "breath.breathe_out", HOLD_OUT: "breath.hold"}
MIN_RATE_BPM, MAX_RATE_BPM = 2.0, 30.0
MAX_SCORED_STEP_S = 0.5  # the most time one scorer update accounts (frames come every 0.03-0.1 s)


@dataclass(frozen=True)
class PacerPlan:
    rate_bpm: float = 6.0
    ie_ratio: float = 2.0  # exhale / inhale
    hold_after_inhale_s: float = 0.0
    hold_after_exhale_s: float = 0.0
    ramp_from_bpm: float | None = None
    ramp_s: float = 180.0

    def __post_init__(self) -> None:
        for name, rate in (("rate", self.rate_bpm), ("ramp start rate", self.ramp_from_bpm)):
            if rate is not None and not MIN_RATE_BPM <= rate <= MAX_RATE_BPM:
                raise ValidationError(f"A pacer {name} is between {MIN_RATE_BPM:g} and {MAX_RATE_BPM:g} "
                                      f"breaths/min, but got {rate:g}.")
        if not self.ie_ratio > 0:
            raise ValidationError(f"The exhale/inhale ratio must be positive (1:2 is 2.0), but got {self.ie_ratio:g}.")
        if self.hold_after_inhale_s < 0 or self.hold_after_exhale_s < 0 or self.ramp_s < 0:
            raise ValidationError("Pacer holds and ramp are durations in seconds, zero or more.")
        if self.breathing_s <= 0:
            raise ValidationError(f"The holds ({self.hold_after_inhale_s:g} s + {self.hold_after_exhale_s:g} s) "
                                  f"leave no time to breathe in a {self.cycle_s:g} s cycle; lower the rate or the holds.")

    @classmethod
    def box(cls, inhale_s: float = 4, hold_in_s: float = 4, exhale_s: float = 4, hold_out_s: float = 4,
            **options) -> "PacerPlan":
        """Box breathing: four durations in seconds (4-4-4-4 by default)."""
        if inhale_s <= 0 or exhale_s <= 0:
            raise ValidationError(f"Box breathing needs inhale and exhale times above 0 s, but got {inhale_s:g} and {exhale_s:g}.")
        cycle = inhale_s + hold_in_s + exhale_s + hold_out_s
        return cls(rate_bpm=60.0 / cycle, ie_ratio=exhale_s / inhale_s, hold_after_inhale_s=hold_in_s,
                   hold_after_exhale_s=hold_out_s, **options)

    @property
    def cycle_s(self) -> float:
        return 60.0 / self.rate_bpm

    @property
    def breathing_s(self) -> float:
        return self.cycle_s - self.hold_after_inhale_s - self.hold_after_exhale_s

    @property
    def inhale_s(self) -> float:
        return self.breathing_s / (1.0 + self.ie_ratio)

    @property
    def exhale_s(self) -> float:
        return self.breathing_s - self.inhale_s

    def segments(self) -> list[tuple[str, float]]:
        """(phase, fraction of the cycle) in order; zero-length holds left out."""
        parts = [(INHALE, self.inhale_s), (HOLD_IN, self.hold_after_inhale_s),
                 (EXHALE, self.exhale_s), (HOLD_OUT, self.hold_after_exhale_s)]
        return [(name, d / self.cycle_s) for name, d in parts if d > 0]


def parse_ratio(text: str, /) -> float:
    """``"1:2"`` -> 2.0 (exhale over inhale)."""
    try:
        inhale, exhale = (float(p) for p in text.split(":"))
    except ValueError as exc:
        raise ValidationError(f"Expected an inhale:exhale ratio like 1:2, but got {text!r}.") from exc
    if inhale <= 0 or exhale <= 0:
        raise ValidationError(f"Both sides of the ratio must be above 0, but got {text!r}.")
    return exhale / inhale


def parse_box(text: str, /) -> tuple[float, float, float, float]:
    """``"4-4-4-4"`` -> (inhale, hold, exhale, hold) seconds."""
    try:
        parts = tuple(float(p) for p in text.split("-"))
    except ValueError as exc:
        raise ValidationError(f"Expected box breathing as four seconds like 4-4-4-4, but got {text!r}.") from exc
    if len(parts) != 4 or any(p < 0 for p in parts):
        raise ValidationError(f"Expected box breathing as four seconds like 4-4-4-4, but got {text!r}.")
    return parts  # type: ignore[return-value]


@dataclass(frozen=True)
class PacerState:
    phase: str  # inhale | hold_after_inhale | exhale | hold_after_exhale
    fraction: float  # 0..1 within the phase
    size: float  # 0..1, the on-screen shape
    message_key: str
    cycle: int  # completed cycles so far
    rate_bpm: float  # the guide's rate now (changes during a ramp)

    @property
    def breath_phase(self) -> str:
        """The phase in the analyzer's words: inhale, exhale or pause."""
        return {INHALE: "inhale", EXHALE: "exhale"}.get(self.phase, "pause")


class Pacer:
    """The guide's waveform over time since the start of the session (see the module docstring)."""

    def __init__(self, plan: PacerPlan, /) -> None:
        self.plan = plan
        self._segments = plan.segments()

    def rate_at(self, t_s: float) -> float:
        plan = self.plan
        if plan.ramp_from_bpm is None or plan.ramp_s <= 0 or t_s >= plan.ramp_s:
            return plan.rate_bpm
        t = max(0.0, t_s)
        return plan.ramp_from_bpm + (plan.rate_bpm - plan.ramp_from_bpm) * t / plan.ramp_s

    def cycles_at(self, t_s: float) -> float:
        """Breath cycles guided from 0 to ``t_s``: the integral of the rate (analytic)."""
        plan = self.plan
        t = max(0.0, t_s)
        if plan.ramp_from_bpm is None or plan.ramp_s <= 0:
            return plan.rate_bpm * t / 60.0
        r0, r1, T = plan.ramp_from_bpm, plan.rate_bpm, plan.ramp_s
        if t <= T:
            return (r0 * t + (r1 - r0) * t * t / (2.0 * T)) / 60.0
        return ((r0 + r1) * T / 2.0 + r1 * (t - T)) / 60.0

    def state(self, t_s: float) -> PacerState:
        cycles = self.cycles_at(t_s)
        n = math.floor(cycles)
        within = cycles - n
        start = 0.0
        for name, share in self._segments:
            if within < start + share or name == self._segments[-1][0]:
                fraction = min(1.0, max(0.0, (within - start) / share))
                break
            start += share
        eased = (1.0 - math.cos(math.pi * fraction)) / 2.0
        size = {INHALE: eased, HOLD_IN: 1.0, EXHALE: 1.0 - eased, HOLD_OUT: 0.0}[name]
        return PacerState(phase=name, fraction=fraction, size=size, message_key=MESSAGE_KEYS[name],
                          cycle=n, rate_bpm=self.rate_at(t_s))


@dataclass(frozen=True)
class PacerScore:
    agreement_pct: float | None  # over the whole session so far
    recent_agreement_pct: float | None  # over the last ``window_s``
    rate_difference_bpm: float | None  # measured minus guided (positive: faster than the guide)
    cue_key: str | None  # a gentle cue to show now, if any


@dataclass
class PacerScorer:
    """Phase agreement between the guide and the measured breath, and gentle cues."""

    window_s: float = 60.0
    cue_interval_s: float = 30.0
    settle_s: float = 20.0  # no cue before this much compared time
    faster_by_bpm: float = 1.5  # "a little slower" when faster than the guide by this
    short_exhale_fraction: float = 0.75  # "longer exhale" when E/I is below this share of the target
    low_agreement_pct: float = 40.0
    good_agreement_pct: float = 75.0
    max_step_s: float = MAX_SCORED_STEP_S
    _agree_s: float = field(default=0.0, repr=False)
    _known_s: float = field(default=0.0, repr=False)
    _recent: deque = field(default_factory=deque, repr=False)  # (t_s, dt, agree), within window_s
    _recent_known_s: float = field(default=0.0, repr=False)
    _recent_agree_s: float = field(default=0.0, repr=False)
    _last_t: float | None = field(default=None, repr=False)
    _last_cue_t: float = field(default=-math.inf, repr=False)
    _last_cue_key: str | None = field(default=None, repr=False)
    cues: list[tuple[float, str]] = field(default_factory=list)
    rate_difference_bpm: float | None = field(default=None, repr=False)  # the latest one

    def update(self, t_s: float, pacer_phase: str, breath_phase: str, /, *,
               breath_rate_bpm: float | None = None, pacer_rate_bpm: float | None = None,
               ie_ratio: float | None = None, target_ie_ratio: float | None = None,
               choose_cue: bool = True) -> PacerScore:
        """Account the time since the last call (at most ``max_step_s``); ``pacer_phase`` may
        be a PacerState phase. ``choose_cue=False``: no cue is chosen (none is shown)."""
        guided = {INHALE: "inhale", EXHALE: "exhale", "inhale": "inhale", "exhale": "exhale"}.get(pacer_phase)
        dt = 0.0 if self._last_t is None else min(max(0.0, t_s - self._last_t), self.max_step_s)
        self._last_t = t_s
        if guided is not None and breath_phase in ("inhale", "exhale", "pause") and dt > 0:
            agree = breath_phase == guided
            self._known_s += dt
            self._agree_s += dt if agree else 0.0
            self._recent.append((t_s, dt, agree))
            self._recent_known_s += dt
            self._recent_agree_s += dt if agree else 0.0
        while self._recent and self._recent[0][0] < t_s - self.window_s:
            _, old_dt, old_agree = self._recent.popleft()
            self._recent_known_s -= old_dt
            self._recent_agree_s -= old_dt if old_agree else 0.0
        if not self._recent:  # no rounding left over from the running sums
            self._recent_known_s = self._recent_agree_s = 0.0
        rate_diff = None
        if breath_rate_bpm is not None and pacer_rate_bpm is not None and math.isfinite(breath_rate_bpm):
            rate_diff = breath_rate_bpm - pacer_rate_bpm
            self.rate_difference_bpm = rate_diff
        recent = self.recent_agreement_pct
        cue = self._choose_cue(t_s, rate_diff, recent, ie_ratio, target_ie_ratio) if choose_cue else None
        return PacerScore(self.agreement_pct, recent, rate_diff, cue)

    @property
    def agreement_pct(self) -> float | None:
        return 100.0 * self._agree_s / self._known_s if self._known_s > 0 else None

    @property
    def recent_agreement_pct(self) -> float | None:
        known = self._recent_known_s
        return min(100.0, max(0.0, 100.0 * self._recent_agree_s / known)) if known > 1e-9 else None

    def _choose_cue(self, t_s, rate_diff, recent, ie_ratio, target_ie_ratio) -> str | None:
        if self._known_s < self.settle_s or t_s - self._last_cue_t < self.cue_interval_s:
            return None
        key = None
        if rate_diff is not None and rate_diff > self.faster_by_bpm:
            key = "breath.slower"
        elif (ie_ratio is not None and target_ie_ratio is not None and math.isfinite(ie_ratio)
              and ie_ratio < self.short_exhale_fraction * target_ie_ratio):
            key = "breath.longer_exhale"
        elif recent is not None and recent < self.low_agreement_pct:
            key = "breath.follow_guide"
        elif recent is not None and recent >= self.good_agreement_pct and self._last_cue_key != "breath.lovely_rhythm":
            key = "breath.lovely_rhythm"
        if key is not None:
            self._last_cue_t, self._last_cue_key = t_s, key
            self.cues.append((t_s, key))
        return key
