"""A live camera is never paced: a slow start must not slow every frame (review item 1).

Everything here runs on a simulated clock, so the tests pass or fail the same on a fast or
a loaded machine: the camera is faked at the one hardware seam
(``CameraSource(capture_factory=..., clock=...)``) as a capture that delivers a picture
every 1/30 s of simulated time, and the frame grabber takes the same clock
(``LatestFrameGrabber(..., clock=...)``). A fake capture only delivers its next picture once
the consumer has taken the last one (a consumer that keeps up, whatever the machine), so the
frame counts are exact. Real waiting is left only as a safety timeout.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from calibration.practice import build_practice_pipeline
from feedback.exercises import load_exercise
from feedback.session import LatestFrameGrabber, run_practice
from sensing.video import CAMERA_FIRST_FRAME_MAX_AGE_S, CameraSource, Frame

CAMERA_FPS = 30.0
SETUP_S = 0.52  # estimator, recorder and window are made between opening the camera and the loop
SAFETY_TIMEOUT_S = 30.0  # real seconds; only reached when something is broken


class SimulatedClock:
    """Seconds that pass only when the test, or the simulated camera, moves them on."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self._now = start_s
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def move_to(self, t_s: float) -> None:
        with self._lock:
            self._now = max(self._now, t_s)


class _SimulatedWebcam:
    """A fake cv2.VideoCapture like a webcam, on ``clock``: a picture every 1/fps s for
    ``duration_s`` after opening; read() moves the clock on to the next tick (the wait a real
    camera makes) and ticks nobody read are gone. Once ``free_reads`` pictures are read (the
    one read at opening, and the first of the loop when the opening one is stale), each read
    first waits until ``taken`` is released: the consumer has taken the last picture."""

    def __init__(self, clock: SimulatedClock, *, duration_s: float, free_reads: int, fps: float = CAMERA_FPS) -> None:
        self.clock = clock
        self.free_reads = free_reads
        self.period_s = 1.0 / fps
        self.opened_at = clock()
        self.end = self.opened_at + duration_s + self.period_s / 2
        self.taken = threading.Semaphore(0)
        self.ticks: list[float] = []

    def isOpened(self):
        return True

    def read(self):
        if len(self.ticks) >= self.free_reads and not self.taken.acquire(timeout=SAFETY_TIMEOUT_S):
            return False, None
        k = int((self.clock() - self.opened_at) / self.period_s + 1e-6) + 1  # the next tick, not this one again
        tick = self.opened_at + k * self.period_s
        if tick > self.end:
            return False, None
        self.clock.move_to(tick)
        self.ticks.append(tick)
        return True, np.zeros((48, 64, 3), np.uint8)

    def get(self, prop):
        return CAMERA_FPS

    def release(self):
        pass


class _NoPerson:
    """A pose estimator that finds nobody (the pipeline still runs its engines); each call
    tells the camera the frame was taken."""

    def __init__(self, camera: _SimulatedWebcam) -> None:
        self.camera = camera

    def estimate(self, image_bgr, t_s):
        self.camera.taken.release()
        return None


def _camera(clock: SimulatedClock, *, duration_s: float, free_reads: int) -> tuple[CameraSource, _SimulatedWebcam]:
    captures = []

    def factory(index):
        captures.append(_SimulatedWebcam(clock, duration_s=duration_s, free_reads=free_reads))
        return captures[-1]

    return CameraSource(0, capture_factory=factory, clock=clock), captures[0]


