"""`mindmove calibrate` end to end: real MediaPipe on a real video, a real SQLite store.

``pose2sim_tpose_cam01.mp4`` (Pose2Sim, BSD-3-Clause): a man standing still in a T-pose,
shoulders abducted about 90 degrees, 11 frames at 60 fps. A still pose has no repetitions,
so the proposal is refused; the therapist's ``--set`` is stored, and the observed angle is
reported.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mindmove.store.profiles import load_profile, profile_history
from mindmove.cli import main
from mindmove.store import open_store
from mindmove.store.models import AuditEntry

TPOSE = "video/pose2sim_tpose_cam01.mp4"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), " ".join(err.split())


@pytest.fixture
def store():
    s = open_store()
    yield s
    s.dispose()


def test_set_on_real_video_stores_range_and_reports_observed_angle(capsys, shared, store, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "pt_station")  # the operating-system user
    code, out, err = run(capsys, "calibrate", "--patient", "C001", "--motion", "right_shoulder_abduction",
                         "--source", str(shared(TPOSE)), "--no-window", "--set", "0", "95", "--by", "Sam PT")
    assert code == 0, err
    observed = float(re.search(r"right_shoulder_abduction: observed median (-?\d+) deg", out).group(1))
    # T-pose: about 90 deg; MediaPipe's world landmarks put this side's arm lower (measured 65).
    assert 55 <= observed <= 100
    assert "visible 100%" in out
    assert "Expected 3 slow repetitions" in out  # the proposal was refused, shown as a note
    record = load_profile(store, "C001")
    r = record.profile.ranges["right_shoulder_abduction"]
    assert (r.min_deg, r.max_deg, record.created_by) == (0, 95, "Sam PT")
    assert record.reason == "guided capture of right_shoulder_abduction"
    with store.session() as db:
        entries = db.scalars(select(AuditEntry)).all()
    assert [(e.username, e.action, e.patient_code, e.success) for e in entries] == [
        ("cli:pt_station", "edit_calibration", "C001", True)]
    assert entries[0].detail.startswith("version=1; by=Sam PT; calibrate: right_shoulder_abduction")
    assert "0..95 deg" in entries[0].detail


def test_accept_without_repetitions_is_refused_and_stores_nothing(capsys, shared, store):
    code, out, err = run(capsys, "calibrate", "--patient", "C002", "--motion", "left_shoulder_abduction",
                         "--source", str(shared(TPOSE)), "--no-window", "--accept", "--by", "Sam PT")
    assert code == 2
    assert "Expected 3 slow repetitions of left_shoulder_abduction, but found 0" in err
    assert "Traceback" not in err
    assert profile_history(store, "C002") == []


def test_neutral_needs_enough_stillness(capsys, shared, store):
    code, _, err = run(capsys, "calibrate", "--patient", "C003", "--neutral", "standing",
                       "--source", str(shared(TPOSE)), "--no-window", "--accept", "--by", "Sam PT")
    assert code == 2 and "Expected 5 s of stillness, but got 0.2 s" in err
    assert profile_history(store, "C003") == []


def test_neutral_from_a_short_still_clip(capsys, shared, store):
    code, out, err = run(capsys, "calibrate", "--patient", "C004", "--neutral", "standing",
                         "--source", str(shared(TPOSE)), "--duration", "0.15", "--no-window", "--accept",
                         "--by", "Sam PT")
    assert code == 0, err
    neutral = load_profile(store, "C004").profile.neutral["standing"]
    assert "right_shoulder_abduction" not in neutral  # arms are not part of neutral posture
    # standing upright: trunk, hips and knees near anatomical zero
    assert abs(neutral["trunk_lateral_lean"]) < 10 and abs(neutral["trunk_forward_lean"]) < 15
    assert abs(neutral["right_knee_flexion"]) < 20 and abs(neutral["left_knee_flexion"]) < 20


@pytest.mark.parametrize("argv, pattern", [
    (["--motion", "right_knee_flexion", "--neutral", "standing"], "Give either --motion"),
    ([], "Give either --motion"),
    (["--neutral", "lying"], "Expected --neutral standing or seated, but got 'lying'"),
    (["--motion", "knee"], "Unknown motion 'knee'"),
    (["--motion", "right_knee_flexion", "--motion", "left_knee_flexion", "--set", "0", "90"],
     "--set MIN MAX takes exactly one --motion"),
    # checked before any capture: no --source here, so a later check would fail on the camera instead
    (["--motion", "right_knee_flexion", "--margin", "50"], "Expected --margin between 0 and 45 deg, but got 50"),
    (["--motion", "right_knee_flexion", "--margin", "-1"], "Expected --margin between 0 and 45 deg, but got -1"),
])
def test_argument_refusals(capsys, argv, pattern):
    code, _, err = run(capsys, "calibrate", "--patient", "C005", *argv, "--no-window", "--by", "Sam")
    assert code == 2 and pattern in err


def test_set_outside_limit_is_refused_before_storing(capsys, shared, store):
    code, _, err = run(capsys, "calibrate", "--patient", "C006", "--motion", "right_elbow_flexion",
                       "--source", str(shared(TPOSE)), "--no-window", "--set", "0", "200", "--by", "Sam")
    assert code == 2 and "maximum 200 deg is beyond the physiological limit of 165 deg" in err
    assert profile_history(store, "C006") == []


def test_missing_video_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "calibrate", "--patient", "C007", "--motion", "right_elbow_flexion",
                       "--source", str(tmp_path / "nope.mp4"), "--no-window", "--accept", "--by", "Sam")
    assert code == 2 and "nope.mp4" in err and "Traceback" not in err
