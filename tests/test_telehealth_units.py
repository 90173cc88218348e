"""Telehealth parts without a server: the protocol's refusals, rate limits on an injected
clock, the landmark journal, and resuming a session from its journal."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mindmove.telehealth.protocol import (
    MAX_BATCH_FRAMES, FinishMessage, FramesMessage, ProtocolError, ResumeMessage, StartMessage, parse_frame,
    parse_message,
)
from mindmove.telehealth.ratelimit import KeyedLimiter, TokenBucket
from telehealth_support import arm_raise_frames


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_token_bucket_on_an_injected_clock():
    clock = Clock()
    bucket = TokenBucket(5, 2.0, clock=clock)
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    clock.t += 1.0  # two tokens back
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.t += 100.0  # never more than the capacity
    assert sum(bucket.take() for _ in range(10)) == 5
    assert not bucket.take(6)  # more than it can ever hold


def test_keyed_limiter_keeps_devices_apart_and_forgets_the_oldest():
    clock = Clock()
    limiter = KeyedLimiter(1, 0.0, max_keys=2, clock=clock)
    assert limiter.take("a") and not limiter.take("a") and limiter.take("b")
    limiter.take("c")  # "a" is forgotten (the oldest): a fresh bucket
    assert limiter.take("a")


def test_valid_messages_parse():
    frame = arm_raise_frames(1)[0]
    msg = parse_message(json.dumps({"type": "frames", "frames": [frame]}))
    assert isinstance(msg, FramesMessage) and msg.frames == [frame]
    parsed = parse_frame(frame)
    assert parsed.seq == 0 and parsed.pose.world_m.shape == (33, 3) and parsed.pose.visibility.shape == (33,)
    np.testing.assert_allclose(parsed.pose.world_m.reshape(-1), frame["p"]["w"])
    assert parse_message('{"type": "start", "exercise": "elbow_flexion", "side": "left", "pain": 0, "mood": 5}') == \
        StartMessage("elbow_flexion", "left", 0, 5)
    assert parse_message('{"type": "start", "breathing": true}') == StartMessage(None, None, None, None)
    assert parse_message('{"type": "resume", "session": 7, "next": 30}') == ResumeMessage(7, 30)
    assert parse_message('{"type": "finish", "pain": null, "mood": 2}') == FinishMessage(None, 2)
    assert parse_frame({"seq": 3, "t": 1.5, "p": None}).pose is None


def test_a_landmark_outside_the_image_is_not_seen():
    frame = arm_raise_frames(1)[0]
    image = list(frame["p"]["i"])
    image[2 * 25 + 1] = 1.4  # the left knee below the image's bottom edge
    pose = parse_frame({**frame, "p": {**frame["p"], "i": image}}).pose
    assert pose.visibility[25] == 0.0 and pose.visibility[26] == frame["p"]["v"][26]


def _with_pose(**change):
    frame = arm_raise_frames(1)[0]
    return json.dumps({"type": "frames", "frames": [{**frame, "p": {**frame["p"], **change}}]})


@pytest.mark.parametrize("text, code", [
    (b"\x89PNG binary", "binary"),
    ("x" * 40_000, "oversized"),
    ("{", "malformed"),
    ("[]", "malformed"),
    ('{"type": 3}', "malformed"),
    ('{"type": "frames", "frames": []}', "malformed"),
    ('{"type": "frames", "frames": {"seq": 0}}', "malformed"),
    ('{"type": "frames", "frames": [{"seq": -1, "t": 0, "p": null}]}', "malformed"),
    ('{"type": "frames", "frames": [{"seq": 1.5, "t": 0, "p": null}]}', "malformed"),
    ('{"type": "frames", "frames": [{"seq": true, "t": 0, "p": null}]}', "malformed"),
    ('{"type": "frames", "frames": [{"seq": 1, "t": Infinity, "p": null}]}', "malformed"),
    ('{"type": "frames", "frames": [{"seq": 1, "t": 1e400, "p": null}]}', "malformed"),
    ('{"type": "frames", "frames": [{"seq": 1, "t": 1, "p": null, "jpeg": "/9j/4AAQ"}]}', "malformed"),
    ('{"type": "frames", "frames": [{"seq": 1, "p": null}]}', "malformed"),
    (_with_pose(w=[0.1] * 98), "malformed"),
    (_with_pose(v=[2.0] * 33), "malformed"),
    (_with_pose(w=[50.0] * 99), "malformed"),
    (_with_pose(i=["0.5"] * 66), "malformed"),
    (_with_pose(extra=[1]), "malformed"),
    ('{"type": "start", "exercise": "elbow_flexion", "side": "up"}', "malformed"),
    ('{"type": "start", "exercise": "' + "x" * 81 + '"}', "malformed"),
    ('{"type": "start", "exercise": "elbow_flexion", "pain": 11}', "malformed"),
    ('{"type": "resume", "session": 0, "next": 1}', "malformed"),
    ('{"type": "finish", "mood": 0}', "malformed"),
    ('{"type": "shutdown"}', "malformed"),
    ("[" * 100_00 + "]" * 100_00, "malformed"),
])
def test_refused_messages(text, code):
    """Each refused with one line naming the case (frames are checked where the session runs)."""
    with pytest.raises(ProtocolError) as refused:
        msg = parse_message(text)
        for frame in getattr(msg, "frames", ()):
            parse_frame(frame)
    assert refused.value.code == code
    assert "\n" not in str(refused.value)


def test_a_batch_has_at_most_the_protocol_s_frames():
    frames = arm_raise_frames(MAX_BATCH_FRAMES + 1)
    assert len(parse_message(json.dumps({"type": "frames", "frames": frames[:-1]})).frames) == MAX_BATCH_FRAMES
    with pytest.raises(ProtocolError):
        parse_message(json.dumps({"type": "frames", "frames": frames}))


def test_deeply_nested_json_is_refused_not_a_crash():
    nested = "[" * 5000 + "]" * 5000  # under the size limit; Python's parser would recurse
    with pytest.raises(ProtocolError):
        parse_message(nested)


@pytest.mark.parametrize("bad", [[True] * 33, [None] * 33, [[0.5]] * 33, ["0.5"] * 33, [0.5] * 32 + [False]])
def test_visibilities_must_be_plain_numbers(bad):
    frame = arm_raise_frames(1)[0]
    with pytest.raises(ProtocolError, match="visibilities"):
        parse_frame({**frame, "p": {**frame["p"], "v": bad}})
