"""Practice judgements on simulated bodies with known angles (review items 2, 3, 4, 15).

Poses come from :func:`synthetic.simulate_pose_frame` (exact joint angles), fed
through the real pipeline (angles, One-Euro, engines, cue policy) at 15 frames per second.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from feedback.exercises import load_exercise
from calibration.practice import build_practice_pipeline
from core.ranges import SafeRange
from feedback.session import AngleStats, PracticePipeline, PracticeSession, is_within_range
from synthetic import BodySpec, simulate_pose_frame

RATE_HZ = 15.0
SEATED = {"right_hip_flexion": 90, "left_hip_flexion": 90, "right_knee_flexion": 90, "left_knee_flexion": 90}
BELOW_WEBCAM = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                "left_heel", "right_heel", "left_foot_index", "right_foot_index")


def _run(exercise: str, angles_at, duration_s: float, *, hidden=(), safe: SafeRange | None = None):
    """Run a session on simulated poses; ``angles_at(t_s)`` gives the body's angles."""
    pipeline = build_practice_pipeline(load_exercise(exercise))
    if safe is not None:
        pipeline = PracticePipeline(pipeline.exercise, safe)
    session = PracticeSession(pipeline)
    for k in range(int(duration_s * RATE_HZ)):
        t = k / RATE_HZ
        session.update(t, simulate_pose_frame(angles_at(t), BodySpec(hidden=hidden)))
    return session.finish(processed=int(duration_s * RATE_HZ))


# --- item 2: only the watched end is judged -------------------------------------------------

def test_arm_resting_below_an_upper_only_range_is_within_range():
    """Standing shoulder flexion watches the upper end: an arm hanging at -4 deg (below the
    default range's 0) is rest, not "range exceeded"."""
    result = _run("standing_shoulder_flexion", lambda t: {"right_shoulder_flexion": -4}, 10.0)
    assert result.summary["angles"]["right_shoulder_flexion_deg"]["max_deg"] == pytest.approx(-4, abs=0.5)
    assert not [c for c in result.cues if c.kind == "safety"]
    assert result.summary["range_exceeded"] is False
    assert result.summary["time_in_range_pct"] == pytest.approx(100.0)
    row = next(m for m in result.metrics if m["name"] == "right_shoulder_flexion_deg")
    assert row["range_exceeded"] is False and row["time_in_range_pct"] == pytest.approx(100.0)


def test_arm_past_the_watched_upper_end_is_exceeded_for_that_time():
    """5 s at 40 deg then 5 s at 80 deg (a range of 0-60): about half the time in range."""
    result = _run("standing_shoulder_flexion", lambda t: {"right_shoulder_flexion": 40 if t < 5 else 80}, 10.0,
                  safe=SafeRange(min_deg=0.0, max_deg=60.0, caution_margin_deg=10.0))
    assert result.summary["range_exceeded"] is True
    assert result.summary["time_in_range_pct"] == pytest.approx(50.0, abs=3.0)
    assert any(c.message_key == "range.beyond_limit" for c in result.cues)


@pytest.mark.parametrize("limits, below, above", [("upper", True, False), ("lower", False, True),
                                                  ("both", False, False), ("none", True, True)])
def test_is_within_range_judges_the_watched_ends_only(limits, below, above):
    safe = SafeRange(min_deg=0.0, max_deg=120.0, caution_margin_deg=10.0)
    assert is_within_range(-4.0, safe, limits=limits) is below
    assert is_within_range(130.0, safe, limits=limits) is above
    assert is_within_range(60.0, safe, limits=limits) is True


def test_angle_stats_with_no_watched_end_reports_no_time_in_range():
    stats = AngleStats(limits="none")
    safe = SafeRange(min_deg=0.0, max_deg=90.0, caution_margin_deg=10.0)
    for k in range(30):
        stats.update(k / RATE_HZ, 200.0, safe=safe)
    assert stats.exceeded is False and stats.time_in_range_pct() is None and stats.known_s > 1.8


# --- item 3: seated shoulder exercises at a webcam ------------------------------------------

