"""Angle trust from one camera (feedback.trust) and practice judging only the limb that faces
the camera (feedback.facing), on simulated bodies seen from known directions."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from calibration.practice import build_practice_pipeline
from feedback.angles import ANGLE_NAMES, compute_joint_angles, load_angles_csv, save_angles_csv
from feedback.exercises import load_exercise, parse_exercise
from feedback.facing import FacingEngine, attach_facing
from feedback.trust import (SIDED_ANGLE_NAMES, compute_angle_trust, compute_far_side,
                            compute_side_trust, compute_view_yaw_deg)
from sensing.landmarks import LANDMARK_INDEX
from synthetic import BodySpec, simulate_landmark_series, simulate_pose_frame

IMAGE = (1280, 720)
SEATED = {"left_hip_flexion": 90, "right_hip_flexion": 90, "left_knee_flexion": 90}


@pytest.mark.parametrize("yaw, far", [(0, ""), (180, ""), (20, ""), (90, "left"), (-90, "right"),
                                      (45, "left"), (-60, "right")])
def test_the_far_side_follows_the_view(yaw, far):
    pose = simulate_pose_frame({"right_knee_flexion": 40}, BodySpec(yaw_deg=yaw))
    assert compute_view_yaw_deg(pose.world_m[None])[0] == pytest.approx(min(abs(yaw) % 180, 180 - abs(yaw) % 180), abs=1)
    assert compute_far_side(pose.world_m)[0] == far
    expected = "far_side" if far == "right" else "ok"
    assert compute_side_trust(pose.world_m, pose.visibility, side="right", motion="knee_flexion") == expected


def test_a_barely_visible_limb_is_low_trust_and_the_rest_is_high():
    t = np.arange(10) / 30.0
    series = simulate_landmark_series(t, {"right_knee_flexion": 30}, BodySpec(yaw_deg=-70, image_size=IMAGE))  # right side away
    vis = series.visibility.copy()
    vis[:, LANDMARK_INDEX["left_ankle"]] = 0.6  # placed, but the model doubts it
    series = type(series)(t_s=series.t_s, world_m=series.world_m, visibility=vis, pixel_px=series.pixel_px,
                          up=series.up)
    angles = compute_joint_angles(series)
    trust = compute_angle_trust(series, angles.values_deg, angles.names)
    assert trust.names == SIDED_ANGLE_NAMES
    assert set(trust.column("right_knee_flexion")) == {"low"}  # far side
    assert set(trust.column("left_knee_flexion")) == {"low"}  # hidden (visibility 0.6)
    assert set(trust.column("left_hip_flexion")) == {"high"}
    summary = trust.summary()
    assert summary["right_knee_flexion_deg"]["far_side_pct"] == 100.0
    assert summary["left_knee_flexion_deg"]["hidden_pct"] == 100.0
    assert summary["left_elbow_flexion_deg"]["low_trust_pct"] == 0.0
    mocap = type(series)(t_s=series.t_s, world_m=series.world_m, visibility=np.ones_like(vis), up=series.up)
    no_camera = compute_angle_trust(mocap, angles.values_deg, angles.names)  # motion capture: no far side
    assert set(no_camera.column("right_knee_flexion")) == {"high"}


def test_trust_columns_are_written_after_the_angles_and_skipped_when_read(tmp_path):
    t = np.arange(5) / 30.0
    series = simulate_landmark_series(t, {}, BodySpec(yaw_deg=80))
    angles = compute_joint_angles(series)
    trust = compute_angle_trust(series, angles.values_deg, angles.names)
    path = save_angles_csv(angles, tmp_path / "angles.csv", trust=trust)
    with path.open() as fh:
        header = next(csv.reader(fh))
    assert header[:1 + len(ANGLE_NAMES)] == ["t_s", *ANGLE_NAMES]
    assert header[1 + len(ANGLE_NAMES):] == [f"{n.removesuffix('_deg')}_trust" for n in SIDED_ANGLE_NAMES]
    back = load_angles_csv(path)
    assert back.names == ANGLE_NAMES
    np.testing.assert_allclose(back.values_deg, np.round(angles.values_deg, 4), atol=1e-4, equal_nan=True)


def test_camera_view_side_needs_exactly_one_side():
    from core.errors import ValidationError

    text = '''title = "x"\nposition = "seated"\n[tracking]\nmotion = "knee_flexion"\nsides = ["left", "right"]\ncamera_view = "side"\n'''
    with pytest.raises(ValidationError, match="camera_view"):
        parse_exercise(text, name="x", origin="x.toml")
    ex = load_exercise("seated_knee_extension")
    assert ex.tracking.facing_side == "right"
    assert ex.with_side("left").tracking.facing_side == "left"
    assert load_exercise("standing_shoulder_flexion").tracking.facing_side is None


class _Poses:
    name = "simulated"

    def __init__(self, fn) -> None:
        self.fn = fn

    def estimate(self, image_bgr, t_s):
        return self.fn(t_s)

    def close(self) -> None:
        pass


def _knee_extension(t_s: float) -> dict:
    return {**SEATED, "right_knee_flexion": 50 + 40 * math.cos(2 * math.pi * t_s / 4)}


def test_practice_judges_the_knee_only_while_it_faces_the_camera():
    pipeline = build_practice_pipeline(load_exercise("seated_knee_extension"))
    turned_at = 6.0  # from here on the patient sits with the moving (right) leg away from the camera

    def pose(t_s):
        return simulate_pose_frame(_knee_extension(t_s), BodySpec(yaw_deg=80 if t_s < turned_at else -80, image_size=IMAGE))

    estimator = attach_facing(pipeline, _Poses(pose))
    assert isinstance(pipeline.engines[0], FacingEngine)
    known, cues = [], []
    for k in range(int(10 * 30)):
        t = k / 30.0
        angles, shown, candidates = pipeline.process(t, estimator.estimate(None, t))
        known.append((t, math.isfinite(angles[pipeline.channel])))
        cues += [(t, c.message_key) for c in candidates]
    assert all(ok for t, ok in known if t < turned_at)
    assert not any(ok for t, ok in known if t > turned_at + 0.5)  # the far-side knee is not judged
    turn = [t for t, key in cues if key == "facing.turn_toward_camera"]
    assert turn and turned_at + 0.9 <= turn[0] <= turned_at + 1.2
    assert not [key for t, key in cues if t > turned_at and key.startswith("range.")]
    assert pipeline.rep_engine.count >= 1  # counted while the knee faced the camera
    from feedback.cues import Cue

    text = Cue.of("visibility", "facing.turn_toward_camera", t_s=0, params={"limb": "limb.leg"}).text()
    assert text == "When you're ready, turn a little so the camera can see the leg you are moving"


def test_a_front_view_exercise_is_not_changed():
    pipeline = build_practice_pipeline(load_exercise("standing_shoulder_flexion"))
    est = _Poses(lambda t: None)
    assert attach_facing(pipeline, est) is est
    assert not any(isinstance(e, FacingEngine) for e in pipeline.engines)
