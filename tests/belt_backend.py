"""In-memory Bluetooth devices for the belt tests (tests only).

THIS IS A MOCK AT THE HARDWARE SEAM, AND ONLY THERE: no Bluetooth radio exists on the
development and CI machines, so :class:`InMemoryBackend` subclasses bleak's own
``BaseBleakClient`` and is handed to the REAL ``bleak.BleakClient(address, backend=...)``.
Everything above it (bleak's client, our adapters, supervisor, decoders) is the real code.

The backend builds a ``BleakGATTServiceCollection`` in ``connect()``, answers writes the
way the device does (Vernier: a reply packet per command; Polar: control-point
indications), streams notifications, and can drop the link (calling bleak's disconnected
callback) to exercise reconnection.
"""

from __future__ import annotations

import asyncio
import math
import struct

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection

from sensing.belts import polar, vernier


class DeviceEmulator:
    """One emulated peripheral; lives across connections so tests can inspect history."""

    services: dict[str, list[tuple[str, list[str]]]] = {}

    def __init__(self, *, drop_after: int | None = None, per_connection: int = 30,
                 fail_on_connection: int | None = None) -> None:
        self.drop_after = drop_after          # streamed notifications before the 1st drop
        self.per_connection = per_connection  # notifications streamed per connection
        self.fail_on_connection = fail_on_connection  # this connect() raises an unexpected error
        self.connections = 0
        self.writes: list[list[tuple[str, bytes, bool]]] = []
        self.streamed: list[list[bytes]] = []

    def on_write(self, uuid: str, data: bytes) -> tuple[list[tuple[str, bytes]], bool]:
        """Replies to send, and whether streaming starts now."""
        raise NotImplementedError

    interval_s = 0.1

    def notification(self, index: int) -> list[tuple[str, list[bytes]]]:
        """What the device sends at the ``index``-th tick: ``[(uuid, chunks), ...]``."""
        raise NotImplementedError

    def read(self, uuid: str) -> bytes:
        raise KeyError(uuid)


class VernierEmulator(DeviceEmulator):
    """GDX-RB: reassembles commands, replies to each, streams force + rate packets.

    Each measurement packet holds 2 samples of force (a 0.25 Hz sine) and rate (NaN):
    25 bytes, so it arrives as 20 + 5 like the real vector.
    """

    services = {vernier.SERVICE_UUID: [(vernier.COMMAND_UUID, ["write-without-response"]),
                                       (vernier.RESPONSE_UUID, ["notify"])]}
    REPLY_KIND = 0x98

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._partial = b""
        self._dev_counter = 0
        self.sample_index = 0
        self.period_s = vernier.DEFAULT_PERIOD_S

    @property
    def interval_s(self) -> float:  # real time: 2 samples per packet at the set period
        return 2 * self.period_s

    def force_n(self, k: int) -> float:
        return float(struct.unpack("<f", struct.pack("<f", -0.53 + 0.2 * math.sin(
            2 * math.pi * 0.25 * k * vernier.DEFAULT_PERIOD_S)))[0])

    def on_write(self, uuid, data):
        assert uuid == vernier.COMMAND_UUID and len(data) <= vernier.CHUNK_LEN
        self._partial += data
        if len(self._partial) < self._partial[1]:
            return [], False
        packet, self._partial = self._partial, b""
        assert vernier.compute_checksum(packet) == packet[3]
        cmd, counter = packet[4], packet[2]
        if cmd == vernier.CMD_SET_PERIOD:
            self.period_s = struct.unpack("<I", packet[7:11])[0] * 1e-6
        self._dev_counter = (self._dev_counter + 1) & 0xFF
        reply = vernier.build_packet(bytes([cmd, counter]), counter=self._dev_counter,
                                     kind=self.REPLY_KIND)
        return [(vernier.RESPONSE_UUID, reply)], cmd == vernier.CMD_START

    def notification(self, index):
        k = self.sample_index
        self.sample_index += 2
        values = [self.force_n(k), math.nan, self.force_n(k + 1), math.nan]
        payload = bytes([vernier.MEAS_REAL32, 0x06, 0x00, 2, k & 0xFF]) + struct.pack("<4f",
                                                                                      *values)
        packet = vernier.build_packet(payload, counter=index & 0xFF,
                                      kind=vernier.KIND_MEASUREMENT)
        return [(vernier.RESPONSE_UUID, vernier.split_chunks(packet))]