@pytest.mark.parametrize("exercise, motion", [("seated_shoulder_flexion", "right_shoulder_flexion"),
                                              ("seated_shoulder_abduction", "right_shoulder_abduction")])
def test_seated_shoulder_exercise_with_hips_out_of_view_asks_nothing(exercise, motion):
    """Hips and legs below the webcam's image: the arm is measured against gravity (upright
    fallback), so the patient is never asked to show their arms."""
    result = _run(exercise, lambda t: {**SEATED, motion: 30 + 50 * math.sin(t)}, 8.0, hidden=BELOW_WEBCAM)
    assert not [c for c in result.cues if c.message_key == "visibility.show_joint"]
    tracked = result.summary["angles"][f"{motion}_deg"]
    assert tracked["max_deg"] == pytest.approx(80, abs=6) and tracked["min_deg"] == pytest.approx(-20, abs=6)


def test_hidden_elbow_is_named_as_the_arms_and_hidden_hip_as_the_hips():
    arms = _run("seated_shoulder_flexion", lambda t: {**SEATED, "right_shoulder_flexion": 40}, 3.0,
                hidden=BELOW_WEBCAM + ("right_elbow", "right_wrist"))
    asked = [c for c in arms.cues if c.message_key == "visibility.show_joint"]
    assert asked and asked[0].text() == "Let the camera see your arms"
    hips = _run("standing_hip_abduction", lambda t: {}, 3.0, hidden=("left_hip", "right_hip"))
    asked = [c for c in hips.cues if c.message_key == "visibility.show_joint"]
    assert asked and asked[0].text() == "Let the camera see your hips"


# --- item 4: sit to stand ---------------------------------------------------------------------

def test_sit_to_stand_gives_no_safety_cue_when_standing_or_sitting():
    """Five rises: knees 95 deg (seated) to 4 deg (standing, default range 0-90). Neither end
    is a limit for this exercise: no safety cue, the repetitions counted."""
    def knees(t):
        k = 4 + 91 * (0.5 + 0.5 * math.cos(2 * math.pi * t / 6.0))  # seated at t = 0, standing at 3 s
        hip = min(k, 85.0)
        return {"right_knee_flexion": k, "left_knee_flexion": k, "right_hip_flexion": hip, "left_hip_flexion": hip}

    result = _run("sit_to_stand", knees, 30.0)
    assert result.summary["repetitions"] == 5
    assert not [c for c in result.cues if c.kind == "safety"]
    assert result.summary["range_exceeded"] is False
    assert result.summary["time_in_range_pct"] is None  # no end watched: nothing to report


# --- item 15: the share of angles measured against gravity ---------------------------------

def test_summary_gives_the_share_of_frames_measured_against_gravity():
    """Seated at a webcam, hips hidden for the first 4 s of 8: half the shoulder frames rest
    on the upright assumption; the trunk lean (never assumed) is not listed."""
    pipeline = build_practice_pipeline(load_exercise("seated_shoulder_flexion"))
    session = PracticeSession(pipeline)
    for k in range(int(8 * RATE_HZ)):
        t = k / RATE_HZ
        hidden = BELOW_WEBCAM if t < 4.0 else ()
        session.update(t, simulate_pose_frame({**SEATED, "right_shoulder_flexion": 45}, BodySpec(hidden=hidden)))
    summary = session.finish(processed=int(8 * RATE_HZ)).summary
    assert summary["assumed_upright_pct"]["right_shoulder_flexion_deg"] == pytest.approx(50.0, abs=2.0)
    assert summary["angles"]["right_shoulder_flexion_deg"]["assumed_upright_pct"] == pytest.approx(50.0, abs=2.0)
    assert "trunk_forward_lean_deg" not in summary["assumed_upright_pct"]
    assert summary["assumed_upright_pct"].get("neck_flexion_deg", 0.0) == pytest.approx(50.0, abs=2.0)


def test_standing_in_full_view_assumes_nothing():
    result = _run("standing_shoulder_flexion", lambda t: {"right_shoulder_flexion": 30}, 3.0)
    assert result.summary["assumed_upright_pct"]["right_shoulder_flexion_deg"] == 0.0
