"""One registry of motions (feedback.motions): angle names, exercise landmarks and body parts,
physiological limits and default ranges, synthetic bodies and CLI help all read it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from calibration.limits import AAOS_NORMAL_ROM_DEG, DEFAULT_COMFORTABLE_RANGES, MOTIONS, PHYSIOLOGICAL_LIMITS
from feedback.angles import ANGLE_NAMES, UPRIGHT_FALLBACK_ANGLE_NAMES
from feedback.exercises import MOTION_BODY_PART, load_exercise
from feedback.motions import MOTION_REGISTRY, get_motion, motion_names, motions_help

REPO = Path(__file__).resolve().parents[1]


def test_every_table_is_the_registry():
    assert len(MOTION_REGISTRY) == 11 and len(motion_names()) == 18
    assert MOTIONS == motion_names() and ANGLE_NAMES == tuple(f"{m}_deg" for m in motion_names())
    assert set(PHYSIOLOGICAL_LIMITS) == set(DEFAULT_COMFORTABLE_RANGES) == set(MOTIONS)
    assert AAOS_NORMAL_ROM_DEG == {m.name: m.normal_rom_deg for m in MOTION_REGISTRY.values()}
    assert MOTION_BODY_PART == {m.name: m.body_part for m in MOTION_REGISTRY.values()}
    assert UPRIGHT_FALLBACK_ANGLE_NAMES == ("left_shoulder_flexion_deg", "right_shoulder_flexion_deg",
                                            "left_shoulder_abduction_deg", "right_shoulder_abduction_deg",
                                            "neck_flexion_deg", "neck_rotation_deg")
    # the numbers the tables held before the registry (AAOS, the conservative defaults)
    assert PHYSIOLOGICAL_LIMITS["right_knee_flexion"] == (-25.0, 150.0)
    assert PHYSIOLOGICAL_LIMITS["left_elbow_flexion"] == (-15.0, 165.0)
    assert PHYSIOLOGICAL_LIMITS["neck_rotation"] == (-75.0, 75.0)
    assert DEFAULT_COMFORTABLE_RANGES["left_ankle_dorsiflexion"] == (-30.0, 10.0)
    assert get_motion("right_knee_flexion_deg") is MOTION_REGISTRY["knee_flexion"]
    assert load_exercise("sit_to_stand").tracking.landmarks == (
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
    with pytest.raises(KeyError):
        get_motion("left_wrist_flexion")


def test_help_names_every_motion():
    help_text = motions_help()
    assert all(m.name in help_text for m in MOTION_REGISTRY.values())


NEW_MOTION = """
import numpy as np
from feedback.motions import Motion, register_motion
register_motion(Motion("wrist_flexion", True, lambda body, side: np.full(body.points.shape[0], 12.5),
                       ("{side}_elbow", "{side}_wrist", "{side}_index"), "hands", (70.0, 80.0), (-20.0, 40.0)))
from calibration.limits import PHYSIOLOGICAL_LIMITS, DEFAULT_COMFORTABLE_RANGES, check_range
from feedback.angles import ANGLE_NAMES, compute_frame_angles
from feedback.exercises import MOTION_BODY_PART, parse_exercise
from synthetic import simulate_pose_frame
print(PHYSIOLOGICAL_LIMITS["left_wrist_flexion"], DEFAULT_COMFORTABLE_RANGES["right_wrist_flexion"])
check_range("right_wrist_flexion", -10.0, 60.0)
print("right_wrist_flexion_deg" in ANGLE_NAMES, MOTION_BODY_PART["wrist_flexion"])
frame = simulate_pose_frame({})
print(compute_frame_angles(frame.world_m, frame.visibility)["left_wrist_flexion_deg"])
ex = parse_exercise('title = "Wrist"\\nposition = "seated"\\ndescription = "x"\\n'
                    '[tracking]\\nmotion = "wrist_flexion"\\nsides = ["right"]\\n', name="wrist", origin="test")
print(ex.tracking.landmarks)
"""


def test_a_new_motion_is_one_entry():
    """Registered before the rest is imported (as an entry in feedback/motions.py would be):
    limits, defaults, angle names, the angle itself, body part and exercise landmarks follow."""
    out = subprocess.run([sys.executable, "-c", NEW_MOTION], cwd=REPO, capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "(-85.0, 95.0) (-20.0, 40.0)", "True hands", "12.5", "('right_elbow', 'right_wrist', 'right_index')"]
