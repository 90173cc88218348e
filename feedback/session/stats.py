"""Running statistics of one angle over a session: extremes, time known, time in range."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.ranges import SafeRange

MAX_ACTIVE_GAP_S = 0.5  # a longer gap between known samples does not count as active time


def is_within_range(value_deg: float, safe: SafeRange, /, *, limits: str = "both") -> bool:
    """Whether ``value_deg`` is inside ``safe`` at the watched end(s) only (``limits``: upper,
    lower, both or none), as :class:`feedback.engines.RangeEngine` judges it: an arm resting
    below the lower end of a range whose upper end alone is watched is within range."""
    if limits in ("upper", "both") and value_deg > safe.max_deg:
        return False
    if limits in ("lower", "both") and value_deg < safe.min_deg:
        return False
    return True


@dataclass
class AngleStats:
    """Running min/max of one angle, and time within a range (time-weighted), judged at the
    watched end(s) ``limits`` only."""

    min_deg: float = math.inf
    max_deg: float = -math.inf
    known_s: float = 0.0
    in_range_s: float = 0.0
    exceeded: bool = False
    limits: str = "both"
    frames_known: int = 0
    frames_assumed_upright: int = 0  # known frames measured against gravity (hips out of view)
    _last_t: float | None = None

    def update(self, t_s: float, value: float, /, *, safe: SafeRange | None = None,
               assumed_upright: bool = False) -> None:
        if not math.isfinite(value):
            self._last_t = None
            return
        self.frames_known += 1
        self.frames_assumed_upright += bool(assumed_upright)
        self.min_deg, self.max_deg = min(self.min_deg, value), max(self.max_deg, value)
        inside = safe is None or is_within_range(value, safe, limits=self.limits)
        if safe is not None and not inside:
            self.exceeded = True
        if self._last_t is not None:
            dt = t_s - self._last_t
            if 0 < dt <= MAX_ACTIVE_GAP_S:
                self.known_s += dt
                self.in_range_s += dt if inside else 0.0
        self._last_t = t_s

    @property
    def seen(self) -> bool:
        return math.isfinite(self.min_deg)

    def time_in_range_pct(self) -> float | None:
        """None when nothing was known, or when no end is watched (``limits="none"``)."""
        if self.limits == "none" or self.known_s <= 0:
            return None
        return 100.0 * self.in_range_s / self.known_s



def compute_percentile(values: Sequence[float], q: float, /) -> float | None:
    """The ``q``-th percentile of ``values`` (None when empty)."""
    return float(np.percentile(values, q)) if len(values) else None


def compute_range_band(value_deg: float, safe: SafeRange, /, *, limits: str = "both") -> str:
    """Where ``value_deg`` sits on the gauge, at the watched end(s) only (as the practice
    renderer colours it): ``beyond`` the comfortable range, in the ``caution`` margin before
    it, or ``comfortable``."""
    upper, lower = limits in ("upper", "both"), limits in ("lower", "both")
    if (upper and value_deg > safe.max_deg) or (lower and value_deg < safe.min_deg):
        return "beyond"
    if (upper and value_deg >= safe.max_deg - safe.caution_margin_deg) or (
            lower and value_deg <= safe.min_deg + safe.caution_margin_deg):
        return "caution"
    return "comfortable"
