"""Chest accelerometer -> breathing waveform, causal (runs live, one chunk at a time).

1. Gravity: a slow first-order low-pass per axis (time constant ``gravity_tau_s``, ~5 s)
   estimates the static orientation; subtracting it leaves the movement of the chest.
2. A Butterworth low-pass below ``cutoff_hz`` (0.7 Hz, order 4; breathing is 0.1-0.6 Hz) removes
   heartbeat and jitter.
3. The result is projected on the chest axis (the sensor axis pointing out of the chest),
   so inhalation and exhalation show as opposite swings.

Only scipy.signal with kept filter state: ``update(chunk)`` continues exactly where the
previous chunk ended, so feeding a recording in pieces equals feeding it whole.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

GRAVITY_TAU_S = 5.0
BREATH_CUTOFF_HZ = 0.7  # breathing is below ~0.6 Hz (36 breaths/min)
FILTER_ORDER = 4


class AccelBreathFilter:
    """Streaming filter: ``update(acc (n, 3))`` -> breathing waveform (n,) in input units."""

    def __init__(self, *, rate_hz: float, chest_axis=(0.0, 0.0, 1.0),
                 gravity_tau_s: float = GRAVITY_TAU_S, cutoff_hz: float = BREATH_CUTOFF_HZ,
                 order: int = FILTER_ORDER) -> None:
        if not rate_hz > 2 * cutoff_hz:
            raise ValueError(f"rate_hz must exceed twice cutoff_hz ({2 * cutoff_hz} Hz), "
                             f"got {rate_hz!r}")
        axis = np.asarray(chest_axis, dtype=float)
        if axis.shape != (3,) or not np.linalg.norm(axis) > 0:
            raise ValueError(f"chest_axis must be a non-zero 3-vector, got {chest_axis!r}")
        self.rate_hz = float(rate_hz)
        self.chest_axis = axis / np.linalg.norm(axis)
        alpha = 1.0 - np.exp(-1.0 / (gravity_tau_s * rate_hz))
        self._grav_b = np.array([alpha])
        self._grav_a = np.array([1.0, alpha - 1.0])
        self._sos = signal.butter(order, cutoff_hz, btype="low", fs=rate_hz, output="sos")
        self.reset()

    def reset(self) -> None:
        self._grav_zi: np.ndarray | None = None
        self._sos_zi: np.ndarray | None = None

    def update(self, acc, /) -> np.ndarray:
        acc = np.asarray(acc, dtype=float)
        if acc.ndim != 2 or acc.shape[1] != 3:
            raise ValueError(f"Expected acc with shape (n, 3), but got {acc.shape}.")
        if len(acc) == 0:
            return np.empty(0)
        if self._grav_zi is None:
            # Start at rest: gravity = first sample, nothing moving yet.
            self._grav_zi = (signal.lfilter_zi(self._grav_b, self._grav_a)[:, None]
                             * acc[0][None, :])
            self._sos_zi = np.zeros((self._sos.shape[0], 2, 3))
        gravity, self._grav_zi = signal.lfilter(self._grav_b, self._grav_a, acc, axis=0,
                                                zi=self._grav_zi)
        moving, self._sos_zi = signal.sosfilt(self._sos, acc - gravity, axis=0,
                                              zi=self._sos_zi)
        return moving @ self.chest_axis
