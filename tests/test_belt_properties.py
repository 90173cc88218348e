"""Property tests: random and mutated bytes never make a belt decoder raise."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from sensing.belts import replay_notification_events  # noqa: F401  (import check)
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


@settings(max_examples=120, deadline=None)
@given(NOTIFICATIONS)
def test_vernier_decoder_never_raises(notifications):
    d = VernierDecoder()
    for t, n in enumerate(notifications):
        for chunk in split_chunks(n) if n else [n]:
            for e in d.update(chunk, t_s=float(t)):
                assert e.t_s == e.t_s  # events are well formed


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(POLAR_UUIDS), st.one_of(st.binary(max_size=80),
                                                                  mutated())), max_size=15))
def test_polar_decoder_never_raises(items):
    d = PolarDecoder()
    for t, (uuid, data) in enumerate(items):
        d.update(data, t_s=float(t), char_uuid=uuid)
    assert d.stats.packets + d.stats.skipped_total >= 0


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["<h", "<Hhf", ">I", "<3h", "<d"]), NOTIFICATIONS)
def test_generic_decoder_never_raises(fmt, notifications):
    cfg = GenericBeltConfig(service_uuid="s", characteristic_uuid="c", struct_format=fmt,
                            value_field=0, sample_rate_hz=10.0, scale=2.0)
    d = GenericDecoder(cfg)
    for t, n in enumerate(notifications):
        d.update(n, t_s=float(t))
