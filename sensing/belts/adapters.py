"""Device adapters: which characteristics to subscribe, what to write, how to decode.

An adapter knows one device's protocol and nothing about connecting: the
:class:`~sensing.belts.stream.BeltStream` supervisor connects through bleak, subscribes to
``notify_uuids``, runs ``setup`` (again after every reconnect), feeds every notification to
``decode`` in arrival order, and calls ``stop`` before disconnecting. Replies to commands
come back through ``decode`` as :class:`DeviceReply` and are handed to ``setup`` by
:meth:`BeltLink.wait_reply`. Which adapter serves which kind is the registry,
:mod:`sensing.belts.kinds`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Protocol

from core.errors import SourceError
from sensing.belts import polar, vernier
from sensing.belts.base import BatteryLevel, BeltEvent, DecodeStats, DeviceReply
from sensing.belts.generic import GenericBeltConfig, GenericDecoder

log = logging.getLogger(__name__)

class BeltLink:
    """What an adapter may do on a live connection (a thin layer over ``BleakClient``)."""

    def __init__(self, client) -> None:
        self.client = client
        self.replies: asyncio.Queue[DeviceReply] = asyncio.Queue()

    def has_characteristic(self, uuid: str) -> bool:
        return self.client.services.get_characteristic(uuid) is not None

    async def write(self, uuid: str, data: bytes, *, response: bool) -> None:
        await self.client.write_gatt_char(uuid, data, response=response)

    async def read(self, uuid: str) -> bytes:
        return bytes(await self.client.read_gatt_char(uuid))

    async def wait_reply(self, matches: Callable[[DeviceReply], bool], *,
                         timeout_s: float, what: str) -> DeviceReply:
        """The next reply ``matches`` accepts; others are logged and dropped."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    reply = await self.replies.get()
                    if matches(reply):
                        return reply
                    log.debug("ignoring unexpected reply %r while waiting for %s", reply, what)
        except TimeoutError as exc:
            raise SourceError(f"Expected the belt to answer {what} within {timeout_s:g} s, "
                              f"but it did not: move closer or restart the belt.") from exc


class BeltAdapter(Protocol):
    kind: str
    signal: str  # what the breath value measures (core.signals.BREATH_SIGNALS): sets its polarity
    stats: DecodeStats

    def notify_uuids(self, link: BeltLink) -> tuple[str, ...]: ...
    def reset(self) -> None: ...
    def decode(self, char_uuid: str, data: bytes, t_s: float) -> list[BeltEvent]: ...
    async def setup(self, link: BeltLink) -> list[BeltEvent]: ...
    async def stop(self, link: BeltLink) -> None: ...


def _require(link: BeltLink, uuids: tuple[str, ...], device: str) -> None:
    missing = [u for u in uuids if not link.has_characteristic(u)]
    if missing:
        raise SourceError(f"Expected a {device} offering characteristic(s) "
                          f"{', '.join(missing)}, but the device does not: check that the "
                          f"right device and --kind were chosen.")


class VernierAdapter:
    """Go Direct Respiration Belt: INIT, SET_MEASUREMENT_PERIOD, START force; STOP on exit."""

    kind = "vernier"
    signal = "belt"  # belt force in newtons: tension rises on inhalation

    def __init__(self, *, period_s: float = vernier.DEFAULT_PERIOD_S,
                 command_timeout_s: float = vernier.COMMAND_TIMEOUT_S) -> None:
        self.period_s = period_s
        self.command_timeout_s = command_timeout_s
        self.decoder = vernier.VernierDecoder(period_s=period_s)
        self.commands = vernier.VernierCommands()

    @property
    def stats(self) -> DecodeStats:
        return self.decoder.stats

    def notify_uuids(self, link: BeltLink) -> tuple[str, ...]:
        _require(link, (vernier.COMMAND_UUID, vernier.RESPONSE_UUID), "Vernier GDX-RB belt")
        return (vernier.RESPONSE_UUID,)

    def reset(self) -> None:
        self.decoder.reset()
        self.commands.reset()

    def decode(self, char_uuid: str, data: bytes, t_s: float) -> list[BeltEvent]:
        return self.decoder.update(data, t_s=t_s)

    async def _command(self, link: BeltLink, packet: bytes, what: str) -> DeviceReply:
        for chunk in vernier.split_chunks(packet):
            await link.write(vernier.COMMAND_UUID, chunk, response=False)
        counter = packet[2]
        return await link.wait_reply(lambda r: r.counter == counter,
                                     timeout_s=self.command_timeout_s, what=what)

    async def setup(self, link: BeltLink) -> list[BeltEvent]:
        self.commands.reset()
        await self._command(link, self.commands.init(), "INIT")
        await self._command(link, self.commands.set_period(period_s=self.period_s),
                            "SET_MEASUREMENT_PERIOD")
        await self._command(link, self.commands.start(), "START_MEASUREMENTS")
        return []

    async def stop(self, link: BeltLink) -> None:
        await self._command(link, self.commands.stop(), "STOP_MEASUREMENTS")


