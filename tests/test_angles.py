"""Joint angles against analytic answers: synthetic bodies holding known angles."""

import math

import numpy as np
import pytest

from feedback.angles import (
    ANGLE_NAMES, MOTIONS, AngleSeries, compute_frame_angles, compute_joint_angle,
    compute_joint_angles, load_angles_csv, save_angles_csv,
)
from feedback.simulate import simulate_landmark_series, simulate_pose_frame, simulate_view_up
from mindmove.errors import InputError, ValidationError
from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries

POSES = {
    "standing": {},
    "t_pose": {"left_shoulder_abduction": 90, "right_shoulder_abduction": 90},
    "arms_overhead": {"left_shoulder_flexion": 180, "left_shoulder_abduction": 180,
                      "right_shoulder_flexion": 175, "right_shoulder_abduction": 170},
    "reach_and_squat": {"right_shoulder_flexion": 90, "right_elbow_flexion": 70,
                        "left_shoulder_flexion": 45, "left_shoulder_abduction": 20,
                        "left_hip_flexion": 30, "left_knee_flexion": 40,
                        "right_hip_flexion": 60, "right_knee_flexion": 90,
                        "right_ankle_dorsiflexion": 15, "left_ankle_dorsiflexion": -20},
    "lean_and_turn": {"trunk_forward_lean": 25, "trunk_lateral_lean": -10, "neck_flexion": 20,
                      "neck_rotation": 35, "right_hip_abduction": 15, "left_hip_abduction": -5,
                      "left_shoulder_flexion": -30, "left_elbow_flexion": 120},
}
# (yaw, pitch, roll): facing the camera, facing image-left, facing image-right, turned 30
# degrees, back to the camera, and a tilted camera.
VIEWS = [(0, 0, 0), (-90, 0, 0), (90, 0, 0), (30, 0, 0), (180, 0, 0), (-30, 15, -10)]


def _expected(pose: dict, name: str) -> float:
    """The angle asked for; NaN where the convention leaves it undefined: under sin(20 deg)
    of the segment lies in the measuring plane."""
    motion = name[:-4]
    for limb in ("shoulder", "hip"):
        for side in ("left", "right"):
            f = math.radians(pose.get(f"{side}_{limb}_flexion", 0.0))
            a = math.radians(pose.get(f"{side}_{limb}_abduction", 0.0))
            # The segment in (anterior, up, lateral) body axes.
            d = np.array([math.sin(f) * abs(math.cos(a)), -math.cos(f) * abs(math.cos(a)),
                          math.sin(a) * abs(math.cos(f))])
            d /= np.linalg.norm(d)
            if motion == f"{side}_{limb}_flexion" and math.hypot(d[0], d[1]) < math.sin(math.radians(20)):
                return math.nan
            if motion == f"{side}_{limb}_abduction" and math.hypot(d[2], d[1]) < math.sin(math.radians(20)):
                return math.nan
    return float(pose.get(motion, 0.0))


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: f"yaw{v[0]}_pitch{v[1]}_roll{v[2]}")
@pytest.mark.parametrize("pose_name", sorted(POSES))
def test_frame_angles_come_back_in_every_view(pose_name, view):
    pose = POSES[pose_name]
    yaw, pitch, roll = view
    frame = simulate_pose_frame(pose, yaw_deg=yaw, view_pitch_deg=pitch, view_roll_deg=roll)
    up = simulate_view_up(view_pitch_deg=pitch, view_roll_deg=roll)
    angles = compute_frame_angles(frame.world_m, frame.visibility, up=up)
    assert tuple(angles) == ANGLE_NAMES
    for name, value in angles.items():
        expected = _expected(pose, name)
        if math.isnan(expected):
            assert math.isnan(value), f"{name} should be undefined in {pose_name}, got {value}"
        else:
            assert value == pytest.approx(expected, abs=1.0), name


def test_clinical_landmarks_of_the_scale():
    """A clinician's anchors: T-pose 90 abduction, arms overhead about 180, standing 0."""
    t_pose = compute_frame_angles(*_frame(POSES["t_pose"]))
    assert t_pose["right_shoulder_abduction_deg"] == pytest.approx(90, abs=0.5)
    assert t_pose["left_shoulder_abduction_deg"] == pytest.approx(90, abs=0.5)
    overhead = compute_frame_angles(*_frame({"right_shoulder_flexion": 180, "right_shoulder_abduction": 180}))
    assert overhead["right_shoulder_flexion_deg"] == pytest.approx(180, abs=0.5)
    assert overhead["right_shoulder_abduction_deg"] == pytest.approx(180, abs=0.5)
    standing = compute_frame_angles(*_frame({}))
    for motion in ("knee_flexion", "hip_flexion", "elbow_flexion", "ankle_dorsiflexion"):
        assert abs(standing[f"right_{motion}_deg"]) < 0.5


