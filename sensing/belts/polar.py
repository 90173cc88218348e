"""Polar H10 chest strap: heart rate (0x2A37), PMD accelerometer frames, control point.

Pure bytes in, events out. The accelerometer becomes a breathing waveform through
:class:`sensing.belts.accel.AccelBreathFilter` (causal, so the same code runs live).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from sensing.belts.base import (
    BatteryLevel, BeltEvent, BreathSample, DecodeStats, DeviceReply, HeartRate,
)

log = logging.getLogger(__name__)

NAME_PREFIX = "Polar H10"
HR_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
HR_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

RR_UNIT_S = 1.0 / 1024.0
PMD_TYPE_ACC = 2
PMD_HEADER_LEN = 10
PMD_COMPRESSED_BIT = 0x80
PMD_CONTROL_REPLY = 0xF0
PMD_OP_START = 0x02
PMD_OP_STOP = 0x03
ACC_RATES_HZ = (25, 50, 100, 200)
ACC_RANGES_G = (2, 4, 8)
# Raw frame types: bytes per axis value (type 0 int8, 1 int16, 2 int24).
_RAW_AXIS_BYTES = {0: 1, 1: 2, 2: 3}
# Beat times rebuilt from RR may drift from arrival times; re-anchor beyond this.
MAX_BEAT_DRIFT_S = 3.0
# A frame whose device timestamp advances more than this many frame durations means loss.
LOST_FRAME_FACTOR = 1.5


def build_acc_start(*, rate_hz: int = 25, range_g: int = 2) -> bytes:
    """PMD control-point command starting the accelerometer (16 bit)."""
    if rate_hz not in ACC_RATES_HZ:
        raise ValueError(f"rate_hz must be one of {ACC_RATES_HZ}, got {rate_hz!r}")
    if range_g not in ACC_RANGES_G:
        raise ValueError(f"range_g must be one of {ACC_RANGES_G}, got {range_g!r}")
    return bytes([PMD_OP_START, PMD_TYPE_ACC,
                  0x00, 0x01, rate_hz & 0xFF, rate_hz >> 8,
                  0x01, 0x01, 0x10, 0x00,
                  0x02, 0x01, range_g & 0xFF, range_g >> 8])


def build_acc_stop() -> bytes:
    return bytes([PMD_OP_STOP, PMD_TYPE_ACC])


@dataclass(frozen=True)
class HeartRateFields:
    hr_bpm: int
    contact: bool | None
    energy_kj: int | None
    rr_1024: tuple[int, ...]


def parse_heart_rate(data: bytes, /) -> HeartRateFields | str:
    """Fields of a 0x2A37 notification, or a skip reason (str) when malformed."""
    if len(data) < 2:
        return "truncated_heart_rate"
    flags = data[0]
    i = 1
    if flags & 0x01:
        if len(data) < 3:
            return "truncated_heart_rate"
        hr = int.from_bytes(data[1:3], "little")
        i = 3
    else:
        hr = data[1]
        i = 2
    contact = bool(flags & 0x02) if flags & 0x04 else None
    energy = None
    if flags & 0x08:
        if len(data) < i + 2:
            return "truncated_heart_rate"
        energy = int.from_bytes(data[i:i + 2], "little")
        i += 2
    rr: tuple[int, ...] = ()
    if flags & 0x10:
        tail = data[i:]
        if len(tail) % 2:
            return "odd_rr_bytes"
        rr = tuple(int.from_bytes(tail[k:k + 2], "little") for k in range(0, len(tail), 2))
    return HeartRateFields(hr, contact, energy, rr)


class HeartRateDecoder:
    """0x2A37 notifications -> :class:`HeartRate` with beat times from cumulative RR."""

    def __init__(self) -> None:
        self.stats = DecodeStats()
        self._last_beat_s: float | None = None

    def reset(self) -> None:
        self._last_beat_s = None

    def update(self, data: bytes, /, *, t_s: float) -> list[HeartRate]:
        fields = parse_heart_rate(bytes(data))
        if isinstance(fields, str):
            self.stats.skip(fields)
            return []
        self.stats.packets += 1
        rr_s = tuple(v * RR_UNIT_S for v in fields.rr_1024)
        beats: list[float] = []
        if rr_s:
            if self._last_beat_s is None or \
                    abs(self._last_beat_s + sum(rr_s) - t_s) > MAX_BEAT_DRIFT_S:
                self._last_beat_s = t_s - sum(rr_s)
            for rr in rr_s:
                self._last_beat_s += rr
                beats.append(self._last_beat_s)
        self.stats.samples += 1
        return [HeartRate(t_s=t_s, hr_bpm=fields.hr_bpm, rr_s=rr_s, beat_t_s=tuple(beats),
                          contact=fields.contact, energy_kj=fields.energy_kj)]


@dataclass(frozen=True)
class PmdFrame:
    measurement_type: int
    timestamp_ns: int
    compressed: bool
    samples: np.ndarray  # (n, 3) int, milli-g for the accelerometer


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def parse_pmd_frame(data: bytes, /) -> PmdFrame | str:
    """An accelerometer PMD data frame, or a skip reason (str)."""
    if len(data) < PMD_HEADER_LEN:
        return "truncated_pmd_header"
    meas_type = data[0]
    if meas_type != PMD_TYPE_ACC:
        return "unsupported_pmd_type"
    timestamp_ns = int.from_bytes(data[1:9], "little")
    frame_type = data[9]
    compressed = bool(frame_type & PMD_COMPRESSED_BIT)
    base_type = frame_type & 0x7F
    axis_bytes = _RAW_AXIS_BYTES.get(base_type)
    if axis_bytes is None:
        return "unsupported_frame_type"
    body = data[PMD_HEADER_LEN:]
    if compressed:
        samples = _parse_delta_body(body, axis_bytes * 8)
        if isinstance(samples, str):
            return samples
    else:
        step = 3 * axis_bytes
        if len(body) == 0 or len(body) % step:
            return "truncated_pmd_samples"
        samples = [tuple(int.from_bytes(body[k + a * axis_bytes:k + (a + 1) * axis_bytes],
                                        "little", signed=True) for a in range(3))
                   for k in range(0, len(body), step)]
    return PmdFrame(meas_type, timestamp_ns, compressed, np.asarray(samples, dtype=np.int64))


def _parse_delta_body(body: bytes, ref_bits: int) -> list[tuple[int, int, int]] | str:
    """Reference sample, then blocks ``[delta bits][count][deltas, LSB first]``."""
    ref_bytes = ref_bits // 8
    if len(body) < 3 * ref_bytes:
        return "truncated_pmd_samples"
    ref = [int.from_bytes(body[a * ref_bytes:(a + 1) * ref_bytes], "little", signed=True)
           for a in range(3)]
    samples = [tuple(ref)]
    i = 3 * ref_bytes
    while i < len(body):
        if len(body) - i < 2:
            return "truncated_delta_block"
        bits, count = body[i], body[i + 1]
        i += 2
        if not 1 <= bits <= ref_bits or count == 0:
            return "bad_delta_block"
        n_bytes = math.ceil(count * 3 * bits / 8)
        if len(body) - i < n_bytes:
            return "truncated_delta_block"
        packed = int.from_bytes(body[i:i + n_bytes], "little")
        i += n_bytes
        mask = (1 << bits) - 1
        for s in range(count):
            for a in range(3):
                ref[a] += _signed(packed >> ((s * 3 + a) * bits) & mask, bits)
            samples.append(tuple(ref))
    return samples


def parse_pmd_control_reply(data: bytes, /) -> tuple[int, int, int] | str:
    """``(op_code, measurement_type, error_code)`` of a control-point indication."""
    if len(data) < 4:
        return "truncated_control_reply"
    if data[0] != PMD_CONTROL_REPLY:
        return "not_a_control_reply"
    return data[1], data[2], data[3]


class PmdAccelerometerDecoder:
    """PMD data notifications -> breath samples (accelerometer through the breathing filter).

    Sample times: the device stamps the LAST sample of each frame; an offset taken at the
    first frame maps the device clock to the host's. A device clock that does not advance
    (unset) falls back to counting samples at ``rate_hz``. A frame stamped earlier than the
    previous one is counted ``out_of_order`` and skipped; a jump larger than the frame's
    length is counted as ``lost_frames`` (nothing is interpolated).
    """

    def __init__(self, *, rate_hz: float = 25.0, chest_axis=(0.0, 0.0, 1.0)) -> None:
        self.rate_hz = float(rate_hz)
        self.stats = DecodeStats()
        from sensing.belts.accel import AccelBreathFilter  # scipy.signal: loaded when a strap is used

        self.filter = AccelBreathFilter(rate_hz=self.rate_hz, chest_axis=chest_axis)
        self._offset_s: float | None = None
        self._last_ts_ns: int | None = None
        self._last_t_s: float | None = None

    def reset(self) -> None:
        self._offset_s = None
        self._last_ts_ns = None
        self._last_t_s = None
        self.filter.reset()

    def update(self, data: bytes, /, *, t_s: float) -> list[BreathSample]:
        frame = parse_pmd_frame(bytes(data))
        if isinstance(frame, str):
            self.stats.skip(frame)
            return []
        n = len(frame.samples)
        period_s = 1.0 / self.rate_hz
        ts = frame.timestamp_ns
        if self._last_ts_ns is not None and ts < self._last_ts_ns:
            self.stats.skip("out_of_order")
            return []
        if self._last_ts_ns is not None and ts > self._last_ts_ns:
            advance_s = (ts - self._last_ts_ns) * 1e-9
            if advance_s > LOST_FRAME_FACTOR * n * period_s:
                self.stats.skip("lost_frames")
            t_last = self._offset_s + ts * 1e-9
        elif self._last_t_s is not None:
            t_last = self._last_t_s + n * period_s  # device clock unset: count samples
        else:
            t_last = t_s
        if self._offset_s is None:
            self._offset_s = t_s - ts * 1e-9
        self._last_ts_ns = ts
        self._last_t_s = t_last
        self.stats.packets += 1
        times = t_last - (n - 1 - np.arange(n)) * period_s
        breath = self.filter.update(frame.samples.astype(float))
        self.stats.samples += n
        return [BreathSample(float(t), float(v)) for t, v in zip(times, breath)]


class PolarDecoder:
    """Everything the H10 notifies, routed by characteristic."""

    def __init__(self, *, rate_hz: float = 25.0, chest_axis=(0.0, 0.0, 1.0)) -> None:
        self.acc = PmdAccelerometerDecoder(rate_hz=rate_hz, chest_axis=chest_axis)
        self.heart = HeartRateDecoder()
        self.control_stats = DecodeStats()

    def reset(self) -> None:
        self.acc.reset()
        self.heart.reset()

    @property
    def stats(self) -> DecodeStats:
        merged = DecodeStats()
        for s in (self.acc.stats, self.heart.stats, self.control_stats):
            merged.packets += s.packets
            merged.samples += s.samples
            merged.skipped.update(s.skipped)
        return merged

    def update(self, data: bytes, /, *, t_s: float, char_uuid: str) -> list[BeltEvent]:
        uuid = char_uuid.lower()
        if uuid == PMD_DATA_UUID:
            return list(self.acc.update(data, t_s=t_s))
        if uuid == HR_MEASUREMENT_UUID:
            return list(self.heart.update(data, t_s=t_s))
        if uuid == PMD_CONTROL_UUID:
            reply = parse_pmd_control_reply(bytes(data))
            if isinstance(reply, str):
                self.control_stats.skip(reply)
                return []
            op, meas_type, error = reply
            self.control_stats.packets += 1
            return [DeviceReply(t_s=t_s, command_id=op, counter=None,
                                payload=bytes([meas_type, error]) + bytes(data[4:]))]
        if uuid == BATTERY_LEVEL_UUID:
            if len(data) < 1 or data[0] > 100:
                self.control_stats.skip("bad_battery_level")
                return []
            return [BatteryLevel(t_s=t_s, percent=int(data[0]))]
        self.control_stats.skip("unknown_characteristic")
        return []
