"""Test support for the telehealth tests (not a test module).

- :func:`seed_home_clinic`: a team, patients P001 and P002, P001's home programme (standing
  shoulder flexion 2 x 8, guided breathing), and an invitation token for P001.
- :class:`ServeProcess`: ``python -m mindmove serve`` in a subprocess on a free loopback port,
  on the test's own data folder and database (the offline pose bundle is built once per run
  and copied in), stopped with SIGTERM as a clinic's service manager would.
- :func:`arm_raise_frames`: a simulated body raising its right arm (known angles, see
  :mod:`synthetic`), as the page would send it: ``{"seq", "t", "p": {"w", "i", "v"}}``.
- :func:`replay_locally`: the same frames through the clinic's own practice pipeline in this
  process, for comparison with what the server stored.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SERVER_START_TIMEOUT_S = 90.0
IMAGE_SIZE = (640, 480)
ARM_EXERCISE = "standing_shoulder_flexion"
ARM_RANGE = (0.0, 95.0)  # the patient's calibrated right shoulder flexion range (deg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shared_pose_bundle(cache_dir: Path) -> Path:
    """The offline pose bundle, built once into ``cache_dir``."""
    from sensing.pose import offline_task_bundle

    return offline_task_bundle(cache_dir)


def seed_home_clinic(url: str, *, exercises=(f"{ARM_EXERCISE}=2x8",), breathing_sessions: int = 1,
                     breathing_min: float = 1.0, valid_s: float = 3600.0, exercises_dir: Path | None = None,
                     ranges: dict | None = None) -> str:
    """Seed the clinic (see the module docstring); returns P001's one-time invitation token."""
    from calibration.profile import Profile
    from mindmove.store.profiles import save_profile
    from core.ranges import SafeRange
    from mindmove.auth import create_patient, create_team
    from mindmove.programme import HomeProgrammePlan, parse_prescription, save_programme
    from mindmove.store import open_store
    from mindmove.telehealth.access import create_invitation

    store = open_store(url)
    try:
        create_team(store, "north", by="test")
        for code in ("P001", "P002"):
            create_patient(store, code, team="north", by="test")
        ranges = ranges or {"right_shoulder_flexion": ARM_RANGE}
        save_profile(store, "P001", Profile(ranges={m: SafeRange(lo, hi, 10.0) for m, (lo, hi) in ranges.items()}),
                     by="test therapist", reason="calibration")
        save_programme(store, "P001", HomeProgrammePlan(items=tuple(parse_prescription(e) for e in exercises),
                                                        days_per_week=5, breathing_sessions_per_day=breathing_sessions,
                                                        breathing_minutes=breathing_min), by="test",
                       exercises_dir=exercises_dir)
        return create_invitation(store, "P001", by="test", valid_s=valid_s).token
    finally:
        store.dispose()


def require_web_assets() -> None:
    """MediaPipe's web build, installed by ``npm ci`` (``make test`` does it): fail in CI, skip elsewhere."""
    import pytest

    if not (REPO / "web" / "node_modules" / "@mediapipe" / "tasks-vision" / "vision_bundle.mjs").is_file():
        msg = "web/node_modules is missing: run `npm ci` in web/ (make install does it)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


