"""Computing only some angles (what a live pipeline needs) gives exactly the values of the full
set, and the practice pipeline computes only those its engines read."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from core.ranges import SafeRange
from feedback.angles import compute_frame_angles
from feedback.exercises import load_exercise
from feedback.session import build_pipeline
from synthetic import BodySpec, simulate_pose_frame


@pytest.mark.parametrize("angles", [
    {"right_shoulder_flexion": 70.0, "left_knee_flexion": 30.0, "trunk_forward_lean": 8.0},
    {"right_shoulder_abduction": 80.0, "neck_flexion": 12.0},
])
def test_a_subset_has_the_full_set_s_values(angles):
    pose = simulate_pose_frame(angles, BodySpec(yaw_deg=25.0))
    full = compute_frame_angles(pose.world_m, pose.visibility)
    wanted = ("right_shoulder_flexion", "left_knee_flexion", "trunk_forward_lean", "neck_flexion")
    subset = compute_frame_angles(pose.world_m, pose.visibility, motions=wanted)
    assert list(subset) == [f"{m}_deg" for m in ("right_shoulder_flexion", "left_knee_flexion",
                                                  "trunk_forward_lean", "neck_flexion")]
    for name, value in subset.items():
        np.testing.assert_equal(value, full[name])
    with pytest.raises(InputError, match="Expected motions among"):
        compute_frame_angles(pose.world_m, pose.visibility, motions=("right_shoulder_flexion_deg",))


def test_the_pipeline_computes_the_tracked_and_posture_angles_only():
    pipeline = build_pipeline(load_exercise("sit_to_stand"), comfortable_range=lambda m: SafeRange(0.0, 100.0, 10.0))
    assert pipeline.motions == ("left_knee_flexion", "right_knee_flexion", "trunk_lateral_lean")
    pose = simulate_pose_frame({"left_knee_flexion": 40.0, "right_knee_flexion": 50.0})
    angles = pipeline.compute_angles(0.0, pose)
    assert set(angles) == {"left_knee_flexion_deg", "right_knee_flexion_deg", "trunk_lateral_lean_deg",
                           "shoulder_tilt_deg", "knee_flexion_deg"}
    assert angles["knee_flexion_deg"] == pytest.approx(45.0, abs=1e-6)
    assert set(pipeline.recorded_channels) <= set(angles)