def _frame(pose, **view):
    f = simulate_pose_frame(pose, **view)
    return f.world_m, f.visibility


def test_overhead_arm_does_not_flip_sign():
    """An arm a little past vertical stays near +180, not -180."""
    behind = compute_frame_angles(*_frame({"right_shoulder_flexion": 185, "right_shoulder_abduction": 180}))
    assert behind["right_shoulder_flexion_deg"] == pytest.approx(185, abs=0.5)


def test_signs_follow_the_documented_directions():
    a = compute_frame_angles(*_frame({"trunk_lateral_lean": 12, "neck_rotation": 40,
                                      "left_shoulder_flexion": -20}, yaw_deg=-90))
    assert a["trunk_lateral_lean_deg"] == pytest.approx(12, abs=0.5)  # toward the right is +
    assert a["neck_rotation_deg"] == pytest.approx(40, abs=0.5)  # to the patient's left is +
    assert a["left_shoulder_flexion_deg"] == pytest.approx(-20, abs=0.5)  # extension is -
    # Check the geometry itself, not only the round trip: turning the head left moves the nose
    # toward the left shoulder.
    f = simulate_pose_frame({"neck_rotation": 40})
    nose, ls, rs = (f.world_m[LANDMARK_INDEX[n]] for n in ("nose", "left_shoulder", "right_shoulder"))
    assert np.linalg.norm(nose - ls) < np.linalg.norm(nose - rs)


def test_mirrored_world_gives_the_same_angles():
    """A left-handed (mirrored) motion-capture frame: the nose/toes still decide anterior."""
    pose = POSES["reach_and_squat"] | {"trunk_forward_lean": 15, "neck_rotation": 20}
    f = simulate_pose_frame(pose, yaw_deg=40)
    mirrored = f.world_m * np.array([-1.0, 1.0, 1.0])
    direct = compute_frame_angles(f.world_m, f.visibility)
    flipped = compute_frame_angles(mirrored, f.visibility)
    for name in ANGLE_NAMES:
        np.testing.assert_allclose(flipped[name], direct[name], atol=1e-6, err_msg=name)


def test_motion_capture_up_axis():
    """Motion capture with z up: the series' up vector is honoured for trunk lean."""
    f = simulate_pose_frame({"trunk_forward_lean": 20}, view_pitch_deg=90)
    up = simulate_view_up(view_pitch_deg=90)
    assert up == pytest.approx((0.0, 0.0, -1.0), abs=1e-9)
    a = compute_frame_angles(f.world_m, f.visibility, up=up)
    assert a["trunk_forward_lean_deg"] == pytest.approx(20, abs=0.5)
    wrong = compute_frame_angles(f.world_m, f.visibility)  # MediaPipe's -y is wrong here
    assert abs(wrong["trunk_forward_lean_deg"] - 20) > 20


def _moving_series(n=90, rate_hz=30.0, **kwargs):
    t = np.arange(n) / rate_hz

    def angles(ti):
        return {"right_knee_flexion": 10 + 30 * ti, "left_elbow_flexion": 90 - 30 * ti,
                "right_shoulder_flexion": 20 + 40 * math.sin(2 * math.pi * 0.5 * ti)}

    return simulate_landmark_series(t, angles, **kwargs), t


def test_series_angles_and_single_joint_agree():
    series, t = _moving_series(yaw_deg=-90)
    angles = compute_joint_angles(series)
    assert angles.names == ANGLE_NAMES and angles.values_deg.shape == (len(t), len(ANGLE_NAMES))
    np.testing.assert_allclose(angles.column("right_knee_flexion"), 10 + 30 * t, atol=1e-6)
    np.testing.assert_allclose(angles.column("left_elbow_flexion_deg"), 90 - 30 * t, atol=1e-6)
    knee = compute_joint_angle(series, joint="knee_flexion", side="right")
    np.testing.assert_allclose(knee, angles.column("right_knee_flexion"), atol=1e-9)
    lean = compute_joint_angle(series, joint="trunk_forward_lean")
    np.testing.assert_allclose(lean, 0.0, atol=1e-6)
    assert angles.coordinates == "world_m"


def test_single_joint_rejects_bad_names():
    series, _ = _moving_series(n=3)
    with pytest.raises(InputError, match="knee_flexion"):
        compute_joint_angle(series, joint="knee", side="right")
    with pytest.raises(InputError, match="side"):
        compute_joint_angle(series, joint="knee_flexion", side=None)
    with pytest.raises(InputError, match="side=None"):
        compute_joint_angle(series, joint="neck_rotation", side="left")


