"""Joint angles against analytic answers: synthetic bodies holding known angles."""

import math

import numpy as np
import pytest

from feedback.angles import (
    ANGLE_NAMES, MOTIONS, AngleSeries, compute_frame_angles, compute_joint_angle,
    compute_joint_angles, load_angles_csv, save_angles_csv,
)
from synthetic import BodySpec, simulate_landmark_series, simulate_pose_frame, simulate_view_up
from core.errors import InputError, ValidationError
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


# The shoulder rule of feedback.angles, restated from docs/angles.md (ISB-style elevation and
# plane of elevation): both plane angles up to LOW_ELEVATION, the elevation for both over
# OVERHEAD, and in between flexion only within PLANE_HALF_WIDTH of forward (or of backward
# below shoulder height: extension), abduction only within it of the frontal plane.
LOW_ELEVATION, OVERHEAD_ELEVATION, PLANE_HALF_WIDTH = 35.0, 150.0, 45.0


def _segment(pose: dict, side: str, limb: str) -> np.ndarray:
    """The simulated segment in (anterior, up, lateral) body axes (see synthetic)."""
    f = math.radians(pose.get(f"{side}_{limb}_flexion", 0.0))
    a = math.radians(pose.get(f"{side}_{limb}_abduction", 0.0))
    d = np.array([math.sin(f) * abs(math.cos(a)), -math.cos(f) * abs(math.cos(a)),
                  math.sin(a) * abs(math.cos(f))])
    return d / np.linalg.norm(d)


def _expected_shoulder(pose: dict, side: str, motion: str) -> float:
    forward, up, away = _segment(pose, side, "shoulder")
    elevation = math.degrees(math.atan2(math.hypot(forward, away), -up))
    plane = math.degrees(math.atan2(forward, away))
    if elevation > OVERHEAD_ELEVATION:
        return elevation
    if motion == "flexion":
        in_band = (abs(plane - 90) <= PLANE_HALF_WIDTH
                   or (abs(plane + 90) <= PLANE_HALF_WIDTH and elevation <= 90))
    else:
        in_band = abs(plane) <= PLANE_HALF_WIDTH
    if elevation <= LOW_ELEVATION or in_band:
        return float(pose.get(f"{side}_shoulder_{motion}", 0.0))
    return math.nan


def _expected(pose: dict, name: str) -> float:
    """The angle asked for; NaN where the convention leaves it undefined: for the hips, under
    sin(20 deg) of the segment lies in the measuring plane; for the shoulders, the arm's plane
    of elevation is outside the motion's band (see _expected_shoulder)."""
    motion = name[:-4]
    for side in ("left", "right"):
        for m in ("flexion", "abduction"):
            if motion == f"{side}_shoulder_{m}":
                return _expected_shoulder(pose, side, m)
        d = _segment(pose, side, "hip")
        if motion == f"{side}_hip_flexion" and math.hypot(d[0], d[1]) < math.sin(math.radians(20)):
            return math.nan
        if motion == f"{side}_hip_abduction" and math.hypot(d[2], d[1]) < math.sin(math.radians(20)):
            return math.nan
    return float(pose.get(motion, 0.0))


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: f"yaw{v[0]}_pitch{v[1]}_roll{v[2]}")
@pytest.mark.parametrize("pose_name", sorted(POSES))
def test_frame_angles_come_back_in_every_view(pose_name, view):
    pose = POSES[pose_name]
    yaw, pitch, roll = view
    frame = simulate_pose_frame(pose, BodySpec(yaw_deg=yaw, view_pitch_deg=pitch, view_roll_deg=roll))
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
    f = simulate_pose_frame(pose, BodySpec(**view))
    return f.world_m, f.visibility


