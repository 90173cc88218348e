"""The real MediaPipe pose model on the real recordings in ../shared/data."""

from __future__ import annotations

import functools
import math
import zipfile

import cv2
import numpy as np
import pytest

from conftest import shared_file
from feedback.angles import compute_frame_angles, compute_joint_angles
from mindmove.analyze import compute_landmark_series
from core.errors import InputError
from sensing.landmarks import LANDMARK_INDEX
from sensing.pose import (MediaPipePoseEstimator, PoseEstimator, TasksPoseEstimator,
                          build_offline_task_bundle, bundled_pose_model_files,
                          create_pose_estimator, offline_task_bundle, square_crop_offsets)
from sensing.video import open_source

STILLS = (
    "sports2d_f000_standing.jpg", "sports2d_f030_arms_raised.jpg",
    "sports2d_f120_walking_side.jpg", "pose2sim_static_cam01_tpose.jpg",
    "pose2sim_static_cam03_tpose.jpg",
)
LUNGE = [f"video/pose2sim_lunge_cam0{k}.mp4" for k in range(1, 5)]
TPOSE = [f"video/pose2sim_tpose_cam0{k}.mp4" for k in range(1, 5)]


def _run(relative: str, estimator=None):
    path = shared_file(relative)
    own = estimator is None
    est = estimator or create_pose_estimator()
    try:
        with open_source(path) as source:
            return compute_landmark_series(source.frames(), est, image_size=source.size,
                                           source=str(path))
    finally:
        if own:
            est.close()


@functools.lru_cache(maxsize=None)
def _tpose_angles(relative: str):
    """Angles of one T-pose clip, computed once per test session."""
    return compute_joint_angles(_run(relative))


@pytest.fixture(scope="module")
def sports2d_series():
    """sports2d_demo.mp4 through the legacy estimator, once for this module."""
    return _run("video/sports2d_demo.mp4")


def test_bundled_models_are_installed():
    assert all(bundled_pose_model_files().values())


def test_person_in_95_percent_of_sports2d_frames(sports2d_series):
    series = sports2d_series
    assert len(series) == 230
    found = series.frames_with_person()
    assert found.sum() >= 0.95 * len(series)
    # Pixels are normalised coordinates times the image size: inside (or at) the frame.
    width, height = series.image_size
    px = series.pixel_px[found]
    visible = series.visibility[found] > 0.5
    assert np.nanmin(px[visible][:, 0]) > -0.05 * width
    assert np.nanmax(px[visible][:, 0]) < 1.05 * width
    assert np.nanmax(px[visible][:, 1]) < 1.05 * height
    # World coordinates are metres around the hips: a person is 1-2.5 m tall.
    world = series.world_m[found]
    assert np.all(np.abs(world[:, LANDMARK_INDEX["left_hip"]]) < 0.3)
    assert np.all(np.abs(world) < 1.5)


@pytest.mark.parametrize("relative", LUNGE + TPOSE)
def test_person_in_every_pose2sim_frame(relative):
    series = _run(relative)
    assert len(series) in (100, 11)
    assert series.frames_with_person().all()


@pytest.mark.xfail(strict=True, reason=(
    "MediaPipe's world landmarks put the right arm of this T-pose 20-30 degrees forward of "
    "the shoulder line: right shoulder abduction measures 64-76 degrees (left 73-90) on the "
    "four clips; the issue asks for 80-100. Strict, so a fix shows up as XPASS."))
@pytest.mark.parametrize("relative", TPOSE)
def test_tpose_shoulder_abduction_between_80_and_100(relative):
    angles = _tpose_angles(relative)
    for side in ("left", "right"):
        values = angles.column(f"{side}_shoulder_abduction")
        assert np.all((values > 80) & (values < 100)), (side, np.round(values, 1))


@pytest.mark.parametrize("relative", TPOSE)
def test_tpose_arms_are_clearly_abducted(relative):
    angles = _tpose_angles(relative)
    for side in ("left", "right"):
        abduction = np.median(angles.column(f"{side}_shoulder_abduction"))
        elbow = np.median(angles.column(f"{side}_elbow_flexion"))
        assert 60 < abduction < 100, (side, abduction)
        assert elbow < 30, (side, elbow)  # arms held straight out


def test_arms_raised_still_reads_as_shoulder_abduction_over_105(shared):
    image = cv2.imread(str(shared("stills/sports2d_f030_arms_raised.jpg")))
    with create_pose_estimator(static_images=True) as est:
        pose = est.estimate(image, 0.0)
    assert pose is not None
    angles = compute_frame_angles(pose.world_m, pose.visibility)
    # The arms are raised out to the side (elevation 115-116 deg, within 6 deg of the frontal
    # plane): abduction, not flexion (which read 180-191 before feedback.angles checked the
    # plane of elevation: the sagittal projection of a sideways arm).
    for side in ("left", "right"):
        assert angles[f"{side}_shoulder_abduction_deg"] > 105, side  # measured 114.6, 116.1
        assert math.isnan(angles[f"{side}_shoulder_flexion_deg"]), side
    # Wrists above the head in the image (y grows downward).
    px = pose.pixel_px
    assert px[LANDMARK_INDEX["left_wrist"], 1] < px[LANDMARK_INDEX["nose"], 1]
    assert px[LANDMARK_INDEX["right_wrist"], 1] < px[LANDMARK_INDEX["nose"], 1]


