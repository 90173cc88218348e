"""A quiet console: no MediaPipe / TensorFlow Lite / absl / glog log lines on any command
unless --verbose. Real subprocesses on a real video: the lines come from C++ straight to
file descriptor 2, so only a real process shows them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mindmove.console import NATIVE_LOG_LINE

REPO = Path(__file__).resolve().parents[1]


def _mindmove(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MINDMOVE_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "mindmove", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_analyze_and_practice_print_no_native_log_lines(shared, tmp_path, _isolated_data_dir):
    video = str(shared("video/pose2sim_tpose_cam01.mp4"))
    analyze = _mindmove("analyze", video, "--out", str(tmp_path / "out"), data_dir=_isolated_data_dir)
    assert analyze.returncode == 0, analyze.stderr
    assert "11 frames, a person in 11" in analyze.stdout
    assert analyze.stderr == ""
    practice = _mindmove("practice", "--patient", "P1", "--exercise", "shoulder_abduction", "--source", video,
                         "--no-window", "--fast", data_dir=_isolated_data_dir)
    assert practice.returncode == 0, practice.stderr
    # MindMove's own line on stderr passes; nothing else
    assert practice.stderr.splitlines() == ["Session 1: Shoulder abduction. Press q or Esc to finish."]
    # --verbose shows them: the check above would see them if they came through
    verbose = _mindmove("--verbose", "analyze", video, "--out", str(tmp_path / "out2"), data_dir=_isolated_data_dir)
    assert verbose.returncode == 0, verbose.stderr
    assert all(marker in verbose.stderr for marker in ("TensorFlow Lite", "inference_feedback_manager"))


def test_a_bad_input_line_still_reaches_the_console(tmp_path, _isolated_data_dir):
    result = _mindmove("analyze", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o"), data_dir=_isolated_data_dir)
    assert result.returncode == 2
    assert result.stderr.startswith("mindmove:") and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("line, native", [
    ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", True),
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", True),
    ("W0000 00:00:1796573443.708425    2008 inference_feedback_manager.cc:114] Feedback manager requires a model",
     True),
    ("I0000 00:00:1796573443.984112    2008 landmark_projection_calculator.cc:186] Using NORM_RECT", True),
    ("E1206 16:13:16.160551  4242 gl_context.cc:359] GL version: 3.2", True),
    ("mindmove: Expected --task to be one of auto, angles, gait, but got 'dance'.", False),
    ("WARNING root: session 3: breath result not saved", False),
    ("Session 1: Shoulder abduction. Press q or Esc to finish.", False),
])
def test_which_lines_are_the_libraries(line, native):
    assert bool(NATIVE_LOG_LINE.match(line.encode())) is native
