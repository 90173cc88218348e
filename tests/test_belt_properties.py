"""Property tests: random and mutated bytes never make a belt decoder raise, and what the
decoders return is well formed and accounted for in their counters."""

from __future__ import annotations

import math
import struct

from hypothesis import example, given, settings, strategies as st

from sensing.belts import replay_notification_events  # noqa: F401  (import check)
from sensing.belts.base import (
    MAX_CLOCK_DRIFT_S, BatteryLevel, BreathSample, DeviceReply, HeartRate,
)
from sensing.belts.generic import GenericBeltConfig, GenericDecoder
from sensing.belts.polar import (
    HR_MEASUREMENT_UUID, PMD_CONTROL_UUID, PMD_DATA_UUID, BATTERY_LEVEL_UUID, PolarDecoder,
)
from sensing.belts.vernier import VernierDecoder, split_chunks

H = bytes.fromhex
SEEDS = [
    H("20 19 cf d8 06 06 00 02 fc 80 8a 07 bf 00 00 c0 7f 80 31 08 bf 00 00 c0 7f"),
    H("98 0a 01 27 51 fd 36 00 00 00"),
    H("02 ea 54 a2 42 8b 45 52 08 01 45 ff e4 ff b5 03 45 ff e4 ff b8 03"),
    H("02 65 00 00 00 00 00 00 00 81 f1 ff 14 00 f0 03 06 01 7b 0f 08"),
    H("16 48 54 01 ec 02"),
    H("f0 02 02 00 00"),
]
POLAR_UUIDS = [PMD_DATA_UUID, HR_MEASUREMENT_UUID, PMD_CONTROL_UUID, BATTERY_LEVEL_UUID, "x"]
CHUNKS = st.lists(st.binary(max_size=60), max_size=12)


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == "cut" and data:
            i = draw(st.integers(0, len(data)))
            data = data[:i] if draw(st.booleans()) else data[i:]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif op == "dup":
            data = data + data
    return bytes(data)


NOTIFICATIONS = st.lists(st.one_of(st.binary(max_size=60), mutated()), max_size=15)


def _assert_well_formed_breath(samples, t_arrival_s, *, max_drift_s=MAX_CLOCK_DRIFT_S):
    """Samples of one notification: finite values, finite times increasing within the
    notification, the last within the clock's allowed drift of the arrival time."""
    times = [e.t_s for e in samples]
    assert all(math.isfinite(e.value) for e in samples)
    assert all(math.isfinite(t) for t in times)
    assert all(b > a for a, b in zip(times, times[1:]))
    if times:
        assert abs(times[-1] - t_arrival_s) <= max_drift_s + 1e-6


# Found by hypothesis on main: eight measurement packets in one notification at one arrival
# time (a burst of buffered packets) ran the sample count 1.2 s ahead of the arrival time,
# and the clock re-anchored backwards, giving times that went back 1.3 s.
BURST = [SEEDS[0] * 8]


@settings(max_examples=120, deadline=None)
@given(NOTIFICATIONS)
@example(BURST)
def test_vernier_decoder_never_raises(notifications):
    d = VernierDecoder()
    n_breath = 0
    for t, n in enumerate(notifications):
        events = [e for chunk in (split_chunks(n) if n else [n]) for e in d.update(chunk, t_s=float(t))]
        assert all(isinstance(e, (BreathSample, DeviceReply)) for e in events)
        breath = [e for e in events if isinstance(e, BreathSample)]
        _assert_well_formed_breath(breath, float(t))
        assert all(e.t_s == float(t) and 0 <= e.command_id <= 255 for e in events if isinstance(e, DeviceReply))
        n_breath += len(breath)
    assert d.stats.samples == n_breath  # the counters tell what was returned


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(POLAR_UUIDS), st.one_of(st.binary(max_size=80),
                                                                  mutated())), max_size=15))
