"""A smaller model input (a slow station's explicit choice) keeps the caller's pixels; the
estimator's stage timer sees its three stages. Real MediaPipe on a real still."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from core.timing import StageTimer
from sensing.pose import MediaPipePoseEstimator, _to_rgb


def test_the_model_input_is_shrunk_to_its_long_side_and_never_enlarged():
    portrait = np.zeros((1920, 1080, 3), np.uint8)
    portrait[..., 0] = 255  # blue in BGR
    rgb = _to_rgb(portrait, input_max_px=640)
    assert rgb.shape == (640, 360, 3) and (rgb[..., 2] == 255).all() and (rgb[..., 0] == 0).all()
    small = np.zeros((240, 320, 3), np.uint8)
    assert _to_rgb(small, input_max_px=640).shape == (240, 320, 3)
    assert _to_rgb(portrait).shape == (1920, 1080, 3)


@pytest.mark.parametrize("bad", [0, 100, 640.5, "640"])
def test_an_input_size_the_model_cannot_use_is_refused(bad):
    with pytest.raises(InputError, match="at least 256"):
        MediaPipePoseEstimator(input_max_px=bad)


def test_landmarks_from_a_shrunk_input_are_in_the_full_images_pixels(shared):
    import cv2

    image = cv2.imread(str(shared("stills/pose2sim_static_cam01_tpose.jpg")))
    height = image.shape[0]
    with MediaPipePoseEstimator() as full:
        reference = full.estimate(image, 0.0)
    timer = StageTimer()
    with MediaPipePoseEstimator(input_max_px=640) as small:
        small.timer = timer
        pose = small.estimate(image, 0.0)
    assert reference is not None and pose is not None
    seen = (reference.visibility > 0.5) & (pose.visibility > 0.5)
    assert seen.sum() >= 20
    offset_px = np.linalg.norm(pose.pixel_px[seen] - reference.pixel_px[seen], axis=1)
    # Same person, same place: a landmark moves by a few pixels, never by the 3x of a scale error.
    assert np.median(offset_px) < 0.01 * height
    assert {name: f.n for name, f in timer.figures().items()} == {"colour": 1, "inference": 1, "landmarks": 1}
    assert "input <= 640 px" in small.name  # the summary's pose_model says so