class PolarAdapter:
    """Polar H10: PMD accelerometer (breathing), heart rate with RR, battery."""

    kind = "polar"
    signal = "accelerometer"  # chest tilt against gravity: its sign depends on posture and fit

    def __init__(self, *, rate_hz: int = 25, range_g: int = 2, chest_axis=(0.0, 0.0, 1.0),
                 command_timeout_s: float = 5.0) -> None:
        self.start_command = polar.build_acc_start(rate_hz=rate_hz, range_g=range_g)
        self.command_timeout_s = command_timeout_s
        self.decoder = polar.PolarDecoder(rate_hz=rate_hz, chest_axis=chest_axis)

    @property
    def stats(self) -> DecodeStats:
        return self.decoder.stats

    def notify_uuids(self, link: BeltLink) -> tuple[str, ...]:
        _require(link, (polar.PMD_CONTROL_UUID, polar.PMD_DATA_UUID), "Polar H10")
        # The control point first: its replies arrive as indications.
        uuids = [polar.PMD_CONTROL_UUID, polar.PMD_DATA_UUID]
        if link.has_characteristic(polar.HR_MEASUREMENT_UUID):
            uuids.append(polar.HR_MEASUREMENT_UUID)
        return tuple(uuids)

    def reset(self) -> None:
        self.decoder.reset()

    def decode(self, char_uuid: str, data: bytes, t_s: float) -> list[BeltEvent]:
        return self.decoder.update(data, t_s=t_s, char_uuid=char_uuid)

    async def setup(self, link: BeltLink) -> list[BeltEvent]:
        await link.write(polar.PMD_CONTROL_UUID, self.start_command, response=True)
        reply = await link.wait_reply(lambda r: r.command_id == polar.PMD_OP_START,
                                      timeout_s=self.command_timeout_s,
                                      what="the accelerometer start")
        error = reply.payload[1] if len(reply.payload) > 1 else None
        if error != 0:
            raise SourceError(f"Expected the Polar H10 to start its accelerometer (error code "
                              f"0), but it answered {error!r}: restart the strap and retry.")
        events: list[BeltEvent] = []
        if link.has_characteristic(polar.BATTERY_LEVEL_UUID):
            data = await link.read(polar.BATTERY_LEVEL_UUID)
            events.extend(self.decoder.update(data, t_s=time.monotonic(),
                                              char_uuid=polar.BATTERY_LEVEL_UUID))
        return [e for e in events if isinstance(e, BatteryLevel)]

    async def stop(self, link: BeltLink) -> None:
        await link.write(polar.PMD_CONTROL_UUID, polar.build_acc_stop(), response=True)


class GenericAdapter:
    """A device described by a :class:`GenericBeltConfig` TOML file."""

    kind = "generic"

    def __init__(self, config: GenericBeltConfig, /) -> None:
        self.config = config
        self.signal = config.signal  # from the TOML file (default "belt")
        self.decoder = GenericDecoder(config)

    @property
    def stats(self) -> DecodeStats:
        return self.decoder.stats

    def notify_uuids(self, link: BeltLink) -> tuple[str, ...]:
        _require(link, (self.config.characteristic_uuid,), self.config.name)
        return (self.config.characteristic_uuid,)

    def reset(self) -> None:
        self.decoder.reset()

    def decode(self, char_uuid: str, data: bytes, t_s: float) -> list[BeltEvent]:
        if char_uuid.lower() != self.config.characteristic_uuid:
            self.decoder.stats.skip("unknown_characteristic")
            return []
        return self.decoder.update(data, t_s=t_s)

    async def setup(self, link: BeltLink) -> list[BeltEvent]:
        for w in self.config.setup_writes:
            await link.write(w.characteristic_uuid, w.data, response=w.response)
        return []

    async def stop(self, link: BeltLink) -> None:
        for w in self.config.stop_writes:
            await link.write(w.characteristic_uuid, w.data, response=w.response)
