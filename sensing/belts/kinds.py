"""The belt kinds MindMove knows: one registry entry each.

A new Bluetooth belt is an adapter (:mod:`sensing.belts.adapters`, over its protocol
module) plus one :class:`BeltKind` entry here; scanning, ``open_belt``, raw-log replay,
``mindmove belt record`` and every ``--kind`` / ``--belt-kind`` help text read this registry.
A belt that needs no code is a TOML file for the ``generic`` kind (``docs/belts.md``).

Each entry names the breath ``signal`` its device gives (one of
:data:`core.signals.BREATH_SIGNALS`), which decides what a rise of the waveform
means; a generic belt's file may name another (:func:`belt_signal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from core.errors import SourceError
from sensing.belts import polar, vernier
from sensing.belts.adapters import BeltAdapter, GenericAdapter, PolarAdapter, VernierAdapter
from core.signals import BREATH_SIGNALS
from sensing.belts.generic import GenericBeltConfig


@dataclass(frozen=True)
class BeltKind:
    """One kind of belt: how to recognise it, what it measures, how to talk to it."""

    name: str                     # what --kind / --belt-kind take
    title: str                    # what a person calls it
    signal: str                   # the breath signal kind (BREATH_SIGNALS)
    adapter: Callable[[GenericBeltConfig | None], BeltAdapter]
    name_prefix: str | None = None   # advertised name prefix found by a scan
    service_uuid: str | None = None  # advertised service found by a scan
    heart_rate: bool = False         # also reports heart rate and RR intervals
    needs_file: bool = False         # described by a TOML file (the generic kind)

    def __post_init__(self) -> None:
        if self.signal not in BREATH_SIGNALS:
            raise ValueError(f"belt kind {self.name!r}: signal {self.signal!r} is not one of {BREATH_SIGNALS}")


def _generic_adapter(config: GenericBeltConfig | None) -> BeltAdapter:
    if config is None:
        raise SourceError("Expected a belt TOML file for a generic belt, but none was "
                          "given: pass the file's path as the device.")
    return GenericAdapter(config)


BELT_KINDS: dict[str, BeltKind] = {}


def register_belt_kind(kind: BeltKind, /) -> BeltKind:
    """Add ``kind`` to the registry (a name may be registered once)."""
    if kind.name in BELT_KINDS:
        raise ValueError(f"belt kind {kind.name!r} is registered already")
    BELT_KINDS[kind.name] = kind
    return kind


register_belt_kind(BeltKind(
    "vernier", "Vernier GDX-RB respiration belt", signal=VernierAdapter.signal,
    adapter=lambda _config: VernierAdapter(), name_prefix=vernier.NAME_PREFIX, service_uuid=vernier.SERVICE_UUID))
register_belt_kind(BeltKind(
    "polar", "Polar H10 chest strap", signal=PolarAdapter.signal,
    adapter=lambda _config: PolarAdapter(), name_prefix=polar.NAME_PREFIX, service_uuid=polar.PMD_SERVICE_UUID,
    heart_rate=True))
register_belt_kind(BeltKind(
    "generic", "a device described by a TOML file", signal="belt", adapter=_generic_adapter, needs_file=True))


def belt_kind_names() -> tuple[str, ...]:
    return tuple(BELT_KINDS)


def belt_kinds_help(separator: str = " | ") -> str:
    """``vernier | polar | generic``: the choices, for help texts and messages."""
    return separator.join(BELT_KINDS)


def get_belt_kind(name: str, /) -> BeltKind:
    """The registry entry ``name``; a one-line :class:`SourceError` for an unknown kind."""
    try:
        return BELT_KINDS[name]
    except (KeyError, TypeError):
        raise SourceError(f"Expected a belt kind among {', '.join(BELT_KINDS)}, but got {name!r}: "
                          f"choose one of those.") from None


def make_adapter(kind: str, /, *, config: GenericBeltConfig | None = None) -> BeltAdapter:
    """The adapter for ``kind`` (the generic kind needs its ``config``)."""
    return get_belt_kind(kind).adapter(config)


def belt_signal(kind: str, /, *, config: GenericBeltConfig | None = None) -> str:
    """The breath signal kind of a ``kind`` belt (a generic belt's file may name its own)."""
    entry = get_belt_kind(kind)
    return config.signal if entry.needs_file and config is not None else entry.signal


def kind_from_name(name: str | None, /) -> str | None:
    """The kind whose advertised name prefix ``name`` starts with (``GDX-RB ...`` -> vernier), else None."""
    if not name:
        return None
    for kind in BELT_KINDS.values():
        if kind.name_prefix and name.strip().lower().startswith(kind.name_prefix.lower()):
            return kind.name
    return None


def kind_from_services(service_uuids: Iterable[str], /) -> str | None:
    """The kind whose service a device advertises, else None."""
    advertised = {u.lower() for u in service_uuids}
    return next((k.name for k in BELT_KINDS.values() if k.service_uuid and k.service_uuid.lower() in advertised),
                None)
