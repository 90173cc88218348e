"""A belt described by a small TOML file instead of code.

Example (``docs/belts.md`` has the full reference)::

    name = "My stretch belt"
    name_prefix = "STRETCH"          # advertised-name prefix used by scan/open_belt
    service_uuid = "0000ffe0-0000-1000-8000-00805f9b34fb"
    characteristic_uuid = "0000ffe1-0000-1000-8000-00805f9b34fb"
    struct_format = "<Hh"            # one record; a notification may hold several
    value_field = 1                  # which field of the record is the breath value
    scale = 0.01                     # value = raw * scale + offset
    offset = 0.0
    sample_rate_hz = 20.0
    signal = "belt"                  # what the value measures: belt, impedance, airflow, co2,
                                     # thermistor, accelerometer or auto (sets the polarity)
    # optional: bytes written after subscribing and before disconnecting
    setup_writes = [{ characteristic_uuid = "0000ffe2-...", hex = "01" }]
    stop_writes = [{ characteristic_uuid = "0000ffe2-...", hex = "00" }]
"""

from __future__ import annotations

import math
import struct
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


from core.errors import InputError
from core.signals import BREATH_SIGNALS
from sensing.belts.base import BreathSample, DecodeStats, SampleClock


@dataclass(frozen=True)
class GattWrite:
    characteristic_uuid: str
    data: bytes
    response: bool = True


@dataclass(frozen=True)
class GenericBeltConfig:
    service_uuid: str
    characteristic_uuid: str
    struct_format: str
    value_field: int
    sample_rate_hz: float
    scale: float = 1.0
    offset: float = 0.0
    name: str = "generic belt"
    signal: str = "belt"
    name_prefix: str | None = None
    address: str | None = None
    setup_writes: tuple[GattWrite, ...] = field(default_factory=tuple)
    stop_writes: tuple[GattWrite, ...] = field(default_factory=tuple)
    signal: str = "belt"  # the breath signal kind, one of BREATH_SIGNALS

    @property
    def record_size(self) -> int:
        return struct.calcsize(self.struct_format)


_REQUIRED = ("service_uuid", "characteristic_uuid", "struct_format", "value_field",
             "sample_rate_hz")


def _writes(raw, path: Path, key: str) -> tuple[GattWrite, ...]:
    try:
        return tuple(GattWrite(str(w["characteristic_uuid"]).lower(),
                               bytes.fromhex(str(w["hex"])), bool(w.get("response", True)))
                     for w in raw or ())
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"Expected {key} in {path} to be a list of "
                         f"{{characteristic_uuid, hex}} tables, but got {raw!r}: fix the "
                         f"belt file.") from exc


def load_generic_config(path: str | Path, /) -> GenericBeltConfig:
    """Read and check a generic belt TOML file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"Expected a readable TOML belt file at {path}, but reading it "
                         f"failed ({exc}): check the path and syntax.") from exc
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise InputError(f"Expected keys {', '.join(_REQUIRED)} in belt file {path}, but "
                         f"{', '.join(missing)} missing: add them (see docs/belts.md).")
    try:
        n_fields = len(struct.unpack(raw["struct_format"], bytes(
            struct.calcsize(raw["struct_format"]))))
    except (struct.error, TypeError) as exc:
        raise InputError(f"Expected a Python struct format in {path}, but got "
                         f"{raw['struct_format']!r} ({exc}): fix struct_format.") from exc
    value_field = raw["value_field"]
    if not isinstance(value_field, int) or not 0 <= value_field < n_fields:
        raise InputError(f"Expected value_field in {path} to index one of the {n_fields} "
                         f"fields of {raw['struct_format']!r}, but got {value_field!r}.")
    rate = raw["sample_rate_hz"]
    if not isinstance(rate, (int, float)) or not rate > 0:
        raise InputError(f"Expected sample_rate_hz > 0 in {path}, but got {rate!r}.")
    signal = raw.get("signal", "belt")
    if signal not in BREATH_SIGNALS:
        raise InputError(f"Expected signal in {path} to be one of {', '.join(BREATH_SIGNALS)}, but got "
                         f"{signal!r}: say what the belt's value measures.")
    return GenericBeltConfig(
        service_uuid=str(raw["service_uuid"]).lower(),
        characteristic_uuid=str(raw["characteristic_uuid"]).lower(),
        struct_format=raw["struct_format"], value_field=value_field,
        sample_rate_hz=float(rate), scale=float(raw.get("scale", 1.0)),
        offset=float(raw.get("offset", 0.0)), name=str(raw.get("name", path.stem)), signal=signal,
        name_prefix=raw.get("name_prefix"), address=raw.get("address"),
        setup_writes=_writes(raw.get("setup_writes"), path, "setup_writes"),
        stop_writes=_writes(raw.get("stop_writes"), path, "stop_writes"),
    )


class GenericDecoder:
    """Notifications of the configured characteristic -> breath samples.

    A notification must hold a whole number of records; otherwise it is counted
    (``bad_length``) and skipped. Times are rebuilt by counting at ``sample_rate_hz``.
    """

    def __init__(self, config: GenericBeltConfig, /) -> None:
        self.config = config
        self.stats = DecodeStats()
        self._clock = SampleClock(config.sample_rate_hz)

    def reset(self) -> None:
        self._clock.reset()

    def update(self, data: bytes, /, *, t_s: float) -> list[BreathSample]:
        size = self.config.record_size
        if len(data) == 0 or len(data) % size:
            self.stats.skip("bad_length")
            return []
        self.stats.packets += 1
        records = list(struct.iter_unpack(self.config.struct_format, bytes(data)))
        times = self._clock.times(len(records), t_s)
        out = []
        for t, rec in zip(times, records):
            if not math.isfinite(t):
                self.stats.skip("clock_overlap")  # see SampleClock: its time is unknown
                continue
            raw = rec[self.config.value_field]
            try:
                value = float(raw) * self.config.scale + self.config.offset
            except (TypeError, ValueError):
                self.stats.skip("non_numeric_field")
                continue
            if not math.isfinite(value):
                self.stats.skip("nan_value")
                continue
            out.append(BreathSample(float(t), value))
        self.stats.samples += len(out)
        return out


