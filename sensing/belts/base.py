"""What every belt produces, and the bookkeeping every decoder shares.

A belt stream is a sequence of events on the host's monotonic clock (``time.monotonic()``
seconds, the clock the live session uses):

- :class:`BreathSample` ``(t_s, value)``: one point of the breathing waveform (Vernier:
  belt force in newtons; Polar: chest acceleration projected on the chest axis, milli-g,
  band-passed; generic: the configured field times its scale);
- :class:`HeartRate`: a heart-rate notification with its RR intervals and the beat times
  rebuilt from their cumulative sum;
- :class:`BatteryLevel`: battery percent, when the device offers it;
- :class:`Gap` ``(start_s, end_s)``: the link was down between these times. Nothing is
  interpolated over a gap: a consumer sees the hole and decides.

Decoders never raise on bad bytes: they count each problem under a reason in
:class:`DecodeStats` and skip the packet.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Union

import numpy as np

# The kinds of breath signal a sensor gives, which decide what a rise means: a stretch or
# force belt, chest impedance, nasal airflow, exhaled CO2, a nasal thermistor, a chest
# accelerometer. Every belt kind (sensing.belts.kinds) names one.

# Sample times are rebuilt by counting samples at the nominal rate from an anchor; when the
# count drifts this far from the arrival times (a lost packet, a stalled link), re-anchor.
MAX_CLOCK_DRIFT_S = 1.0


@dataclass(frozen=True)
class BreathSample:
    """One point of the breathing waveform: ``value`` at time ``t_s`` (monotonic seconds)."""

    t_s: float
    value: float


@dataclass(frozen=True)
class HeartRate:
    """A heart-rate notification (standard characteristic 0x2A37).

    ``rr_s`` are the RR intervals in seconds carried by this notification; ``beat_t_s`` the
    beat times rebuilt from their cumulative sum (never from arrival times).
    ``contact`` is None when the sensor does not report skin contact.
    """

    t_s: float
    hr_bpm: int
    rr_s: tuple[float, ...] = ()
    beat_t_s: tuple[float, ...] = ()
    contact: bool | None = None
    energy_kj: int | None = None


@dataclass(frozen=True)
class BatteryLevel:
    """Battery charge reported by the device."""

    t_s: float
    percent: int


@dataclass(frozen=True)
class Gap:
    """The belt delivered nothing between ``start_s`` and ``end_s`` (a dropped link)."""

    start_s: float
    end_s: float


@dataclass(frozen=True)
class DeviceReply:
    """A reply to a command the host sent (Vernier command responses, Polar control point)."""

    t_s: float
    command_id: int
    counter: int | None
    payload: bytes


BeltEvent = Union[BreathSample, HeartRate, BatteryLevel, Gap, DeviceReply]


@dataclass
class DecodeStats:
    """Per-reason counters of what a decoder accepted and skipped."""

    packets: int = 0
    samples: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict[str, int]:
        return {"packets": self.packets, "samples": self.samples, **dict(self.skipped)}


class SampleClock:
    """Rebuild sample times of a device that sends no timestamps, by counting samples.

    The first packet anchors the count so that its last sample falls at its arrival time;
    later samples are ``anchor + k / rate_hz``. When the count drifts more than
    ``max_drift_s`` from arrival times, the clock re-anchors on the arrival time: forward
    when packets were lost (the count fell behind), backward when the count ran ahead (a
    burst of buffered packets arriving at once after a late first anchor, or a device
    sampling faster than its nominal rate). Times never go backwards: a sample that a
    backward re-anchor would place at or before one already given gets NaN, and the caller
    drops it (counted as ``clock_overlap``), since its true time is unknown.
    """

    def __init__(self, rate_hz: float, *, max_drift_s: float = MAX_CLOCK_DRIFT_S) -> None:
        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise ValueError(f"rate_hz must be a positive number, got {rate_hz!r}")
        self.rate_hz = float(rate_hz)
        self.max_drift_s = max_drift_s
        self.reanchors = 0
        self._anchor_s: float | None = None
        self._count = 0
        self._last_t_s = -math.inf

    def reset(self) -> None:
        """Forget the anchor (after a reconnect); times still never go backwards."""
        self._anchor_s = None
        self._count = 0

    def times(self, n_samples: int, t_arrival_s: float) -> np.ndarray:
        """Times of the next ``n_samples`` samples, the last of which arrived at
        ``t_arrival_s``; NaN for a sample that cannot come after those already timed."""
        period_s = 1.0 / self.rate_hz
        if self._anchor_s is not None:
            t_last = self._anchor_s + (self._count + n_samples - 1) * period_s
            if abs(t_last - t_arrival_s) > self.max_drift_s:
                self.reanchors += 1
                self._anchor_s = None
        if self._anchor_s is None:
            self._anchor_s = t_arrival_s - (n_samples - 1) * period_s
            self._count = 0
        t = self._anchor_s + (self._count + np.arange(n_samples)) * period_s
        self._count += n_samples
        t = np.where(t > self._last_t_s, t, np.nan)
        if np.isfinite(t).any():
            self._last_t_s = float(np.nanmax(t))
        return t
