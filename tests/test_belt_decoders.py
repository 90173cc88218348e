"""Belt decoders on the byte vectors of the breathing-belts notes (real captures where marked)."""

from __future__ import annotations


import numpy as np
import pytest

from core.errors import InputError
from sensing.belts import BreathSample, DeviceReply, HeartRate, load_generic_config
from sensing.belts import replay_notification_log, replay_notification_events
from sensing.belts.accel import AccelBreathFilter
from sensing.belts.generic import GenericDecoder
from sensing.belts.polar import (
    HeartRateDecoder, PmdAccelerometerDecoder, build_acc_start, build_acc_stop,
    parse_heart_rate, parse_pmd_frame,
)
from sensing.belts.stream import NotificationLogWriter
from sensing.belts.vernier import (
    RESPONSE_UUID, VernierCommands, VernierDecoder, build_packet, parse_sensor_mask_reply,
    split_chunks,
)

H = bytes.fromhex
# Real GDX-RB measurement: mask 0x0006, 2 samples, force [-0.52946, -0.53201] N, rate NaN.
REAL_MEAS = H("20 19 cf d8 06 06 00 02 fc 80 8a 07 bf 00 00 c0 7f 80 31 08 bf 00 00 c0 7f")
REAL_FORCE = [-0.52946, -0.53201]
REAL_MASK_REPLY = H("98 0a 01 27 51 fd 36 00 00 00")


def forces(events):
    return [e.value for e in events if isinstance(e, BreathSample)]


# ---- Vernier commands ---------------------------------------------------------------------
def test_vernier_commands_match_the_documented_bytes_with_rolling_counter():
    c = VernierCommands()
    assert c.init() == H("58 19 fe 3f 1a a5 4a 06 49 07 48 08 47 09 46 0a 45 0b 44 0c 43 0d "
                         "42 0e 41")
    assert c.set_period(period_s=0.1) == H("58 0f fd a5 1b ff 00 a0 86 01 00 00 00 00 00")
    assert c.start() == H("58 13 fc 81 18 ff 01 02 00 00 00 00 00 00 00 00 00 00 00")
    assert c.stop() == H("58 0b fb 72 19 ff 00 ff ff ff ff")
    c.reset()
    assert c.init()[2] == 0xFE
    assert [len(x) for x in split_chunks(c.init())] == [20, 5]


# ---- Vernier decoding ---------------------------------------------------------------------
def test_real_measurement_in_one_notification():
    d = VernierDecoder()
    ev = d.update(REAL_MEAS, t_s=10.0)
    assert forces(ev) == pytest.approx(REAL_FORCE, abs=1e-5)
    # No timestamps: the last sample at arrival, the one before one period (100 ms) earlier.
    assert [e.t_s for e in ev] == pytest.approx([9.9, 10.0])
    assert d.stats.skipped_total == 0


def test_real_measurement_split_into_20_byte_chunks_reassembles():
    d = VernierDecoder()
    first, second = split_chunks(REAL_MEAS)
    assert d.update(first, t_s=1.0) == []
    assert forces(d.update(second, t_s=1.0)) == pytest.approx(REAL_FORCE, abs=1e-5)
    assert d.stats.packets == 1 and d.stats.skipped_total == 0


def test_two_packets_in_one_notification():
    d = VernierDecoder()
    ev = d.update(REAL_MEAS + REAL_MASK_REPLY, t_s=1.0)
    assert forces(ev) == pytest.approx(REAL_FORCE, abs=1e-5)
    replies = [e for e in ev if isinstance(e, DeviceReply)]
    assert len(replies) == 1 and replies[0].command_id == 0x51 and replies[0].counter == 0xFD
    assert parse_sensor_mask_reply(replies[0].payload) == 0x36


