"""Vernier Go Direct Respiration Belt (GDX-RB): command builders and a stateful decoder.

Pure bytes in, events out; no Bluetooth here (the adapter in :mod:`sensing.belts.adapters`
moves the bytes). Protocol facts: ``docs/belts.md`` and the project's breathing-belts notes.

Packet header, both directions: byte0 kind (0x58 command, 0x20 measurement, other values
for replies), byte1 total length, byte2 rolling counter, byte3 checksum (sum of all other
bytes mod 256), byte4 command id or measurement type. Notifications carry at most 20 bytes,
so a packet may arrive in pieces; one notification may also hold two packets.
"""

from __future__ import annotations

import logging
import math
import struct

import numpy as np

from sensing.belts.base import BeltEvent, BreathSample, DecodeStats, DeviceReply, SampleClock

log = logging.getLogger(__name__)

NAME_PREFIX = "GDX-RB"
SERVICE_UUID = "d91714ef-28b9-4f91-ba16-f0d9a604f112"
COMMAND_UUID = "f4bf14a6-c7d5-4b6d-8aa8-df1a7c83adcb"
RESPONSE_UUID = "b41e6675-a329-40e0-aa01-44d2f444babe"

KIND_COMMAND = 0x58
KIND_MEASUREMENT = 0x20
# Reply kinds seen from real belts. A packet of another kind is accepted only at the start
# of a notification and only when its checksum holds (counted as ``unknown_kind``).
KNOWN_REPLY_KINDS = frozenset({0x98})
HEADER_LEN = 5
CHUNK_LEN = 20
FIRST_COUNTER = 0xFF  # the host decrements before each command: the first sent is 0xFE
COMMAND_TIMEOUT_S = 5.0

CMD_GET_STATUS = 0x10
CMD_START = 0x18
CMD_STOP = 0x19
CMD_INIT = 0x1A
CMD_SET_PERIOD = 0x1B
CMD_GET_SENSOR_INFO = 0x50
CMD_GET_SENSOR_MASK = 0x51
CMD_DISCONNECT = 0x54
CMD_GET_DEVICE_INFO = 0x55

MEAS_REAL32 = 0x06       # uint16 mask at 5, count at 7, float32 values from 9
MEAS_REAL32_WIDE = 0x07  # uint32 mask at 5, count at 9, float32 values from 11

SENSOR_FORCE = 1          # newtons; tension rises on inhalation
SENSOR_DEVICE_RATE = 2    # the belt's own breaths/min (NaN until warmed up)
DEFAULT_PERIOD_S = 0.1

_INIT_PAYLOAD = bytes.fromhex("1a a5 4a 06 49 07 48 08 47 09 46 0a 45 0b 44 0c 43 0d 42 0e 41")


def compute_checksum(packet: bytes, /) -> int:
    """Sum of every byte but the checksum byte (index 3), mod 256."""
    return (sum(packet) - packet[3]) % 256 if len(packet) > 3 else sum(packet) % 256


def build_packet(payload: bytes, /, *, counter: int, kind: int = KIND_COMMAND) -> bytes:
    """A full packet: 4-byte header (kind, length, counter, checksum) then ``payload``."""
    packet = bytearray([kind, 4 + len(payload), counter & 0xFF, 0]) + payload
    packet[3] = compute_checksum(packet)
    return bytes(packet)


def split_chunks(packet: bytes, /, *, chunk_len: int = CHUNK_LEN) -> list[bytes]:
    """Cut a packet into writes of at most ``chunk_len`` bytes."""
    return [packet[i:i + chunk_len] for i in range(0, len(packet), chunk_len)]