class ServeProcess:
    """``mindmove serve`` on 127.0.0.1 in a subprocess (see the module docstring)."""

    def __init__(self, data_dir: Path, db_url: str, *, workers: int = 0, bundle: Path | None = None,
                 env: dict | None = None) -> None:
        self.data_dir, self.db_url, self.workers = Path(data_dir), db_url, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.log_path = self.data_dir / "serve.log"
        self.env = {**os.environ, "MINDMOVE_DATA_DIR": str(self.data_dir), "MINDMOVE_DB_URL": db_url,
                    "PYTHONPATH": str(REPO), **(env or {})}
        if bundle is not None:
            models = self.data_dir / "models"
            models.mkdir(parents=True, exist_ok=True)
            if not (models / bundle.name).exists():
                shutil.copy(bundle, models / bundle.name)
        self.proc: subprocess.Popen | None = None
        require_web_assets()

    def start(self) -> "ServeProcess":
        log = open(self.log_path, "a")  # noqa: SIM115 - kept open for the subprocess, closed in stop()
        self._log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mindmove", "-v", "serve", "--address", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/api/texts", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mindmove serve did not start: {self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._log.close()
        self.proc = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def http(method: str, url: str, *, body: dict | None = None, cookie: str | None = None) -> tuple[int, dict, dict]:
    """(status, JSON body, headers) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json",
                                              **({"cookie": cookie} if cookie else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            raw, status, headers = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as exc:
        raw, status, headers = exc.read(), exc.code, dict(exc.headers)
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:
        payload = {"raw": raw[:200]}
    return status, payload, headers


def bind_device(base: str, token: str) -> str:
    """Redeem an invitation as a page would; returns the ``Cookie`` header value."""
    status, body, headers = http("POST", f"{base}/api/join", body={"token": token, "label": "test client"})
    assert status == 200, body
    cookie = headers.get("set-cookie") or headers.get("Set-Cookie")
    return cookie.split(";", 1)[0]


def wire_pose(pose, size=IMAGE_SIZE) -> dict | None:
    """A :class:`~sensing.landmarks.PoseFrame` as the page sends it (rounded as the page does)."""
    if pose is None:
        return None
    if pose.pixel_px is not None:
        image = pose.pixel_px / np.asarray(size, dtype=float)
    else:  # a body without pixels: a plain projection into the middle of the image
        image = 0.5 + pose.world_m[:, :2] / 3.0
    return {"w": [round(float(v), 5) for v in pose.world_m.reshape(-1)],
            "i": [round(float(v), 5) for v in image.reshape(-1)],
            "v": [round(float(v), 4) for v in pose.visibility]}


def arm_raise_angle_deg(t_s: float, *, period_s: float = 6.0, peak_deg: float = 88.0, rest_deg: float = 10.0,
                        start_s: float = 1.0) -> float:
    """A slow arm raise every ``period_s``, resting for the first ``start_s``."""
    if t_s < start_s:
        return rest_deg
    phase = (1.0 - math.cos(2.0 * math.pi * (t_s - start_s) / period_s)) / 2.0
    return rest_deg + (peak_deg - rest_deg) * phase


def arm_raise_frames(n_frames: int, *, rate_hz: float = 15.0, t0: float = 3.0, **raise_options) -> list[dict]:
    """Frames of a body raising its right arm (``arm_raise_angle_deg``), as the page sends them."""
    from synthetic import BodySpec, simulate_pose_frame

    frames = []
    for k in range(n_frames):
        t = k / rate_hz
        pose = simulate_pose_frame({"right_shoulder_flexion": arm_raise_angle_deg(t, **raise_options)}, BodySpec(image_size=IMAGE_SIZE))
        frames.append({"seq": k, "t": round(t0 + t, 4), "p": wire_pose(pose)})
    return frames


def replay_locally(frames: list[dict], *, profile_record, exercise: str = ARM_EXERCISE,
                   exercises_dir: Path | None = None):
    """The frames through the clinic's own pipeline in this process, with the patient's profile
    (``calibration.profile.load_profile``): (samples by channel {channel: [(t_s, value)]},
    repetitions [(index, peak_deg)], the PracticeResult)."""
    from calibration.practice import build_practice_pipeline
    from feedback.exercises import load_exercise
    from feedback.pacer import Pacer, PacerPlan
    from feedback.session import PracticeBreath, PracticeSession
    from mindmove.telehealth.protocol import parse_frame

    class Record:
        def __init__(self):
            self.samples, self.reps = {}, []

        def add_samples(self, t_s, values):
            for name, v in values.items():
                self.samples.setdefault(name, []).append((t_s, v))

        def add_cue(self, **kw):
            pass

        def add_repetition(self, **kw):
            self.reps.append((kw["index"], kw["peak_deg"]))

    ex = load_exercise(exercise, directory=exercises_dir)
    pipeline = build_practice_pipeline(ex, profile_record=profile_record)
    breath = None
    if ex.breath is not None:
        breath = PracticeBreath(pacer=Pacer(PacerPlan(rate_bpm=ex.breath.pacer_rate_bpm,
                                                      ie_ratio=ex.breath.pacer_ie_ratio)))
    record = Record()
    session = PracticeSession(pipeline, recorder=record, breath=breath)
    t_first = None
    for raw in frames:
        frame = parse_frame(raw)
        t_first = frame.t if t_first is None else t_first
        session.update(frame.t - t_first, frame.pose)
    result = session.finish(processed=len(frames))
    return record.samples, record.reps, result


def load_patient_profile(url: str, code: str = "P001"):
    from mindmove.store.profiles import load_profile
    from mindmove.store import open_store

    store = open_store(url)
    try:
        return load_profile(store, code)
    finally:
        store.dispose()


def write_y4m(video: Path, dest: Path, *, width: int, fps: int = 30) -> tuple[int, int, int]:
    """``video`` downscaled to ``width`` as a Y4M file (Chromium's fake camera plays it in a
    loop); returns (frames, width, height). The frames are 4:2:0, as a webcam sends them."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    n, size = 0, None
    with open(dest, "wb") as out:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            h, w = image.shape[:2]
            size = (width, int(round(h * width / w / 2)) * 2)
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            if n == 0:
                out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            out.write(b"FRAME\n" + cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())
            n += 1
    cap.release()
    return n, *size


def read_y4m(path: Path):
    """The BGR frames of a Y4M file written by :func:`write_y4m` (what the fake camera shows)."""
    import cv2

    data = Path(path).read_bytes()
    header, _, rest = data.partition(b"\n")
    fields = {f[:1]: f[1:] for f in header.split()[1:]}
    w, h = int(fields[b"W"]), int(fields[b"H"])
    frame_bytes = w * h * 3 // 2
    frames = []
    for chunk in rest.split(b"FRAME\n")[1:]:
        yuv = np.frombuffer(chunk[:frame_bytes], dtype=np.uint8).reshape(h * 3 // 2, w)
        frames.append(cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420))
    return frames
