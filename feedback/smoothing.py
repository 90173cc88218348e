"""Gap filling and smoothing of time series (joint angles, landmark coordinates, breath).

Three tools, all pure numpy/scipy, none of which mutates its input:

- :func:`fill_gaps` linearly interpolates short runs of NaN (a landmark lost for a few
  frames) and leaves longer runs unknown. A gap's length is the time the value was
  missing: from the first missing sample to the last one, plus one median frame period
  (so at 30 fps, 3 missing frames are a 0.1 s gap). Leading and trailing NaN are never
  filled: there is nothing on one side to interpolate from.
- :class:`OneEuroFilter` is the causal, adaptive low-pass filter of Casiez, Roussel and
  Vogel (CHI 2012) for live use: a first-order low-pass whose cutoff rises with the speed
  of the signal, so slow movements are smoothed hard and fast ones follow with little lag.
  :func:`smooth_one_euro` runs it over a whole recording (still causal).
- :func:`smooth_butterworth` is the zero-lag offline filter of biomechanics: a Butterworth
  low-pass run forward and backward (``scipy.signal.sosfiltfilt``), applied to each finite
  run separately. It assumes a near-uniform sampling rate (the rate used is the median of
  the time steps; a warning is logged when steps vary by more than 20 %).

:class:`FilterSettings` names a filter and its parameters, for ``summary.json`` and for
:func:`smooth`, which applies one by name.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal

from core.errors import InputError, ValidationError

logger = logging.getLogger(__name__)

DEFAULT_MAX_GAP_S = 0.2
# Time steps may vary this much around their median before the Butterworth filter warns.
RATE_JITTER_TOLERANCE = 0.2
_TIME_TOLERANCE_S = 1e-9


def _as_time(t_s, n: int | None = None) -> np.ndarray:
    t = np.asarray(t_s, dtype=float)
    if t.ndim != 1:
        raise InputError(f"Expected 't_s' to have 1 dimension, but got {t.ndim}.")
    if n is not None and t.shape[0] != n:
        raise InputError(
            f"Expected 't_s' and 'values' to have the same number of samples, but got "
            f"{t.shape[0]} and {n}."
        )
    if t.shape[0] > 1 and not np.all(np.diff(t) > 0):
        raise InputError("Expected 't_s' to increase strictly from sample to sample; sort the samples "
                         "or drop repeated times first.")
    return t


def _as_values(values) -> tuple[np.ndarray, bool]:
    """(T, K) float copy and whether the input was 1-D."""
    v = np.array(values, dtype=float, copy=True)
    if v.ndim == 1:
        return v[:, None], True
    if v.ndim != 2:
        raise InputError(f"Expected 'values' to have 1 or 2 dimensions (T,) or (T, K), but got {v.ndim}.")
    return v, False


def compute_true_runs(mask, /) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the runs of True in a 1-D boolean array."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def fill_gaps(t_s, values, /, *, max_gap_s: float = DEFAULT_MAX_GAP_S) -> np.ndarray:
    """Linearly interpolate runs of NaN lasting at most ``max_gap_s``; longer runs stay NaN.

    ``values`` is (T,) or (T, K) (each column filled on its own); the result has its shape.
    ``t_s`` must increase strictly wherever a gap is filled (it is checked only then, so
    an all-unknown series with placeholder times passes through).
    """
    v, was_1d = _as_values(values)
    t = np.asarray(t_s, dtype=float)
    if t.shape != (v.shape[0],):
        raise InputError(
            f"Expected 't_s' of shape ({v.shape[0]},) to match 'values', but got {t.shape}."
        )
    if max_gap_s < 0:
        raise ValidationError(f"Expected 'max_gap_s' >= 0, but got {max_gap_s}.")
    if t.shape[0] < 3:
        return v[:, 0] if was_1d else v
    period_s: float | None = None
    for k in range(v.shape[1]):
        column = v[:, k]
        missing = ~np.isfinite(column)
        for start, stop in compute_true_runs(missing):
            if start == 0 or stop == len(column):
                continue  # no known value on one side
            if period_s is None:  # times are checked once there is something to fill
                period_s = float(np.median(np.diff(_as_time(t))))
            gap_s = t[stop - 1] - t[start] + period_s
            if gap_s <= max_gap_s + _TIME_TOLERANCE_S:
                column[start:stop] = np.interp(
                    t[start:stop], [t[start - 1], t[stop]], [column[start - 1], column[stop]]
                )
    return v[:, 0] if was_1d else v


def compute_one_euro_alpha(cutoff_hz, dt_s):
    """Smoothing factor of a first-order low-pass: ``1 / (1 + tau / dt)``, ``tau = 1 / (2 pi fc)``."""
    tau_s = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=float))
    return 1.0 / (1.0 + tau_s / np.asarray(dt_s, dtype=float))


class OneEuroFilter:
    """The 1-euro filter (Casiez et al. 2012), causal, one sample at a time.

    For each new sample ``x`` at ``t_s`` (``dt`` after the previous one):
    ``dx = (x - x_prev) / dt`` (``x_prev`` the previous raw sample), its low-passed value
    ``dx_hat = a(d_cutoff_hz) dx + (1 - a) dx_hat_prev``, the adaptive cutoff
    ``fc = min_cutoff_hz + beta * |dx_hat|`` and the output
    ``x_hat = a(fc) x + (1 - a) x_hat_prev``, with ``a(fc) = 1 / (1 + 1 / (2 pi fc dt))``.
    The first sample (and the first after a reset) passes through unchanged.

    ``value`` may be a scalar or an array (K,) whose elements are filtered independently.
    A NaN element gives NaN out and resets that element, so filtering restarts cleanly
    after the landmark comes back. ``beta`` is in 1 / (units of the value); for angles in
    degrees, ``beta=0.05`` raises the cutoff by 1 Hz at 20 deg/s.
    """

    def __init__(self, *, min_cutoff_hz: float = 1.0, beta: float = 0.05, d_cutoff_hz: float = 1.0):
        if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or beta < 0:
            raise ValidationError(
                f"Expected min_cutoff_hz > 0, d_cutoff_hz > 0 and beta >= 0, but got "
                f"{min_cutoff_hz}, {d_cutoff_hz} and {beta}."
            )
        self.min_cutoff_hz = float(min_cutoff_hz)
        self.beta = float(beta)
        self.d_cutoff_hz = float(d_cutoff_hz)
        self.reset()

    def reset(self) -> None:
        """Forget all state; the next sample passes through unchanged."""
        self._t_prev: np.ndarray | None = None
        self._x_prev: np.ndarray | None = None
        self._x_hat: np.ndarray | None = None
        self._dx_hat: np.ndarray | None = None
        self._started: np.ndarray | None = None

    def update(self, t_s: float, value):
        """Filter one sample taken at ``t_s`` seconds; returns the smoothed value (same shape)."""
        x = np.array(value, dtype=float, copy=True)
        scalar = x.ndim == 0
        x = np.atleast_1d(x)
        if self._x_hat is None or self._x_hat.shape != x.shape:
            shape = x.shape
            self._t_prev = np.full(shape, np.nan)
            self._x_prev = np.full(shape, np.nan)
            self._x_hat = np.full(shape, np.nan)
            self._dx_hat = np.zeros(shape)
            self._started = np.zeros(shape, dtype=bool)
        t = float(t_s)
        known = np.isfinite(x)
        out = np.full(x.shape, np.nan)
        # Elements seen before and still known: one step of the filter.
        step = known & self._started
        if step.any():
            dt = t - self._t_prev[step]
            if np.any(dt <= 0):
                raise InputError(
                    f"Expected increasing times in OneEuroFilter.update, but got {t} after "
                    f"{np.max(self._t_prev[step])}; reset the filter when the clock restarts."
                )
            dx = (x[step] - self._x_prev[step]) / dt
            a_d = compute_one_euro_alpha(self.d_cutoff_hz, dt)
            dx_hat = a_d * dx + (1.0 - a_d) * self._dx_hat[step]
            cutoff_hz = self.min_cutoff_hz + self.beta * np.abs(dx_hat)
            a = compute_one_euro_alpha(cutoff_hz, dt)
            out[step] = a * x[step] + (1.0 - a) * self._x_hat[step]
            self._dx_hat[step] = dx_hat
        # Elements starting (or restarting): pass through.
        first = known & ~self._started
        out[first] = x[first]
        self._dx_hat[first] = 0.0
        # Bookkeeping; unknown elements are reset.
        self._x_hat[known] = out[known]
        self._x_prev[known] = x[known]
        self._t_prev[known] = t
        self._started = known.copy()
        self._dx_hat[~known] = 0.0
        return float(out[0]) if scalar else out


def smooth_one_euro(t_s, values, /, **params) -> np.ndarray:
    """Run a fresh :class:`OneEuroFilter` (``params`` as its constructor) over a recording.

    ``values`` is (T,) or (T, K); the result has its shape. Causal: sample ``i`` of the
    output depends only on samples ``0..i``, exactly as live.
    """
    v, was_1d = _as_values(values)
    t = _as_time(t_s, v.shape[0])
    flt = OneEuroFilter(**params)
    out = np.empty_like(v)
    for i in range(v.shape[0]):
        out[i] = flt.update(t[i], v[i])
    return out[:, 0] if was_1d else out


def _butterworth_sos(cutoff_hz: float, order: int, rate_hz: float) -> np.ndarray:
    nyquist_hz = rate_hz / 2.0
    if not 0 < cutoff_hz < nyquist_hz:
        raise ValidationError(
            f"Expected a Butterworth cutoff between 0 and the Nyquist frequency {nyquist_hz:.3g} Hz "
            f"(half the {rate_hz:.3g} Hz sampling rate), but got {cutoff_hz} Hz; lower the cutoff."
        )
    if order < 1:
        raise ValidationError(f"Expected a Butterworth order >= 1, but got {order}.")
    return signal.butter(order, cutoff_hz, btype="low", fs=rate_hz, output="sos")


def _sosfiltfilt_min_length(sos: np.ndarray) -> int:
    """Shortest input ``sosfiltfilt`` accepts with its default padding (see scipy's docs)."""
    n_sections = sos.shape[0]
    zeros_b = int((sos[:, 2] == 0).sum())
    zeros_a = int((sos[:, 5] == 0).sum())
    padlen = 3 * (2 * n_sections + 1 - min(zeros_b, zeros_a))
    return padlen + 1


def smooth_butterworth(t_s, values, /, *, cutoff_hz: float = 6.0, order: int = 4) -> np.ndarray:
    """Zero-lag Butterworth low-pass (forward and backward), each finite run on its own.

    Needs a near-uniform sampling rate: the rate is ``1 / median(dt)``. Filtering twice
    squares the magnitude response, so the gain at ``cutoff_hz`` is 1/2 (-6 dB), not
    1/sqrt(2). Runs too short to filter (about ``6 * order`` samples) are returned as
    they are, and NaN stays NaN.
    """
    v, was_1d = _as_values(values)
    t = _as_time(t_s, v.shape[0])
    if t.shape[0] < 2:
        return v[:, 0] if was_1d else v
    steps = np.diff(t)
    period_s = float(np.median(steps))
    jitter = float(np.max(np.abs(steps - period_s)) / period_s)
    if jitter > RATE_JITTER_TOLERANCE:
        logger.warning("Butterworth filter on unevenly sampled data: time steps vary by %.0f %% "
                       "around %.4g s; resample first for exact cutoffs.", 100 * jitter, period_s)
    sos = _butterworth_sos(float(cutoff_hz), int(order), 1.0 / period_s)
    min_length = _sosfiltfilt_min_length(sos)
    out = v.copy()
    for k in range(v.shape[1]):
        for start, stop in compute_true_runs(np.isfinite(v[:, k])):
            if stop - start >= min_length:
                out[start:stop, k] = signal.sosfiltfilt(sos, v[start:stop, k])
    return out[:, 0] if was_1d else out


FILTERS = ("none", "one_euro", "butterworth")


@dataclass(frozen=True)
class FilterSettings:
    """A filter by name (``"none"``, ``"one_euro"``, ``"butterworth"``) and its keyword parameters."""

    name: str = "none"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in FILTERS:
            raise ValidationError(
                f"Expected a filter name among {', '.join(FILTERS)}, but got {self.name!r}."
            )

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description, e.g. ``{"filter": "butterworth", "cutoff_hz": 6.0, "order": 4}``."""
        return {"filter": self.name, **{k: self.params[k] for k in sorted(self.params)}}


def smooth(t_s, values, /, *, settings: FilterSettings) -> np.ndarray:
    """Apply the filter ``settings`` names to ``values`` (T,) or (T, K); returns a new array."""
    if settings.name == "one_euro":
        return smooth_one_euro(t_s, values, **settings.params)
    if settings.name == "butterworth":
        return smooth_butterworth(t_s, values, **settings.params)
    v, was_1d = _as_values(values)
    _as_time(t_s, v.shape[0])
    return v[:, 0] if was_1d else v