class VernierCommands:
    """Command builder holding the host's rolling counter (0xFF, decremented before each)."""

    def __init__(self) -> None:
        self.counter = FIRST_COUNTER

    def reset(self) -> None:
        """Start a new connection's count (the first command again carries 0xFE)."""
        self.counter = FIRST_COUNTER

    def _next(self, payload: bytes) -> bytes:
        self.counter = (self.counter - 1) & 0xFF
        return build_packet(payload, counter=self.counter)

    def init(self) -> bytes:
        return self._next(_INIT_PAYLOAD)

    def get_status(self) -> bytes:
        return self._next(bytes([CMD_GET_STATUS]))

    def get_sensor_mask(self) -> bytes:
        return self._next(bytes([CMD_GET_SENSOR_MASK]))

    def set_period(self, *, period_s: float = DEFAULT_PERIOD_S) -> bytes:
        period_us = round(period_s * 1e6)
        if not 0 < period_us < 2**32:
            raise ValueError(f"period_s must be between 1 us and ~71 min, got {period_s!r}")
        return self._next(bytes([CMD_SET_PERIOD, 0xFF, 0x00]) + struct.pack("<I", period_us)
                          + bytes(4))

    def start(self, *, sensor_mask: int = 1 << SENSOR_FORCE) -> bytes:
        return self._next(bytes([CMD_START, 0xFF, 0x01]) + struct.pack("<I", sensor_mask)
                          + bytes(8))

    def stop(self) -> bytes:
        return self._next(bytes([CMD_STOP, 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]))


def parse_measurement(packet: bytes, /) -> tuple[int, np.ndarray] | str:
    """``(sensor_mask, values (n_samples, n_sensors))`` of a checked measurement packet.

    Returns a skip reason (str) when the packet is not a well-formed measurement.
    """
    meas_type = packet[4]
    if meas_type == MEAS_REAL32:
        if len(packet) < 9:
            return "truncated_measurement"
        mask = int.from_bytes(packet[5:7], "little")
        count, start = packet[7], 9
    elif meas_type == MEAS_REAL32_WIDE:
        if len(packet) < 11:
            return "truncated_measurement"
        mask = int.from_bytes(packet[5:9], "little")
        count, start = packet[9], 11
    else:
        return "unknown_measurement_type"
    n_sensors = bin(mask).count("1")
    if n_sensors == 0 or count == 0:
        return "empty_measurement"
    if len(packet) != start + 4 * count * n_sensors:
        return "measurement_length_mismatch"
    values = np.frombuffer(packet[start:], dtype="<f4").astype(float)
    return mask, values.reshape(count, n_sensors)


def sensor_column(mask: int, sensor: int, /) -> int | None:
    """Column of ``sensor`` in a measurement with ``mask`` (lowest set bit first), or None."""
    if not mask >> sensor & 1:
        return None
    return bin(mask & ((1 << sensor) - 1)).count("1")


class VernierPacketAssembler:
    """Reassemble packets from notifications by the length byte, resynchronising on damage.

    ``update(data)`` takes one notification and returns the complete, checksum-valid
    packets it finished. A pending partial packet whose continuation does not check out is
    dropped as a lost fragment, and the new notification is read as a fresh start.
    """

    def __init__(self, stats: DecodeStats | None = None) -> None:
        self.stats = stats if stats is not None else DecodeStats()
        self._pending = b""

    def reset(self) -> None:
        self._pending = b""

    def update(self, data: bytes, /) -> list[bytes]:
        data = bytes(data)
        if self._pending:
            packets, ok = self._continue(data)
            if ok:
                return packets
        return self._parse_fresh(data)

    def _valid_at(self, buf: bytes, i: int) -> int | None:
        """Length of a complete packet with a good checksum starting at ``i``, else None."""
        if len(buf) - i < HEADER_LEN:
            return None
        length = buf[i + 1]
        if length < HEADER_LEN or i + length > len(buf):
            return None
        packet = buf[i:i + length]
        return length if compute_checksum(packet) == packet[3] else None

    def _continue(self, data: bytes) -> tuple[list[bytes], bool]:
        """Try ``data`` as the continuation of the pending packet."""
        pending, self._pending = self._pending, b""
        buf = pending + data
        length = pending[1] if len(pending) > 1 else None
        if length is not None and length <= len(buf):
            if self._valid_at(buf, 0) is None:
                self.stats.skip("lost_fragment")
                return [], False
            return [buf[:length]] + self._parse_fresh(buf[length:]), True
        # Still incomplete: a notification that is itself a whole packet means the pending
        # one lost its tail.
        if self._valid_at(data, 0) is not None:
            self.stats.skip("lost_fragment")
            return [], False
        self._pending = buf
        return [], True

    def _parse_fresh(self, buf: bytes) -> list[bytes]:
        packets: list[bytes] = []
        i, skipping = 0, False
        while i < len(buf):
            length = self._valid_at(buf, i)
            kind = buf[i]
            if length is not None and (i == 0 or kind == KIND_MEASUREMENT
                                       or kind in KNOWN_REPLY_KINDS):
                packets.append(buf[i:i + length])
                i += length
                skipping = False
                continue
            remaining = len(buf) - i
            could_start = kind == KIND_MEASUREMENT or kind in KNOWN_REPLY_KINDS or i == 0
            claimed = buf[i + 1] if remaining > 1 else None
            if could_start and (claimed is None or (claimed >= HEADER_LEN and claimed > remaining)):
                # The head of a packet that continues in the next notification, unless a
                # complete packet follows within this one.
                later = self._next_valid(buf, i + 1)
                if later is None:
                    self._pending = buf[i:]
                    break
            if not skipping:
                reason = "bad_checksum" if (claimed is not None and HEADER_LEN <= claimed
                                            <= remaining) and could_start else "garbage"
                self.stats.skip(reason)
                skipping = True
            i += 1
        return packets

    def _next_valid(self, buf: bytes, start: int) -> int | None:
        for j in range(start, len(buf)):
            if (buf[j] == KIND_MEASUREMENT or buf[j] in KNOWN_REPLY_KINDS) and \
                    self._valid_at(buf, j) is not None:
                return j
        return None


