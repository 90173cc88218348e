"""The live practice pipeline end to end: real MediaPipe on real video, a real SQLite file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mindmove.cli import main

REPO = Path(__file__).resolve().parents[1]


def db_path(data_dir: Path) -> Path:
    return data_dir / "mindmove.db"


def query(path: Path, sql: str, *args):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def test_camera_that_cannot_be_opened_is_one_line_exit_2(capsys):
    rc = main(["practice", "--patient", "P001", "--exercise", "elbow_flexion", "--camera", "7", "--no-window"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("mindmove: Cannot open camera 7") and "\n" not in err


def test_unknown_exercise_and_bad_checkin_are_one_line(capsys):
    assert main(["practice", "--patient", "P1", "--exercise", "cartwheel", "--no-window"]) == 2
    assert "Unknown exercise 'cartwheel'" in capsys.readouterr().err
    assert main(["practice", "--patient", "P1", "--exercise", "elbow_flexion", "--pain-before", "11",
                 "--source", "x.mp4", "--no-window"]) == 2
    assert "Pain is recorded from 0 to 10, but got 11" in capsys.readouterr().err


def test_malformed_clinic_exercise_file_via_cli(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken.toml").write_text('title = "B"\nposition = "seated"\n[tracking]\nmotion = 3\n')
    monkeypatch.setenv("MINDMOVE_EXERCISES_DIR", str(tmp_path))
    assert main(["exercises"]) == 2
    err = capsys.readouterr().err
    assert "broken.toml" in err and "'tracking.motion'" in err


@pytest.mark.slow
def test_whole_pipeline_headless_on_sports2d(shared, _isolated_data_dir, capsys):
    video = shared("video/sports2d_demo.mp4")
    rc = main(["practice", "--patient", "P001", "--exercise", "standing_shoulder_flexion", "--source", str(video),
               "--no-window", "--fast", "--pain-before", "4", "--mood-before", "3", "--pain-after", "3",
               "--mood-after", "4"])
    assert rc == 0, capsys.readouterr().err
    path = db_path(_isolated_data_dir)
    (sid, status, exercise, summary_json, active_s, ended), = query(
        path, "select id, status, exercise, summary, active_s, ended_at from sessions")
    import json

    summary = json.loads(summary_json)
    assert status == "completed" and exercise == "standing_shoulder_flexion" and ended
    assert summary["frames"] == {"read": 230, "processed": 230, "dropped": 0}
    # MediaPipe finds the person in 222 of 230 frames; the arm angle is known in most of them.
    assert 3.0 < active_s <= 7.7
    # Angles recorded at 10 Hz or more over the clip.
    (n, t_min, t_max), = query(path, "select count(*), min(t_s), max(t_s) from samples "
                                     "where session_id=? and channel='right_shoulder_flexion_deg'", sid)
    assert n / (t_max - t_min) >= 10.0 and t_max > 7.0
    # The man raises his arms overhead: repetitions with peaks above the top threshold (70% of 0-120).
    reps = query(path, "select peak_deg, t_start_s, t_end_s from repetitions where session_id=?", sid)
    assert len(reps) == summary["repetitions"] >= 1
    assert all(p >= 0.7 * 120.0 for p, _, _ in reps) and all(a < b for _, a, b in reps)
    # An arm overhead (~180 deg) is beyond the default comfortable 120 deg: the safety cue was given.
    cues = query(path, "select kind, message_key, value, \"limit\" from cues where session_id=?", sid)
    assert ("safety", "range.beyond_limit") in {(k, m) for k, m, _, _ in cues}
    assert all(v > lim for k, m, v, lim in cues if m == "range.beyond_limit")
    metric = query(path, "select max_deg, rom_deg, safe_max_deg, time_in_range_pct, range_exceeded from "
                         "session_metrics where session_id=? and name='right_shoulder_flexion_deg'", sid)
    (max_deg, rom_deg, safe_max, in_range_pct, exceeded), = metric
    assert max_deg > 150 and safe_max == 120.0 and exceeded == 1 and 0 < in_range_pct < 100
    assert summary["angles"]["right_shoulder_flexion_deg"]["max_deg"] == pytest.approx(max_deg, abs=0.01)
    assert sorted(query(path, "select phase, pain, mood from checkins where session_id=?", sid)) == [
        ("after", 3, 4), ("before", 4, 3)]
    out = capsys.readouterr().out
    assert f"Session {sid} saved: {summary['repetitions']} repetitions" in out


def test_pose2sim_clip_paced_at_its_own_frame_rate(shared, _isolated_data_dir):
    """Paced like a camera at 60 fps: the newest frame only; every frame is read once and is
    either processed or dropped (never queued), and the run lasts at least the clip."""
    from feedback.exercises import load_exercise
    from calibration.practice import build_practice_pipeline
    from feedback.session import run_practice
    from mindmove.store.db import open_store
    from mindmove.store.recording import SessionRecorder
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source

    video = shared("video/pose2sim_lunge_cam01.mp4")
    store = open_store()
    pipeline = build_practice_pipeline(load_exercise("mindful_walking"))
    recorder = SessionRecorder(store, "P002", exercise="mindful_walking")
    sid = recorder.start()
    with open_source(video) as source, create_pose_estimator() as estimator:
        t0 = time.monotonic()
        result = run_practice(source, estimator, pipeline, recorder=recorder, pace=True)
        wall_s = time.monotonic() - t0
    recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s)
    assert result.frames_read == 100
    assert result.frames_processed + result.frames_dropped == 100
    # How many frames the model keeps up with depends on the machine (benchmarks/practice_latency.py
    # measures it); whatever the speed, each processed frame has its latency and none queued.
    assert result.frames_processed == len(result.latency_s) >= 1
    assert wall_s >= 99 / 60.0  # frames were released at the video's own rate
    path = db_path(_isolated_data_dir)
    assert query(path, "select status, exercise from sessions where id=?", sid) == [("completed", "mindful_walking")]
    names = {r[0] for r in query(path, "select name from session_metrics where session_id=?", sid)}
    assert "knee_flexion_deg" in names  # the mean of both knees, tracked for this exercise
    (n,), = query(path, "select count(*) from samples where session_id=? and channel='knee_flexion_deg'", sid)
    assert 1 <= n <= result.frames_processed  # at most one stored sample per processed frame


def test_no_frames_dropped_when_not_paced(shared):
    from feedback.exercises import load_exercise
    from calibration.practice import build_practice_pipeline
    from feedback.session import run_practice
    from sensing.pose import create_pose_estimator
    from sensing.video import open_source

    with open_source(shared("video/pose2sim_tpose_cam01.mp4")) as source, create_pose_estimator() as est:
        result = run_practice(source, est, build_practice_pipeline(load_exercise("shoulder_abduction")), pace=False)
    assert (result.frames_read, result.frames_processed, result.frames_dropped) == (11, 11, 0)
    # T-pose: shoulders abducted about 90 degrees (the clip's description).
    assert result.summary["angles"]["right_shoulder_abduction_deg"]["max_deg"] == pytest.approx(90, abs=20)


def _wait_for(predicate, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return None


@pytest.mark.slow
def test_crash_safety_sigkill_mid_session(shared, _isolated_data_dir, tmp_path):
    """SIGKILL a real practice process mid-session; the rows written so far survive and the
    next start marks that session interrupted, keeping its data."""
    video = shared("video/sports2d_demo.mp4")
    env = {**os.environ, "MINDMOVE_DATA_DIR": str(_isolated_data_dir)}
    path = db_path(_isolated_data_dir)
    cmd = [sys.executable, "-m", "mindmove", "practice", "--patient", "P003", "--exercise",
           "standing_shoulder_flexion", "--source", str(video), "--no-window"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def samples():
            if not path.exists():
                return 0
            try:
                return query(path, "select count(*) from samples")[0][0]
            except sqlite3.OperationalError:
                return 0
        assert _wait_for(samples, 60.0), "the practice process wrote no samples"
        time.sleep(2.0)  # a few seconds of recording
        assert proc.poll() is None, "the session ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    (sid, status, ended), = query(path, "select id, status, ended_at from sessions")
    assert status == "running" and ended is None
    kept = query(path, "select count(*), max(t_s) from samples where session_id=?", sid)[0]
    assert kept[0] > 0
    # Flushed every second: 2 s after the first rows, later rows (past the first second of
    # video) are in the file too.
    assert kept[1] >= 1.0
    # Start again (a short clip, not paced): the killed session is now interrupted, its data kept.
    rc = subprocess.run([sys.executable, "-m", "mindmove", "practice", "--patient", "P003", "--exercise",
                         "shoulder_abduction", "--source", str(shared("video/pose2sim_tpose_cam01.mp4")),
                         "--no-window", "--fast"], cwd=REPO, env=env, capture_output=True, timeout=120).returncode
    assert rc == 0
    rows = dict((r[0], r[1:]) for r in query(path, "select id, status, ended_at from sessions"))
    assert rows[sid][0] == "interrupted" and rows[sid][1] is not None
    assert query(path, "select count(*), max(t_s) from samples where session_id=?", sid)[0] == kept
    assert [s for s, (st, _) in rows.items() if s != sid and st == "completed"]


def test_render_practice_frame_cue_band_and_gauge():
    from feedback.cues import Cue
    from feedback.exercises import load_exercise
    from feedback.render_practice import OKABE_BLUISH_GREEN, OKABE_VERMILLION, render_practice_frame
    from calibration.practice import build_practice_pipeline

    pipeline = build_practice_pipeline(load_exercise("standing_shoulder_flexion"))
    image = np.full((720, 1280, 3), 128, np.uint8)
    cue = Cue.of("safety", "range.beyond_limit", t_s=0.0)
    out = render_practice_frame(image, None, {pipeline.channel: 130.0}, cue, pipeline)
    assert out.shape == image.shape and (image == 128).all()  # input untouched
    bottom = out[-30:, :, :]
    assert (bottom == 0).all(axis=2).mean() > 0.5  # black band
    band_rows = out[600:, :, :]
    assert ((band_rows == 255).all(axis=2)).sum() > 2000  # large white letters
    colours = {tuple(int(c) for c in px) for px in out[:300, 900:].reshape(-1, 3)[::7]}
    assert OKABE_BLUISH_GREEN in colours and OKABE_VERMILLION in colours
    blank = render_practice_frame(image, None, {}, None, pipeline)
    assert (blank[-30:] == 128).all()  # no cue, no band


def test_store_refusing_samples_keeps_the_session_running_and_tells_calmly(shared, _isolated_data_dir, capsys):
    """A real SQLite refusal (a trigger aborting every sample insert): the practice loop runs to
    the end of the clip, the check-ins are still stored, and one calm catalogue line is shown."""
    from feedback.messages import message
    from mindmove.store import open_store

    open_store().dispose()  # create the schema, then make the samples table refuse writes
    path = db_path(_isolated_data_dir)
    con = sqlite3.connect(path)
    con.execute("CREATE TRIGGER refuse_samples BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
    con.commit()
    con.close()
    rc = main(["practice", "--patient", "P002", "--exercise", "standing_shoulder_flexion", "--no-window", "--fast",
               "--source", str(shared("video/pose2sim_tpose_cam01.mp4")), "--pain-before", "4", "--pain-after", "3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert message("session.not_all_saved") in out and "ended: 0 repetitions" in out
    assert query(path, "select status from sessions") == [("running",)]  # the next start marks it interrupted
    assert query(path, "select count(*) from samples") == [(0,)]
    assert sorted(query(path, "select phase, pain from checkins")) == [("after", 3), ("before", 4)]


def test_bad_after_checkin_is_refused_before_the_session(capsys):
    assert main(["practice", "--patient", "P1", "--exercise", "elbow_flexion", "--mood-after", "9",
                 "--source", "missing.mp4", "--no-window"]) == 2
    assert "Mood is recorded from 1 to 5, but got 9" in capsys.readouterr().err