def test_overhead_arm_does_not_flip_sign():
    """An arm a little past vertical stays near +180, not -180. It reads its elevation, 175,
    not 185 (as before the plane-of-elevation rule): overhead the plane is ill-defined, so
    both flexion and abduction report the elevation from the trunk's downward axis (0..180),
    whichever side of vertical the arm leans to."""
    behind = compute_frame_angles(*_frame({"right_shoulder_flexion": 185, "right_shoulder_abduction": 180}))
    assert behind["right_shoulder_flexion_deg"] == pytest.approx(175, abs=0.5)
    assert behind["right_shoulder_abduction_deg"] == pytest.approx(175, abs=0.5)
    beside = compute_frame_angles(*_frame({"right_shoulder_flexion": 180, "right_shoulder_abduction": 185}))
    assert beside["right_shoulder_flexion_deg"] == pytest.approx(175, abs=0.5)


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
    f = simulate_pose_frame(pose, BodySpec(yaw_deg=40))
    mirrored = f.world_m * np.array([-1.0, 1.0, 1.0])
    direct = compute_frame_angles(f.world_m, f.visibility)
    flipped = compute_frame_angles(mirrored, f.visibility)
    for name in ANGLE_NAMES:
        np.testing.assert_allclose(flipped[name], direct[name], atol=1e-6, err_msg=name)


def test_motion_capture_up_axis():
    """Motion capture with z up: the series' up vector is honoured for trunk lean."""
    f = simulate_pose_frame({"trunk_forward_lean": 20}, BodySpec(view_pitch_deg=90))
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

    return simulate_landmark_series(t, angles, BodySpec(**kwargs)), t


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
    return simulate_landmark_series(t, pose, BodySpec(yaw_deg=yaw_deg, image_size=image_size), pixels_only=True)


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
    series = simulate_landmark_series(t, pose, BodySpec(yaw_deg=90, image_size=(1280, 720)))
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


# --------------------------------------------------------------------------- seated webcam:
# hips (and knees) out of frame, the trunk axis assumed upright (the series' up).

SEATED = {"left_hip_flexion": 90, "right_hip_flexion": 90, "left_knee_flexion": 90, "right_knee_flexion": 90}
BELOW_THE_DESK = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                  "left_heel", "right_heel", "left_foot_index", "right_foot_index")
SEATED_POSES = {
    "arms_raised": SEATED | {"right_shoulder_flexion": 130, "right_shoulder_abduction": 180,
                             "right_elbow_flexion": 40, "left_shoulder_abduction": 70,
                             "left_shoulder_flexion": 25, "left_elbow_flexion": 20,
                             "neck_flexion": 15, "neck_rotation": -25},
    "reach_forward": SEATED | {"left_shoulder_flexion": 80, "left_elbow_flexion": 10,
                               "right_shoulder_flexion": -20, "right_elbow_flexion": 95,
                               "neck_flexion": -10, "neck_rotation": 30},
}
UPPER_BODY = ("shoulder_flexion", "shoulder_abduction", "elbow_flexion")


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: f"yaw{v[0]}_pitch{v[1]}_roll{v[2]}")
@pytest.mark.parametrize("pose_name", sorted(SEATED_POSES))
def test_seated_without_hips_gives_upper_body_angles_in_every_view(pose_name, view):
    pose = SEATED_POSES[pose_name]
    yaw, pitch, roll = view
    frame = simulate_pose_frame(pose, BodySpec(yaw_deg=yaw, view_pitch_deg=pitch, view_roll_deg=roll,
                                               hidden=BELOW_THE_DESK))
    up = simulate_view_up(view_pitch_deg=pitch, view_roll_deg=roll)
    angles = compute_frame_angles(frame.world_m, frame.visibility, up=up)
    assert tuple(angles) == ANGLE_NAMES and angles.assumed_upright
    names = [f"{side}_{m}_deg" for m in UPPER_BODY for side in ("left", "right")]
    for name in names + ["neck_flexion_deg", "neck_rotation_deg"]:
        expected = _expected(pose, name)
        if math.isnan(expected):
            assert math.isnan(angles[name]), name
        else:
            assert angles[name] == pytest.approx(expected, abs=2.0), name
    # Lean cannot be measured without the hips; neither can the legs.
    for name in ("trunk_forward_lean", "trunk_lateral_lean", "right_hip_flexion", "left_knee_flexion"):
        assert math.isnan(angles[f"{name}_deg"]), name
    assert set(angles.assumed_upright_angles) == {
        "left_shoulder_flexion_deg", "right_shoulder_flexion_deg", "left_shoulder_abduction_deg",
        "right_shoulder_abduction_deg", "neck_flexion_deg", "neck_rotation_deg"}


