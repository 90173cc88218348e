"""Breaths relative to their neighbours: turning points of a breathing wave and their timing.

**Detection** (:class:`SwingDetector`). A breath is a rise and a fall, each at least
``SWING_FRACTION`` (0.3) of the LOCAL breath amplitude: the median height of the last
``AMPLITUDE_SWINGS`` confirmed swings (rises and falls). The detector follows the wave
(a zig-zag): going up, it keeps the highest value seen; once the wave has come down from it by
the threshold, that highest point is confirmed as a peak, and the other way round for a
trough. There is no global threshold and no midline to cross, so small quick breaths between
big ones, breaths riding on a drifting baseline and single big sighs all count once, and a
sigh does not hide its neighbours (one big swing moves a median of ten little).

Why 0.3: a breath smaller than the anatomical dead space (about 2.2 mL/kg, some 150 mL, 0.3 of
a resting tidal volume of about 7 mL/kg, 450-500 mL) moves no fresh gas to the alveoli: it
shows on a belt but not on a capnogram, and clinical references do not count it. What moves a
belt or an impedance trace by less is something else: cardiogenic oscillations and speech or
swallowing ripples (typically a tenth to a fifth of a breath once low-passed at 1.2 Hz). The
same 0.3 of the median swing is NeuroKit2's ``khodadad2018`` outlier rule and the "Count-adv"
threshold of Schäfer & Kratky (2008), both applied to the whole recording; here it is local.

**Timing** (:func:`refine_turning_time`): on the wave between the previous turning point and
the confirmation, filtered zero-phase (no delay), the turning point is the vertex of a
two-sided parabola fit (:func:`compute_corner_time`) to the samples within ``ONSET_BAND``
(0.2) of the local amplitude of the extreme: for a rounded trough the bottom; for a flat
end-expiratory pause followed by a rise, the end of the pause (the flat side fits a flat arm),
never the lowest sample of the plateau. On an ``edge`` signal (capnography) the onset is the
foot of the edge: walking back from its steepest point to where the slope falls below
``EDGE_FOOT_SLOPE_FRACTION`` (0.2) of the steepest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

SWING_FRACTION = 0.3  # rise and fall each >= this share of the local amplitude (dead space, see above)
AMPLITUDE_SWINGS = 10  # the local amplitude: median of this many recent swings (about 5 breaths)
ONSET_BAND = 0.2  # samples within this share of the local amplitude of an extreme are fitted
ONSET_LOWPASS_HZ = 4.0  # the zero-phase filter under the timing (breath edges have little above)
EDGE_FOOT_SLOPE_FRACTION = 0.2  # the foot of an edge: where its slope falls below this share
EDGE_FLATNESS = 6.0  # see _is_edge: 2 for any parabola, far more for a flat stretch and an edge
MAX_FIT_S = 12.0  # the fit covers at most this much (a long pause: its end is what matters)
EDGE_S = 0.5  # no turning point this close to the start of a run (the filter's settling)
QUARTER = 0.25  # "near the low / high level": within a quarter of the swing (polarity evidence)


@dataclass(frozen=True)
class Swing:
    """One confirmed rise (``direction`` +1, trough to peak) or fall (-1, peak to trough)."""

    direction: int
    t0_s: float
    t1_s: float  # the refined time of the turning point that ends it
    v0: float
    v1: float
    transition_s: float  # from 20 % to 80 % of the way (NaN if not measurable)
    low_s: float  # time within a quarter of the swing's low end
    high_s: float  # time within a quarter of its high end

    @property
    def height(self) -> float:
        return abs(self.v1 - self.v0)


class SwingDetector:
    """The zig-zag of the module docstring, one sample at a time (analysis rate).

    ``update(t_s, y, z)``: ``y`` the detection-filtered wave, ``z`` the same sample lightly
    filtered (for timing). Returns a confirmed :class:`Swing` ending at a refined turning
    point, or None. ``reset()`` at a gap: the direction is forgotten, the amplitude kept.
    """

    def __init__(self, *, rate_hz: float, shape: str, amplitude: float,
                 swing_fraction: float = SWING_FRACTION, onset_lowpass_hz: float = ONSET_LOWPASS_HZ) -> None:
        self.rate_hz = rate_hz
        self.shape = shape
        self.swing_fraction = swing_fraction
        self.heights: list[float] = []
        self.initial_amplitude = float(amplitude)
        self._amplitude_cache: tuple[int, float] | None = None
        cutoff = min(onset_lowpass_hz, 0.4 * rate_hz)
        self._sos = signal.butter(2, cutoff, btype="low", fs=rate_hz, output="sos")
        self.reset()

    @property
    def amplitude(self) -> float:
        """The local breath amplitude (median of the recent swings; the start-up estimate
        until three are known)."""
        if len(self.heights) < 3:
            return self.initial_amplitude
        if self._amplitude_cache is None or self._amplitude_cache[0] != len(self.heights):
            self._amplitude_cache = (len(self.heights), float(np.median(self.heights[-AMPLITUDE_SWINGS:])))
        return self._amplitude_cache[1]

    def reset(self) -> None:
        self._dir = 0  # +1 going up (tracking a peak), -1 going down, 0 unknown
        self._t: list[float] = []
        self._y: list[float] = []
        self._z: list[float] = []
        self._last: tuple[float, float] | None = None  # (refined time, level) of the last turning point

    def update(self, t_s: float, y: float, z: float) -> Swing | None:
        self._t.append(t_s)
        self._y.append(y)
        self._z.append(z)
        h = self.swing_fraction * self.amplitude
        if not h > 0:
            return None
        # The first turning point of a run is not looked for on its first EDGE_S: there the
        # detection filter starts at rest, so a wave that starts mid-rise looks like a trough.
        skip = 0 if self._dir else min(len(self._y) - 1, int(round(EDGE_S * self.rate_hz)))
        y_arr = self._y[skip:]
        first = 1 if self._dir == 0 else 0  # an extreme on the search's first sample is its edge
        if self._dir >= 0:
            i_hi = int(np.argmax(y_arr))
            if y_arr[i_hi] - y >= h and i_hi >= first:
                return self._confirm(skip + i_hi, +1)
        if self._dir <= 0:
            i_lo = int(np.argmin(y_arr))
            if y - y_arr[i_lo] >= h and i_lo >= first:
                return self._confirm(skip + i_lo, -1)
        return None

    def _confirm(self, i_ext: int, kind: int) -> Swing | None:
        """Confirm the extreme at ``i_ext`` (``kind`` +1 a peak, -1 a trough)."""
        t = np.asarray(self._t)
        y = np.asarray(self._y)
        z = np.asarray(self._z)
        t_ext = refine_turning_time(t, z, i_ext, kind=kind, band=ONSET_BAND * self.amplitude,
                                    sos=self._sos, shape=self.shape)
        level = float(y[i_ext])
        swing = None
        if self._last is not None:
            t0, v0 = self._last
            seg = (t >= t0) & (t <= t_ext)
            swing = _measure_swing(t[seg], z[seg], t0, t_ext, v0, level)
            self.heights.append(swing.height)
        self._last = (t_ext, level)
        self._dir = -kind  # after a peak the wave goes down
        keep = max(0, i_ext - 1)
        self._t, self._y, self._z = self._t[keep:], self._y[keep:], self._z[keep:]
        return swing if swing is not None else _start_swing(kind, t_ext, level)


def _start_swing(kind: int, t_s: float, level: float) -> Swing:
    """The first turning point of a run: a swing of no length, only its end is meaningful."""
    return Swing(kind, t_s, t_s, level, level, math.nan, 0.0, 0.0)


def _measure_swing(t: np.ndarray, z: np.ndarray, t0: float, t1: float, v0: float, v1: float) -> Swing:
    direction = 1 if v1 > v0 else -1
    if t.size < 3:
        return Swing(direction, t0, t1, v0, v1, math.nan, 0.0, 0.0)
    lo, hi = (v0, v1) if direction > 0 else (v1, v0)
    span = hi - lo
    dt = np.diff(t, append=t[-1])
    low_s = float(np.sum(dt[z <= lo + QUARTER * span]))
    high_s = float(np.sum(dt[z >= hi - QUARTER * span]))
    p = (z - v0) / (v1 - v0) if v1 != v0 else np.zeros_like(z)
    above_80 = np.flatnonzero(p >= 0.8)
    transition = math.nan
    if above_80.size:
        k80 = int(above_80[0])
        below_20 = np.flatnonzero(p[:k80 + 1] <= 0.2)
        if below_20.size:
            transition = float(t[k80] - t[int(below_20[-1])])
    return Swing(direction, t0, t1, v0, v1, transition, low_s, high_s)


def refine_turning_time(t: np.ndarray, z: np.ndarray, i_ext: int, /, *, kind: int, band: float,
                        sos, shape: str) -> float:
    """The time of the turning point near ``t[i_ext]`` (``kind`` +1 a peak, -1 a trough), on
    ``z`` filtered zero-phase by ``sos``: see the module docstring."""
    if t.size < 7:
        return float(t[i_ext])
    w = -kind * signal.sosfiltfilt(sos, z, padtype="odd", padlen=min(t.size - 1, 3 * 6))
    i0 = int(np.argmin(w))
    if shape == "edge":
        return _edge_foot_time(t, w, i0)
    lo = hi = i0
    while lo > 0 and w[lo - 1] <= w[i0] + band:
        lo -= 1
    while hi < w.size - 1 and w[hi + 1] <= w[i0] + band:
        hi += 1
    if _is_edge(t, w, lo, i0, hi, band):  # an unknown signal that turns out to be edge-like
        return _edge_foot_time(t, w, i0)
    inside = np.flatnonzero(w[i0:] <= w[i0] + band)  # ripples of a pause that leave the band
    hi = min(w.size - 1, i0 + int(inside[-1]) + 1)  # and come back stay in: the fit ends where
    lo = max(lo, hi - int(MAX_FIT_S * (t.size - 1) / max(t[-1] - t[0], 1e-9)))  # the wave last leaves
    if hi - lo < 3:
        return float(t[i0])
    return compute_corner_time(t[lo:hi + 1], w[lo:hi + 1])


def _is_edge(t: np.ndarray, w: np.ndarray, lo: int, i0: int, hi: int, band: float) -> bool:
    """Whether the band around a trough is flat-bottomed and left through a steep side: a
    parabola leaves its band with slope x width / band height = 2 whatever its curvature (a
    cosine about 2.2); a flat stretch ending in an edge far more (``EDGE_FLATNESS``)."""
    if band <= 0:
        return False
    flatness = 0.0
    for end, out in ((lo, lo - 1), (hi, hi + 1)):
        if 0 <= out < w.size:
            slope = abs(w[out] - w[end]) / abs(t[out] - t[end])
            flatness = max(flatness, slope * abs(t[end] - t[i0]) / band)
    return flatness > EDGE_FLATNESS


def _edge_foot_time(t: np.ndarray, w: np.ndarray, i0: int) -> float:
    """The foot of the edge that leaves the trough at ``i0`` (``w`` oriented trough-down)."""
    slopes = np.diff(w[i0:]) / np.diff(t[i0:])
    if slopes.size == 0 or slopes.max() <= 0:
        return float(t[i0])
    k_steep = int(np.argmax(slopes))
    flat = np.flatnonzero(slopes[:k_steep + 1] < EDGE_FOOT_SLOPE_FRACTION * slopes[k_steep])
    return float(t[i0 + int(flat[-1]) + 1] if flat.size else t[i0])


def compute_corner_time(t_s: np.ndarray, z: np.ndarray, /, *, steps_per_sample: int = 2) -> float:
    """Where a trough ENDS, by least squares: ``z`` is fitted with a parabola falling into the
    trough until ``a``, a flat stretch from ``a`` to ``b``, and a parabola rising from ``b``
    (each arm with its own curvature); the ``b`` with the smallest squared error, searched
    between samples, is returned.

    A rounded trough fits with no flat stretch (``a = b``, its bottom); a flat end-expiratory
    pause fits as the flat stretch, and ``b`` is where the rise starts, wherever the lowest
    noisy sample of the plateau happens to be. The arms share no sample, so each pair
    ``(a, b)`` is a 3x3 least-squares problem, all solved at once.
    """
    t = np.asarray(t_s, dtype=float)
    y = np.asarray(z, dtype=float)
    grid = np.linspace(t[0], t[-1], steps_per_sample * (t.size - 1) + 1)
    left = np.minimum(t[None, :] - grid[:, None], 0.0) ** 2  # (candidates, samples)
    right = np.maximum(t[None, :] - grid[:, None], 0.0) ** 2
    sl, sll, sly = left.sum(1), (left ** 2).sum(1), left @ y
    sr, srr, sry = right.sum(1), (right ** 2).sum(1), right @ y
    ia, ib = np.triu_indices(grid.size)  # a <= b
    gram = np.zeros((ia.size, 3, 3))
    gram[:, 0, 0] = t.size
    gram[:, 0, 1] = gram[:, 1, 0] = sl[ia]
    gram[:, 0, 2] = gram[:, 2, 0] = sr[ib]
    gram[:, 1, 1] = sll[ia] + 1e-12
    gram[:, 2, 2] = srr[ib] + 1e-12
    rhs = np.stack([np.full(ia.size, y.sum()), sly[ia], sry[ib]], axis=1)
    coef = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
    sse = (y @ y) - np.einsum("kj,kj->k", coef, rhs)
    return float(grid[ib[int(np.argmin(sse))]])


def step_biquad(sos: np.ndarray, v: float, zi: list[float] | None) -> tuple[float, list[float]]:
    """One sample through a one-section ``sos`` (transposed direct form II); ``zi`` None starts
    it at rest at ``v``. Per-sample scipy calls cost more than the arithmetic."""
    if zi is None:
        zi = [float(z) for z in signal.sosfilt_zi(sos)[0] * v]
    b0, b1, b2, _, a1, a2 = sos[0]
    y = b0 * v + zi[0]
    return float(y), [b1 * v - a1 * y + zi[1], b2 * v - a2 * y]
