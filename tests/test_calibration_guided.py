"""Guided capture through the landmark -> angle path, on synthetic landmark streams.

The pose estimator is replaced by a stub that hands back pre-built landmark frames (the
estimator seam); the angles are the real :mod:`feedback.angles` maths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

import synthetic as simulate
from synthetic.body import BODY_HEIGHT_M

from calibration.guided import compute_pose_angles, run_neutral_capture, run_range_capture  # noqa: E402
from calibration.scale import compute_scale_from_height  # noqa: E402
from core.errors import ValidationError  # noqa: E402

RATE_HZ = 15.0


@dataclass(frozen=True)
class FakeFrame:
    image_bgr: np.ndarray
    t_s: float
    index: int


class StubEstimator:
    """Stands in for MediaPipe: returns the prepared PoseFrame for each frame index."""

    def __init__(self, poses):
        self.poses = poses

    def estimate(self, image_bgr, t_s):
        return self.poses[int(image_bgr[0, 0])]


def _stream(angle_at):
    """Frames whose single pixel carries their index, and the stub that answers them."""
    n = len(angle_at)
    poses = [None if a is None else simulate.simulate_pose_frame(a) for a in angle_at]
    frames = [FakeFrame(np.full((1, 1), i, dtype=np.int64), i / RATE_HZ, i) for i in range(n)]
    return frames, StubEstimator(poses)


def _arm(flexion_deg: float) -> dict[str, float]:
    """An arm raised forward in the sagittal plane: its frontal projection is 0 below
    shoulder height and 180 (straight up) above it."""
    return {"right_shoulder_flexion": flexion_deg, "right_shoulder_abduction": 0.0 if flexion_deg <= 90 else 180.0}


def _raise_arm(peaks_deg, *, rep_s=4.0, pause_s=1.0, rest_deg=5.0):
    out = [rest_deg] * int(pause_s * RATE_HZ)
    for peak in peaks_deg:
        phase = np.linspace(0, 2 * np.pi, int(rep_s * RATE_HZ))
        out += list(rest_deg + (peak - rest_deg) * (1 - np.cos(phase)) / 2)
        out += [rest_deg] * int(pause_s * RATE_HZ)
    return out


def test_range_from_landmark_stream_ignores_a_spike():
    flexion = _raise_arm([95.0, 110.0, 102.0])
    flexion[45] = 175.0  # one wrong frame: the arm "jumps" overhead
    frames, estimator = _stream([_arm(f) for f in flexion])
    seen = []
    captures = run_range_capture(frames, estimator, ["right_shoulder_flexion"],
                                 on_frame=lambda frame, status: seen.append(status.angles_deg["right_shoulder_flexion"]))
    assert seen[45] == pytest.approx(175.0, abs=0.5)  # the live angle shows what the model said
    proposal = captures["right_shoulder_flexion"].proposal()
    assert proposal.range.max_deg == pytest.approx(102.0, abs=2.0)
    assert proposal.range.min_deg == pytest.approx(5.0, abs=2.0)
    assert sorted(round(p) for p in proposal.peaks_deg) == pytest.approx([95, 102, 110], abs=2)


def test_range_refused_when_person_mostly_out_of_view():
    flexion = _raise_arm([100.0, 100.0, 100.0])
    poses = [_arm(f) if i % 2 == 0 else None for i, f in enumerate(flexion)]
    frames, estimator = _stream(poses)
    capture = run_range_capture(frames, estimator, ["right_shoulder_flexion"])["right_shoulder_flexion"]
    with pytest.raises(ValidationError, match="visible in 50%"):
        capture.propose()


def test_on_frame_can_end_the_capture_and_duration_limits_it():
    frames, estimator = _stream([{"right_elbow_flexion": 30.0}] * 90)
    capture = run_range_capture(frames, estimator, ["right_elbow_flexion"],
                                on_frame=lambda frame, status: status.elapsed_s < 1.0)["right_elbow_flexion"]
    assert capture.n_frames == 16
    capture = run_range_capture(frames, estimator, ["right_elbow_flexion"], max_duration_s=0.5)["right_elbow_flexion"]
    assert capture.n_frames == 8


def test_neutral_from_landmark_stream():
    n = int(6 * RATE_HZ)
    still = [{"trunk_forward_lean": 4.0, "neck_flexion": 12.0, "right_knee_flexion": 3.0}] * n
    frames, estimator = _stream(still)
    result = run_neutral_capture(frames, estimator, duration_s=5.0).result()
    assert result["trunk_forward_lean"] == pytest.approx(4.0, abs=0.5)
    assert result["neck_flexion"] == pytest.approx(12.0, abs=0.5)
    assert result["right_knee_flexion"] == pytest.approx(3.0, abs=0.5)
    swaying = [{"trunk_forward_lean": 4.0 + 15 * math.sin(2 * math.pi * i / RATE_HZ / 2.0)} for i in range(n)]
    frames, estimator = _stream(swaying)
    with pytest.raises(ValidationError, match="moved during the neutral capture: trunk_forward_lean"):
        run_neutral_capture(frames, estimator, duration_s=5.0).result()


def test_nobody_seen_gives_all_nan_angles():
    angles = compute_pose_angles(None)
    assert "right_shoulder_flexion" in angles and all(math.isnan(v) for v in angles.values())


def test_scale_from_the_simulated_body_within_2_percent():
    # synthetic's body is built from its own segment lengths (eyes 1.63 m above the
    # heel landmark for its nominal 1.75 m person), independently of calibration.scale.
    px_per_m = 400.0
    frame = simulate.simulate_pose_frame({}, simulate.BodySpec(image_size=(1280, 800), px_per_m=px_per_m))
    scale = compute_scale_from_height(frame, BODY_HEIGHT_M)
    assert scale == pytest.approx(1.0 / px_per_m, rel=0.02)