def test_hips_visible_use_the_measured_trunk_axis():
    """With the hips in view the normal path measures the lean; hiding them switches to the
    upright assumption, which then reads the arm and head against gravity (off by the lean)."""
    pose = SEATED | {"trunk_forward_lean": 15, "right_shoulder_flexion": 60, "neck_flexion": 10}
    seen = compute_frame_angles(*_frame(pose))
    assert not seen.assumed_upright and seen.assumed_upright_angles == ()
    assert seen["trunk_forward_lean_deg"] == pytest.approx(15, abs=0.5)
    assert seen["right_shoulder_flexion_deg"] == pytest.approx(60, abs=0.5)
    assert seen["right_hip_flexion_deg"] == pytest.approx(90, abs=0.5)
    unseen = compute_frame_angles(*_frame(pose, hidden=("left_hip", "right_hip")))
    assert unseen.assumed_upright and math.isnan(unseen["trunk_forward_lean_deg"])
    # The documented limit: a forward lean of 15 deg takes 15 off flexion, adds 15 to the neck.
    assert unseen["right_shoulder_flexion_deg"] == pytest.approx(60 - 15, abs=0.5)
    assert unseen["neck_flexion_deg"] == pytest.approx(10 + 15, abs=0.5)
    # Opting out gives the strict behaviour: no trunk axis, no shoulder or neck angles.
    strict = compute_frame_angles(*_frame(pose, hidden=("left_hip", "right_hip")), assume_upright=False)
    assert not strict.assumed_upright and math.isnan(strict["right_shoulder_flexion_deg"])
    assert strict["right_elbow_flexion_deg"] == pytest.approx(0, abs=0.5)


def test_one_hidden_hip_is_enough_for_the_fallback_but_a_hidden_shoulder_is_not():
    pose = SEATED_POSES["arms_raised"]
    one_hip = compute_frame_angles(*_frame(pose, hidden=("left_hip",)))
    assert one_hip.assumed_upright
    assert one_hip["left_shoulder_abduction_deg"] == pytest.approx(70, abs=0.5)
    assert math.isnan(one_hip["left_hip_flexion_deg"])
    assert math.isnan(one_hip["right_hip_flexion_deg"])  # the hip frame needs both hips
    assert one_hip["right_knee_flexion_deg"] == pytest.approx(90, abs=0.5)  # a hinge needs no frame
    no_shoulder = compute_frame_angles(*_frame(pose, hidden=("left_hip", "right_hip", "left_shoulder")))
    assert not no_shoulder.assumed_upright
    for name in ("right_shoulder_flexion", "right_shoulder_abduction", "neck_flexion", "neck_rotation"):
        assert math.isnan(no_shoulder[f"{name}_deg"]), name
    assert no_shoulder["right_elbow_flexion_deg"] == pytest.approx(40, abs=0.5)


def test_camera_pitch_adds_to_the_assumed_axis():
    """MediaPipe's up follows the camera: a webcam pitched by 10 deg, read with the default
    up, shifts sagittal angles by 10 in the fallback (measured trunk axis: no shift)."""
    pose = SEATED | {"right_shoulder_flexion": 60, "neck_flexion": 10}
    frame = simulate_pose_frame(pose, BodySpec(view_pitch_deg=10, hidden=("left_hip", "right_hip")))
    assumed = compute_frame_angles(frame.world_m, frame.visibility)  # default up: (0, -1, 0)
    assert abs(assumed["right_shoulder_flexion_deg"] - 60) == pytest.approx(10, abs=0.5)
    assert abs(assumed["neck_flexion_deg"] - 10) == pytest.approx(10, abs=0.5)
    measured = compute_frame_angles(*_frame(pose, view_pitch_deg=10))
    assert measured["right_shoulder_flexion_deg"] == pytest.approx(60, abs=0.5)


