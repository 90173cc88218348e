"""The WebSocket messages between a patient's browser and ``mindmove serve``, checked.

Only landmarks and times travel from the browser: JSON text messages whose every value is a
number, a short name or a flag, in fixed-size arrays. A binary message (an image would be
one), a message over :data:`MAX_MESSAGE_BYTES`, invalid JSON, a NaN, an unknown field, a
wrong length or an out-of-range number is refused with :class:`ProtocolError` (one line
saying what was wrong), never processed.

Browser -> server (``type``):

- ``start``: ``{"type": "start", "exercise": NAME, "side": null|"left"|"right", "pain": 0-10|null,
  "mood": 1-5|null}``, or ``{"type": "start", "breathing": true, ...}`` for guided breathing;
- ``resume``: ``{"type": "resume", "session": ID, "next": SEQ}`` after a reconnection;
- ``frames``: ``{"type": "frames", "frames": [FRAME, ...]}`` (1 to :data:`MAX_BATCH_FRAMES`), a
  FRAME being ``{"seq": N, "t": SECONDS, "p": POSE|null}`` with POSE
  ``{"w": [99 world metres: x, y, z per landmark], "i": [66 normalised image x, y], "v": [33 visibilities]}``
  in MediaPipe's landmark order, ``seq`` counting from 0 without gaps, ``t`` the frame's time on
  the page's clock, strictly increasing;
- ``finish``: ``{"type": "finish", "pain": 0-10|null, "mood": 1-5|null}``.

Server -> browser: ``started``/``resumed`` (``session``, ``next``), ``view`` (what to show for the
newest frame, and ``ack``: every frame up to it is stored durably, the page may forget it),
``finished`` (summary), ``error`` (``code``, ``message``), ``revoked``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from sensing.landmarks import N_LANDMARKS, PoseFrame
from sensing.pose import compute_pose_frame

MAX_MESSAGE_BYTES = 32_768        # a batch of 16 frames is about 25 kB; a camera image is far bigger
MAX_BATCH_FRAMES = 16
MAX_WORLD_M = 10.0                # world landmarks are hip-centred metres: a body spans about +-1 m
MAX_IMAGE_COORD = 10.0            # normalised image coordinates (MediaPipe extrapolates beyond 0..1)
MAX_SEQ = 10_000_000              # a frame counter (over 3 days at 30 Hz)
MAX_SESSION_T_S = 4 * 3600.0      # a page's clock, seconds; no practice session is this long
MAX_NAME_CHARS = 80
PAIN_RANGE, MOOD_RANGE = (0, 10), (1, 5)
FRAME_KEYS, POSE_KEYS = {"seq", "t", "p"}, {"w", "i", "v"}
NUMBER_TYPES = {int, float}


class ProtocolError(InputError):
    """A message that is not what the protocol allows; ``code`` names the case for the page."""

    def __init__(self, message: str, *, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StartMessage:
    exercise: str | None  # None: guided breathing
    side: str | None
    pain: int | None
    mood: int | None


@dataclass(frozen=True)
class ResumeMessage:
    session_id: int
    next_seq: int


@dataclass(frozen=True)
class FrameIn:
    seq: int
    t: float
    pose: PoseFrame | None
    raw: dict  # the frame as received (checked), for the journal


@dataclass(frozen=True)
class FramesMessage:
    """Frames as received (checked by :func:`parse_frame` where the session runs)."""

    frames: list


@dataclass(frozen=True)
class FinishMessage:
    pain: int | None
    mood: int | None


def _reject_constant(name: str):
    raise ProtocolError(f"Expected finite numbers, but got {name}.")


def _int(value, label: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(f"Expected {label} as a whole number from {low} to {high}, but got {value!r}.")
    return value


def _number(value, label: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ProtocolError(f"Expected {label} as a number from {low:g} to {high:g}, but got {value!r}.")
    return float(value)


def _fields(obj, allowed: set[str], label: str) -> dict:
    if not isinstance(obj, dict):
        raise ProtocolError(f"Expected {label} as an object, but got {type(obj).__name__}.")
    unknown = set(obj) - allowed
    if unknown:
        raise ProtocolError(f"Unexpected field(s) {', '.join(sorted(map(str, unknown)))} in {label}.")
    return obj


def _array(values, n: int, label: str, low: float, high: float) -> np.ndarray:
    if not isinstance(values, list) or len(values) != n:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise ProtocolError(f"Expected {label} as {n} numbers, but got {got}.")
    if not set(map(type, values)) <= NUMBER_TYPES:  # not bool (an int to Python), str, None, list...
        raise ProtocolError(f"Expected {label} as numbers only.")
    arr = np.array(values, dtype=float)
    if not (np.all(arr >= low) and np.all(arr <= high)):
        raise ProtocolError(f"Expected {label} between {low:g} and {high:g}.")
    return arr


def parse_pose(obj, /) -> PoseFrame:
    """A browser's POSE object -> :class:`PoseFrame` (a landmark outside the image is not seen)."""
    pose = _fields(obj, POSE_KEYS, "a pose")
    if set(pose) != POSE_KEYS:
        raise ProtocolError("Expected a pose with w, i and v.")
    world = _array(pose["w"], 3 * N_LANDMARKS, "world landmarks (w)", -MAX_WORLD_M, MAX_WORLD_M)
    image = _array(pose["i"], 2 * N_LANDMARKS, "image landmarks (i)", -MAX_IMAGE_COORD, MAX_IMAGE_COORD)
    vis = _array(pose["v"], N_LANDMARKS, "visibilities (v)", 0.0, 1.0)
    return compute_pose_frame(image.reshape(N_LANDMARKS, 2), vis, world.reshape(N_LANDMARKS, 3))


