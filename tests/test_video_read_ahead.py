"""read_ahead: offline decoding on its own thread hands over every frame, in order, with its time."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.errors import SourceError
from core.timing import StageTimer
from sensing.video import Frame, VideoFileSource, read_ahead


def _frames(n, *, fail_at=None, started=None):
    for i in range(n):
        if started is not None:
            started.set()
        if i == fail_at:
            raise SourceError("the file ends in the middle of a frame")
        yield Frame(np.full((2, 3, 3), i % 256, np.uint8), i / 30.0 + 0.001 * (i % 3), i)


def test_every_frame_in_order_with_its_own_time():
    timer = StageTimer()
    got = list(read_ahead(_frames(500), depth=3, timer=timer))
    assert [f.index for f in got] == list(range(500))
    assert [f.t_s for f in got] == [i / 30.0 + 0.001 * (i % 3) for i in range(500)]  # uneven times kept
    assert all(int(f.image_bgr[0, 0, 0]) == f.index % 256 for f in got)
    assert timer.figures()["decode"].n == 500
    assert "decode (read-ahead)" in timer.thread_cpu_s


def test_a_read_error_reaches_the_consumer_at_its_place():
    seen = []
    with pytest.raises(SourceError, match="middle of a frame"):
        for frame in read_ahead(_frames(10, fail_at=6)):
            seen.append(frame.index)
    assert seen == [0, 1, 2, 3, 4, 5]


def test_stopping_early_ends_the_thread_before_returning():
    before = {t.ident for t in threading.enumerate()}
    frames = read_ahead(_frames(10_000), depth=2)
    assert next(frames).index == 0
    frames.close()  # what `break` or an exception in the consumer does
    left = [t for t in threading.enumerate() if t.ident not in before and t.name == "mindmove-read-ahead"]
    assert left == []


def test_reads_at_most_depth_frames_ahead():
    produced = []

    def counted():
        for frame in _frames(100):
            produced.append(frame.index)
            yield frame

    frames = read_ahead(counted(), depth=4)
    first = next(frames)
    assert first.index == 0
    frames.close()  # joins the producer: nothing is read after this
    # One taken, four waiting, one in the producer's hand at most: never the whole file.
    assert len(produced) <= 1 + 4 + 1


def test_a_real_video_gives_the_same_frames_as_reading_it_directly(shared):
    path = shared("video/pose2sim_tpose_cam01.mp4")
    with VideoFileSource(path) as source:
        direct = [(f.index, f.t_s, int(f.image_bgr.sum())) for f in source.frames()]
    with VideoFileSource(path) as source:
        ahead = [(f.index, f.t_s, int(f.image_bgr.sum())) for f in read_ahead(source.frames())]
    assert ahead == direct and len(direct) == 11