class PolarEmulator(DeviceEmulator):
    """H10: control-point indications, 25 Hz raw accelerometer frames, HR with RR, battery."""

    services = {
        polar.PMD_SERVICE_UUID: [(polar.PMD_CONTROL_UUID, ["write", "indicate", "read"]),
                                 (polar.PMD_DATA_UUID, ["notify"])],
        polar.HR_SERVICE_UUID: [(polar.HR_MEASUREMENT_UUID, ["notify"])],
        polar.BATTERY_SERVICE_UUID: [(polar.BATTERY_LEVEL_UUID, ["read", "notify"])],
    }
    FRAME_SAMPLES = 5
    RATE_HZ = 25
    interval_s = FRAME_SAMPLES / RATE_HZ  # real time

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.sample_index = 0
        self.battery_percent = 87

    def on_write(self, uuid, data):
        assert uuid == polar.PMD_CONTROL_UUID
        if data[0] == polar.PMD_OP_START:
            return [(polar.PMD_CONTROL_UUID, bytes([0xF0, data[0], data[1], 0, 0]))], True
        return [(polar.PMD_CONTROL_UUID, bytes([0xF0, data[0], data[1], 0, 0]))], False

    def read(self, uuid):
        assert uuid == polar.BATTERY_LEVEL_UUID
        return bytes([self.battery_percent])

    def notification(self, index):
        k0 = self.sample_index
        self.sample_index += self.FRAME_SAMPLES
        ts_ns = round((k0 + self.FRAME_SAMPLES - 1) * 1e9 / self.RATE_HZ) + 10**9
        body = b"".join(struct.pack("<3h", 0, 0, 1000 + round(30 * math.sin(
            2 * math.pi * 0.25 * k / self.RATE_HZ))) for k in range(k0, k0 + self.FRAME_SAMPLES))
        frame = bytes([polar.PMD_TYPE_ACC]) + ts_ns.to_bytes(8, "little") + b"\x01" + body
        out = [(polar.PMD_DATA_UUID, [frame])]
        if index % 5 == 4:  # a heart-rate notification now and then: HR 72, RR 340, 748
            out.append((polar.HR_MEASUREMENT_UUID, [bytes.fromhex("16 48 54 01 ec 02")]))
        return out