def parse_frame(obj, /) -> FrameIn:
    frame = _fields(obj, FRAME_KEYS, "a frame")
    if "seq" not in frame or "t" not in frame:
        raise ProtocolError("Expected a frame with seq and t.")
    seq = _int(frame["seq"], "a frame's seq", 0, MAX_SEQ)
    t = _number(frame["t"], "a frame's time t (s)", 0.0, MAX_SESSION_T_S)
    raw = frame.get("p")
    pose = None if raw is None else parse_pose(raw)
    return FrameIn(seq=seq, t=t, pose=pose, raw={"seq": seq, "t": t, "p": raw})


def _checkin(msg: dict) -> tuple[int | None, int | None]:
    return (_int(msg.get("pain"), "pain", *PAIN_RANGE, optional=True),
            _int(msg.get("mood"), "mood", *MOOD_RANGE, optional=True))


def _parse_start(msg: dict) -> StartMessage:
    _fields(msg, {"type", "exercise", "side", "breathing", "pain", "mood"}, "start")
    pain, mood = _checkin(msg)
    if msg.get("breathing") is True:
        return StartMessage(exercise=None, side=None, pain=pain, mood=mood)
    name, side = msg.get("exercise"), msg.get("side")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise ProtocolError("Expected start with an exercise name, or breathing: true.")
    if side not in (None, "left", "right"):
        raise ProtocolError(f"Expected side left, right or null, but got {side!r}.")
    return StartMessage(exercise=name, side=side, pain=pain, mood=mood)


def parse_message(text, /):
    """One WebSocket message -> a message object; :class:`ProtocolError` when refused."""
    if not isinstance(text, str):
        raise ProtocolError("Expected a text message of landmarks; binary messages (images) are refused.",
                            code="binary")
    if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"Expected a message of at most {MAX_MESSAGE_BYTES} bytes, but got {len(text)}.",
                            code="oversized")
    try:
        msg = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"Expected a JSON message, but it could not be read ({exc.__class__.__name__}).") from exc
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ProtocolError("Expected a JSON object with a type.")
    kind = msg["type"]
    if kind == "frames":
        _fields(msg, {"type", "frames"}, "frames")
        frames = msg.get("frames")
        if not isinstance(frames, list) or not 1 <= len(frames) <= MAX_BATCH_FRAMES:
            raise ProtocolError(f"Expected 1 to {MAX_BATCH_FRAMES} frames in a message.")
        return FramesMessage(frames=frames)
    if kind == "start":
        return _parse_start(msg)
    if kind == "resume":
        _fields(msg, {"type", "session", "next"}, "resume")
        return ResumeMessage(session_id=_int(msg.get("session"), "session", 1, 2 ** 62),
                             next_seq=_int(msg.get("next"), "next", 0, MAX_SEQ))
    if kind == "finish":
        _fields(msg, {"type", "pain", "mood"}, "finish")
        return FinishMessage(*_checkin(msg))
    raise ProtocolError(f"Unknown message type {kind[:40]!r}: expected start, resume, frames or finish.")


def encode(message: dict, /) -> str:
    """A server message as compact JSON (NaN never sent: unknown is null)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)
