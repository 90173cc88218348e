"""The real bleak.BleakClient driven through its backend= argument by in-memory devices.

The only mock is tests/belt_backend.py, at the hardware seam (no Bluetooth radio here).
Each test runs connect -> setup -> streaming -> a dropped link -> reconnection (setup sent
again) -> a marked gap -> streaming continues -> STOP on close.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from belt_backend import FakeScanner, PolarEmulator, VernierEmulator, make_backend
from core.errors import SourceError
from sensing.belts import (
    BatteryLevel, BreathSample, Gap, HeartRate, ReconnectPolicy, open_belt, scan_belts,
)
from sensing.belts import polar, vernier

FAST = ReconnectPolicy(first_delay_s=0.02, initial_attempts=2)
H = bytes.fromhex
DOC_INIT = H("58 19 fe 3f 1a a5 4a 06 49 07 48 08 47 09 46 0a 45 0b 44 0c 43 0d 42 0e 41")
DOC_SET_PERIOD = H("58 0f fd a5 1b ff 00 a0 86 01 00 00 00 00 00")
DOC_START = H("58 13 fc 81 18 ff 01 02 00 00 00 00 00 00 00 00 00 00 00")
DOC_STOP = H("58 0b fb 72 19 ff 00 ff ff ff ff")
DEADLINE_S = 8.0


def collect(stream, *, until):
    events, t0 = [], time.monotonic()
    while time.monotonic() - t0 < DEADLINE_S and not until(events):
        events += stream.read(timeout_s=0.05)
    return events


def commands_written(writes):
    """Reassemble the chunked writes of one connection into whole command packets."""
    packets, buf = [], b""
    for _uuid, chunk, _response in writes:
        assert len(chunk) <= vernier.CHUNK_LEN
        buf += chunk
        if len(buf) >= buf[1]:
            packets.append(buf)
            buf = b""
    return packets


def test_vernier_connect_stream_drop_reconnect_gap_stop():
    device = VernierEmulator(drop_after=4, per_connection=5)
    stream = open_belt("C4:64:E3:00:00:01", kind="vernier", backend=make_backend(device),
                       reconnect=FAST)
    n_before = 4 * 2
    events = collect(stream, until=lambda ev: sum(isinstance(e, BreathSample)
                                                  for e in ev) >= n_before + 10)
    stream.close()
    events += stream.read()
    assert device.connections == 2
    # Setup bytes, on both connections, exactly the documented vectors; STOP on close.
    assert commands_written(device.writes[0]) == [DOC_INIT, DOC_SET_PERIOD, DOC_START]
    assert commands_written(device.writes[1]) == [DOC_INIT, DOC_SET_PERIOD, DOC_START,
                                                  DOC_STOP]
    assert all(resp is False for w in device.writes for _u, _c, resp in w)
    gaps = [i for i, e in enumerate(events) if isinstance(e, Gap)]
    assert len(gaps) == 1
    gap = events[gaps[0]]
    before = [e for e in events[:gaps[0]] if isinstance(e, BreathSample)]
    after = [e for e in events[gaps[0]:] if isinstance(e, BreathSample)]
    assert len(before) == n_before and len(after) >= 10
    assert before[-1].t_s <= gap.start_s < gap.end_s <= after[0].t_s + 0.2
    # Values are the device's force samples (float32), none interpolated over the gap.
    expected = [device.force_n(k) for k in range(len(before) + len(after))]
    assert [s.value for s in before + after] == pytest.approx(expected, abs=1e-6)
    assert stream.stats["packets"] >= 9 and stream.stats.get("bad_checksum", 0) == 0
    assert stream.finished and not stream.connected


def test_polar_connect_stream_drop_reconnect_with_heart_rate_and_battery(tmp_path):
    device = PolarEmulator(drop_after=5, per_connection=10)
    raw = tmp_path / "raw.csv"
    stream = open_belt("A0:9E:1A:00:00:02", kind="polar", backend=make_backend(device),
                       reconnect=FAST, raw_log=raw)
    events = collect(stream, until=lambda ev: sum(isinstance(e, HeartRate) for e in ev) >= 2)
    stream.close()
    events += stream.read()
    start, stop = polar.build_acc_start(rate_hz=25, range_g=2), polar.build_acc_stop()
    assert start == H("02 02 00 01 19 00 01 01 10 00 02 01 02 00")
    assert [w[1] for w in device.writes[0]] == [start]
    assert [w[1] for w in device.writes[1]] == [start, stop]
    assert all(w[2] is True for conn in device.writes for w in conn)
    assert stream.battery_percent == 87
    assert [e.percent for e in events if isinstance(e, BatteryLevel)] == [87, 87]
    hr = [e for e in events if isinstance(e, HeartRate)]
    assert hr[0].hr_bpm == 72 and hr[0].rr_s == pytest.approx((340 / 1024, 748 / 1024))
    assert sum(isinstance(e, Gap) for e in events) == 1
    samples = [e for e in events if isinstance(e, BreathSample)]
    assert len(samples) >= 5 * 5 + 5
    t = np.array([s.t_s for s in samples])
    assert np.all(np.diff(t) > 0)
    # The raw log replays to the same breath samples through the same decoder.
    from sensing.belts import replay_notification_log

    replayed = replay_notification_log(raw, "polar")
    first = samples[:25]
    assert [s.value for s in replayed[:25]] == pytest.approx([s.value for s in first])


def test_open_belt_by_name_scans_then_connects():
    device = VernierEmulator(per_connection=3)
    with open_belt("GDX-RB 0K1012", backend=make_backend(device),
                   scanner_backend=FakeScanner, reconnect=FAST, scan_timeout_s=0.01) as s:
        assert s.address == "C4:64:E3:00:00:01" and s.adapter.kind == "vernier"
        events = collect(s, until=lambda ev: len(ev) >= 6)
    assert sum(isinstance(e, BreathSample) for e in events) == 6


def test_scan_lists_belts_strongest_first_with_kind():
    belts = scan_belts(0.01, scanner_backend=FakeScanner)
    assert [(b.name, b.rssi, b.kind) for b in belts] == [
        ("GDX-RB 0K1012", -58, "vernier"), ("Polar H10 ABCD1234", -71, "polar")]
    assert len(scan_belts(0.01, scanner_backend=FakeScanner, all_devices=True)) == 3


def test_unknown_name_and_wrong_device_are_one_line_source_errors():
    with pytest.raises(SourceError, match="nearby") as err:
        open_belt("Nonexistent", scanner_backend=FakeScanner, scan_timeout_s=0.01)
    assert "\n" not in str(err.value)
    # A Polar adapter pointed at a Vernier belt: the characteristics are missing.
    with pytest.raises(SourceError, match="Polar H10") as err:
        open_belt("C4:64:E3:00:00:01", kind="polar", backend=make_backend(VernierEmulator()),
                  reconnect=FAST)
    assert "\n" not in str(err.value)


@pytest.mark.skipif(Path("/run/dbus/system_bus_socket").exists(),
                    reason="this machine has a Bluetooth system service")
def test_no_bluetooth_adapter_is_a_clear_source_error():
    # This machine has no Bluetooth stack: the real platform backend must fail cleanly.
    with pytest.raises(SourceError, match="No Bluetooth adapter found") as err:
        scan_belts(0.1)
    assert "--breath-replay" in str(err.value) and "\n" not in str(err.value)