def _with_visibility(series: LandmarkSeries, landmark: str, frames, value: float) -> LandmarkSeries:
    vis = series.visibility.copy()
    vis[frames, LANDMARK_INDEX[landmark]] = value
    return LandmarkSeries(t_s=series.t_s, world_m=series.world_m, visibility=vis,
                          pixel_px=series.pixel_px, up=series.up)


def test_visibility_gating_makes_angles_unknown():
    series, _ = _moving_series(n=30)
    hidden = _with_visibility(series, "left_elbow", slice(None), 0.3)
    angles = compute_joint_angles(hidden)
    for name in ("left_elbow_flexion", "left_shoulder_flexion", "left_shoulder_abduction"):
        assert np.isnan(angles.column(name)).all(), name
    assert np.isfinite(angles.column("right_knee_flexion")).all()
    assert np.isfinite(angles.column("right_shoulder_flexion")).all()
    # The same landmark at 0.3 counts once the threshold is lowered.
    relaxed = compute_joint_angles(hidden, visibility_threshold=0.2)
    assert np.isfinite(relaxed.column("left_elbow_flexion")).all()
    # The input is not mutated.
    assert np.isfinite(hidden.world_m).all()


def test_short_gaps_are_filled_and_long_ones_kept():
    series, t = _moving_series(n=120)
    truth = 10 + 30 * t
    short = list(range(30, 33))  # 3 frames at 30 fps = 0.1 s
    long = list(range(60, 75))  # 15 frames = 0.5 s
    gappy = _with_visibility(series, "right_knee", short + long, 0.0)
    knee = compute_joint_angles(gappy).column("right_knee_flexion")
    np.testing.assert_allclose(knee[short], truth[short], atol=1.0)  # linear motion: exact fill
    assert np.isnan(knee[long]).all()
    assert np.isfinite(np.delete(knee, long)).all()
    no_fill = compute_joint_angles(gappy, max_gap_s=0.0).column("right_knee_flexion")
    assert np.isnan(no_fill[short]).all()


def _image_series(yaw_deg: float, pose: dict, image_size=(1920, 1080), n=3):
    t = np.arange(n) / 30
    return simulate_landmark_series(t, pose, yaw_deg=yaw_deg, image_size=image_size, pixels_only=True)


def test_pixel_only_side_view_gives_the_in_plane_angles():
    pose = {"right_elbow_flexion": 60, "right_shoulder_flexion": 40, "right_knee_flexion": 35,
            "right_hip_flexion": 20, "trunk_forward_lean": 10, "neck_flexion": 15}
    for yaw in (-90, 90):  # facing image-left and image-right
        angles = compute_joint_angles(_image_series(yaw, pose))
        assert angles.coordinates == "pixel_px"
        for motion, value in pose.items():
            np.testing.assert_allclose(angles.column(motion), value, atol=1.0, err_msg=f"{motion} yaw {yaw}")
        # Frontal-plane angles and neck rotation cannot be read from a side view.
        assert np.isnan(angles.column("right_shoulder_abduction")).all()
        assert np.isnan(angles.column("trunk_lateral_lean")).all()
        assert np.isnan(angles.column("neck_rotation")).all()


def test_pixel_only_front_view_gives_frontal_angles():
    pose = {"right_shoulder_abduction": 70, "left_shoulder_abduction": 30, "trunk_lateral_lean": 8,
            "left_hip_abduction": 20}
    angles = compute_joint_angles(_image_series(0, pose))
    for motion, value in pose.items():
        np.testing.assert_allclose(angles.column(motion), value, atol=1.0, err_msg=motion)
    assert np.isnan(angles.column("right_shoulder_flexion")).all()
    # The documented 2-D limit: an elbow bending toward the camera is foreshortened to 0.
    toward_camera = compute_joint_angles(_image_series(0, {"left_elbow_flexion": 50}))
    np.testing.assert_allclose(toward_camera.column("left_elbow_flexion"), 0.0, atol=1.0)


def test_normalised_coordinates_would_have_been_wrong():
    """Pixels keep the aspect ratio; x/width, y/height on a 16:9 frame distorts the angle."""
    pose = {"right_elbow_flexion": 60, "right_shoulder_flexion": 40}
    width, height = 1920, 1080
    series = _image_series(-90, pose, image_size=(width, height))
    right = compute_joint_angles(series).column("right_elbow_flexion")
    np.testing.assert_allclose(right, 60, atol=1.0)
    normalised = LandmarkSeries(t_s=series.t_s, world_m=series.world_m, visibility=series.visibility,
                                pixel_px=series.pixel_px / np.array([width, height]))
    wrong = compute_joint_angles(normalised).column("right_elbow_flexion")
    assert np.all(np.abs(wrong - 60) > 5)