def test_series_marks_the_frames_that_assumed_an_upright_trunk():
    t = np.arange(60) / 30
    pose = SEATED_POSES["reach_forward"]
    series = simulate_landmark_series(t, pose, BodySpec(yaw_deg=20))
    hidden_frames = slice(20, 50)  # 1 s: longer than any gap filling
    vis = series.visibility.copy()
    vis[hidden_frames, LANDMARK_INDEX["left_hip"]] = 0.1
    vis[hidden_frames, LANDMARK_INDEX["right_hip"]] = 0.2
    series = LandmarkSeries(t_s=series.t_s, world_m=series.world_m, visibility=vis, up=series.up)
    angles = compute_joint_angles(series)
    flags = angles.attrs["assumed_upright"]
    assert flags.shape == (60,) and flags.dtype == bool
    assert flags[hidden_frames].all() and not np.delete(flags, np.arange(20, 50)).any()
    np.testing.assert_array_equal(angles.assumed_upright_frames("left_shoulder_flexion"), flags)
    assert not angles.assumed_upright_frames("left_elbow_flexion").any()  # needs no trunk axis
    np.testing.assert_allclose(angles.column("left_shoulder_flexion"), 80, atol=1e-6)
    np.testing.assert_allclose(angles.column("neck_rotation"), 30, atol=1e-6)
    lean = angles.column("trunk_forward_lean")
    assert np.isnan(lean[hidden_frames]).all() and np.isfinite(np.delete(lean, np.arange(20, 50))).all()
    single = compute_joint_angle(series, joint="shoulder_flexion", side="left")
    np.testing.assert_allclose(single, 80, atol=1e-6)
    part = angles.select(slice(15, 25))
    np.testing.assert_array_equal(part.attrs["assumed_upright"], flags[15:25])
    np.testing.assert_array_equal(part.assumed_upright_frames(), flags[15:25])
    # A loaded CSV does not carry the flags: nothing is claimed.
    plain = AngleSeries(t_s=t, names=angles.names, values_deg=angles.values_deg)
    assert not plain.assumed_upright_frames().any()


def test_pixel_only_series_never_assume_an_upright_trunk():
    """Without depth the view (front or side) cannot be judged without the hips: NaN stays."""
    series = simulate_landmark_series(np.arange(3) / 30, SEATED_POSES["arms_raised"],
                                      BodySpec(image_size=(1280, 720), hidden=("left_hip", "right_hip")),
                                      pixels_only=True)
    angles = compute_joint_angles(series)
    assert not angles.attrs["assumed_upright"].any()
    assert np.isnan(angles.column("left_shoulder_abduction")).all()
    assert np.isfinite(angles.column("left_elbow_flexion")).all()  # a hinge needs no trunk axis


def test_simulator_hides_only_named_landmarks():
    frame = simulate_pose_frame(SEATED, BodySpec(hidden=("left_knee", "right_hip")))
    assert frame.visibility[LANDMARK_INDEX["left_knee"]] == 0
    assert frame.visibility[LANDMARK_INDEX["right_hip"]] == 0
    assert frame.visibility.sum() == len(frame.visibility) - 2 and np.isfinite(frame.world_m).all()
    with pytest.raises(InputError, match="left_hip"):
        simulate_pose_frame(SEATED, BodySpec(hidden=("left_hips",)))


# Rows above the midway of shoulders (y ~125) and hips (y ~254) of the person on the roof in
# sports2d_f030_arms_raised.jpg, and the columns around them: a webcam that sees only the upper body.
ARMS_RAISED_UPPER_BODY_CROP = (slice(0, 190), slice(440, 840))