class VernierDecoder:
    """Notifications of the response characteristic -> breath samples and command replies.

    Force (sensor 1) becomes :class:`BreathSample`; replies become :class:`DeviceReply`
    (``counter`` = the echoed command counter at byte 5). Sample times are rebuilt from the
    measurement period (the belt sends no timestamps).
    """

    def __init__(self, *, period_s: float = DEFAULT_PERIOD_S) -> None:
        self.stats = DecodeStats()
        self.period_s = period_s
        self._assembler = VernierPacketAssembler(self.stats)
        self._clock = SampleClock(1.0 / period_s)
        self.device_rate_bpm: float | None = None

    def reset(self) -> None:
        """Forget partial packets and the sample count (after a reconnect)."""
        self._assembler.reset()
        self._clock.reset()

    def update(self, data: bytes, /, *, t_s: float) -> list[BeltEvent]:
        events: list[BeltEvent] = []
        for packet in self._assembler.update(data):
            self.stats.packets += 1
            kind = packet[0]
            if kind == KIND_MEASUREMENT:
                events.extend(self._measurement(packet, t_s))
            elif kind == KIND_COMMAND:
                self.stats.skip("echoed_command")
            else:
                if kind not in KNOWN_REPLY_KINDS:
                    self.stats.skip("unknown_kind")
                if len(packet) < 6:
                    self.stats.skip("truncated_reply")
                    continue
                events.append(DeviceReply(t_s=t_s, command_id=packet[4], counter=packet[5],
                                          payload=bytes(packet[6:])))
        return events

    def _measurement(self, packet: bytes, t_s: float) -> list[BreathSample]:
        parsed = parse_measurement(packet)
        if isinstance(parsed, str):
            self.stats.skip(parsed)
            return []
        mask, values = parsed
        rate_col = sensor_column(mask, SENSOR_DEVICE_RATE)
        if rate_col is not None and math.isfinite(values[-1, rate_col]):
            self.device_rate_bpm = float(values[-1, rate_col])
        col = sensor_column(mask, SENSOR_FORCE)
        if col is None:
            self.stats.skip("no_force_channel")
            return []
        times = self._clock.times(len(values), t_s)
        samples = []
        for t, v in zip(times, values[:, col]):
            if not math.isfinite(t):
                self.stats.skip("clock_overlap")  # see SampleClock: its time is unknown
                continue
            if not math.isfinite(v):
                self.stats.skip("nan_value")
                continue
            samples.append(BreathSample(float(t), float(v)))
        self.stats.samples += len(samples)
        return samples


def parse_sensor_mask_reply(payload: bytes, /) -> int | None:
    """Sensor bitmask from the payload of a GET_SENSOR_AVAILABLE_MASK reply (after byte 5)."""
    if len(payload) < 4:
        return None
    return int.from_bytes(payload[:4], "little")
