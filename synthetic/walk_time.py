"""Clock time <-> the walker's body time, and how far the body has come: the knobs of
:func:`synthetic.simulate_walk` that make a walk irregular or pathological.

The walker's legs move on *body time* (one stride = ``stride_s`` of it) and its progression is
``S(body time)``. Warping the two gives, with analytic contact times throughout:

- stride-to-stride variability: each stride lasts ``1 + cv * N(0, 1)`` strides of clock time;
- festination (Parkinson's disease): cadence rising and steps shortening together, linearly
  from the start to the end of the walk (Morris et al. 1994, *Brain* 117:1169: festinating
  steps get quicker and shorter);
- freezing of gait: body time stops for ``freeze_s`` (the feet stay where they are, both on
  the ground: the freeze starts in double support, just after an initial contact), while the
  legs tremble at ``FREEZE_TREMBLE_HZ`` (3-8 Hz "trembling in place", Moore et al. 2008,
  *Mov Disord* 23:1257).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

FREEZE_TREMBLE_HZ = 5.0
FREEZE_TREMBLE_M = 0.01  # fore-aft amplitude of each foot's trembling, in antiphase
FREEZE_AFTER_CONTACT = 0.05  # the freeze starts this fraction of a stride after a contact (double support)

Warp = Callable[[np.ndarray], np.ndarray]


def _identity(t) -> np.ndarray:
    return np.asarray(t, dtype=float)


@dataclass(frozen=True)
class TimeWarp:
    """Clock -> body time and back (both monotone)."""

    to_body: Warp = _identity
    to_clock: Warp = _identity

    def then(self, other: "TimeWarp") -> "TimeWarp":
        """Apply ``self`` first (clock side), then ``other``."""
        return TimeWarp(lambda t: other.to_body(self.to_body(t)), lambda b: self.to_clock(other.to_clock(b)))


def variability_warp(duration_s: float, stride_s: float, cv_pct: float, rng: np.random.Generator) -> TimeWarp:
    """Each stride lasts ``1 + cv * N(0, 1)`` (clipped to 0.7-1.3) strides of clock time."""
    if cv_pct <= 0:
        return TimeWarp()
    from scipy.interpolate import PchipInterpolator

    n = int(math.ceil(duration_s / stride_s)) + 4
    factors = np.clip(1.0 + cv_pct / 100.0 * rng.standard_normal(n), 0.7, 1.3)
    clock = np.concatenate([[0.0], np.cumsum(factors * stride_s)]) - stride_s
    body = np.arange(n + 1) * stride_s - stride_s
    forward = PchipInterpolator(clock, body)
    grid = np.linspace(clock[0], clock[-1], 20 * n * 100)
    body_grid = forward(grid)
    return TimeWarp(forward, lambda tb: np.interp(tb, body_grid, grid))


def cadence_ramp_warp(duration_s: float, cadence_ratio: float) -> TimeWarp:
    """Cadence rising linearly from 1 to ``cadence_ratio`` times the start over the walk:
    body time runs at d(body)/dt = 1 + (ratio - 1) t / D (at the end rates held)."""
    if cadence_ratio == 1.0:
        return TimeWarp()
    k = (cadence_ratio - 1.0) / duration_s
    end = duration_s + k * duration_s ** 2 / 2

    def to_body(t):
        t = np.asarray(t, dtype=float)
        inside = t + k * np.clip(t, 0, duration_s) ** 2 / 2
        return np.where(t < 0, t, np.where(t > duration_s, end + cadence_ratio * (t - duration_s), inside))

    def to_clock(b):
        b = np.asarray(b, dtype=float)
        inside = (-1.0 + np.sqrt(np.maximum(1.0 + 2.0 * k * np.clip(b, 0, end), 0.0))) / k
        return np.where(b < 0, b, np.where(b > end, duration_s + (b - end) / cadence_ratio, inside))

    return TimeWarp(to_body, to_clock)


def freeze_warp(start_s: float, freeze_s: float) -> TimeWarp:
    """Body time stands still from clock ``start_s`` for ``freeze_s`` (applied first)."""
    if freeze_s <= 0:
        return TimeWarp()

    def to_body(t):
        t = np.asarray(t, dtype=float)
        return np.where(t < start_s, t, np.where(t < start_s + freeze_s, start_s, t - freeze_s))

    def to_clock(b):
        b = np.asarray(b, dtype=float)
        return np.where(b < start_s, b, b + freeze_s)

    return TimeWarp(to_body, to_clock)


@dataclass(frozen=True)
class Progression:
    """How far the body has come at body time ``tau``: steps shrink linearly from 1 to
    ``step_ratio`` of the first step length over body time 0..``tau_end`` (festination)."""

    speed_m_s: float
    step_ratio: float = 1.0
    tau_end: float = 1.0

    def ratio(self, tau) -> np.ndarray:
        """Step length at body time ``tau``, as a fraction of the first."""
        u = np.clip(np.asarray(tau, dtype=float) / self.tau_end, 0.0, 1.0)
        return 1.0 + (self.step_ratio - 1.0) * u

    def distance(self, tau) -> np.ndarray:
        tau = np.asarray(tau, dtype=float)
        c = (self.step_ratio - 1.0) / self.tau_end
        inside = tau + c * np.clip(tau, 0, self.tau_end) ** 2 / 2
        end = self.tau_end + c * self.tau_end ** 2 / 2
        value = np.where(tau < 0, tau, np.where(tau > self.tau_end, end + self.step_ratio * (tau - self.tau_end),
                                               inside))
        return self.speed_m_s * value


def freeze_start(freeze_at_s: float, contacts_body_s: np.ndarray, stride_s: float, warp: TimeWarp) -> float:
    """Clock time of the first double support (just after an initial contact) from ``freeze_at_s``."""
    tau = float(warp.to_body(np.asarray(freeze_at_s)))
    later = contacts_body_s[contacts_body_s + FREEZE_AFTER_CONTACT * stride_s >= tau]
    target = float(later.min()) + FREEZE_AFTER_CONTACT * stride_s if later.size else tau
    return float(warp.to_clock(np.asarray(target)))


def tremble(t_s: np.ndarray, start_s: float, freeze_s: float) -> np.ndarray:
    """(T,) fore-aft offset of the left foot during a freeze (the right foot gets minus it),
    rising and falling over one tremor period at each end."""
    if freeze_s <= 0:
        return np.zeros_like(t_s)
    u = t_s - start_s
    inside = (u >= 0) & (u <= freeze_s)
    ramp = np.clip(np.minimum(u, freeze_s - u) * FREEZE_TREMBLE_HZ, 0.0, 1.0)
    return np.where(inside, FREEZE_TREMBLE_M * ramp * np.sin(2 * np.pi * FREEZE_TREMBLE_HZ * u), 0.0)
