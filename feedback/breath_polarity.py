"""Which way is an inhalation, from the waveform's shape (``polarity auto``), with a confidence.

Only for a signal whose physics gives no sign (``--signal auto`` or ``accelerometer``); a
known signal's polarity comes from :mod:`feedback.breath_signals`, and its shape is only
checked against it (a disagreement is a warning, never a flip).

The rule follows respiratory mechanics. Inhalation is active and exhalation passive: the lungs
empty like a spring letting go, quickly at first and then ever more slowly into the
**end-expiratory pause**, where the chest rests at its relaxed, exhaled level before the next
inhalation starts. So, on a volume-like wave:

1. **Dwell.** The wave spends more time near its exhaled extreme than near its inhaled one
   (the pause, and the slow tail of the exhale; an end-inspiratory pause is brief or absent
   in spontaneous breathing). Per cycle: time within a quarter of the swing of the low level
   against time within a quarter of the high level.
2. **Speed.** The passage from one level to the other (20 % to 80 % of the way, which does not
   depend on where a turning point sits along a flat pause) is quicker into inspiration than
   out of it.

Each cycle (one rise and one fall) scores ``(dwell + speed) / 2`` in -1..1 (positive: the
rise is the inhalation); the polarity is the sign of the median score and the **confidence**
is the share of cycles whose score agrees with it. The former rule, "the inhalation is the
shorter of the two phases between turning points", failed where the turning point of a flat
pause sat at its start: an impedance wave with a fast rise and a long flat pause at its low
level measured a long "rise" and was called inverted.

Breathing that is symmetric by design (box breathing, a long held inhalation) gives a low
confidence, reported as a warning: set ``--signal`` or ``--polarity`` then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feedback.breath_detect import Swing

LOW_CONFIDENCE = 0.8  # fewer than 4 cycles in 5 agreeing: say so
TIE_SCORE = 0.05  # a cycle scoring within this of 0 is a tie (half a vote each way)


@dataclass(frozen=True)
class PolarityDecision:
    polarity: str  # "normal" | "inverted"
    confidence: float  # share of cycles agreeing, 0.5-1 (NaN without cycles)
    cycles: int
    score: float  # the median cycle score (positive: a rise is an inhalation)

    @property
    def low(self) -> bool:
        return not self.confidence >= LOW_CONFIDENCE


def compute_cycle_scores(swings: list[Swing], /) -> list[float]:
    """One score per rise-and-fall pair of consecutive swings (see the module docstring)."""
    scores = []
    i = 0
    while i + 1 < len(swings):
        a, b = swings[i], swings[i + 1]
        if a.direction == b.direction or a.t0_s == a.t1_s or b.t0_s == b.t1_s:
            i += 1
            continue
        rise, fall = (a, b) if a.direction > 0 else (b, a)
        parts = []
        low, high = rise.low_s + fall.low_s, rise.high_s + fall.high_s
        if low + high > 0:
            parts.append((low - high) / (low + high))
        if rise.transition_s > 0 and fall.transition_s > 0:
            parts.append((fall.transition_s - rise.transition_s) / (fall.transition_s + rise.transition_s))
        if parts:
            scores.append(float(np.mean(parts)))
        i += 2
    return scores


def decide_polarity(swings: list[Swing], /) -> PolarityDecision:
    """The polarity the shapes of ``swings`` point to, with its confidence."""
    scores = np.asarray(compute_cycle_scores(swings))
    if scores.size == 0:
        return PolarityDecision("normal", math.nan, 0, math.nan)
    median = float(np.median(scores))
    sign = 1.0 if median >= 0 else -1.0
    votes = np.where(np.abs(scores) < TIE_SCORE, 0.5, (np.sign(scores) == sign).astype(float))
    return PolarityDecision("normal" if sign > 0 else "inverted", float(np.mean(votes)), int(scores.size), median)