def test_corrupt_checksum_is_counted_and_the_next_packet_still_decodes():
    d = VernierDecoder()
    bad = bytearray(REAL_MEAS)
    bad[12] ^= 0x40
    assert forces(d.update(bytes(bad), t_s=1.0)) == []
    assert d.stats.skipped["bad_checksum"] == 1
    assert forces(d.update(REAL_MEAS, t_s=1.2)) == pytest.approx(REAL_FORCE, abs=1e-5)
    # A corrupt packet followed by a good one in the same notification.
    assert forces(d.update(bytes(bad) + REAL_MEAS, t_s=1.4)) == pytest.approx(REAL_FORCE,
                                                                              abs=1e-5)


def test_lost_first_fragment_then_good_packet():
    d = VernierDecoder()
    _, tail = split_chunks(REAL_MEAS)
    assert d.update(tail, t_s=1.0) == []           # orphan tail: garbage, counted
    assert forces(d.update(REAL_MEAS, t_s=1.2)) == pytest.approx(REAL_FORCE, abs=1e-5)
    assert d.stats.skipped_total >= 1


def test_lost_tail_fragment_then_good_packet():
    d = VernierDecoder()
    head, _ = split_chunks(REAL_MEAS)
    assert d.update(head, t_s=1.0) == []           # waits for a tail that never comes
    ev = d.update(REAL_MEAS, t_s=1.2)               # a whole packet: the pending one is dropped
    assert forces(ev) == pytest.approx(REAL_FORCE, abs=1e-5)
    assert d.stats.skipped["lost_fragment"] == 1
    head2, tail2 = split_chunks(REAL_MEAS)          # and reassembly still works afterwards
    d.update(head, t_s=1.3)
    assert forces(d.update(head2, t_s=1.4)) == []
    assert forces(d.update(tail2, t_s=1.4)) == pytest.approx(REAL_FORCE, abs=1e-5)


def test_nan_force_values_are_counted_not_emitted():
    payload = bytes([0x06, 0x02, 0x00, 2, 0]) + np.array([np.nan, 0.25], "<f4").tobytes()
    d = VernierDecoder()
    ev = d.update(build_packet(payload, counter=1, kind=0x20), t_s=5.0)
    assert forces(ev) == [0.25]
    assert d.stats.skipped["nan_value"] == 1


def test_wide_measurement_type_07_and_length_mismatch():
    payload = bytes([0x07]) + (0x02).to_bytes(4, "little") + bytes([1, 0]) + \
        np.array([1.5], "<f4").tobytes()
    d = VernierDecoder()
    assert forces(d.update(build_packet(payload, counter=1, kind=0x20), t_s=1.0)) == [1.5]
    short = build_packet(payload[:-1], counter=2, kind=0x20)
    assert forces(d.update(short, t_s=1.1)) == []
    assert d.stats.skipped["measurement_length_mismatch"] == 1


# ---- Polar --------------------------------------------------------------------------------
@pytest.mark.parametrize("hex_frame, expected", [
    ("02 ea 54 a2 42 8b 45 52 08 01 45 ff e4 ff b5 03 45 ff e4 ff b8 03",   # real
     [(-187, -28, 949), (-187, -28, 952)]),
    ("02 00 94 35 77 00 00 00 00 01 f7 ff ff ff e7 03 f8 ff fe ff e5 03 f9 ff ff ff e5 03",
     [(-9, -1, 999), (-8, -2, 997), (-7, -1, 997)]),
    ("02 65 00 00 00 00 00 00 00 81 f1 ff 14 00 f0 03 06 01 7b 0f 08",     # compressed
     [(-15, 20, 1008), (-20, 17, 1008)]),
])
def test_pmd_accelerometer_frames(hex_frame, expected):
    frame = parse_pmd_frame(H(hex_frame))
    assert frame.samples.tolist() == [list(s) for s in expected]


