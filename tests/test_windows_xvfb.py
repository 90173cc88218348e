"""The practice and calibration windows, for real, on a virtual X display.

`mindmove practice` and `mindmove calibrate` run as subprocesses WITH their OpenCV (Qt)
windows on Xvfb, with a small window manager (evilwm: full screen and the close button
need one, as on any desktop). The windows are found with xdotool, photographed with xwd
(screenshots saved under test-output/, git-ignored) and driven with real key presses and a
real close request. Needs the Debian packages xvfb, xdotool, x11-apps (xwd) and evilwm:
in CI (CI=true) a missing one fails, elsewhere the tests are skipped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import queue
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.display

REPO = Path(__file__).resolve().parents[1]
SCREEN_PX = (1920, 1080)
MINDMOVE = [sys.executable, "-m", "mindmove.cli"]
SCREENSHOTS = REPO / "test-output"
WAIT_S = 90.0  # upper bound for a window or a line to appear (model load and a whole clip included;
#               only reached when something is broken, so a loaded machine cannot fail a test)
CUE_BAND_FRACTION = 0.06  # bottom share of the image that is surely inside the cue band
# The proposal's letters against the same text drawn offscreen: 0.95 measured on the
# 1280x720 window; the capture instruction still on screen would score about 0.17.
PROPOSAL_TEXT_MIN_IOU = 0.75
SPORTS2D_S = 230 / 30  # the clip's length: 230 frames at 30 fps


def _need_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        msg = f"{', '.join(missing)} not installed (Debian: xvfb xdotool x11-apps evilwm)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def display():
    """``{"DISPLAY": ":N"}`` of a fresh Xvfb (1920x1080, a free display number chosen by
    Xvfb itself) with evilwm running on it; both stopped afterwards."""
    _need_tools("Xvfb", "xdotool", "xwd", "evilwm")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN_PX[0]}x{SCREEN_PX[1]}x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()  # written once the server accepts connections
    assert number.isdigit(), "Xvfb did not report its display number"
    env = {"DISPLAY": f":{number}"}
    wm = subprocess.Popen(["evilwm", "-fn", "fixed"], env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    # evilwm places a new window at the pointer: keep the pointer in the top-left corner.
    _x(env, "xdotool", "mousemove", "0", "0")
    try:
        yield env
    finally:
        for proc in (wm, xvfb):
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def _x(env: dict, *argv: str) -> str:
    out = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=10)
    return out.stdout


class _Command:
    """A mindmove subprocess whose stdout lines can be awaited while it runs."""

    def __init__(self, args: list[str], env: dict) -> None:
        self.proc = subprocess.Popen(MINDMOVE + args, cwd=REPO, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line)

    def wait_line(self, pattern: str) -> re.Match:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.proc.stderr.read()[-2000:]}"
                continue
            self.lines.append(line)
            if m := re.search(pattern, line):
                return m
        raise AssertionError(f"no line matching {pattern!r}; got {self.lines}")

    def finish(self) -> tuple[int, str, str]:
        rc = self.proc.wait(timeout=WAIT_S)
        time.sleep(0.1)
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return rc, "".join(self.lines), self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def run(display):
    started: list[_Command] = []

    def start(*args: str) -> _Command:
        command = _Command(list(args), display)
        started.append(command)
        return command

    yield start
    for command in started:
        command.kill()


def _find_window(env: dict, title: str, command: _Command) -> int:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        ids = _x(env, "xdotool", "search", "--onlyvisible", "--name", f"^{title}$").split()
        if ids:
            return int(ids[0])
        assert command.proc.poll() is None, f"exited {command.proc.returncode}: {command.proc.stderr.read()[-2000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no window named {title!r}")


def _window_size(env: dict, win: int) -> tuple[int, int]:
    geometry = _x(env, "xdotool", "getwindowgeometry", str(win))
    w, h = re.search(r"Geometry: (\d+)x(\d+)", geometry).groups()
    return int(w), int(h)


def _screenshot(env: dict, title: str) -> tuple[int, np.ndarray]:
    """(window id, the window's pixels, BGR) from an XWD dump (xwd -id): a 100-byte big-endian
    header of 25 32-bit fields, the window name, a colour map, then rows of ``bytes_per_line``.
    The window is looked up each time: Qt may replace its native window while setting it up."""
    for _ in range(25):
        ids = _x(env, "xdotool", "search", "--onlyvisible", "--name", f"^{title}$").split()
        win = int(ids[-1]) if ids else 0
        done = subprocess.run(["xwd", "-silent", "-id", str(win)], env={**os.environ, **env}, capture_output=True,
                              timeout=10)
        if win and done.returncode == 0:
            break
        time.sleep(0.2)
    assert done.returncode == 0, done.stderr.decode()[-500:]
    data = done.stdout
    header = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order, bits_per_pixel, bytes_per_line, n_colours = (
        header[0], header[4], header[5], header[7], header[11], header[12], header[19])
    assert bits_per_pixel == 32 and byte_order == 0, "expected 32-bit LSB-first pixels (a 24-bit Xvfb screen)"
    rows = np.frombuffer(data, np.uint8, count=bytes_per_line * height, offset=header_size + 12 * n_colours)
    return win, rows.reshape(height, bytes_per_line)[:, :4 * width].reshape(height, width, 4)[:, :, :3].copy()


def _save(image: np.ndarray, name: str) -> Path:
    import cv2

    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / name
    cv2.imwrite(str(path), image)
    return path


def _image_area(shot: np.ndarray) -> np.ndarray:
    """The camera image inside the window, without flat bars at the sides (letterboxing)."""
    flat = shot[shot.shape[0] // 2, 0]
    differs = np.any(np.abs(shot.astype(int) - flat) > 8, axis=2)
    cols = np.nonzero(differs.any(axis=0))[0]
    rows = np.nonzero(differs.any(axis=1))[0]
    return shot[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _has_cue_band(shot: np.ndarray) -> bool:
    """A black band across the image's bottom with white letters on it."""
    if (shot == shot[0, 0]).all():
        return False  # nothing drawn yet (or the black probe measuring the screen)
    image = _image_area(shot)
    band = image[-max(3, int(image.shape[0] * CUE_BAND_FRACTION)):]
    dark = (band.max(axis=2) < 40).mean()
    white = (band.min(axis=2) > 215).mean()
    return dark > 0.6 and white > 0.02


def _band_text_overlap(image: np.ndarray, text: str, *, frame_size: tuple[int, int]) -> float:
    """How well the white letters in the bottom band of ``image`` (a window's picture) match
    ``text`` drawn by the cue renderer on a frame of ``frame_size`` scaled to the window:
    intersection over union of the two white masks, over the rows of the drawn letters (1 =
    the same letters in the same places; another text, e.g. the capture's instruction, scores
    about 0.2, and a band with no letters 0)."""
    import cv2

    from feedback.render_practice import render_cue_line

    h, w = image.shape[:2]
    expected = render_cue_line(np.zeros((frame_size[1], frame_size[0], 3), np.uint8), text)
    expected = cv2.resize(expected, (w, h), interpolation=cv2.INTER_AREA).min(axis=2) > 127
    top = max(0, int(np.nonzero(expected.any(axis=1))[0].min()) - 5)
    shown = image[top:].min(axis=2) > 127
    expected = expected[top:]
    return float((expected & shown).sum() / max(1, (expected | shown).sum()))


def _photograph_cue(env: dict, title: str, command: _Command) -> tuple[int, np.ndarray]:
    """(window id, screenshot) once a cue is on screen (the first frames may have none)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        win, shot = _screenshot(env, title)
        if _has_cue_band(shot) or time.monotonic() > deadline or command.proc.poll() is not None:
            return win, shot
        time.sleep(0.2)


def _request_close(env: dict, win: int) -> None:
    """What a window manager sends when the window's close button is clicked: a
    WM_PROTOCOLS client message carrying WM_DELETE_WINDOW (ICCCM 4.2.8.1)."""

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]

    class Event(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(Event)]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(env["DISPLAY"].encode())
    assert dpy, f"cannot open display {env['DISPLAY']}"
    try:
        event = Event()
        event.xclient.type = 33  # ClientMessage
        event.xclient.window = win
        event.xclient.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        event.xclient.format = 32
        event.xclient.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        assert x11.XSendEvent(dpy, win, 0, 0, ctypes.byref(event))
        x11.XFlush(dpy)
    finally:
        x11.XCloseDisplay(dpy)


def _sessions(data_dir: Path) -> list[tuple]:
    con = sqlite3.connect(data_dir / "mindmove.db")
    try:
        return con.execute("select id, status, ended_at, summary from sessions").fetchall()
    finally:
        con.close()


def _checkins(data_dir: Path) -> dict[str, tuple[int, int]]:
    con = sqlite3.connect(data_dir / "mindmove.db")
    try:
        return {w: (p, m) for w, p, m in con.execute("select phase, pain, mood from checkins")}
    finally:
        con.close()


PRACTICE = ["practice", "--patient", "P1", "--exercise", "standing_shoulder_flexion", "--pain-before", "3",
            "--mood-before", "3", "--pain-after", "2", "--mood-after", "4"]


def _assert_completed_early(data_dir: Path, out: str) -> dict:
    (sid, status, ended, summary_json), = _sessions(data_dir)
    summary = json.loads(summary_json)
    assert status == "completed" and ended is not None
    assert f"Session {sid} saved" in out
    # Ended by the key or the close, well before the clip's end.
    assert 0.5 < summary["duration_s"] < SPORTS2D_S - 1.0
    assert summary["frames"]["processed"] > 0 and summary["exercise"] == "standing_shoulder_flexion"
    assert _checkins(data_dir) == {"before": (3, 3), "after": (2, 4)}
    return summary


def test_practice_full_screen_shows_the_view_and_q_finishes(run, display, shared, _isolated_data_dir):
    video = shared("video/sports2d_demo.mp4")
    command = run(*PRACTICE, "--source", str(video))
    _find_window(display, "MindMove practice", command)
    win, shot = _photograph_cue(display, "MindMove practice", command)
    path = _save(shot, "xvfb_practice_fullscreen.png")
    assert command.proc.poll() is None, "the session ended before q was pressed"
    assert _window_size(display, win) == SCREEN_PX  # full screen, readable from 2-3 m
    image = _image_area(shot)
    # The 1768x994 clip enlarged to the screen's height, aspect ratio kept, black bars at the sides.
    assert image.shape[0] == SCREEN_PX[1] and abs(image.shape[1] / image.shape[0] - 1768 / 994) < 0.01
    assert _has_cue_band(shot), f"no cue band in {path}"
    # The gauge (top right): Okabe-Ito bluish green (comfortable) and vermillion (beyond).
    gauge = image[: image.shape[0] // 3, image.shape[1] * 2 // 3:].astype(int)
    for bgr in ((115, 158, 0), (0, 94, 213)):
        assert (np.abs(gauge - bgr).max(axis=2) < 25).sum() > 500, f"gauge colour {bgr} missing in {path}"
    subprocess.run(["xdotool", "key", "--window", str(win), "q"], env={**os.environ, **display}, check=True)
    rc, out, err = command.finish()
    assert rc == 0, err[-2000:]
    _assert_completed_early(_isolated_data_dir, out)


def test_practice_window_closed_finishes_the_session(run, display, shared, _isolated_data_dir):
    video = shared("video/sports2d_demo.mp4")
    command = run(*PRACTICE, "--source", str(video), "--windowed")
    _find_window(display, "MindMove practice", command)
    win, shot = _photograph_cue(display, "MindMove practice", command)
    _save(shot, "xvfb_practice_windowed.png")
    # Sized to the image (at most 1280x720), not OpenCV's 400x300 default.
    assert _window_size(display, win) == (1280, 720)
    assert _has_cue_band(shot)
    _request_close(display, win)
    rc, out, err = command.finish()
    assert rc == 0, err[-2000:]
    _assert_completed_early(_isolated_data_dir, out)


# The man on the box in sports2d_demo.mp4 raises his arms out to the side: abduction. (Flexion
# was used here until feedback.angles checked the plane of elevation; a sideways arm has no
# flexion now, so right flexion is known in only 61 % of the frames, under the 70 % needed.)
# The first 5.5 s, while the man stands on the box and raises his arms twice; the capture
# follows him alone (never the woman walking past), and he leaps out of view after that.
CALIBRATE = ["calibrate", "--patient", "P1", "--motion", "right_shoulder_abduction", "--by", "T. Therapist",
             "--duration", "5.5", "--repetitions", "2"]
PROPOSAL = r"right_shoulder_abduction: proposed (-?[\d.]+)\.\.(-?[\d.]+) deg"


def _profile_versions(data_dir: Path) -> int:
    con = sqlite3.connect(data_dir / "mindmove.db")
    try:
        return con.execute("select count(*) from profile_versions").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("key", ["a", "r"])
def test_calibrate_window_accept_or_reject(run, display, shared, _isolated_data_dir, key):
    from mindmove.store.profiles import load_profile
    from mindmove.store import open_store

    video = shared("video/sports2d_demo.mp4")
    command = run(*CALIBRATE, "--source", str(video))
    _find_window(display, "MindMove calibration", command)
    lo, hi = (float(v) for v in command.wait_line(PROPOSAL).groups())
    time.sleep(0.5)  # the proposal is drawn right after the line is printed
    win, shot = _screenshot(display, "MindMove calibration")
    _save(shot, f"xvfb_calibrate_proposal_{key}.png")
    assert _window_size(display, win) == (1280, 720)  # the 1768x994 clip, fitted; not 400x300
    text = f"right shoulder abduction: proposed {lo:g}..{hi:g} deg:  a accept, e edit, r reject"
    assert _band_text_overlap(_image_area(shot), text, frame_size=(1768, 994)) > PROPOSAL_TEXT_MIN_IOU
    subprocess.run(["xdotool", "key", "--window", str(win), key], env={**os.environ, **display}, check=True)
    rc, out, err = command.finish()
    assert rc == 0, err[-2000:]
    store = open_store()
    try:
        record = load_profile(store, "P1")
    finally:
        store.dispose()
    if key == "a":
        assert "profile version 1 saved by T. Therapist" in out
        r = record.profile.ranges["right_shoulder_abduction"]
        assert (r.min_deg, r.max_deg) == (pytest.approx(lo, abs=0.05), pytest.approx(hi, abs=0.05))
        assert record.created_by == "T. Therapist" and record.reason == "guided capture of right_shoulder_abduction"
    else:
        assert "right_shoulder_abduction: rejected." in out and "the profile is unchanged" in out
        assert record is None and _profile_versions(_isolated_data_dir) == 0