def test_use_pixels_without_pixels_is_a_clear_error():
    series, _ = _moving_series(n=3)
    with pytest.raises(InputError, match="pixel"):
        compute_joint_angles(series, use_pixels=True)


def test_world_preferred_over_pixels_and_both_agree_in_a_side_view():
    t = np.arange(3) / 30
    pose = {"right_knee_flexion": 45, "right_hip_flexion": 30}
    series = simulate_landmark_series(t, pose, yaw_deg=90, image_size=(1280, 720))
    world = compute_joint_angles(series)
    pixels = compute_joint_angles(series, use_pixels=True)
    assert world.coordinates == "world_m" and pixels.coordinates == "pixel_px"
    for motion in pose:
        np.testing.assert_allclose(pixels.column(motion), world.column(motion), atol=1.0)


def test_empty_person_gives_nan_not_an_error():
    angles = compute_joint_angles(LandmarkSeries.empty(4))  # times all zero, nobody seen
    assert np.isnan(angles.values_deg).all()


def test_csv_round_trip(tmp_path):
    series, t = _moving_series(n=20)
    series = _with_visibility(series, "left_elbow", slice(5, 20), 0.0)
    angles = compute_joint_angles(series)
    back = load_angles_csv(save_angles_csv(angles, tmp_path / "angles.csv"))
    assert back.names == angles.names
    np.testing.assert_allclose(back.t_s, angles.t_s, atol=1e-6)
    np.testing.assert_allclose(back.values_deg, angles.values_deg, atol=1e-3)
    assert np.isnan(back.column("left_elbow_flexion")[5:]).all()


def test_csv_errors_are_one_line(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_angles_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("time,knee\n0,1\n")
    with pytest.raises(InputError, match="t_s"):
        load_angles_csv(bad)
    bad.write_text("t_s,right_knee_flexion_deg\n0,abc\n")
    with pytest.raises(InputError, match="not a number"):
        load_angles_csv(bad)


def test_angle_series_select_and_column():
    series, t = _moving_series(n=30)
    angles = compute_joint_angles(series)
    part = angles.select(slice(10, 20))
    assert len(part) == 10
    np.testing.assert_allclose(part.column("right_knee_flexion"), angles.column("right_knee_flexion")[10:20])
    with pytest.raises(InputError, match="right_knee_flexion_deg"):
        angles.column("knee")
    with pytest.raises(InputError):
        AngleSeries(t_s=np.zeros(3), names=("a_deg",), values_deg=np.zeros((3, 2)))


def test_names_cover_every_motion():
    assert len(MOTIONS) == 7 * 2 + 4 and len(set(ANGLE_NAMES)) == len(ANGLE_NAMES)
    assert all(n.endswith("_deg") for n in ANGLE_NAMES)


def test_simulator_refuses_impossible_poses():
    with pytest.raises(ValidationError):
        simulate_pose_frame({"right_shoulder_flexion": 90, "right_shoulder_abduction": 90})
    with pytest.raises(InputError):
        simulate_pose_frame({"right_elbow_bend": 10})


def test_elbow_flexion_matches_opensim_on_real_motion_capture(shared):
    """Vicon markers of a real box lift (pyomeca, Apache-2.0) against OpenSim inverse
    kinematics of the same trial: the .mot elbow_flexion is the ground truth."""
    from pathlib import Path

    from sensing.mocap import load_mocap

    c3d = shared("mocap/pyomeca/markers_analogs.c3d")
    mot = shared("mocap/pyomeca/inverse_kin.mot")
    marker_map = Path(__file__).resolve().parents[1] / "sensing" / "marker_maps" / "pyomeca_upper_limb.toml"
    series = load_mocap(c3d, marker_map=marker_map)
    elbow = compute_joint_angle(series, joint="elbow_flexion", side="right")
    truth = np.genfromtxt(mot, delimiter=",", skip_header=10, names=True)
    ours = np.interp(truth["time"], series.t_s, elbow)
    error = ours - truth["elbow_flexion"]
    assert len(error) == 88 and np.isfinite(error).all()
    assert np.corrcoef(ours, truth["elbow_flexion"])[0, 1] > 0.995
    assert abs(error.mean()) < 1.0  # measured 0.03 deg
    assert np.sqrt(np.mean(error ** 2)) < 3.0  # measured 1.8 deg