@pytest.mark.parametrize("hex_hr, hr, rr_1024, contact", [
    ("00 ff", 255, (), None),
    ("01 80 80", 32896, (), None),
    ("10 00 ff ff", 0, (65535,), None),
    ("11 00 00 ff ff 7f 80", 0, (65535, 32895), None),
    ("16 48 54 01 ec 02", 72, (340, 748), True),
])
def test_heart_rate_vectors(hex_hr, hr, rr_1024, contact):
    f = parse_heart_rate(H(hex_hr))
    assert (f.hr_bpm, f.rr_1024, f.contact) == (hr, rr_1024, contact)


def test_beat_times_come_from_cumulative_rr_not_arrival():
    d = HeartRateDecoder()
    (a,) = d.update(H("16 48 54 01 ec 02"), t_s=100.0)
    assert a.rr_s == pytest.approx((340 / 1024, 748 / 1024))
    assert a.beat_t_s[1] == pytest.approx(100.0)
    assert a.beat_t_s[1] - a.beat_t_s[0] == pytest.approx(748 / 1024)
    (b,) = d.update(H("16 48 54 01 ec 02"), t_s=101.3)   # arrival jitter ignored
    assert b.beat_t_s[0] == pytest.approx(100.0 + 340 / 1024)
    assert b.beat_t_s[1] == pytest.approx(100.0 + 1088 / 1024)
    assert d.update(H("11 00 00 ff"), t_s=102) == [] and d.stats.skipped["odd_rr_bytes"] == 1


def test_polar_start_stop_commands():
    assert build_acc_start(rate_hz=200, range_g=8) == H("02 02 00 01 c8 00 01 01 10 00 02 01 "
                                                        "08 00")
    assert build_acc_start() == H("02 02 00 01 19 00 01 01 10 00 02 01 02 00")
    assert build_acc_stop() == H("03 02")


def _acc_frame(ts_ns: int, samples) -> bytes:
    body = b"".join(np.asarray(s, "<i2").tobytes() for s in samples)
    return bytes([2]) + ts_ns.to_bytes(8, "little") + b"\x01" + body


def test_pmd_times_from_device_clock_and_out_of_order_frames():
    d = PmdAccelerometerDecoder(rate_hz=25)
    s = [(0, 0, 1000)] * 5
    a = d.update(_acc_frame(10**9, s), t_s=50.0)
    assert a[-1].t_s == pytest.approx(50.0) and a[0].t_s == pytest.approx(50.0 - 4 / 25)
    b = d.update(_acc_frame(10**9 + 200_000_000, s), t_s=50.5)   # late arrival, device time
    assert b[-1].t_s == pytest.approx(50.2)
    assert d.update(_acc_frame(10**9 + 100_000_000, s), t_s=50.6) == []
    assert d.stats.skipped["out_of_order"] == 1
    d.update(_acc_frame(10**9 + 2 * 10**9, s), t_s=52.0)
    assert d.stats.skipped["lost_frames"] == 1


def test_accelerometer_breathing_filter_recovers_a_breathing_rate():
    rate_hz, breath_hz = 25.0, 0.25
    t = np.arange(0, 60, 1 / rate_hz)
    # Chest tilts with breathing: z swings +-20 mg on 1 g, plus 1.2 Hz heartbeat jitter.
    acc = np.stack([np.full_like(t, 30.0), np.full_like(t, -50.0),
                    1000 + 20 * np.sin(2 * np.pi * breath_hz * t)
                    + 5 * np.sin(2 * np.pi * 1.2 * t)], axis=1)
    f = AccelBreathFilter(rate_hz=rate_hz)
    whole = f.update(acc)
    g = AccelBreathFilter(rate_hz=rate_hz)
    pieces = np.concatenate([g.update(acc[i:i + 7]) for i in range(0, len(acc), 7)])
    np.testing.assert_allclose(pieces, whole, atol=1e-9)   # streaming == whole
    settled = whole[t > 20]
    spectrum = np.abs(np.fft.rfft(settled - settled.mean()))
    freqs = np.fft.rfftfreq(len(settled), 1 / rate_hz)
    assert freqs[np.argmax(spectrum)] == pytest.approx(breath_hz, abs=0.03)
    assert abs(settled.mean()) < 2.0          # gravity removed
    heart = spectrum[np.argmin(abs(freqs - 1.2))]
    assert heart < 0.1 * spectrum.max()       # heartbeat (1.2 Hz) filtered out