def test_real_model_without_hips_still_reports_raised_arms(shared):
    """The real MediaPipe model on a crop that cuts away the hips: the person holds both arms
    raised well above shoulder height (elbows above the shoulders in the image)."""
    import cv2
    import mediapipe as mp

    image = cv2.imread(str(shared("stills/sports2d_f030_arms_raised.jpg")))
    crop = np.ascontiguousarray(image[ARMS_RAISED_UPPER_BODY_CROP])
    with mp.solutions.pose.Pose(model_complexity=1, static_image_mode=True) as pose:
        result = pose.process(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    assert result.pose_landmarks is not None and result.pose_world_landmarks is not None
    visibility = np.array([p.visibility for p in result.pose_landmarks.landmark])
    world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark])
    hips = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]
    assert (visibility[hips] < 0.5).all()  # the case under test: hips not visible
    angles = compute_frame_angles(world, visibility)
    assert angles.assumed_upright
    assert math.isnan(angles["trunk_forward_lean_deg"]) and math.isnan(angles["trunk_lateral_lean_deg"])
    # Both arms are raised out to the side (a "Y"): MediaPipe puts them 108-114 deg from the
    # trunk axis, within 11 deg of the frontal plane. So abduction over 90, and flexion unknown:
    # before the plane-of-elevation rule this crop read "flexion" 156.5 and 174.3 (the sagittal
    # projection of a sideways arm raised a little forward or back), which no clinician would.
    for side in ("left", "right"):
        assert angles[f"{side}_shoulder_abduction_deg"] > 100, side  # measured 113.9, 108.4
        assert math.isnan(angles[f"{side}_shoulder_flexion_deg"]), side
    strict = compute_frame_angles(world, visibility, assume_upright=False)
    assert all(math.isnan(strict[f"{side}_shoulder_abduction_deg"]) for side in ("left", "right"))


# --------------------------------------------------------------------------- shoulder: elevation
# and plane of elevation (ISB, Wu et al. 2005). Flexion only near the sagittal plane, abduction
# only near the frontal plane, NaN (unknown) in between; overhead both read the elevation.

GRID_VIEWS = [(0, 0, 0), (-90, 0, 0), (90, 0, 0), (30, 0, 0), (180, 0, 0), (-30, 15, -10), (135, -10, 5)]


def _arm_frame(arms: dict, *, yaw_deg=0.0, view_pitch_deg=0.0, view_roll_deg=0.0, hidden=()):
    """A standing body (synthetic) whose straight upper arms are placed by elevation
    and plane of elevation: ``arms = {"right": (elevation_deg, plane_deg), ...}``. The plane
    is 0 out to the side, 90 forward, -90 backward, 180 across the body. The simulator places
    arms by their two plane angles, which cannot say "horizontal, 30 deg forward of frontal"."""
    frame = simulate_pose_frame({}, BodySpec(yaw_deg=yaw_deg, view_pitch_deg=view_pitch_deg,
                                             view_roll_deg=view_roll_deg, hidden=hidden))
    world = frame.world_m.copy()
    p = {name: world[LANDMARK_INDEX[name]] for name in LANDMARK_INDEX}
    up = p["left_shoulder"] + p["right_shoulder"] - p["left_hip"] - p["right_hip"]
    up /= np.linalg.norm(up)
    right = p["right_shoulder"] - p["left_shoulder"]
    right -= np.dot(right, up) * up
    right /= np.linalg.norm(right)
    anterior = np.cross(up, right)  # the simulator's right = anterior x up
    for side, (elevation_deg, plane_deg) in arms.items():
        e, q = math.radians(elevation_deg), math.radians(plane_deg)
        away = right if side == "right" else -right
        arm = -math.cos(e) * up + math.sin(e) * (math.cos(q) * away + math.sin(q) * anterior)
        shoulder = p[f"{side}_shoulder"]
        for name, length_m in (("elbow", 0.30), ("wrist", 0.56), ("pinky", 0.64), ("index", 0.64),
                               ("thumb", 0.60)):
            world[LANDMARK_INDEX[f"{side}_{name}"]] = shoulder + length_m * arm
    return world, frame.visibility


