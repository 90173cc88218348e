"""Bluetooth breathing belts on bleak: decoders, device adapters, a supervised stream.

Quick use (``docs/belts.md`` has the rest)::

    from sensing.belts import open_belt, BreathSample, Gap

    with open_belt("GDX-RB 0K1012") as belt:           # or "Polar H10 ABCD", or belt.toml
        while practising:
            for event in belt.read(timeout_s=0.1):
                if isinstance(event, BreathSample): ...
                elif isinstance(event, Gap): ...

Importing this package does not import bleak; connecting and scanning do.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import NamedTuple

from core.errors import SourceError
from sensing.belts.adapters import BeltAdapter
from sensing.belts.base import (
    BatteryLevel, BeltEvent, BreathSample, DecodeStats, DeviceReply, Gap, HeartRate,
)
from sensing.belts.generic import GenericBeltConfig, load_generic_config
from sensing.belts.kinds import (
    BELT_KINDS, BeltKind, belt_kinds_help, belt_signal, get_belt_kind, kind_from_name, kind_from_services,
    make_adapter, register_belt_kind,
)
from sensing.belts.replay import (
    load_notification_log, replay_notification_events, replay_notification_log,
)
from sensing.belts.stream import (
    BeltStream, NotificationLogWriter, ReconnectPolicy, is_no_adapter, no_adapter_error,
)

__all__ = [
    "BELT_KINDS", "BatteryLevel", "BeltAdapter", "BeltEvent", "BeltKind", "BeltStream", "BreathSample",
    "DecodeStats", "DeviceReply", "FoundBelt", "Gap", "GenericBeltConfig", "HeartRate",
    "NotificationLogWriter", "ReconnectPolicy", "belt_kinds_help", "belt_signal", "get_belt_kind",
    "kind_from_name", "kind_from_services", "load_generic_config", "load_notification_log", "make_adapter",
    "open_belt", "register_belt_kind", "replay_notification_events", "replay_notification_log", "scan_belts",
]

DEFAULT_SCAN_S = 5.0
_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}"
                      r"[0-9A-Fa-f]{12}$")


class FoundBelt(NamedTuple):
    name: str
    address: str
    rssi: int | None
    kind: str | None


def _run_in_own_loop(coro_factory):
    """Run a coroutine on a fresh event loop in a helper thread (safe inside any caller)."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro_factory())
        except BaseException as exc:  # noqa: BLE001 - handed back to the calling thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="belt-scan", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def scan_belts(timeout_s: float = DEFAULT_SCAN_S, *, scanner_backend=None,
               all_devices: bool = False) -> list[FoundBelt]:
    """Nearby belts, strongest signal first: ``(name, address, rssi, kind)``.

    A device counts as a belt when its advertised local name or device name starts with a
    known prefix, or it advertises a known service. ``all_devices`` lists everything seen.
    ``scanner_backend`` is passed to ``bleak.BleakScanner(backend=)`` (tests inject one).
    Without a Bluetooth adapter raises a one-line ``SourceError``.
    """
    from bleak import BleakScanner
    from bleak.exc import BleakError

    async def discover():
        return await BleakScanner.discover(timeout=timeout_s, return_adv=True,
                                           backend=scanner_backend)

    try:
        seen = _run_in_own_loop(discover)
    except (BleakError, OSError) as exc:
        if is_no_adapter(exc):
            raise no_adapter_error(exc) from exc
        raise SourceError(f"Expected a Bluetooth scan to run, but it failed ({exc}): check "
                          f"that Bluetooth is switched on.") from exc
    found = []
    for device, adv in seen.values():
        name = adv.local_name or device.name or ""
        kind = kind_from_name(adv.local_name) or kind_from_name(device.name)
        if kind is None:
            kind = kind_from_services(adv.service_uuids)
        if kind is not None or all_devices:
            found.append(FoundBelt(name, device.address, adv.rssi, kind))
    return sorted(found, key=lambda b: -(b.rssi if b.rssi is not None else -999))


def open_belt(name_or_address: str | Path, /, *, kind: str | None = None, backend=None,
              scanner_backend=None, scan_timeout_s: float = DEFAULT_SCAN_S,
              raw_log: str | Path | None = None, reconnect: ReconnectPolicy | None = None,
              start: bool = True) -> BeltStream:
    """Connect to a belt and return its running :class:`BeltStream`.

    ``name_or_address``: an advertised name or its start (``"GDX-RB 0K1012"``,
    ``"Polar H10"``; found by scanning), a Bluetooth address (then ``kind`` is needed unless
    a scan can name it), or the path of a generic belt TOML file. ``kind`` forces the
    adapter (a name of the :mod:`sensing.belts.kinds` registry). ``backend``/``scanner_backend``
    are handed to bleak (the test seam). Raises ``SourceError`` in one line when no adapter,
    no device or no connection.
    """
    target = str(name_or_address)
    config = None
    if target.lower().endswith(".toml"):
        config = load_generic_config(target)
        kind = next(k.name for k in BELT_KINDS.values() if k.needs_file)
        target = config.address or config.name_prefix or config.name
    kind = kind or kind_from_name(target)
    if _ADDRESS.match(target) and kind is not None:
        address, name = target, target
    else:
        belts = scan_belts(scan_timeout_s, scanner_backend=scanner_backend, all_devices=True)
        wanted = target.lower()
        match = next((b for b in belts if b.address.lower() == wanted), None) or next(
            (b for b in belts if b.name and b.name.lower().startswith(wanted)), None)
        if match is None:
            names = ", ".join(f"{b.name or '?'} ({b.address})" for b in belts) or "nothing"
            raise SourceError(f"Expected a belt named or addressed {target!r} nearby, but "
                              f"the scan found {names}: switch the belt on and run "
                              f"'mindmove belt scan'.")
        address, name = match.address, match.name or match.address
        kind = kind or match.kind
        if kind is None:
            known = " or ".join(k.title for k in BELT_KINDS.values() if k.name_prefix)
            raise SourceError(f"Expected a known belt, but {name!r} is not a {known}: "
                              f"pass --kind or a generic belt TOML file.")
    adapter = make_adapter(kind, config=config)
    stream = BeltStream(address, adapter, name=name, backend=backend, reconnect=reconnect,
                        raw_log=raw_log)
    return stream.start() if start else stream
