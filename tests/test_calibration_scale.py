"""Distance scale from a synthetic standing figure of known height, and from a known length."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.scale import compute_scale_from_height, compute_scale_from_known_length
from core.errors import InputError, ValidationError
from mindmove.store import open_store
from mindmove.store.camera_setups import load_camera_setup, save_camera_setup
from sensing.landmarks import LANDMARK_INDEX, N_LANDMARKS, LandmarkSeries, PoseFrame

FOCAL_PX = 1000.0
DISTANCE_M = 3.0  # person to camera
CAMERA_HEIGHT_M = 1.0
IMAGE_W, IMAGE_H = 1280, 720

# Landmark heights as fractions of stature (Drillis & Contini / Winter), lateral offsets
# and depth offsets (m, + = away from the camera) for a person facing the camera.
_FIGURE = {
    "nose": (0.93, 0.0, -0.10), "left_eye": (0.936, 0.032, -0.08), "right_eye": (0.936, -0.032, -0.08),
    "left_ear": (0.93, 0.075, 0.0), "right_ear": (0.93, -0.075, 0.0),
    "left_shoulder": (0.818, 0.20, 0.0), "right_shoulder": (0.818, -0.20, 0.0),
    "left_elbow": (0.630, 0.22, 0.0), "right_elbow": (0.630, -0.22, 0.0),
    "left_wrist": (0.485, 0.22, 0.0), "right_wrist": (0.485, -0.22, 0.0),
    "left_hip": (0.530, 0.10, 0.0), "right_hip": (0.530, -0.10, 0.0),
    "left_knee": (0.285, 0.10, -0.02), "right_knee": (0.285, -0.10, -0.02),
    "left_ankle": (0.039, 0.10, 0.0), "right_ankle": (0.039, -0.10, 0.0),
    "left_heel": (0.015, 0.10, 0.05), "right_heel": (0.015, -0.10, 0.05),
    "left_foot_index": (0.0, 0.11, -0.15), "right_foot_index": (0.0, -0.11, -0.15),
}


def _standing_frame(height_m: float, *, x_offset_m=0.0, roll_deg=0.0) -> PoseFrame:
    """A pinhole projection of a standing figure ``DISTANCE_M`` in front of the camera."""
    px = np.full((N_LANDMARKS, 2), np.nan)
    vis = np.zeros(N_LANDMARKS)
    world = np.full((N_LANDMARKS, 3), np.nan)
    c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
    for name, (frac, lateral, depth) in _FIGURE.items():
        x, y, z = x_offset_m + lateral, height_m * frac - CAMERA_HEIGHT_M, DISTANCE_M + depth
        u, v = FOCAL_PX * x / z, -FOCAL_PX * y / z
        u, v = c * u - s * v, s * u + c * v  # camera not quite level
        px[LANDMARK_INDEX[name]] = (IMAGE_W / 2 + u, IMAGE_H / 2 + v)
        vis[LANDMARK_INDEX[name]] = 0.95
        world[LANDMARK_INDEX[name]] = (lateral, -height_m * frac, depth)
    return PoseFrame(world_m=world, visibility=vis, pixel_px=px)


TRUE_M_PER_PX = DISTANCE_M / FOCAL_PX


@pytest.mark.parametrize("height_m", [1.52, 1.70, 1.91])
def test_scale_from_height_within_2_percent(height_m):
    scale = compute_scale_from_height(_standing_frame(height_m), height_m)
    assert scale == pytest.approx(TRUE_M_PER_PX, rel=0.02)


def test_scale_from_a_series_uses_the_frames_where_eyes_and_heels_are_seen():
    frames = [_standing_frame(1.70, x_offset_m=dx, roll_deg=r) for dx, r in [(-0.5, 0), (0, 3), (0.4, -2), (0.1, 0)]]
    series = LandmarkSeries.from_pose_frames([0.0, 0.1, 0.2, 0.3], frames)
    vis = series.visibility.copy()
    vis[0, LANDMARK_INDEX["left_heel"]] = 0.1  # hidden in one frame
    px = series.pixel_px.copy()
    px[0, LANDMARK_INDEX["left_heel"], 1] += 300  # ... where the model also guessed wildly
    series = LandmarkSeries(t_s=series.t_s, world_m=series.world_m, visibility=vis, pixel_px=px)
    assert compute_scale_from_height(series, 1.70) == pytest.approx(TRUE_M_PER_PX, rel=0.02)


def test_scale_from_height_refusals():
    frame = _standing_frame(1.70)
    with pytest.raises(ValidationError, match="Height must be between 0.5 and 2.5 m"):
        compute_scale_from_height(frame, 170)
    with pytest.raises(InputError, match="pixel"):
        compute_scale_from_height(PoseFrame(world_m=frame.world_m, visibility=frame.visibility), 1.7)
    hidden = PoseFrame(world_m=frame.world_m, visibility=np.zeros(N_LANDMARKS), pixel_px=frame.pixel_px)
    with pytest.raises(ValidationError, match="eyes and heels to be visible"):
        compute_scale_from_height(hidden, 1.7)


def test_scale_from_known_length():
    assert compute_scale_from_known_length((100, 200), (400, 600), 2.0) == pytest.approx(2.0 / 500)
    with pytest.raises(ValidationError, match="px apart"):
        compute_scale_from_known_length((100, 200), (100.2, 200), 2.0)
    with pytest.raises(ValidationError, match="known length above 0 m"):
        compute_scale_from_known_length((0, 0), (10, 0), -1.0)
    with pytest.raises(ValidationError, match="two image points"):
        compute_scale_from_known_length((0, 0, 0), (10, 0), 1.0)


def test_camera_setup_is_stored_and_replaced():
    store = open_store()
    try:
        assert load_camera_setup(store, "gym-north") is None
        save_camera_setup(store, "gym-north", 0.004, method="known_length", by="Sam PT",
                          detail={"p1_px": [100, 200], "p2_px": [400, 600], "length_m": 2.0})
        first = load_camera_setup(store, "gym-north")
        assert (first.metres_per_pixel, first.method, first.created_by) == (0.004, "known_length", "Sam PT")
        assert first.detail["length_m"] == 2.0
        save_camera_setup(store, "gym-north", 0.0031, method="height", by="Ada", detail={"height_m": 1.7})
        again = load_camera_setup(store, "gym-north")
        assert (again.metres_per_pixel, again.method) == (0.0031, "height")
        with pytest.raises(ValidationError, match="Unknown scale method"):
            save_camera_setup(store, "gym-north", 0.003, method="guess", by="Ada")
        with pytest.raises(ValidationError, match="between 0 and 1 m per pixel"):
            save_camera_setup(store, "gym-north", 0.0, method="height", by="Ada")
        assert load_camera_setup(store, "gym-north").metres_per_pixel == 0.0031
    finally:
        store.dispose()
