"""A live camera is never paced: a slow start must not slow every frame (review item 1).

The camera is faked at the one hardware seam (``CameraSource(capture_factory=...)``): a
capture that delivers a picture every 1/30 s on the wall clock, as a webcam does.
"""

from __future__ import annotations

import time

import numpy as np

from feedback.exercises import load_exercise
from calibration.practice import build_practice_pipeline
from feedback.session import LatestFrameGrabber, run_practice
from sensing.video import CameraSource, Frame

CAMERA_FPS = 30.0


class _PacedCapture:
    """A fake cv2.VideoCapture like a webcam: a picture every 1/fps s on the wall clock for
    ``duration_s`` after opening; read() waits for the next tick, and ticks nobody read are
    gone (a camera does not queue the past)."""

    def __init__(self, index, *, duration_s: float, fps: float = CAMERA_FPS):
        self.period_s = 1.0 / fps
        self.opened_at = time.monotonic()
        self.end = self.opened_at + duration_s
        self.ticks_read = 0

    def isOpened(self):
        return True

    def read(self):
        now = time.monotonic()
        tick = self.opened_at + (int((now - self.opened_at) / self.period_s) + 1) * self.period_s
        if tick > self.end:
            return False, None
        time.sleep(max(0.0, tick - time.monotonic()))
        self.ticks_read += 1
        return True, np.zeros((48, 64, 3), np.uint8)

    def get(self, prop):
        return CAMERA_FPS

    def release(self):
        pass


class _NoPerson:
    """A pose estimator that finds nobody (the pipeline still runs its engines)."""

    def estimate(self, image_bgr, t_s):
        return None


def test_camera_after_a_slow_setup_processes_about_every_frame():
    captures = []

    def factory(index):
        captures.append(_PacedCapture(index, duration_s=2.5))
        return captures[-1]

    cam = CameraSource(0, capture_factory=factory)
    time.sleep(0.5)  # estimator, recorder and window are made between opening and the loop
    with cam:
        result = run_practice(cam, _NoPerson(), build_practice_pipeline(load_exercise("standing_shoulder_flexion")))
    # About 2 s of camera after the setup: about 60 pictures. Before the fix the grabber paced
    # the camera again from the stale warm-up stamp, waiting 0.5 s per frame: 5 frames.
    assert result.frames_read >= 45
    assert result.frames_read == captures[0].ticks_read - 1  # the stale warm-up picture is not handed out
    assert result.frames_processed >= 0.8 * result.frames_read
    assert result.frames_processed + result.frames_dropped == result.frames_read
    assert result.summary["duration_s"] >= 1.5  # session time follows the camera's own stamps


class _LiveSource:
    """Frames stamped 10 s apart but delivered 0.1 s apart: a paced grabber would wait 10 s."""

    live = True

    def __init__(self, times_s):
        self.times_s = times_s

    def frames(self):
        for i, t in enumerate(self.times_s):
            if i:
                time.sleep(0.1)  # the consumer takes the first frame before the second comes
            yield Frame(np.zeros((4, 4, 3), np.uint8), t, i)


def test_live_source_is_never_paced_and_keeps_its_capture_stamp():
    grabber = LatestFrameGrabber(_LiveSource([100.0, 110.0]), pace=True).start()
    try:
        first = grabber.get(timeout_s=2.0)
        second = grabber.get(timeout_s=2.0)  # a paced grabber raises SourceError here
    finally:
        grabber.stop()
    assert (first.frame.t_s, second.frame.t_s) == (100.0, 110.0)
    assert (first.captured_at, second.captured_at) == (100.0, 110.0)  # the capture stamp, not the hand-out


class _FileSource:
    live = False

    def frames(self):
        for i in range(3):
            yield Frame(np.zeros((4, 4, 3), np.uint8), i * 0.05, i)


def test_paced_file_frames_are_stamped_when_due():
    clock_start = time.monotonic()
    grabber = LatestFrameGrabber(_FileSource(), pace=True).start()
    got = []
    try:
        while (g := grabber.get(timeout_s=2.0)) is not None:
            got.append(g)
            time.sleep(0.12)  # a slow consumer: the later frames wait in the mailbox
    finally:
        grabber.stop()
    due = [g.captured_at - got[0].captured_at for g in got]
    assert got[0].captured_at >= clock_start
    # Each stamp is the frame's due time on the file's clock, whatever the consumer did.
    assert np.allclose(due, [g.frame.t_s for g in got], atol=1e-9)