def test_polar_decoder_never_raises(items):
    d = PolarDecoder()
    breath_returned = heart_returned = battery_returned = 0
    for t, (uuid, data) in enumerate(items):
        events = d.update(data, t_s=float(t), char_uuid=uuid)
        expected = {PMD_DATA_UUID: BreathSample, HR_MEASUREMENT_UUID: HeartRate,
                    PMD_CONTROL_UUID: DeviceReply, BATTERY_LEVEL_UUID: BatteryLevel}.get(uuid)
        assert all(isinstance(e, expected) for e in events) if expected else events == []
        if uuid == PMD_DATA_UUID:
            assert all(math.isfinite(e.t_s) and math.isfinite(e.value) for e in events)
            assert all(b.t_s > a.t_s for a, b in zip(events, events[1:]))
            breath_returned += len(events)
        elif uuid == HR_MEASUREMENT_UUID:
            assert len(events) <= 1 and all(e.hr_bpm >= 0 and all(rr >= 0 for rr in e.rr_s) for e in events)
            heart_returned += len(events)
        elif uuid == BATTERY_LEVEL_UUID:
            assert all(0 <= e.percent <= 100 for e in events)
            battery_returned += len(events)
    count = {u: sum(1 for uu, _ in items if uu == u) for u in POLAR_UUIDS}
    acc = d.acc.stats
    # Each accelerometer notification is either decoded (a packet) or skipped for one reason;
    # "lost_frames" marks a decoded packet after a gap, on top of it.
    assert acc.packets + acc.skipped_total - acc.skipped["lost_frames"] == count[PMD_DATA_UUID]
    assert acc.samples == breath_returned
    assert d.heart.stats.packets + d.heart.stats.skipped_total == count[HR_MEASUREMENT_UUID] == \
        heart_returned + d.heart.stats.skipped_total
    assert d.control_stats.skipped["unknown_characteristic"] == count["x"]
    assert battery_returned + d.control_stats.skipped["bad_battery_level"] == count[BATTERY_LEVEL_UUID]


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["<h", "<Hhf", ">I", "<3h", "<d"]), NOTIFICATIONS)
def test_generic_decoder_never_raises(fmt, notifications):
    cfg = GenericBeltConfig(service_uuid="s", characteristic_uuid="c", struct_format=fmt,
                            value_field=0, sample_rate_hz=10.0, scale=2.0)
    d = GenericDecoder(cfg)
    size = struct.calcsize(fmt)
    returned = 0
    for t, n in enumerate(notifications):
        overlap_before = d.stats.skipped["clock_overlap"]
        samples = d.update(n, t_s=float(t))
        records = len(n) // size if n and len(n) % size == 0 else 0
        assert len(samples) <= records  # never more samples than whole records
        if records:  # the value is field 0 scaled by 2 (offset 0), unless it was not finite;
            # records the clock could not place after those already given (the first of a
            # notification that arrived too early for its count) are dropped and counted
            dropped = d.stats.skipped["clock_overlap"] - overlap_before
            raw = [r[0] for r in struct.iter_unpack(fmt, n)][dropped:]
            assert [e.value for e in samples] == [2.0 * float(v) for v in raw if math.isfinite(2.0 * float(v))]
        _assert_well_formed_breath(samples, float(t))
        returned += len(samples)
    # Each notification is a packet or a bad length; every record a sample or a counted skip.
    bad = sum(1 for n in notifications if not n or len(n) % size)
    assert d.stats.packets + d.stats.skipped["bad_length"] == len(notifications)
    assert d.stats.skipped["bad_length"] == bad
    assert d.stats.samples == returned
    whole = sum(len(n) // size for n in notifications if n and len(n) % size == 0)
    assert returned + d.stats.skipped["nan_value"] + d.stats.skipped["non_numeric_field"] \
        + d.stats.skipped["clock_overlap"] == whole


def test_a_burst_of_packets_keeps_times_increasing_and_accounts_for_every_sample():
    """The burst above, then regular packets: times only go forward, within the allowed
    drift of each arrival; a sample whose time a backward re-anchor cannot place after the
    ones already given is dropped and counted, never given an earlier time."""
    d = VernierDecoder()
    times = []
    for t_arrival, data in [(0.0, BURST[0]), (0.2, SEEDS[0]), (0.4, SEEDS[0]), (2.0, SEEDS[0])]:
        samples = [e for chunk in split_chunks(data) for e in d.update(chunk, t_s=t_arrival)
                   if isinstance(e, BreathSample)]
        _assert_well_formed_breath(samples, t_arrival)
        times += [s.t_s for s in samples]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert d.stats.samples == len(times)
    assert d.stats.samples + d.stats.skipped["clock_overlap"] == 2 * (8 + 3)
