"""Worker processes for the practice pipelines of ``mindmove serve``.

One practice frame costs about 0.7 ms of Python and numpy (angles, smoothing, engines): 50
patients at 30 frames a second would need more than the one core a Python process can use.
So the server keeps to the network (WebSockets, checks, rate limits) and hands each device's
messages to one of ``N`` worker processes (``device id % N``), each running a
:class:`~mindmove.telehealth.host.SessionHost` for its share of the devices. A device always
reaches the same worker, which owns its session (after a restart too: the worker that
resumes a session from its journal is the one its device routes to).

Transport: a socket pair per worker, length-prefixed pickles (both ends are this program):
``(request id, method, device id, args, kwargs)`` in, ``(request id, ok, result or error)`` out.
A :class:`~core.errors.MindMoveError` raised in a worker is raised again in the server with
its class and message. A worker that dies is started again; its devices' pages reconnect and
their sessions come back from their journals.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import pickle
import socket
import struct
import sys
from pathlib import Path

import core.errors as errors
from mindmove.telehealth.host import REAP_INTERVAL_S, HostConfig, SessionHost

log = logging.getLogger(__name__)

HEADER = struct.Struct("!I")
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
WORKER_START_TIMEOUT_S = 60.0


class WorkerGone(errors.MindMoveError):
    """A worker process ended; the page reconnects and its session is resumed."""


def _error_of(exc: BaseException) -> tuple[str, str]:
    name = type(exc).__name__
    return (name if isinstance(exc, errors.MindMoveError) else "MindMoveError"), str(exc)


def _raise_error(name: str, text: str):
    from mindmove.telehealth.protocol import ProtocolError

    cls = getattr(errors, name, None) or {"ProtocolError": ProtocolError}.get(name, errors.MindMoveError)
    if not (isinstance(cls, type) and issubclass(cls, errors.MindMoveError)):
        cls = errors.MindMoveError
    raise cls(text)


class _Worker:
    def __init__(self, index: int) -> None:
        self.index = index
        self.process: asyncio.subprocess.Process | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.task: asyncio.Task | None = None


class WorkerPoolHost:
    """``count`` worker processes, each a :class:`SessionHost` for the devices routed to it."""

    def __init__(self, config: HostConfig, /, *, count: int) -> None:
        self.config = config
        self.count = max(1, int(count))
        self.workers = [_Worker(k) for k in range(self.count)]
        self._ids = itertools.count(1)
        self._stopping = False

    async def start(self) -> None:
        for worker in self.workers:
            await self._spawn(worker)

    async def _spawn(self, worker: _Worker) -> None:
        parent, child = socket.socketpair()
        env = {**os.environ, "MINDMOVE_DB_URL": self.config.store_url, "MINDMOVE_DATA_DIR": str(self.config.data_dir)}
        if self.config.exercises_dir is not None:
            env["MINDMOVE_EXERCISES_DIR"] = str(self.config.exercises_dir)
        worker.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mindmove.telehealth.workers", "--fd", str(child.fileno()), "--index",
            str(worker.index), "--count", str(self.count), "--resume-window-s", str(self.config.resume_window_s),
            pass_fds=(child.fileno(),), env=env)
        child.close()
        worker.reader, worker.writer = await asyncio.open_connection(sock=parent)
        worker.task = asyncio.create_task(self._read_replies(worker))

    async def _read_replies(self, worker: _Worker) -> None:
        try:
            while True:
                (size,) = HEADER.unpack(await worker.reader.readexactly(HEADER.size))
                req_id, ok, result = pickle.loads(await worker.reader.readexactly(size))
                future = worker.pending.pop(req_id, None)
                if future is not None and not future.done():
                    future.set_result((ok, result))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(WorkerGone("The practice worker stopped; reconnecting."))
        worker.pending.clear()
        if not self._stopping:
            log.warning("telehealth worker %d ended; starting it again", worker.index)
            await self._spawn(worker)

    async def call(self, method: str, device_id: int, *args, **kwargs):
        """``SessionHost.method(*args, **kwargs)`` in the device's worker."""
        worker = self.workers[int(device_id) % self.count]
        req_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        worker.pending[req_id] = future
        payload = pickle.dumps((req_id, method, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            worker.writer.write(HEADER.pack(len(payload)) + payload)
            await worker.writer.drain()
        except (ConnectionError, RuntimeError) as exc:  # the worker is being started again
            worker.pending.pop(req_id, None)
            raise WorkerGone("The practice worker stopped; reconnecting.") from exc
        ok, result = await future
        if not ok:
            _raise_error(*result)
        return result

    async def reap(self) -> list[int]:
        return []  # each worker reaps its own sessions on its own clock

    async def stop(self) -> None:
        self._stopping = True
        for worker in self.workers:
            if worker.writer is not None:
                payload = pickle.dumps((0, "close", (), {}))
                worker.writer.write(HEADER.pack(len(payload)) + payload)
                try:
                    await worker.writer.drain()
                except ConnectionError:
                    pass
        for worker in self.workers:
            if worker.process is not None:
                try:
                    await asyncio.wait_for(worker.process.wait(), timeout=10.0)
                except asyncio.TimeoutError:
                    worker.process.kill()
            if worker.task is not None:
                worker.task.cancel()


# --- the worker process -------------------------------------------------------------------------

def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def serve_worker(sock: socket.socket, host: SessionHost, /) -> None:
    """Answer requests until the server closes the socket or asks to close; reap on the way."""
    import select

    next_reap = host.clock() + REAP_INTERVAL_S
    while True:
        ready, _, _ = select.select([sock], [], [], max(0.0, next_reap - host.clock()))
        if not ready:
            _safe_reap(host)
            next_reap = host.clock() + REAP_INTERVAL_S
            continue
        header = _recv_exactly(sock, HEADER.size)
        if header is None:
            break
        (size,) = HEADER.unpack(header)
        if size > MAX_PAYLOAD_BYTES:
            raise errors.InputError(f"A request of {size} bytes from the server is too big.")
        req_id, method, args, kwargs = pickle.loads(_recv_exactly(sock, size))
        if method == "close":
            break
        try:
            reply = (req_id, True, getattr(host, method)(*args, **kwargs))
        except errors.MindMoveError as exc:
            reply = (req_id, False, _error_of(exc))
        except Exception as exc:  # noqa: BLE001 - one session's bug must not end every session of the worker
            log.exception("telehealth worker: %s failed", method)
            reply = (req_id, False, ("MindMoveError", f"The session could not go on ({type(exc).__name__})."))
        payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        sock.sendall(HEADER.pack(len(payload)) + payload)
    host.close()


def _safe_reap(host: SessionHost) -> None:
    try:
        reaped = host.reap()
        if reaped:
            log.info("telehealth worker: finished %d session(s) whose page did not come back: %s", len(reaped), reaped)
    except errors.MindMoveError as exc:
        log.warning("telehealth worker: reaping failed: %s", exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A MindMove telehealth worker (started by `mindmove serve`).")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--resume-window-s", type=float, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"%(levelname)s worker{args.index} %(name)s: %(message)s")
    from mindmove.settings import load_settings

    settings = load_settings()
    config = HostConfig(store_url=settings.db_url, data_dir=Path(settings.data_dir),
                        exercises_dir=settings.exercises_dir, resume_window_s=args.resume_window_s)
    host = SessionHost(config, owns=lambda device_id: device_id % args.count == args.index)
    sock = socket.socket(fileno=args.fd)
    try:
        serve_worker(sock, host)
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
