"""Frame sources: real video files, image folders, and the camera behind its one seam."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from core.errors import InputError, SourceError
from sensing.video import (CameraSource, FrameSource, ImageFolderSource, VideoFileSource,
                           open_source)


def test_video_file_times_come_from_the_file(shared):
    path = shared("video/sports2d_demo.mp4")
    with open_source(path) as source:
        assert isinstance(source, VideoFileSource)
        assert isinstance(source, FrameSource)
        assert source.size == (1768, 994)
        assert source.fps == pytest.approx(30.0)
        frames = list(source.frames())
    assert len(frames) == 230
    assert [f.index for f in frames] == list(range(230))
    t = np.array([f.t_s for f in frames])
    assert t[0] == pytest.approx(0.0)
    assert np.all(np.diff(t) > 0)
    assert np.median(np.diff(t)) == pytest.approx(1 / 30, abs=1e-3)
    assert frames[0].image_bgr.shape == (994, 1768, 3)


def test_sixty_fps_portrait_clip(shared):
    with open_source(str(shared("video/pose2sim_tpose_cam01.mp4"))) as source:
        frames = list(source.frames())
        width, height = source.size
    assert height > width  # portrait: width and height are not swapped
    assert len(frames) == 11
    assert np.median(np.diff([f.t_s for f in frames])) == pytest.approx(1 / 60, abs=1e-3)


def test_frames_can_be_read_once(shared):
    with open_source(shared("video/pose2sim_tpose_cam02.mp4")) as source:
        list(source.frames())
        with pytest.raises(SourceError, match="already read"):
            list(source.frames())


def _write_images(folder, names, size=(64, 48)):
    folder.mkdir(exist_ok=True)
    for k, name in enumerate(names):
        image = np.full((size[1], size[0], 3), 20 * k, dtype=np.uint8)
        assert cv2.imwrite(str(folder / name), image)


def test_image_folder_sorted_and_timed(tmp_path):
    _write_images(tmp_path / "imgs", ["b_002.png", "a_001.jpg", "c_003.png"])
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    with open_source(tmp_path / "imgs", rate_hz=10) as source:
        assert isinstance(source, ImageFolderSource)
        assert source.size == (64, 48)
        frames = list(source.frames())
    assert [f.t_s for f in frames] == pytest.approx([0.0, 0.1, 0.2])
    # name order: a_001 (value 20), b_002 (value 0), c_003 (value 40)
    assert [int(f.image_bgr[0, 0, 0]) for f in frames] == [20, 0, 40]


def test_image_folder_default_rate_is_30_hz(tmp_path):
    _write_images(tmp_path / "imgs", ["1.png", "2.png"])
    frames = list(ImageFolderSource(tmp_path / "imgs").frames())
    assert frames[1].t_s == pytest.approx(1 / 30)


def test_empty_folder_is_an_input_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="holds no images"):
        open_source(tmp_path / "empty")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        open_source(tmp_path / "nothing.mp4")


def test_text_file_named_mp4(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n")
    with pytest.raises(InputError, match="not a video file"):
        open_source(fake)


def test_zero_frame_video(tmp_path):
    empty = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    writer.release()
    assert empty.stat().st_size > 0
    with pytest.raises(InputError, match=r"no readable video frames \(found 0\)"):
        open_source(empty)


def test_camera_that_cannot_be_opened():
    # No camera on this machine (and none at index 7 on a normal one).
    with pytest.raises(SourceError, match="Cannot open camera 7"):
        open_source(7)


class _FakeCapture:
    """Stands in for cv2.VideoCapture: the hardware seam, the only mock in this file."""

    def __init__(self, index, *, opened=True, pictures=3):
        self.index, self.opened, self.left, self.released = index, opened, pictures, False

    def isOpened(self):
        return self.opened

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((48, 64, 3), np.uint8)

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        self.released = True


def test_camera_frames_carry_monotonic_times():
    fakes = []

    def factory(index):
        fakes.append(_FakeCapture(index, pictures=3))
        return fakes[-1]

    before = time.monotonic()
    with CameraSource(2, capture_factory=factory) as cam:
        assert cam.size == (64, 48)
        frames = list(cam.frames())
    after = time.monotonic()
    assert fakes[0].index == 2 and fakes[0].released
    assert [f.index for f in frames] == [0, 1, 2]
    t = [f.t_s for f in frames]
    assert before <= t[0] <= t[1] <= t[2] <= after


def test_camera_without_picture_is_a_source_error():
    fake = _FakeCapture(0, pictures=0)
    with pytest.raises(SourceError, match="gave no picture"):
        CameraSource(0, capture_factory=lambda i: fake)
    assert fake.released


def test_digit_string_means_camera():
    with pytest.raises(SourceError, match="camera 9"):
        open_source("9")
