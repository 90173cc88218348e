"""--record-video keeps real time when the pipeline drops frames (review item 10)."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from feedback.exercises import load_exercise
from feedback.render_practice import VideoFileSink
from calibration.practice import build_practice_pipeline
from feedback.session import run_practice
from sensing.video import Frame, VideoFileSource

SIZE = (64, 48)


def _image(level: int) -> np.ndarray:
    return np.full((SIZE[1], SIZE[0], 3), level, np.uint8)


def _levels(path) -> list[int]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        out.append(int(round(float(image.mean()))))
    cap.release()
    return out


def test_frames_are_repeated_over_a_drop_and_skipped_when_early(tmp_path):
    path = tmp_path / "out.mp4"
    sink = VideoFileSink(path, fps=10.0, size=SIZE)
    for t_s, level in ((0.0, 20), (0.1, 60), (0.5, 120), (0.52, 250), (1.0, 200)):
        assert sink.show(_image(level), t_s=t_s)
    sink.close()
    assert sink.frames_written == 11  # 0.0 .. 1.0 s at 10 fps
    levels = _levels(path)
    assert len(levels) == 11
    # 0.1 s fills its slot, then the image of 0.1 s is held until 0.5 s; 0.52 s is skipped.
    expected = [20, 60, 60, 60, 60, 120, 120, 120, 120, 120, 200]
    assert np.allclose(levels, expected, atol=6)


def test_without_times_each_frame_is_written_once(tmp_path):
    sink = VideoFileSink(tmp_path / "once.mp4", fps=30.0, size=SIZE)
    for level in (10, 10, 10):
        sink.show(_image(level))
    sink.close()
    assert sink.frames_written == 3


class _SlowEstimator:
    """Finds nobody, slowly: the paced pipeline must drop frames."""

    def estimate(self, image_bgr, t_s):
        time.sleep(0.08)
        return None


def test_recording_of_a_paced_session_with_drops_lasts_as_long_as_the_input(shared, tmp_path):
    video = shared("video/pose2sim_tpose_cam01.mp4")
    out = tmp_path / "session.mp4"
    with VideoFileSource(video) as source:
        fps, size = source.fps, source.size
        sink = VideoFileSink(out, fps=fps, size=size)
        result = run_practice(source, _SlowEstimator(), build_practice_pipeline(load_exercise("shoulder_abduction")),
                              sinks=[sink], render=lambda image, *rest: image, pace=True, finished_show_s=0.0)
        sink.close()
    assert result.frames_dropped > 0
    with VideoFileSource(video) as source:
        n_input = sum(1 for _ in source.frames())
    n_out = len(_levels(out))
    # Real time: as many frames as the input up to its last processed frame (never fewer
    # than were processed, as before, when a 2 s input gave a much shorter recording).
    assert n_out > result.frames_processed
    assert n_input - 3 <= n_out <= n_input


class _CueSink:
    """Keeps what each shown frame said (the render below hands over the cue, not an image)."""

    def __init__(self):
        self.shown: list[tuple[float, str | None]] = []

    def show(self, cue, /, *, t_s):
        self.shown.append((t_s, cue.message_key if cue is not None else None))
        return True


def test_welcome_at_the_start_and_thanks_held_at_the_end(shared):
    """The welcome line is on screen while nothing else is to be said, never recorded as a
    cue; the closing line is held 2 s after the last frame (written into a recording too)."""
    sink = _CueSink()
    with VideoFileSource(shared("video/pose2sim_tpose_cam01.mp4")) as source:
        result = run_practice(source, _NoPersonNow(), build_practice_pipeline(load_exercise("shoulder_abduction")),
                              sinks=[sink], render=lambda image, pose, angles, cue, pipeline: cue, pace=False)
    keys = [k for _, k in sink.shown]
    assert keys[0] == "session.welcome"
    assert "session.welcome" not in [c.message_key for c in result.cues]  # shown, not recorded
    closing = [t for t, k in sink.shown if k == "session.finished"]
    last_frame_t = sink.shown[len(sink.shown) - len(closing) - 1][0]
    assert keys[-len(closing):] == ["session.finished"] * len(closing)
    assert closing[-1] - last_frame_t == pytest.approx(2.0)


class _NoPersonNow:
    def estimate(self, image_bgr, t_s):
        return None