def test_square_crops_only_for_wide_images():
    assert square_crop_offsets(1768, 994) == [0, 387, 774]
    assert square_crop_offsets(1080, 1920) == []
    assert square_crop_offsets(640, 600) == []


@pytest.fixture(scope="module")
def offline_bundle(tmp_path_factory):
    return build_offline_task_bundle(tmp_path_factory.mktemp("bundle"))


def test_offline_bundle_holds_both_models(offline_bundle):
    with zipfile.ZipFile(offline_bundle) as bundle:
        names = set(bundle.namelist())
        assert names == {"pose_detector.tflite", "pose_landmarks_detector.tflite"}
        assert all(i.compress_type == zipfile.ZIP_STORED for i in bundle.infolist())
    # A second call reuses the file.
    mtime = offline_bundle.stat().st_mtime_ns
    assert build_offline_task_bundle(offline_bundle) == offline_bundle
    assert offline_bundle.stat().st_mtime_ns == mtime


def test_offline_bundle_cached_in_data_dir(_isolated_data_dir):
    from mindmove.settings import ensure_data_dir

    path = offline_task_bundle(ensure_data_dir())
    assert path.is_file() and path.is_relative_to(_isolated_data_dir)


def test_tasks_estimator_finds_the_person_in_every_still(offline_bundle, shared):
    with create_pose_estimator(offline_bundle, static_images=True) as tasks, \
            create_pose_estimator(static_images=True) as legacy:
        assert isinstance(tasks, TasksPoseEstimator) and isinstance(tasks, PoseEstimator)
        for name in STILLS:
            image = cv2.imread(str(shared(f"stills/{name}")))
            a, b = tasks.estimate(image, 0.0), legacy.estimate(image, 0.0)
            assert a is not None, name
            assert a.world_m.shape == (33, 3) and a.pixel_px.shape == (33, 2)
            # Same network weights: the two back ends agree to a few pixels.
            shoulders = [LANDMARK_INDEX["left_shoulder"], LANDMARK_INDEX["right_shoulder"]]
            assert np.abs(a.pixel_px[shoulders] - b.pixel_px[shoulders]).max() < 10, name


def test_tasks_estimator_video_mode_tolerates_repeated_times(offline_bundle, shared):
    with TasksPoseEstimator(offline_bundle) as est:
        with open_source(shared(TPOSE[0])) as source:
            # Every frame stamped 0: the estimator must still give increasing timestamps.
            found = [est.estimate(f.image_bgr, 0.0) is not None for f in source.frames()]
    assert all(found) and len(found) == 11


def test_pose_model_must_be_a_task_bundle(tmp_path):
    with pytest.raises(InputError, match=r"\.task bundle"):
        create_pose_estimator(tmp_path / "model.onnx")
    with pytest.raises(InputError, match="not found"):
        create_pose_estimator(tmp_path / "missing.task")
    fake = tmp_path / "fake.task"
    fake.write_text("not a zip")
    with pytest.raises(InputError, match="not one"):
        create_pose_estimator(fake)


def test_legacy_estimator_rejects_grey_images():
    with MediaPipePoseEstimator(static_images=True) as est:
        with pytest.raises(InputError, match="colour image"):
            est.estimate(np.zeros((48, 64), np.uint8), 0.0)


def test_blank_image_has_nobody():
    with MediaPipePoseEstimator(static_images=True) as est:
        assert est.estimate(np.zeros((480, 640, 3), np.uint8), 0.0) is None


def test_landmarks_placed_outside_the_image_count_as_unseen(shared):
    """A webcam that sees only the upper body: MediaPipe still places the hips (below the
    image) and may call them visible. The estimator marks them unseen, so the angle code takes
    the upright-trunk fallback instead of measuring lean from invented hips."""
    image = cv2.imread(str(shared("stills/sports2d_f030_arms_raised.jpg")))
    crop = np.ascontiguousarray(image[0:160, 440:840])  # head to just below the shoulders
    with MediaPipePoseEstimator(static_images=True) as estimator:
        pose = estimator.estimate(crop, 0.0)
    assert pose is not None
    hips = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]
    assert (pose.pixel_px[hips, 1] > crop.shape[0]).all()  # placed below the image
    assert (pose.visibility[hips] == 0).all()
    angles = compute_frame_angles(pose.world_m, pose.visibility)
    assert angles.assumed_upright
    assert np.isnan(angles["trunk_forward_lean_deg"])