def test_camera_after_a_slow_setup_processes_every_frame():
    clock = SimulatedClock()
    cam, capture = _camera(clock, duration_s=2.5, free_reads=2)  # the picture read at opening goes unseen
    clock.advance(SETUP_S)
    assert SETUP_S > CAMERA_FIRST_FRAME_MAX_AGE_S  # so the picture read at opening is stale
    with cam:
        result = run_practice(cam, _NoPerson(capture), build_practice_pipeline(load_exercise("standing_shoulder_flexion")))
    # The stale warm-up picture is not handed out; the first is the next tick after the setup
    # (17/30 s after opening), the last at 2.5 s: 59 pictures, each one processed. Before the
    # fix the grabber paced the camera from the stale warm-up stamp, 0.5 s per frame.
    assert capture.ticks[1] == pytest.approx(capture.opened_at + 17 / CAMERA_FPS)
    assert (result.frames_read, result.frames_processed, result.frames_dropped) == (59, 59, 0)
    assert result.frames_read == len(capture.ticks) - 1
    assert result.summary["duration_s"] == pytest.approx(58 / CAMERA_FPS, abs=1e-3)  # the camera's own stamps


def test_a_fresh_picture_from_opening_is_handed_out_with_its_stamp():
    clock = SimulatedClock()
    cam, capture = _camera(clock, duration_s=0.2, free_reads=1)
    grabber = LatestFrameGrabber(cam, pace=True, clock=clock).start()
    try:
        got = []
        while (g := grabber.get(timeout_s=SAFETY_TIMEOUT_S)) is not None:
            got.append(g)
            capture.taken.release()
    finally:
        grabber.stop()
        cam.close()
    assert [g.frame.t_s for g in got] == pytest.approx(capture.ticks)  # the warm-up picture too: it was fresh
    assert [g.captured_at for g in got] == [g.frame.t_s for g in got]
    assert len(got) == 6


class _LiveSource:
    """Frames stamped ``times_s`` (on a camera's clock) and delivered one after the other:
    the next only once the consumer took the last (``taken``)."""

    live = True

    def __init__(self, times_s):
        self.times_s = times_s
        self.taken = threading.Event()

    def frames(self):
        for i, t in enumerate(self.times_s):
            if i:
                assert self.taken.wait(SAFETY_TIMEOUT_S)
                self.taken.clear()
            yield Frame(np.zeros((4, 4, 3), np.uint8), t, i)


def test_live_source_is_never_paced_and_keeps_its_capture_stamp():
    """Stamped 100 s apart on a clock that stands still: a paced grabber would stamp them
    0 and 100 and wait 100 s for the second (a SourceError after the 10 s timeout)."""
    clock = SimulatedClock(0.0)
    source = _LiveSource([100.0, 200.0])
    grabber = LatestFrameGrabber(source, pace=True, clock=clock).start()
    try:
        first = grabber.get(timeout_s=10.0)
        source.taken.set()
        second = grabber.get(timeout_s=10.0)
        assert grabber.get(timeout_s=10.0) is None
    finally:
        grabber.stop()
    assert (first.frame.t_s, second.frame.t_s) == (100.0, 200.0)
    assert (first.captured_at, second.captured_at) == (100.0, 200.0)  # the capture stamp, not the hand-out
    assert (grabber.frames_read, grabber.frames_dropped) == (2, 0)


class _FileSource:
    live = False

    def frames(self):
        for i in range(3):
            yield Frame(np.zeros((4, 4, 3), np.uint8), i * 0.05, i)


def test_paced_file_frames_are_stamped_when_due():
    clock = SimulatedClock(1000.0)
    grabber = LatestFrameGrabber(_FileSource(), pace=True, clock=clock).start()
    got = []
    try:
        while (g := grabber.get(timeout_s=SAFETY_TIMEOUT_S)) is not None:
            got.append(g)
            clock.advance(0.12)  # a slow consumer: the later frames are due before it asks again
    finally:
        grabber.stop()
    # Each stamp is the frame's due time on the file's clock, from the moment pacing began,
    # whatever the consumer did (the frames it was too slow for were replaced, not queued).
    assert got[0].captured_at == 1000.0 and got[0].frame.t_s == 0.0
    assert [g.captured_at - 1000.0 for g in got] == pytest.approx([g.frame.t_s for g in got], abs=1e-9)
    assert grabber.frames_read == 3 and grabber.frames_dropped == 3 - len(got)
