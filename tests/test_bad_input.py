"""Bad input to every command, table-driven: one line on stderr, exit 2, nothing stored.

Every command and option that takes a path, a number or text is given what a careless user
or an attacker would type: a missing file, an empty one, a folder, a place that cannot be
written (``/proc``), text that is not UTF-8, ``nan``, ``inf``, a negative or a huge number.
Each must answer with one line starting ``mindmove:`` (no traceback), exit code 2, and leave
nothing behind: no session, profile, camera set-up, user, team or patient in the store, and
no file or folder next to the inputs. Run through :func:`mindmove.cli.main` in-process (the
checks happen before any camera, model or belt is opened, so this is fast); the cases that
need real bytes on the command line, a real missing display or a real server address run as
subprocesses at the end.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mindmove.cli import main
from mindmove.store import open_store
from mindmove.store.models import CameraSetup, CareTeam, Patient, ProfileVersion, Session, User

REPO = Path(__file__).resolve().parents[1]
NOT_UTF8 = os.fsdecode(b"caf\xe9")  # what Python makes of Latin-1 bytes on a UTF-8 command line
P001 = ["--patient", "P001"]
PRACTICE = ["practice", *P001, "--exercise", "elbow_flexion", "--no-window", "--source", "{file}"]
BREATHE = ["breathe", *P001, "--no-window"]
CALIBRATE = ["calibrate", *P001, "--motion", "right_shoulder_flexion", "--no-window", "--source", "{file}",
             "--by", "Sam PT"]
PROFILE = ["profile", "set", *P001, "--by", "Sam PT", "--reason", "review"]
SCALE_POINTS = ["scale", "set", "--setup", "gym", "--by", "Sam PT", "--points", "0", "0", "10", "10"]
ANALYZE = ["analyze", "{file}", "--out", "{out}"]

# (argv, a phrase the one line must contain); {file} an existing non-video file, {empty} an
# empty .mp4, {dir} an empty folder, {out} a folder that does not exist yet, {csv} a t_s,value CSV.
CASES = [
    # analyze: input and output paths, every number
    (["analyze", "{tmp}/missing.mp4", "--out", "{out}"], "Input not found"),
    (["analyze", "{empty}", "--out", "{out}"], "Cannot read"),
    (["analyze", "{dir}", "--out", "{out}"], "holds no images"),
    (["analyze", "{file}", "--out", "/proc/mindmove-out"], "cannot be made"),
    (["analyze", "{file}", "--out", "{file}/sub"], "is a file"),
    (["analyze", "{file}", "--out", "{file}"], "is a file"),
    ([*ANALYZE, "--cutoff-hz", "nan"], "finite number"),
    ([*ANALYZE, "--cutoff-hz", "-1"], "--cutoff-hz above 0"),
    ([*ANALYZE, "--visibility-threshold", "2"], "between 0 and 1"),
    ([*ANALYZE, "--visibility-threshold", "inf"], "finite number"),
    ([*ANALYZE, "--scale-m-per-px", "inf"], "finite number"),
    ([*ANALYZE, "--scale-m-per-px", "-1"], "--scale-m-per-px above 0"),
    ([*ANALYZE, "--scale-m-per-px", "1e9"], "up to 1 m per pixel"),
    (["analyze", "{dir}", "--out", "{out}", "--rate-hz", "1e308"], "up to 1000 Hz"),
    (["analyze", "{dir}", "--out", "{out}", "--rate-hz", "-5"], "--rate-hz above 0"),
    ([*ANALYZE, "--roi", "a,b,c,d"], "four whole numbers"),
    ([*ANALYZE, "--roi", "1,2,-3,4"], "positive width"),
    ([*ANALYZE, "--task", NOT_UTF8], "UTF-8"),
    (["analyze", "{csv}", "--out", "{out}", "--markers", "{tmp}/missing.toml"], "Marker map not found"),
    # breathe: every number, every text, the replay file, the display
    ([*BREATHE, "--minutes", "nan"], "finite number"),
    ([*BREATHE, "--minutes", "inf"], "finite number"),
    ([*BREATHE, "--minutes", "-1"], "--minutes above 0"),
    ([*BREATHE, "--minutes", "1e308"], "up to 120 minutes"),
    ([*BREATHE, "--ramp-min", "-1"], "--ramp-min from 0 to 60"),
    ([*BREATHE, "--ramp-min", "nan"], "finite number"),
    ([*BREATHE, "--ramp-min", "1e9"], "--ramp-min from 0 to 60"),
    ([*BREATHE, "--rate", "-1"], "pacer rate"),
    ([*BREATHE, "--rate", "inf"], "finite number"),
    ([*BREATHE, "--ratio", "x"], "inhale:exhale"),
    ([*BREATHE, "--box", "a-b"], "box breathing"),
    ([*BREATHE, "--polarity", "x"], "--polarity is one of"),
    (["breathe", "--patient", "", "--no-window"], "patient code"),
    (["breathe", "--patient", "Jane Smith", "--no-window"], "patient code"),
    (["breathe", "--patient", NOT_UTF8, "--no-window"], "UTF-8"),
    ([*BREATHE, "--breath-replay", "{tmp}/missing.csv"], "no such file"),
    ([*BREATHE, "--breath-replay", "{dir}"], "no such file"),
    ([*BREATHE, "--breath-replay", "{csv}", "--rate-hz", "nan"], "finite number"),
    (["breathe", *P001], "No display was found"),
    # practice: paths, numbers, text, the display
    (["practice", "--patient", "", "--exercise", "elbow_flexion", "--no-window", "--source", "{file}"], "patient code"),
    (["practice", *P001, "--exercise", "no_such_exercise", "--no-window", "--source", "{file}"], "Unknown exercise"),
    (["practice", *P001, "--exercise", "elbow_flexion", "--no-window", "--camera", "-1"], "camera number"),
    (["practice", *P001, "--exercise", "elbow_flexion", "--no-window", "--camera", "99999999999"], "sensible size"),
    (["practice", *P001, "--exercise", "elbow_flexion", "--no-window", "--source", "{tmp}/missing.mp4"], "not found"),
    (["practice", *P001, "--exercise", "elbow_flexion", "--no-window", "--source", "{dir}"], "holds no images"),
    (["practice", *P001, "--exercise", "elbow_flexion", "--no-window", "--source", "{empty}"], "Cannot read"),
    ([*PRACTICE, "--record-video", "/proc/mindmove.mp4"], "not writable"),
    ([*PRACTICE, "--record-video", "{dir}"], "end in .mp4"),
    ([*PRACTICE, "--record-video", "{file}/x.mp4"], "is a file"),
    ([*PRACTICE, "--pain-before", "11"], "Pain is recorded from 0 to 10"),
    ([*PRACTICE, "--pain-before", "-1"], "Pain is recorded from 0 to 10"),
    ([*PRACTICE, "--mood-after", "9"], "Mood is recorded from 1 to 5"),
    ([*PRACTICE, "--polarity", "x"], "--polarity is one of"),
    ([*PRACTICE, "--side", "middle"], "left or right"),
    ([*PRACTICE, "--breath-replay", "{csv}", "--rate-hz", "nan"], "finite number"),
    ([*PRACTICE, "--breath-replay", "{tmp}/missing.csv"], "no such file"),
    (["practice", *P001, "--exercise", "elbow_flexion", "--source", "{file}"], "No display was found"),
    # calibrate: --set checked before the capture, numbers, text, the display
    ([*CALIBRATE, "--set", "500", "-5"], "minimum to be below the maximum"),
    ([*CALIBRATE, "--set", "0", "500"], "physiological limit"),
    ([*CALIBRATE, "--set", "nan", "5"], "finite number"),
    ([*CALIBRATE, "--margin", "-1"], "--margin between 0"),
    ([*CALIBRATE, "--margin", "inf"], "finite number"),
    ([*CALIBRATE, "--duration", "0"], "--duration above 0"),
    ([*CALIBRATE, "--duration", "1e9"], "up to 600 s"),
    ([*CALIBRATE, "--repetitions", "0"], "--repetitions"),
    (["calibrate", *P001, "--motion", "right_shoulder_flexion", "--no-window", "--camera", "-1", "--by", "Sam"],
     "camera number"),
    (["calibrate", *P001, "--motion", "right_shoulder_flexion", "--no-window", "--source", "{file}", "--by", ""],
     "--by"),
    (["calibrate", *P001, "--motion", "no_such_motion", "--no-window", "--source", "{file}", "--by", "Sam"],
     "Unknown motion"),
    (["calibrate", *P001, "--neutral", "lying", "--no-window", "--source", "{file}", "--by", "Sam"],
     "standing or seated"),
    (["calibrate", "--patient", "Jane Smith", "--motion", "right_shoulder_flexion", "--no-window", "--source",
      "{file}", "--set", "0", "90", "--by", "Sam"], "patient code"),
    (["calibrate", *P001, "--motion", "right_shoulder_flexion", "--source", "{file}", "--by", "Sam"],
     "No display was found"),
    (["calibrate", *P001, "--motion", "right_shoulder_flexion", "--no-window", "--source", "{empty}", "--accept",
      "--by", "Sam"], "Cannot read"),
    # profile and scale: every number and text
    ([*PROFILE, "--motion", "right_knee_flexion", "--min", "nan", "--max", "90"], "finite number"),
    ([*PROFILE, "--motion", "right_knee_flexion", "--min", "0", "--max", "1e308"], "physiological limit"),
    ([*PROFILE, "--height-m", "-1"], "height must be between"),
    ([*PROFILE, "--height-m", "inf"], "finite number"),
    ([*PROFILE, "--resting-bpm", "-5"], "resting breath rate"),
    ([*PROFILE, "--target-bpm", "1000"], "target breath rate"),
    ([*PROFILE, "--ie-ratio", "0"], "inhale:exhale ratio"),
    ([*PROFILE, "--notes", NOT_UTF8], "UTF-8"),
    (["profile", "set", "--patient", "Jane Smith", "--height-m", "1.7", "--by", "Sam", "--reason", "r"],
     "patient code"),
    (["profile", "set", *P001, "--height-m", "1.7", "--by", "", "--reason", "r"], "--by NAME"),
    (["profile", "set", *P001, "--height-m", "1.7", "--by", "Sam", "--reason", ""], "--reason TEXT"),
    (["profile", "show", "--patient", ""], "patient code"),
    (["profile", "history", "--patient", "Jane Smith"], "patient code"),
    (["scale", "set", "--setup", "gym", "--by", "Sam", "--height-m", "-1", "--source", "{file}"], "--height-m from 0.5"),
    (["scale", "set", "--setup", "gym", "--by", "Sam", "--height-m", "nan", "--source", "{file}"], "finite number"),
    (["scale", "set", "--setup", "gym", "--by", "Sam", "--points", "0", "0", "nan", "10", "--length-m", "1"],
     "finite number"),
    ([*SCALE_POINTS, "--length-m", "0"], "above 0"),
    ([*SCALE_POINTS, "--length-m", "inf"], "finite number"),
    (["scale", "set", "--setup", "gym", "--by", "Sam", "--points", "0", "0", "0", "0", "--length-m", "1"], "apart"),
    (["scale", "set", "--setup", "gym", "--by", "Sam", "--height-m", "1.7", "--source", "{file}", "--frames", "0"],
     "--frames"),
    (["scale", "set", "--setup", "", "--by", "Sam", "--points", "0", "0", "10", "10", "--length-m", "1"], "set-up name"),
    (["scale", "show", "--setup", "nowhere"], "No camera set-up"),
    # belts
    (["belt", "scan", "--timeout", "-1"], "--timeout"),
    (["belt", "scan", "--timeout", "nan"], "--timeout"),
    (["belt", "scan", "--timeout", "1e9"], "--timeout from 0 to 120"),
    (["belt", "record", "--device", "x", "--out", "/proc/belt.csv"], "not writable"),
    (["belt", "record", "--device", "x", "--out", "{dir}"], "is a folder"),
    (["belt", "record", "--device", "", "--out", "{out}.csv"], "--device"),
    (["belt", "record", "--device", "x", "--out", "{out}.csv", "--duration", "nan"], "--duration"),
    (["belt", "record", "--device", "x", "--out", "{out}.csv", "--scan-timeout", "1e9"], "--scan-timeout"),
    # dashboard, demo
    (["dashboard", "--port", "0"], "A port is 1-65535"),
    (["dashboard", "--port", "70000"], "A port is 1-65535"),
    (["dashboard", "--port", "99999999999"], "sensible size"),
    (["dashboard", "--address", "999.1.1.1"], "not an address"),
    (["dashboard", "--address", ""], "not an address"),
    (["dashboard", "--address", NOT_UTF8], "UTF-8"),
    (["demo", "--seed-only", "--db-url", "notaurl://"], "Cannot use the database URL"),
    # users, teams, patients
    (["user", "add", "", "--role", "admin", "--password-stdin"], "username"),
    (["user", "add", "Bad Name", "--role", "admin", "--password-stdin"], "username"),
    (["user", "add", NOT_UTF8, "--role", "admin", "--password-stdin"], "UTF-8"),
    (["user", "add", "bob", "--role", "wizard", "--password-stdin"], "role"),
    (["user", "add", "bob", "--role", "admin", "--team", "nowhere", "--password-stdin"], "no team"),
    (["user", "add", "bob", "--role", "admin", "--name", "Bob\x1b[31m", "--password-stdin"], "control character"),
    (["user", "password", "nobody", "--password-stdin"], "no user"),
    (["user", "unlock"], "Give either a username"),
    (["user", "unlock", "nobody"], "no user"),
    (["team", "add", ""], "1-120 characters"),
    (["team", "add", "x" * 500], "1-120 characters"),
    (["team", "member", "nowhere", "bob"], "no team"),
    (["patient", "add", "Jane Smith", "--team", "north"], "patient code"),
    (["patient", "add", "", "--team", "north"], "patient code"),
    (["patient", "add", "P001", "--team", "nowhere"], "no team"),
    (["nosuchcommand"], "No such command"),
    (["breathe"], "Missing option '--patient'"),
]


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """The files the cases point at, the stdin a password prompt reads, and no display."""
    work = tmp_path / "inputs"
    work.mkdir()
    (work / "empty.mp4").write_bytes(b"")
    (work / "a_folder").mkdir()
    (work / "not_a_video.txt").write_text("just text\n")
    (work / "breath.csv").write_text("t_s,value\n0.0,1.0\n0.1,1.1\n")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    return work


def fill(argv: list[str], work: Path) -> list[str]:
    paths = {"tmp": work, "file": work / "not_a_video.txt", "empty": work / "empty.mp4", "dir": work / "a_folder",
             "out": work / "new_output", "csv": work / "breath.csv"}
    return [arg.format(**{k: str(v) for k, v in paths.items()}) if "{" in arg else arg for arg in argv]


def stored_rows() -> dict[str, int]:
    """Rows a refused command must not have added ({} while the store was never made)."""
    url = f"sqlite:///{Path(os.environ['MINDMOVE_DATA_DIR']) / 'mindmove.db'}"
    if not Path(url.removeprefix("sqlite:///")).exists():
        return {}
    store = open_store(url)
    try:
        with store.session() as db:
            return {t.__tablename__: db.scalar(select(func.count()).select_from(t))
                    for t in (Session, ProfileVersion, CameraSetup, User, CareTeam, Patient)}
    finally:
        store.dispose()


def one_line_exit_2(argv: list[str], capsys) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert "Traceback" not in err and err.startswith("mindmove: "), err
    assert err.count("\n") == 1, err  # one line, whatever the terminal width
    return err


@pytest.mark.parametrize("argv, expect", CASES, ids=[" ".join(a)[:70] for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_stored(inputs, capsys, argv, expect):
    before_files = sorted(p.name for p in inputs.iterdir())
    before_rows = stored_rows()
    err = one_line_exit_2(fill(argv, inputs), capsys)
    assert expect in err, err
    assert sorted(p.name for p in inputs.iterdir()) == before_files  # no output file or folder made
    assert not list((inputs / "a_folder").iterdir())
    after = stored_rows()
    assert all(after.get(k, 0) == v for k, v in (before_rows or dict.fromkeys(after, 0)).items()), after


def test_refused_input_leaves_no_session_behind(inputs, capsys):
    """The issue's three ways a session was left "running" then "interrupted" with no samples:
    all refused before a session exists, and then a store holding a session shows none added."""
    store = open_store()
    store.dispose()
    for argv in ([*PRACTICE, "--record-video", "/proc/x.mp4"], [*BREATHE, "--polarity", "x"],
                 ["practice", *P001, "--exercise", "elbow_flexion", "--source", "{file}"]):
        one_line_exit_2(fill(argv, inputs), capsys)
    assert stored_rows()["sessions"] == 0


# --- real subprocesses: real bytes on the command line, no display, a server address ----------

def run_cli(args: list, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    environ.update({"MINDMOVE_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run([sys.executable, "-m", "mindmove", *args], cwd=REPO, env=environ, capture_output=True,
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("case", ["no display: practice", "no display: calibrate", "a path not in UTF-8",
                                  "an unusable address", "an unusable database"])
def test_real_processes_answer_with_one_line(tmp_path, case):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    args, env, expect = {
        "no display: practice": (["practice", *P001, "--exercise", "elbow_flexion", "--source", str(video)], {},
                                 b"--no-window"),
        "no display: calibrate": (["calibrate", *P001, "--motion", "right_knee_flexion", "--source", str(video),
                                   "--accept", "--by", "Sam"], {}, b"--no-window"),
        "a path not in UTF-8": (["analyze", os.fsencode(tmp_path) + b"/caf\xe9.mp4", "--out", str(tmp_path / "o")],
                                {}, b"Input not found"),
        "an unusable address": (["dashboard", "--address", "999.1.1.1"], {}, b"not an address"),
        "an unusable database": (["info"], {"MINDMOVE_DB_URL": "notaurl://"}, b"Cannot use the database URL"),
    }[case]
    proc = run_cli(args, tmp_path, **env)
    assert proc.returncode == 2, proc.stderr
    assert b"Traceback" not in proc.stderr and proc.stderr.count(b"\n") == 1, proc.stderr
    assert expect in proc.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "data" / "mindmove.db").exists()


def test_a_wrong_display_is_found_before_qt_aborts(tmp_path):
    """DISPLAY set to a display nobody serves: one line, exit 2 (Qt would abort with 134)."""
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    proc = run_cli(["practice", *P001, "--exercise", "elbow_flexion", "--source", str(video)], tmp_path,
                   DISPLAY=":97")
    assert proc.returncode == 2 and proc.stderr.count(b"\n") == 1, proc.stderr
    assert b"The display :97 cannot be reached" in proc.stderr
