import numpy as np
import pytest

from core.errors import InputError
from sensing.landmarks import (
    LANDMARK_INDEX, LANDMARK_NAMES, N_LANDMARKS, LandmarkSeries, PoseFrame,
    load_landmarks_csv, save_landmarks_csv,
)


def _series(n=5, with_px=True):
    rng = np.random.default_rng(0)
    frames = []
    for i in range(n):
        if i == 2:
            frames.append(None)
            continue
        frames.append(PoseFrame(world_m=rng.normal(size=(N_LANDMARKS, 3)),
                                visibility=rng.uniform(size=N_LANDMARKS),
                                pixel_px=rng.uniform(0, 1000, size=(N_LANDMARKS, 2)) if with_px else None))
    return LandmarkSeries.from_pose_frames(np.arange(n) / 30, frames, image_size=(1000, 800))


def test_names_are_mediapipe_order():
    assert len(LANDMARK_NAMES) == 33
    assert LANDMARK_INDEX["nose"] == 0
    assert LANDMARK_INDEX["left_shoulder"] == 11
    assert LANDMARK_INDEX["right_foot_index"] == 32


@pytest.mark.parametrize("with_px", [True, False])
def test_csv_round_trip(tmp_path, with_px):
    s = _series(with_px=with_px)
    path = save_landmarks_csv(s, tmp_path / "l.csv")
    back = load_landmarks_csv(path)
    np.testing.assert_allclose(back.t_s, s.t_s, atol=1e-6)
    np.testing.assert_allclose(back.world_m, s.world_m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back.visibility, s.visibility, rtol=1e-5, atol=1e-6)
    assert (back.pixel_px is None) == (not with_px)
    assert not back.frames_with_person()[2]
    assert back.frames_with_person().sum() == 4


def test_csv_missing_columns_are_named(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("t_s,left_knee_x,left_knee_y\n0,1,2\n")
    with pytest.raises(InputError, match="left_knee_z"):
        load_landmarks_csv(p)
    p.write_text("time,a\n0,1\n")
    with pytest.raises(InputError, match="'t_s'"):
        load_landmarks_csv(p)


def test_subset_of_landmarks_reads_as_unknown(tmp_path):
    p = tmp_path / "few.csv"
    p.write_text("t_s,left_knee_x,left_knee_y,left_knee_z\n0,1,2,3\n0.01,1,2,4\n")
    s = load_landmarks_csv(p, up=(0, 0, 1))
    assert s.world("left_knee")[1, 2] == 4
    assert np.isnan(s.world("nose")).all()
    assert s.visibility[0, LANDMARK_INDEX["left_knee"]] == 1.0
    assert s.up == (0.0, 0.0, 1.0)


def test_shape_checked():
    with pytest.raises(InputError, match="world_m"):
        LandmarkSeries(t_s=np.zeros(3), world_m=np.zeros((3, 10, 3)), visibility=np.zeros((3, 33)))
