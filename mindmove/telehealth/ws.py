"""The WebSocket of a patient's page: one connection per device, messages checked in order.

Every message is checked before anything else: the device still allowed (revocations are
polled, see :class:`Connections`), within its rate limits, a text message of the protocol
(:mod:`mindmove.telehealth.protocol`). A refused message gets an ``error`` reply naming the
case and is logged (at most once a second per device, with a count); the connection stays
open unless the device keeps sending refused messages (:data:`MAX_REFUSALS_PER_MIN`) or was
revoked. Nothing a page sends can end the server: a failure inside a session ends that
message, with a calm reply.

Each reply carries ``srv_ms``, the time the server spent on the message (from receiving it to
the reply being ready): what ``benchmarks/telehealth_capacity.py`` reports.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from core.errors import AccessDenied, MindMoveError, StoreError, ValidationError
from feedback.messages import message
from mindmove.telehealth.access import PatientIdentity
from mindmove.telehealth.protocol import (
    FinishMessage, FramesMessage, ProtocolError, ResumeMessage, StartMessage, encode, parse_message,
)
from mindmove.telehealth.ratelimit import KeyedLimiter

log = logging.getLogger(__name__)

# Rate limits per device. A page sends one message per camera frame (30 a second at most) and,
# after a reconnection, its buffer (up to 60 s of frames) in batches, ten times faster than live.
MESSAGES_PER_S, MESSAGE_BURST = 60.0, 120.0
FRAMES_PER_S, FRAME_BURST = 300.0, 600.0
MAX_REFUSALS_PER_MIN = 120           # a page that keeps sending refused messages is disconnected
LOG_EVERY_S = 1.0                    # refusals of one device are logged at most this often
CLOSE_UNAUTHORISED, CLOSE_REVOKED, CLOSE_REFUSALS, CLOSE_REPLACED = 4401, 4403, 4408, 4409


@dataclass
class Connection:
    websocket: WebSocket
    identity: PatientIdentity
    client: str
    session_id: int | None = None
    refusals: list[float] = field(default_factory=list)
    unlogged: int = 0
    last_log: float = -1e9
    closed: bool = False

    @property
    def device_id(self) -> int:
        return self.identity.device_id


class Connections:
    """The open connections by device, the revoked devices, the per-device limits."""

    def __init__(self) -> None:
        self.by_device: dict[int, Connection] = {}
        self.revoked: set[int] = set()
        self.messages = KeyedLimiter(MESSAGE_BURST, MESSAGES_PER_S)
        self.frames = KeyedLimiter(FRAME_BURST, FRAMES_PER_S)

    async def add(self, conn: Connection) -> None:
        old = self.by_device.get(conn.device_id)
        self.by_device[conn.device_id] = conn
        if old is not None and not old.closed:  # the same device opened the page again
            await close(old, CLOSE_REPLACED)

    def remove(self, conn: Connection) -> None:
        if self.by_device.get(conn.device_id) is conn:
            del self.by_device[conn.device_id]

    async def revoke(self, device_ids: set[int]) -> None:
        self.revoked |= device_ids
        for device_id in device_ids:
            conn = self.by_device.get(device_id)
            if conn is not None:
                await send(conn, {"type": "revoked", "text": message("home.device_refused")})
                await close(conn, CLOSE_REVOKED)


async def send(conn: Connection, reply: dict) -> None:
    try:
        await conn.websocket.send_text(encode(reply))
    except (RuntimeError, WebSocketDisconnect, ConnectionError):
        conn.closed = True


async def close(conn: Connection, code: int) -> None:
    if not conn.closed:
        conn.closed = True
        try:
            await conn.websocket.close(code=code)
        except (RuntimeError, ConnectionError):
            pass


def _note_refusal(conn: Connection, code: str, detail: str) -> bool:
    """Log (throttled) a refused message; False once the device sent too many."""
    now = time.monotonic()
    conn.refusals = [t for t in conn.refusals if now - t < 60.0] + [now]
    conn.unlogged += 1
    if now - conn.last_log >= LOG_EVERY_S:
        log.warning("device %d: refused %d message(s); last: %s: %s", conn.device_id, conn.unlogged, code, detail)
        conn.unlogged, conn.last_log = 0, now
    return len(conn.refusals) <= MAX_REFUSALS_PER_MIN


async def refuse(conn: Connection, code: str, detail: str, *, text: str | None = None) -> bool:
    """Reply ``error`` and log; False when the connection was closed for too many refusals."""
    await send(conn, {"type": "error", "code": code, **({"text": text} if text else {})})
    if not _note_refusal(conn, code, detail):
        await close(conn, CLOSE_REFUSALS)
        return False
    return True


async def _dispatch(conn: Connection, host, parsed) -> dict:
    device = conn.device_id
    if isinstance(parsed, FramesMessage):
        if conn.session_id is None:
            raise ProtocolError("Frames came before a session was started or resumed.", code="no_session")
        reply = await host.call("frames", device, device, conn.session_id, parsed.frames)
        return reply
    if isinstance(parsed, StartMessage):
        reply = await host.call("open", device, conn.identity, parsed)
    elif isinstance(parsed, ResumeMessage):
        reply = await host.call("resume", device, conn.identity, parsed.session_id)
    elif isinstance(parsed, FinishMessage):
        if conn.session_id is None:
            raise ProtocolError("Finish came before a session was started or resumed.", code="no_session")
        reply = await host.call("finish", device, device, conn.session_id, pain=parsed.pain, mood=parsed.mood)
        conn.session_id = None
        return reply
    else:  # pragma: no cover - parse_message returns only the four
        raise ProtocolError("Unknown message.")
    conn.session_id = reply["session"]
    return reply


async def handle_message(conn: Connection, connections: Connections, host, received: dict) -> bool:
    """One received WebSocket event; False when the connection is over."""
    t0 = time.perf_counter()
    device = conn.device_id
    if device in connections.revoked:
        await send(conn, {"type": "revoked", "text": message("home.device_refused")})
        await close(conn, CLOSE_REVOKED)
        return False
    if not connections.messages.take(str(device)):
        return await refuse(conn, "rate", "too many messages")
    try:
        parsed = parse_message(received.get("text") if received.get("bytes") is None else received["bytes"])
        if isinstance(parsed, FramesMessage) and not connections.frames.take(str(device), len(parsed.frames)):
            return await refuse(conn, "rate", "too many frames")
        reply = await _dispatch(conn, host, parsed)
    except ProtocolError as exc:
        return await refuse(conn, exc.code, str(exc))
    except (AccessDenied, ValidationError) as exc:  # their messages are the catalogue's, for the patient
        return await refuse(conn, "refused", str(exc), text=str(exc))
    except StoreError as exc:
        log.warning("device %d: the store refused: %s", device, exc)
        return await refuse(conn, "busy", str(exc), text=message("home.server_busy"))
    except MindMoveError as exc:  # a worker ended, or a session failed: the page reconnects and resumes
        log.warning("device %d: %s: %s", device, type(exc).__name__, exc)
        await close(conn, 1011)
        return False
    if reply is not None:
        reply["srv_ms"] = round((time.perf_counter() - t0) * 1000.0, 3)
        await send(conn, reply)
    return not conn.closed


async def serve_connection(websocket: WebSocket, identity: PatientIdentity, *, connections: Connections,
                           host) -> None:
    """Run one accepted connection until it closes; its session waits for the page to come back."""
    conn = Connection(websocket=websocket, identity=identity,
                      client=websocket.client.host if websocket.client else "")
    await connections.add(conn)
    try:
        while not conn.closed:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                break
            if not await handle_message(conn, connections, host, received):
                break
    except WebSocketDisconnect:
        pass
    finally:
        conn.closed = True
        connections.remove(conn)
        if conn.session_id is not None:
            try:
                if conn.device_id in connections.revoked:
                    await host.call("abandon", conn.device_id, conn.device_id, conn.session_id)
                else:
                    await host.call("detach", conn.device_id, conn.device_id, conn.session_id)
            except MindMoveError as exc:
                log.info("device %d: session %s left as it is (%s)", conn.device_id, conn.session_id, exc)
