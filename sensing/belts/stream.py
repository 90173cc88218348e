"""A live belt: bleak on its own event loop in its own thread, supervised.

:class:`BeltStream` owns one background thread running an asyncio loop. In that loop a
supervisor connects (``bleak.BleakClient``, optionally with an injected ``backend=``),
subscribes, sends the adapter's setup, and then waits. Notification callbacks are
synchronous and only queue ``(time.monotonic(), char_uuid, bytes)``; ONE consumer task
decodes them in arrival order. Decoded events go to a thread-safe queue the caller drains
with :meth:`BeltStream.read` (never blocking the loop: a UI thread can poll it).

When the link drops, the supervisor reconnects with exponential backoff, subscribes and
sends the setup again, and emits a :class:`Gap` from the last event before the drop to the
moment streaming resumed. Closing sends the device's stop command and disconnects.

Any failure ends in ``error`` (a one-line :class:`SourceError`) and the stream finishing:
link failures after the reconnection attempts run out, and an unexpected error in the
thread too (logged with its traceback); :meth:`BeltStream.read` raises it once the events
queued before it have been read.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import SourceError
from sensing.belts.adapters import BeltAdapter, BeltLink
from sensing.belts.base import BatteryLevel, BeltEvent, DeviceReply, Gap

log = logging.getLogger(__name__)

OUTPUT_QUEUE_MAX = 100_000
STOP_TIMEOUT_S = 3.0
NO_ADAPTER_HINT = "use --breath-replay FILE to practise without a belt"


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff between connection attempts."""

    first_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 30.0
    initial_attempts: int = 3          # attempts before the first connection is given up
    max_attempts: int | None = None    # consecutive failed reconnects before giving up
    connect_timeout_s: float = 20.0

    def delay_s(self, attempt: int, /) -> float:
        return min(self.max_delay_s, self.first_delay_s * self.factor ** attempt)


def no_adapter_error(exc: BaseException) -> SourceError:
    """The one-line error for a machine without a usable Bluetooth stack."""
    detail = (f"no Bluetooth system service ({type(exc).__name__})"
              if isinstance(exc, FileNotFoundError) else f"{type(exc).__name__}: {exc}")
    return SourceError(f"No Bluetooth adapter found: expected a working Bluetooth radio, "
                       f"got {detail}; {NO_ADAPTER_HINT}.")


