"""`mindmove analyze` and `mindmove info`: outputs on real recordings, and every bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from feedback.angles import ANGLE_NAMES
from mindmove.analyze import analyze_input
from mindmove.cli import main
from sensing.landmarks import LANDMARK_NAMES, load_landmarks_csv

REPO = Path(__file__).resolve().parents[1]


def _one_line_error(capsys, code: int, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_missing_file(tmp_path, capsys):
    code = main(["analyze", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "out")])
    _one_line_error(capsys, code, "not found", "nope.mp4")
    assert not (tmp_path / "out").exists()


def test_text_file_renamed_mp4(tmp_path, capsys):
    fake = tmp_path / "notes.mp4"
    fake.write_text("meeting notes, not a video\n" * 20)
    code = main(["analyze", str(fake), "--out", str(tmp_path / "out")])
    _one_line_error(capsys, code, "not a video file")


def test_zero_frame_video(tmp_path, capsys):
    empty = tmp_path / "empty.avi"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48)).release()
    code = main(["analyze", str(empty), "--out", str(tmp_path / "out")])
    _one_line_error(capsys, code, "no readable video frames", "found 0")


def test_camera_that_cannot_be_opened(capsys):
    # `analyze` takes no --camera (practice does); the camera path is open_source(7), whose
    # error the CLI prints like any other. Check the same one-line contract through main().
    import typer

    from mindmove.cli import app
    from sensing.video import open_source

    probe = typer.Typer()

    @probe.command()
    def cam(camera: int = typer.Option(..., "--camera")) -> None:
        open_source(camera)

    saved = list(app.registered_commands)
    app.command("probe-camera")(cam)
    try:
        code = main(["probe-camera", "--camera", "7"])
    finally:
        app.registered_commands[:] = saved
    _one_line_error(capsys, code, "Cannot open camera 7")


def test_csv_missing_required_columns_are_named(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,left_knee_x,left_knee_y\n0.0,0.1,0.2\n")
    code = main(["analyze", str(bad), "--out", str(tmp_path / "out")])
    _one_line_error(capsys, code, "left_knee_z")


def test_csv_without_time_column(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,left_knee_x,left_knee_y,left_knee_z\n0.0,0.1,0.2,0.3\n")
    code = main(["analyze", str(bad), "--out", str(tmp_path / "out")])
    _one_line_error(capsys, code, "'t_s'")


def test_bad_options(tmp_path, capsys, shared):
    video = str(shared("video/pose2sim_tpose_cam01.mp4"))
    code = main(["analyze", video, "--out", str(tmp_path / "o"), "--task", "dance"])
    _one_line_error(capsys, code, "--task", "dance")
    code = main(["analyze", video, "--out", str(tmp_path / "o"), "--roi", "1,2,3"])
    _one_line_error(capsys, code, "--roi")
    code = main(["analyze", str(tmp_path / "x.c3d"), "--out", str(tmp_path / "o")])
    _one_line_error(capsys, code, "not found")
    (tmp_path / "x.c3d").write_bytes(b"\0" * 10)
    code = main(["analyze", str(tmp_path / "x.c3d"), "--out", str(tmp_path / "o")])
    _one_line_error(capsys, code, "--markers")


def test_real_subprocess_prints_one_line_and_exits_2(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "mindmove", "analyze", str(fake), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a video file" in lines[0], proc.stderr


@pytest.fixture(scope="module")
def tpose_out(tmp_path_factory):
    from conftest import shared_file

    video = shared_file("video/pose2sim_tpose_cam02.mp4")
    out = tmp_path_factory.mktemp("tpose")
    code = main(["analyze", str(video), "--out", str(out), "--overlay", "--task", "angles"])
    assert code == 0
    return out


def test_analyze_video_writes_documented_files(tpose_out):
    with (tpose_out / "angles.csv").open() as fh:
        rows = list(csv.reader(fh))
    from feedback.trust import SIDED_ANGLE_NAMES

    assert rows[0] == ["t_s", *ANGLE_NAMES, *(f"{n.removesuffix('_deg')}_trust" for n in SIDED_ANGLE_NAMES)]
    trust = rows[1][1 + len(ANGLE_NAMES):]
    assert set(trust) <= {"high", "low", ""} and "high" in trust
    assert "right_knee_flexion_deg" in rows[0] and "trunk_lateral_lean_deg" in rows[0]
    assert len(rows) == 1 + 11
    with (tpose_out / "landmarks.csv").open() as fh:
        header = next(csv.reader(fh))
    assert header[:7] == ["t_s", "nose_x", "nose_y", "nose_z", "nose_visibility",
                          "nose_px_x", "nose_px_y"]
    assert len(header) == 1 + 6 * len(LANDMARK_NAMES)
    summary = json.loads((tpose_out / "summary.json").read_text())
    assert summary["frames"] == 11 and summary["frames_with_person"] == 11
    assert summary["duration_s"] == pytest.approx(11 / 60, abs=1e-3)
    assert set(summary["angles"]) == set(ANGLE_NAMES)
    knee = summary["angles"]["left_elbow_flexion_deg"]
    assert knee["rom"] == pytest.approx(knee["max"] - knee["min"], abs=0.02)
    assert summary["filter"]["filter"] == "butterworth"
    assert summary["filter"]["cutoff_hz"] == 6.0
    for key in ("mindmove", "mediapipe", "numpy", "opencv"):
        assert summary["software"][key]
    assert "mediapipe" in summary["pose_model"]
    assert summary["input"].endswith("pose2sim_tpose_cam02.mp4")


def test_overlay_video_has_every_frame(tpose_out, shared):
    cap = cv2.VideoCapture(str(tpose_out / "overlay.mp4"))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    assert len(frames) == 11
    original = cv2.VideoCapture(str(shared("video/pose2sim_tpose_cam02.mp4")))
    ok, first = original.read()
    original.release()
    assert frames[0].shape == first.shape
    # Something was drawn: the overlay differs from the source frame.
    assert np.abs(frames[0].astype(int) - first.astype(int)).mean() > 0.5


def test_analyze_landmark_csv_round_trip(tpose_out, tmp_path):
    out = tmp_path / "again"
    assert main(["analyze", str(tpose_out / "landmarks.csv"), "--out", str(out),
                 "--task", "angles"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    first = json.loads((tpose_out / "summary.json").read_text())
    assert summary["frames"] == 11 and summary["frames_with_person"] == 11
    for name, stats in first["angles"].items():
        if stats["max"] is not None:  # CSV keeps 6 significant digits
            assert summary["angles"][name]["max"] == pytest.approx(stats["max"], abs=0.05), name
    assert len(load_landmarks_csv(out / "landmarks.csv")) == 11


def test_nobody_in_view_is_not_an_error(tmp_path):
    folder = tmp_path / "blank"
    folder.mkdir()
    for k in range(4):
        cv2.imwrite(str(folder / f"{k:03d}.png"), np.full((240, 320, 3), 40 * k, np.uint8))
    summary = analyze_input(folder, tmp_path / "out", rate_hz=10, task="angles")
    assert summary["frames"] == 4 and summary["frames_with_person"] == 0
    assert summary["duration_s"] == pytest.approx(0.4)
    assert any("no person" in note for note in summary["notes"])
    assert all(v["rom"] is None for v in summary["angles"].values())
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["frames_with_person"] == 0


def test_info_reports_versions_models_camera(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for needle in ("mindmove", "mediapipe", "numpy", "opencv", "pose_landmark_full.tflite",
                   "camera 0", "data directory", "database"):
        assert needle in out, needle
    assert "MISSING" not in out


def test_info_hides_database_password(monkeypatch, capsys):
    """An unreachable server is reported (exit 2, one line on stderr), its password never shown."""
    monkeypatch.setenv("MINDMOVE_DB_URL", "postgresql+psycopg://clinic:s3cret@db.local/mindmove")
    assert main(["info"]) == 2
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err and "db.local/mindmove  PROBLEM" in out
    assert err.count("\n") == 1 and "Cannot reach the database" in err


def test_info_reports_a_usable_store_and_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINDMOVE_DATA_DIR", str(tmp_path / "fresh"))
    assert main(["info"]) == 0
    assert "not created yet" in capsys.readouterr().out and not (tmp_path / "fresh").exists()
    from mindmove.store import open_store

    open_store().dispose()
    assert main(["info"]) == 0
    assert "mindmove.db  reachable" in capsys.readouterr().out


def test_render_skeleton_draws_visible_bones_only_and_keeps_input():
    from feedback.render import render_skeleton
    from sensing.landmarks import LANDMARK_INDEX, PoseFrame

    image = np.zeros((200, 200, 3), np.uint8)
    px = np.full((33, 2), np.nan)
    px[LANDMARK_INDEX["left_shoulder"]] = (50, 50)
    px[LANDMARK_INDEX["left_elbow"]] = (150, 50)
    px[LANDMARK_INDEX["left_wrist"]] = (150, 150)
    vis = np.ones(33)
    vis[LANDMARK_INDEX["left_wrist"]] = 0.1  # hidden: the forearm must not be drawn
    out = render_skeleton(image, PoseFrame(np.zeros((33, 3)), vis, px))
    assert image.max() == 0  # input untouched
    assert out[50, 100].max() > 0  # upper arm drawn at its midpoint
    assert out[100, 150].max() == 0  # forearm not drawn


def test_render_angles_writes_next_to_the_joint():
    from feedback.render import render_angles, short_angle_label
    from sensing.landmarks import LANDMARK_INDEX, PoseFrame

    assert short_angle_label("right_knee_flexion_deg", 42.4) == "knee flex 42"
    image = np.zeros((200, 400, 3), np.uint8)
    px = np.full((33, 2), np.nan)
    px[LANDMARK_INDEX["left_knee"]] = (200, 100)
    pose = PoseFrame(np.zeros((33, 3)), np.ones(33), px)
    out = render_angles(image, pose, {"left_knee_flexion_deg": 42.0,
                                      "right_knee_flexion_deg": float("nan")})
    ys, xs = np.nonzero(out.max(axis=2))
    assert xs.min() > 200 and abs(np.median(ys) - 100) < 20  # left label right of the knee