# (elevation, plane) -> (flexion, abduction); NaN: the motion does not apply to that arm.
SHOULDER_GRID = {
    "t_pose": ((90, 0), (math.nan, 90)),
    "forward": ((90, 90), (90, math.nan)),
    "straight_up_forward": ((172, 90), (172, 172)),
    "straight_up_sideways": ((172, 0), (172, 172)),
    "straight_up": ((180, 0), (180, 180)),
    "extension_30": ((30, -90), (-30, 0)),  # a low arm reads both components (here 0 abduction)
    "extension_50": ((50, -90), (-50, math.nan)),
    "scaption_30_forward": ((90, 30), (math.nan, 90)),
    "scaption_30_forward_low": ((60, 30), (math.nan, 56.3)),  # frontal projection: atan(tan60 cos30)
    # The sports2d case: raised sideways 120 and 20 behind the frontal plane read 223 flexion.
    "sideways_a_little_behind": ((120, -20), (math.nan, 121.6)),
    "forward_a_little_across": ((90, 110), (90, math.nan)),  # read -90 abduction before
    "forward_and_up_across": ((130, 120), (134.1, math.nan)),  # atan2(sin130 sin120, cos130)
    "horizontal_adduction": ((90, 160), (math.nan, math.nan)),
    "behind_above_shoulder": ((120, -90), (math.nan, math.nan)),  # no extension overhead
    "hanging": ((0, 0), (0, 0)),
    "hanging_a_little_forward": ((20, 90), (20, 0)),
    "hanging_across": ((20, 180), (0, -20)),  # adduction across the body stays negative
}


@pytest.mark.parametrize("view", GRID_VIEWS, ids=lambda v: f"yaw{v[0]}_pitch{v[1]}_roll{v[2]}")
@pytest.mark.parametrize("case", sorted(SHOULDER_GRID))
def test_shoulder_grid_of_elevation_and_plane(case, view):
    (elevation, plane), (flexion, abduction) = SHOULDER_GRID[case]
    yaw, pitch, roll = view
    world, visibility = _arm_frame({"right": (elevation, plane), "left": (elevation, plane)},
                                   yaw_deg=yaw, view_pitch_deg=pitch, view_roll_deg=roll)
    angles = compute_frame_angles(world, visibility, up=simulate_view_up(view_pitch_deg=pitch, view_roll_deg=roll))
    for side in ("left", "right"):
        for motion, expected in (("flexion", flexion), ("abduction", abduction)):
            value = angles[f"{side}_shoulder_{motion}_deg"]
            if math.isnan(expected):
                assert math.isnan(value), f"{side} {motion} should be unknown in {case}, got {value}"
            else:
                assert value == pytest.approx(expected, abs=0.5), f"{side} {motion}"


@pytest.mark.parametrize("view", GRID_VIEWS[:4], ids=lambda v: f"yaw{v[0]}_pitch{v[1]}_roll{v[2]}")
def test_shoulder_cardinal_poses_from_the_simulator(view):
    """The grid's anchors with the simulator's own arms, in several facing directions."""
    yaw, pitch, roll = view
    up = simulate_view_up(view_pitch_deg=pitch, view_roll_deg=roll)

    def angles(pose):
        f = simulate_pose_frame(pose, BodySpec(yaw_deg=yaw, view_pitch_deg=pitch, view_roll_deg=roll))
        return compute_frame_angles(f.world_m, f.visibility, up=up)

    t_pose = angles({"right_shoulder_abduction": 90, "left_shoulder_abduction": 90})
    forward = angles({"right_shoulder_flexion": 90, "left_shoulder_flexion": 90})
    overhead = angles({"right_shoulder_flexion": 180, "right_shoulder_abduction": 175,
                       "left_shoulder_flexion": 175, "left_shoulder_abduction": 180})
    extension = angles({"right_shoulder_flexion": -30, "left_shoulder_flexion": -30})
    for side in ("left", "right"):
        assert t_pose[f"{side}_shoulder_abduction_deg"] == pytest.approx(90, abs=0.5)
        assert math.isnan(t_pose[f"{side}_shoulder_flexion_deg"])
        assert forward[f"{side}_shoulder_flexion_deg"] == pytest.approx(90, abs=0.5)
        assert math.isnan(forward[f"{side}_shoulder_abduction_deg"])
        for motion in ("flexion", "abduction"):
            assert 170 <= overhead[f"{side}_shoulder_{motion}_deg"] <= 180
        assert extension[f"{side}_shoulder_flexion_deg"] == pytest.approx(-30, abs=0.5)


