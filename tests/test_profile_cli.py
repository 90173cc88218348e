"""`mindmove profile` and `mindmove scale` end to end, on the real SQLite store of each test."""

from __future__ import annotations

import pytest

from mindmove.store.profiles import load_profile, profile_history
from mindmove.cli import main
from mindmove.store import open_store


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store():
    s = open_store()
    yield s
    s.dispose()


def test_profile_set_show_history(capsys, store):
    code, out, _ = run(capsys, "profile", "set", "--patient", "P010", "--motion", "right_shoulder_flexion",
                       "--min", "0", "--max", "110", "--by", "Sam PT", "--reason", "first visit")
    assert code == 0 and "version 1" in out
    code, out, _ = run(capsys, "profile", "set", "--patient", "P010", "--motion", "right_shoulder_flexion",
                       "--max", "125", "--margin", "5", "--resting-bpm", "14", "--target-bpm", "6",
                       "--height-m", "1.64", "--notes", "Prefers morning sessions", "--by", "Ada", "--reason", "review")
    assert code == 0 and "version 2" in out
    record = load_profile(store, "P010")
    r = record.profile.ranges["right_shoulder_flexion"]
    assert (r.min_deg, r.max_deg, r.caution_margin_deg) == (0, 125, 5)
    assert record.profile.breath.resting_rate_bpm == 14 and record.profile.height_m == 1.64
    assert record.profile.notes == "Prefers morning sessions"

    code, out, _ = run(capsys, "profile", "show", "--patient", "P010")
    assert code == 0
    assert "version 2" in out and "right_shoulder_flexion" in out and "125" in out and "1.64 m" in out
    line = next(l for l in out.splitlines() if "right_shoulder_flexion" in l)
    assert "profile" in line
    line = next(l for l in out.splitlines() if "left_knee_flexion" in l)
    assert "default" in line

    code, out, _ = run(capsys, "profile", "history", "--patient", "P010")
    assert code == 0
    assert "Sam PT" in out and "Ada" in out and "first visit" in out and "review" in out
    assert [h.version for h in profile_history(store, "P010")] == [1, 2]


@pytest.mark.parametrize("argv, pattern", [
    (["--motion", "right_knee_flexion", "--min", "0", "--max", "170"], "physiological limit of 150 deg"),
    (["--motion", "right_knee_flexion", "--min", "90", "--max", "20"], "min 90 deg >= max 20 deg"),
    (["--motion", "knee", "--min", "0", "--max", "90"], "Unknown motion 'knee'"),
    (["--motion", "right_knee_flexion", "--max", "90"], "give both --min and --max"),
    (["--height-m", "17"], "between 0.5 and 2.5 m"),
    (["--ie-ratio", "20"], "inhale:exhale ratio"),
    ([], "Nothing to change"),
])
def test_profile_set_refusals_exit_2_with_one_line(capsys, store, argv, pattern):
    code, out, err = run(capsys, "profile", "set", "--patient", "P011", *argv, "--by", "Sam", "--reason", "x")
    assert code == 2
    assert pattern in " ".join(err.split())
    assert "Traceback" not in err
    assert profile_history(store, "P011") == []  # nothing invalid reached the store


def test_profile_show_without_profile_lists_defaults(capsys):
    code, out, _ = run(capsys, "profile", "show", "--patient", "NEW1")
    assert code == 0 and "no profile yet" in out and "right_shoulder_abduction" in out
    code, out, _ = run(capsys, "profile", "history", "--patient", "NEW1")
    assert code == 0 and "no profile yet" in out


def test_scale_set_from_known_length_and_show(capsys):
    code, out, _ = run(capsys, "scale", "set", "--setup", "hall", "--points", "100", "200", "400", "600",
                       "--length-m", "2", "--by", "Sam")
    assert code == 0 and "4.000 mm per pixel" in out
    code, out, _ = run(capsys, "scale", "show", "--setup", "hall")
    assert code == 0 and "4.000 mm per pixel" in out and "known_length" in out
    code, _, err = run(capsys, "scale", "show", "--setup", "nowhere")
    assert code == 2 and "No camera set-up named 'nowhere'" in err
    code, _, err = run(capsys, "scale", "set", "--setup", "hall", "--length-m", "2", "--by", "Sam")
    assert code == 2 and "--points" in err


def test_scale_set_from_height_on_real_video(capsys, shared):
    # Pose2Sim T-pose (BSD-3-Clause), camera 1: the standing man spans about 830-850 px from the
    # top of his head to his heels in the 1080x1920 frame (read off the still), so for a
    # 1.72 m person about 2.1 mm per pixel.
    video = shared("video/pose2sim_tpose_cam01.mp4")
    code, out, err = run(capsys, "scale", "set", "--setup", "lab", "--height-m", "1.72", "--source", str(video),
                         "--by", "Sam")
    assert code == 0, err
    from mindmove.store.camera_setups import load_camera_setup

    store = open_store()
    try:
        record = load_camera_setup(store, "lab")
    finally:
        store.dispose()
    assert record.method == "height" and record.detail["frames"] == 11
    assert 0.0019 <= record.metres_per_pixel <= 0.0023


def audit_rows(store):
    from sqlalchemy import select

    from mindmove.store.models import AuditEntry

    with store.session() as db:
        return [(e.username, e.action, e.patient_code, e.success, e.detail)
                for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_profile_and_scale_commands_are_audited(capsys, store, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "pt_station")  # the operating-system user
    assert run(capsys, "profile", "set", "--patient", "P020", "--motion", "right_knee_flexion", "--min", "0",
               "--max", "110", "--by", "Sam PT", "--reason", "first visit")[0] == 0
    assert run(capsys, "profile", "set", "--patient", "P020", "--motion", "right_knee_flexion", "--min", "0",
               "--max", "170", "--by", "Sam PT", "--reason", "typo")[0] == 2
    assert run(capsys, "profile", "show", "--patient", "P020")[0] == 0
    assert run(capsys, "profile", "history", "--patient", "P020")[0] == 0
    assert run(capsys, "scale", "set", "--setup", "hall", "--points", "100", "200", "400", "600",
               "--length-m", "2", "--by", "Sam")[0] == 0
    rows = audit_rows(store)
    assert [r[:4] for r in rows] == [
        ("cli:pt_station", "edit_calibration", "P020", True),
        ("cli:pt_station", "edit_calibration", "P020", False),
        ("cli:pt_station", "view_calibration", "P020", True),
        ("cli:pt_station", "view_calibration", "P020", True),
        ("cli:pt_station", "edit_camera_scale", None, True),
    ]
    assert rows[0][4].startswith("version=1; by=Sam PT; right_knee_flexion:") and "0..110 deg" in rows[0][4]
    assert "by=Sam PT" in rows[1][4] and "physiological limit of 150 deg" in rows[1][4]
    assert [r[4] for r in rows[2:4]] == ["profile show", "profile history"]
    assert rows[4][4] == "setup=hall; metres_per_pixel=0.004; method=known_length; by=Sam"