class InMemoryBackend(BaseBleakClient):
    """A ``BaseBleakClient`` talking to a :class:`DeviceEmulator` (see module docstring)."""

    device: DeviceEmulator  # set on the subclass made by make_backend()

    def __init__(self, address_or_ble_device, **kwargs) -> None:
        super().__init__(address_or_ble_device,
                         disconnected_callback=kwargs.get("disconnected_callback"),
                         timeout=kwargs.get("timeout", 10.0))
        self._connected = False
        self._callbacks: dict[str, object] = {}
        self._stream_task: asyncio.Task | None = None

    @property
    def mtu_size(self) -> int:
        return 23

    @property
    def name(self) -> str:
        return f"in-memory {self.address}"

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self, pair: bool, **kwargs) -> None:
        if self.device.fail_on_connection == self.device.connections + 1:
            # not a link error (those are BleakError/OSError/TimeoutError): a driver bug
            raise RuntimeError("the Bluetooth driver crashed")
        collection = BleakGATTServiceCollection()
        handle = 1
        for service_uuid, chars in self.device.services.items():
            service = BleakGATTService(None, handle, service_uuid)
            collection.add_service(service)
            handle += 1
            for char_uuid, props in chars:
                collection.add_characteristic(BleakGATTCharacteristic(
                    None, handle, char_uuid, props, lambda: 20, service))
                handle += 1
        self.services = collection
        self._connected = True
        self.device.connections += 1
        self.device.writes.append([])
        self.device.streamed.append([])

    async def disconnect(self) -> None:
        self._connected = False
        if self._stream_task is not None:
            self._stream_task.cancel()

    async def pair(self, *args, **kwargs) -> None:
        raise NotImplementedError

    async def unpair(self) -> None:
        raise NotImplementedError

    async def read_gatt_char(self, characteristic, *, use_cached=False, **kwargs):
        return bytearray(self.device.read(characteristic.uuid))

    async def read_gatt_descriptor(self, descriptor, *, use_cached=False, **kwargs):
        raise NotImplementedError

    async def write_gatt_descriptor(self, descriptor, data) -> None:
        raise NotImplementedError

    async def start_notify(self, characteristic, callback, **kwargs) -> None:
        self._callbacks[characteristic.uuid] = callback

    async def stop_notify(self, characteristic) -> None:
        self._callbacks.pop(characteristic.uuid, None)

    async def write_gatt_char(self, characteristic, data, response: bool) -> None:
        if not self._connected:
            raise OSError("not connected")
        self.device.writes[-1].append((characteristic.uuid, bytes(data), response))
        replies, start_streaming = self.device.on_write(characteristic.uuid, bytes(data))
        loop = asyncio.get_running_loop()
        for uuid, reply in replies:
            for chunk in vernier.split_chunks(reply):
                loop.call_soon(self._notify, uuid, chunk)
        if start_streaming:
            self._stream_task = asyncio.create_task(self._stream())

    def _notify(self, uuid: str, data: bytes) -> None:
        callback = self._callbacks.get(uuid)
        if self._connected and callback is not None:
            callback(bytearray(data))

    async def _stream(self) -> None:
        connection = self.device.connections
        for index in range(self.device.per_connection):
            await asyncio.sleep(self.device.interval_s)
            if connection == 1 and self.device.drop_after is not None \
                    and index == self.device.drop_after:
                self._connected = False  # the radio link is gone
                if self._disconnected_callback is not None:
                    self._disconnected_callback()
                return
            for uuid, chunks in self.device.notification(index):
                self.device.streamed[-1].append(b"".join(chunks))
                for chunk in chunks:
                    self._notify(uuid, chunk)


def make_backend(device: DeviceEmulator) -> type[InMemoryBackend]:
    """A backend class bound to ``device`` (bleak instantiates the class itself)."""
    return type("InMemoryBackend", (InMemoryBackend,), {"device": device})


class FakeScanner(BaseBleakScanner):
    """Scanner backend reporting fixed advertisements (the same hardware-seam mock)."""

    adverts = [("C4:64:E3:00:00:01", "GDX-RB 0K1012", -58, []),
               ("A0:9E:1A:00:00:02", "Polar H10 ABCD1234", -71, [polar.HR_SERVICE_UUID]),
               ("11:22:33:44:55:66", "Some Speaker", -40, [])]

    def __init__(self, detection_callback=None, service_uuids=None, scanning_mode="active",
                 **kwargs) -> None:
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        self.seen_devices = {}
        for address, name, rssi, uuids in self.adverts:
            adv = AdvertisementData(local_name=name, manufacturer_data={}, service_data={},
                                    service_uuids=uuids, tx_power=None, rssi=rssi,
                                    platform_data=())
            device = self.create_or_update_device(address, address, name, None, adv)
            self.call_detection_callbacks(device, adv)

    async def stop(self) -> None:
        pass


CLI_DEVICE = VernierEmulator(drop_after=3, per_connection=6)


def cli_backends():
    """For ``MINDMOVE_BELT_BACKEND=belt_backend:cli_backends`` in the CLI tests."""
    return make_backend(CLI_DEVICE), FakeScanner


def failing_cli_backends():
    """A belt that streams, drops its link, then fails unexpectedly on reconnecting."""
    return make_backend(VernierEmulator(drop_after=5, per_connection=8, fail_on_connection=2)), FakeScanner


__all__ = ["BLEDevice", "FakeScanner", "InMemoryBackend", "PolarEmulator", "VernierEmulator",
           "cli_backends", "failing_cli_backends", "make_backend"]