def is_no_adapter(exc: BaseException) -> bool:
    """Whether ``exc`` means this machine has no usable Bluetooth stack."""
    from bleak.exc import BleakBluetoothNotAvailableError, BleakError

    if isinstance(exc, (BleakBluetoothNotAvailableError, FileNotFoundError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, BleakError) and any(
        hint in text for hint in ("unsupported backend", "no bluetooth adapters",
                                  "serviceunknown", "org.bluez"))


class NotificationLogWriter:
    """Raw notifications as CSV ``t_monotonic,char_uuid,hex``, flushed row by row."""

    HEADER = ("t_monotonic", "char_uuid", "hex")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.HEADER)
        self._file.flush()

    def write(self, t_s: float, char_uuid: str, data: bytes) -> None:
        self._writer.writerow((f"{t_s:.6f}", char_uuid, bytes(data).hex()))
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class BeltStream:
    """One supervised belt connection; iterate or :meth:`read` to get :data:`BeltEvent` s.

    ``backend`` is passed to ``bleak.BleakClient(..., backend=)``: None picks the
    platform's Bluetooth stack; tests inject an in-memory backend there.
    """

    def __init__(self, address: str, adapter: BeltAdapter, /, *, name: str | None = None,
                 backend=None, reconnect: ReconnectPolicy | None = None,
                 raw_log: str | Path | None = None) -> None:
        self.address = address
        self.name = name or address
        self.adapter = adapter
        self.backend = backend
        self.reconnect = reconnect or ReconnectPolicy()
        self.raw_log_path = Path(raw_log) if raw_log is not None else None
        self.battery_percent: int | None = None
        self.connected = False
        self.connections = 0
        self.gaps: list[Gap] = []
        self.dropped_events = 0
        self._events: queue.Queue[BeltEvent] = queue.Queue(maxsize=OUTPUT_QUEUE_MAX)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._first_result = threading.Event()
        self._finished = threading.Event()
        self.error: SourceError | None = None
        self._last_event_t: float | None = None
        self._gap_start: float | None = None
        self._raw_log: NotificationLogWriter | None = None

    # ---- caller side (any thread) -------------------------------------------------------
    def start(self, *, wait_s: float | None = None) -> "BeltStream":
        """Start the loop thread and wait until the belt streams (or raise ``SourceError``)."""
        if self._thread is not None:
            return self
        if self.raw_log_path is not None:
            self._raw_log = NotificationLogWriter(self.raw_log_path)
        self._thread = threading.Thread(target=self._thread_main, name=f"belt-{self.name}",
                                        daemon=True)
        self._thread.start()
        self._first_result.wait(wait_s)
        if self.error is not None:
            self.close()
            raise self.error
        return self

    def read(self, *, timeout_s: float = 0.0) -> list[BeltEvent]:
        """Every event queued so far, waiting up to ``timeout_s`` for the first one.

        Raises the stream's ``SourceError`` once it has given up and nothing is left.
        """
        out: list[BeltEvent] = []
        try:
            out.append(self._events.get(timeout=timeout_s) if timeout_s > 0
                       else self._events.get_nowait())
            while True:
                out.append(self._events.get_nowait())
        except queue.Empty:
            pass
        if not out and self.error is not None:
            raise self.error
        return out

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    @property
    def stats(self) -> dict[str, int]:
        return self.adapter.stats.as_dict()

    def close(self, *, timeout_s: float = 10.0) -> None:
        """Send the device's stop command, disconnect and end the thread. Idempotent."""
        if self._thread is not None:
            if self._loop is not None and self._stop is not None and not self._loop.is_closed():
                try:
                    self._loop.call_soon_threadsafe(self._stop.set)
                except RuntimeError:  # the loop already ended
                    pass
            self._thread.join(timeout_s)
        if self._raw_log is not None:
            self._raw_log.close()
            self._raw_log = None

    def __enter__(self) -> "BeltStream":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- loop thread ----------------------------------------------------------------------
    def _thread_main(self) -> None:
        try:
            asyncio.run(self._supervise())
        except Exception as exc:  # noqa: BLE001 - an unexpected failure: kept for the caller, never silent
            log.exception("belt %s: the belt thread failed", self.name)
            error = SourceError(f"Expected belt {self.name} to keep streaming, but its connection failed "
                                f"unexpectedly ({type(exc).__name__}: {exc}); switch the belt off and on "
                                f"and start again, or {NO_ADAPTER_HINT}.")
            error.__cause__ = exc
            self.error = error
        finally:
            self.connected = False
            self._finished.set()
            self._first_result.set()

    def _emit(self, event: BeltEvent) -> None:
        if isinstance(event, BatteryLevel):
            self.battery_percent = event.percent
        t = getattr(event, "t_s", None)
        if t is not None and math.isfinite(t):
            self._last_event_t = t
        try:
            self._events.put_nowait(event)
        except queue.Full:
            self.dropped_events += 1

    def _fail(self, error: SourceError) -> None:
        self.error = error
        self._first_result.set()

    async def _supervise(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        failures = 0
        while not self._stop.is_set():
            try:
                await self._session()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - classified below, never swallowed
                if is_no_adapter(exc):
                    self._fail(no_adapter_error(exc))
                    return
                if not self._is_link_error(exc):
                    raise
                failures += 1
                log.warning("belt %s: connection attempt failed (%s: %s)", self.name,
                            type(exc).__name__, exc)
                limit = (self.reconnect.initial_attempts if self.connections == 0
                         else self.reconnect.max_attempts)
                if limit is not None and failures >= limit:
                    self._fail(SourceError(
                        f"Expected belt {self.name} to connect, but {failures} attempt(s) "
                        f"failed (last: {exc}): switch the belt on, bring it closer, or "
                        f"{NO_ADAPTER_HINT}."))
                    return
            if self._stop.is_set():
                break
            if self.connections and self._gap_start is None:
                self._gap_start = self._last_event_t or time.monotonic()
            delay = self.reconnect.delay_s(max(failures - 1, 0))
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except TimeoutError:
                pass
        if self._gap_start is not None:  # closed while the link was down
            self._emit(Gap(self._gap_start, time.monotonic()))
            self._gap_start = None

    @staticmethod
    def _is_link_error(exc: BaseException) -> bool:
        from bleak.exc import BleakError

        return isinstance(exc, (BleakError, OSError, TimeoutError, SourceError, EOFError))

    async def _session(self) -> None:
        from bleak import BleakClient
        from bleak.exc import BleakError

        dropped = asyncio.Event()
        notifications: asyncio.Queue = asyncio.Queue()
        client = BleakClient(self.address, disconnected_callback=lambda _c: dropped.set(),
                             backend=self.backend, timeout=self.reconnect.connect_timeout_s)
        link = BeltLink(client)
        consumer = asyncio.create_task(self._consume(notifications, link))

        def on_notify(characteristic, data: bytearray) -> None:
            # Synchronous on purpose: only queue; the one consumer decodes in order.
            notifications.put_nowait((time.monotonic(), characteristic.uuid, bytes(data)))

        try:
            await client.connect()
            self.adapter.reset()
            for uuid in self.adapter.notify_uuids(link):
                await client.start_notify(uuid, on_notify)
            for event in await self.adapter.setup(link):
                self._emit(event)
            self.connections += 1
            self.connected = True
            if self._gap_start is not None:
                gap = Gap(self._gap_start, max(self._gap_start, time.monotonic()))
                self.gaps.append(gap)
                self._emit(gap)
                self._gap_start = None
            log.info("belt %s streaming (connection %d)", self.name, self.connections)
            self._first_result.set()
            waits = [asyncio.create_task(self._stop.wait()), asyncio.create_task(dropped.wait())]
            # the decoder ending (it only ends by failing) ends the session too: its error is
            # raised by ``await consumer`` below instead of notifications piling up unread
            await asyncio.wait([*waits, consumer], return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
            if self._stop.is_set() and client.is_connected:
                try:
                    await asyncio.wait_for(self.adapter.stop(link), STOP_TIMEOUT_S)
                except (BleakError, TimeoutError, SourceError, OSError) as exc:
                    log.warning("belt %s: stop command failed: %s", self.name, exc)
            elif dropped.is_set():
                log.warning("belt %s: link dropped; reconnecting", self.name)
        finally:
            self.connected = False
            notifications.put_nowait(None)
            try:
                await consumer
            finally:  # a failed decoder still leaves the link closed
                if client.is_connected:
                    try:
                        await client.disconnect()
                    except (BleakError, OSError, TimeoutError) as exc:
                        log.warning("belt %s: disconnect failed: %s", self.name, exc)

    async def _consume(self, notifications: asyncio.Queue, link: BeltLink) -> None:
        while (item := await notifications.get()) is not None:
            t_s, uuid, data = item
            if self._raw_log is not None:
                self._raw_log.write(t_s, uuid, data)
            for event in self.adapter.decode(uuid, data, t_s):
                if isinstance(event, DeviceReply):
                    link.replies.put_nowait(event)
                else:
                    self._emit(event)