# ---- Generic ------------------------------------------------------------------------------
def test_generic_belt_from_toml(tmp_path):
    cfg = tmp_path / "stretch.toml"
    cfg.write_text('name = "Stretch"\nservice_uuid = "0000FFE0-0000-1000-8000-00805f9b34fb"\n'
                   'characteristic_uuid = "0000ffe1-0000-1000-8000-00805f9b34fb"\n'
                   'struct_format = "<Hh"\nvalue_field = 1\nscale = 0.5\noffset = 1.0\n'
                   'sample_rate_hz = 20\n'
                   'setup_writes = [{ characteristic_uuid = "0000ffe2-0000-1000-8000-00805f9b34fb", hex = "01" }]\n')
    config = load_generic_config(cfg)
    assert config.service_uuid.startswith("0000ffe0") and config.setup_writes[0].data == b"\x01"
    d = GenericDecoder(config)
    ev = d.update(np.array([(1, -4), (2, 10)], dtype=[("a", "<u2"), ("b", "<i2")]).tobytes(),
                  t_s=3.0)
    assert forces(ev) == [-1.0, 6.0]
    assert [e.t_s for e in ev] == pytest.approx([2.95, 3.0])
    assert d.update(b"\x01\x02\x03", t_s=3.1) == [] and d.stats.skipped["bad_length"] == 1


def test_generic_config_errors_are_one_line(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('service_uuid = "x"\ncharacteristic_uuid = "y"\nstruct_format = "<h"\n'
                   'value_field = 3\nsample_rate_hz = 10\n')
    with pytest.raises(InputError, match="value_field") as err:
        load_generic_config(cfg)
    assert "\n" not in str(err.value)


# ---- Notification logs --------------------------------------------------------------------
def test_notification_log_replays_through_the_same_decoder(tmp_path):
    log_path = tmp_path / "raw.csv"
    w = NotificationLogWriter(log_path)
    head, tail = split_chunks(REAL_MEAS)
    for t, data in [(1.0, head), (1.0, tail), (1.1, REAL_MASK_REPLY), (1.2, REAL_MEAS)]:
        w.write(t, RESPONSE_UUID, data)
    w.close()
    samples = replay_notification_log(log_path, "vernier")
    assert [s.value for s in samples] == pytest.approx(REAL_FORCE * 2, abs=1e-5)
    assert all(isinstance(e, BreathSample) for e in replay_notification_events(log_path,
                                                                               "vernier"))


def test_polar_notification_log_gives_heart_rate(tmp_path):
    from sensing.belts.polar import HR_MEASUREMENT_UUID, PMD_DATA_UUID

    log_path = tmp_path / "polar.csv"
    w = NotificationLogWriter(log_path)
    w.write(1.0, PMD_DATA_UUID, H("02 00 94 35 77 00 00 00 00 01 f7 ff ff ff e7 03 f8 ff fe "
                                  "ff e5 03 f9 ff ff ff e5 03"))
    w.write(1.1, HR_MEASUREMENT_UUID, H("16 48 54 01 ec 02"))
    w.close()
    events = replay_notification_events(log_path, "polar")
    assert sum(isinstance(e, BreathSample) for e in events) == 3
    assert [e.hr_bpm for e in events if isinstance(e, HeartRate)] == [72]


def test_bad_notification_log_is_an_input_error(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("t_s,value\n0,1\n")
    with pytest.raises(InputError, match="t_monotonic,char_uuid,hex"):
        replay_notification_log(p, "vernier")