def test_shoulder_readings_stay_clinical_over_every_arm_direction():
    """Every elevation 0..180 (5 deg steps) and plane of elevation -180..170 (10 deg steps): a reported
    flexion lies in [-90, 180] and a reported abduction in [-35, 180]: never the 200+ of a
    sideways arm projected on the sagittal plane. Each plane of elevation between the low
    and overhead zones gives at most one of the two (the bands meet only at +/-45 deg)."""
    grid = np.array([(e, q) for e in range(0, 181, 5) for q in range(-180, 180, 10)], dtype=float)
    elevation, plane = grid[:, 0], grid[:, 1]
    for yaw in (0, -90, 120):
        frames = [_arm_frame({"right": (e, q)}, yaw_deg=yaw) for e, q in grid]
        series = LandmarkSeries(t_s=np.arange(len(frames)) / 30.0,
                                world_m=np.stack([w for w, _ in frames]),
                                visibility=np.stack([v for _, v in frames]))
        angles = compute_joint_angles(series, max_gap_s=0.0)
        flexion = angles.column("right_shoulder_flexion")
        abduction = angles.column("right_shoulder_abduction")
        known_f, known_a = np.isfinite(flexion), np.isfinite(abduction)
        assert np.all((flexion[known_f] >= -90) & (flexion[known_f] <= 180 + 1e-6)), yaw
        assert np.all((abduction[known_a] >= -35 - 1e-6) & (abduction[known_a] <= 180 + 1e-6)), yaw
        middle = (elevation > 35) & (elevation <= 150) & (np.abs(np.abs(plane) - 45) > 1)
        assert not np.any(known_f & known_a & middle), grid[known_f & known_a & middle]
        # ... and the low and overhead zones give both.
        assert known_f[elevation <= 30].all() and known_a[elevation <= 30].all()
        assert known_f[elevation >= 155].all() and known_a[elevation >= 155].all()


def test_seated_without_hips_reads_the_plane_of_elevation_too():
    """The upright fallback (hips unknown) uses the same rule against the camera's up."""
    hidden = ("left_hip", "right_hip")
    for yaw in (0, 90, -45):
        sideways = compute_frame_angles(*_arm_frame({"right": (120, -20), "left": (90, 30)},
                                                    yaw_deg=yaw, hidden=hidden))
        assert sideways.assumed_upright
        assert math.isnan(sideways["right_shoulder_flexion_deg"])
        assert sideways["right_shoulder_abduction_deg"] == pytest.approx(121.6, abs=0.5)
        assert math.isnan(sideways["left_shoulder_flexion_deg"])
        assert sideways["left_shoulder_abduction_deg"] == pytest.approx(90, abs=0.5)
        forward = compute_frame_angles(*_arm_frame({"right": (100, 100)}, yaw_deg=yaw, hidden=hidden))
        assert math.isnan(forward["right_shoulder_abduction_deg"])
        assert forward["right_shoulder_flexion_deg"] == pytest.approx(100.2, abs=0.5)  # atan2(sin100 sin100, cos100)
