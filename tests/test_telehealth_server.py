"""`mindmove serve` for real: a uvicorn server in a subprocess on loopback, a WebSocket client
speaking as the patient's page, the real SQLite store of the test.

The frames are a simulated body raising its right arm (known angles): the page's pose model
is exercised by the browser tests (tests/test_telehealth_browser.py); here the server is."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mindmove.store import open_store
from mindmove.store.models import AuditEntry, CheckIn, CueEvent, Repetition, Sample, Session
from telehealth_support import (
    ARM_EXERCISE, ServeProcess, arm_raise_frames, bind_device, http, load_patient_profile, replay_locally,
    seed_home_clinic,
    shared_pose_bundle,
)

RECV_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return shared_pose_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture
def clinic(tmp_path, bundle):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    token = seed_home_clinic(url)
    server = ServeProcess(tmp_path / "data", url, bundle=bundle).start()
    yield server, url, token
    server.stop()


def _open(server, cookie):
    return connect(server.ws_url, additional_headers={"Cookie": cookie}, max_size=None, open_timeout=20)


def _recv(ws) -> dict:
    return json.loads(ws.recv(timeout=RECV_TIMEOUT_S))


def _start(ws, **fields) -> dict:
    ws.send(json.dumps({"type": "start", "exercise": ARM_EXERCISE, "side": None, **fields}))
    reply = _recv(ws)
    assert reply["type"] == "started", reply
    return reply


def _send_frames(ws, frames, batch: int = 1) -> list[dict]:
    replies = []
    for k in range(0, len(frames), batch):
        ws.send(json.dumps({"type": "frames", "frames": frames[k:k + batch]}))
        replies.append(_recv(ws))
    return replies


def _rows(url, session_id):
    store = open_store(url)
    try:
        with store.session() as db:
            s = db.get(Session, session_id)
            samples = db.execute(select(Sample.channel, Sample.t_s, Sample.value).where(Sample.session_id == session_id)
                                 .order_by(Sample.channel, Sample.t_s)).all()
            reps = db.execute(select(Repetition.index, Repetition.peak_deg).where(Repetition.session_id == session_id)
                              .order_by(Repetition.index)).all()
            checkins = {c.phase: (c.pain, c.mood) for c in db.scalars(select(CheckIn).where(CheckIn.session_id == session_id))}
            cues = db.scalar(select(func.count(CueEvent.id)).where(CueEvent.session_id == session_id))
            actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
            return s, samples, reps, checkins, cues, actions
    finally:
        store.dispose()


def _by_channel(samples):
    out = {}
    for channel, t, v in samples:
        out.setdefault(channel, []).append((t, v))
    return out


def test_home_session_runs_the_clinic_pipeline_and_is_stored_as_home(clinic):
    server, url, token = clinic
    cookie = bind_device(server.base, token)
    frames = arm_raise_frames(15 * 20)  # 20 s at 15 Hz: three arm raises (every 6 s from 1 s)
    with _open(server, cookie) as ws:
        started = _start(ws, pain=4, mood=3)
        views = _send_frames(ws, frames, batch=5)  # 20 s of frames at once: within the rate limits in batches
        ws.send(json.dumps({"type": "finish", "pain": 3, "mood": 4}))
        finished = _recv(ws)
    assert finished["type"] == "finished" and finished["repetitions"] == 3
    assert finished["text"] == "Thank you for practising today"
    # what the page was told: the gauge against the calibrated range, the count, the pacer
    last = views[-1]
    assert last["gauge"]["min_deg"] == 0.0 and last["gauge"]["max_deg"] == 95.0
    assert last["repetitions"] == 3 and last["target"] == 8
    assert last["pacer"]["text"] in ("Breathe in", "Breathe out", "Hold softly")
    peak_view = max((v for v in views if v["gauge"]["value_deg"] is not None), key=lambda v: v["gauge"]["value_deg"])
    assert 85.0 < peak_view["gauge"]["value_deg"] <= 88.5 and peak_view["gauge"]["band"] == "caution"
    assert all(v["ack"] <= v["seq"] for v in views) and [v["seq"] for v in views[:2]] == [4, 9]
    said = {v["cue_text"] for v in views if v["cue_text"]}  # the catalogue's sentences, filled in
    assert {"Welcome. Move gently, at your own pace", "Raise as you breathe in", "That's 3",
            "You're approaching your comfortable limit"} <= said

    s, samples, reps, checkins, cues, actions = _rows(url, started["session"])
    assert (s.location, s.status, s.kind, s.exercise) == ("home", "completed", "practice", ARM_EXERCISE)
    assert s.station == "home-device-1" and s.summary["location"] == "home"
    assert checkins == {"before": (4, 3), "after": (3, 4)}
    # exactly what the clinic's pipeline gives for the same frames in this process
    local_samples, local_reps, result = replay_locally(frames, profile_record=load_patient_profile(url))
    stored = _by_channel(samples)
    assert set(stored) == set(local_samples)
    for channel, series in local_samples.items():
        assert len(stored[channel]) == len(series)
        for (t1, v1), (t2, v2) in zip(stored[channel], series):
            assert t1 == pytest.approx(t2, abs=1e-9)
            assert (v1 is None and (v2 is None or v2 != v2)) or v1 == pytest.approx(v2, abs=1e-9)
    assert [(i, round(p, 6)) for i, p in reps] == [(i, round(p, 6)) for i, p in local_reps]
    assert len(reps) == 3 and s.summary["repetitions"] == result.summary["repetitions"] == 3
    assert cues == len(result.cues) > 0
    assert {"bind_device", "home_session_start", "home_session_finish"} <= set(actions)
    journal = server.data_dir / "telehealth" / "journals" / f"{started['session']}.jsonl"
    assert not journal.exists()  # the landmarks are not kept once the session is recorded


def test_guided_breathing_at_home_without_a_belt(clinic):
    server, url, token = clinic
    cookie = bind_device(server.base, token)
    ticks = [{"seq": k, "t": round(10.0 + 0.1 * k, 3), "p": None} for k in range(300)]  # 30 s at 10 Hz
    with _open(server, cookie) as ws:
        ws.send(json.dumps({"type": "start", "breathing": True}))
        started = _recv(ws)
        views = _send_frames(ws, ticks, batch=10)
        ws.send(json.dumps({"type": "finish"}))
        assert _recv(ws)["type"] == "finished"
    phases = [v["pacer"]["phase"] for v in views]
    # 6 breaths/min at 1:2: the inhale lasts 3.33 s, then 6.67 s out: phase at 1 s, 5 s, 11 s
    assert phases[0] == "inhale" and phases[4] == "exhale" and phases[10] == "inhale"
    assert views[0]["gauge"] is None and views[0]["pacer"]["text"] == "Breathe in"
    store = open_store(url)
    try:
        with store.session() as db:
            s = db.get(Session, started["session"])
            from mindmove.store.models import BreathResult

            b = db.scalar(select(BreathResult).where(BreathResult.session_id == s.id))
    finally:
        store.dispose()
    assert (s.kind, s.location, s.status) == ("breathe", "home", "completed")
    assert s.active_s == pytest.approx(29.9, abs=0.01) and b.pacer_target_bpm == 6.0


def test_an_exercise_outside_the_programme_is_refused(clinic):
    server, _, token = clinic
    cookie = bind_device(server.base, token)
    with _open(server, cookie) as ws:
        ws.send(json.dumps({"type": "start", "exercise": "sit_to_stand"}))
        reply = _recv(ws)
    assert reply["type"] == "error" and reply["code"] == "refused"
    assert reply["text"].startswith("This exercise is not in your home programme")


def test_malformed_oversized_binary_and_out_of_order_messages_are_refused_and_logged(clinic):
    server, url, token = clinic
    cookie = bind_device(server.base, token)
    frames = arm_raise_frames(40)
    bad_pose = {**frames[1], "p": {**frames[1]["p"], "w": frames[1]["p"]["w"][:-3]}}
    cases = [
        ("not json at all", "malformed"),
        (json.dumps([1, 2, 3]), "malformed"),
        (json.dumps({"type": "teleport"}), "malformed"),
        (json.dumps({"type": "frames", "frames": [bad_pose]}), "malformed"),
        ('{"type": "frames", "frames": [{"seq": 1, "t": NaN, "p": null}]}', "malformed"),
        (json.dumps({"type": "frames", "frames": [{**frames[1], "image": "data:image/jpeg;base64,AAAA"}]}), "malformed"),
        (json.dumps({"type": "frames", "frames": [frames[1]] * 17}), "malformed"),
        (json.dumps({"type": "frames", "frames": [frames[1]], "pad": "x" * 40_000}), "oversized"),
        (b"\xff\xd8\xff\xe0 a JPEG", "binary"),
        (json.dumps({"type": "frames", "frames": [frames[5]]}), "gap"),  # frame 1 expected next
        (json.dumps({"type": "frames", "frames": [{**frames[1], "t": frames[0]["t"]}]}), "out_of_order"),
    ]
    with _open(server, cookie) as ws:
        ws.send(json.dumps({"type": "frames", "frames": [frames[0]]}))
        assert _recv(ws)["code"] == "no_session"  # frames before a session
        started = _start(ws)
        assert _send_frames(ws, frames[:1])[0]["seq"] == 0
        for message, code in cases:
            ws.send(message)
            reply = _recv(ws)
            assert (reply["type"], reply["code"]) == ("error", code), message[:60]
        # the connection and the session go on: a repeated frame is skipped, the next one taken
        skipped = _send_frames(ws, frames[:1])[0]
        assert skipped["type"] == "ack" and skipped["ack"] in (-1, 0)  # -1: not yet durable (synced each second)
        assert [r["seq"] for r in _send_frames(ws, frames[1:40], batch=13)] == [13, 26, 39]
        ws.send(json.dumps({"type": "finish"}))
        assert _recv(ws)["type"] == "finished"
    # far beyond any message the page sends: the WebSocket layer closes the connection (1009) ...
    with _open(server, cookie) as ws:
        ws.send("x" * (2 << 20))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=RECV_TIMEOUT_S)
        assert closed.value.rcvd.code == 1009
    # ... and the server serves on
    status, body, _ = http("GET", f"{server.base}/api/me", cookie=cookie)
    assert status == 200 and body["plan"]["items"][0]["exercise"] == ARM_EXERCISE
    s, samples, *_ = _rows(url, started["session"])
    assert s.summary["telehealth"]["frames"] == 40 and s.summary["telehealth"]["duplicates_skipped"] == 1
    log = server.log()
    assert "refused" in log and "Traceback" not in log


def test_rate_limits_per_device(clinic):
    server, _, token = clinic
    cookie = bind_device(server.base, token)
    frames = arm_raise_frames(200)
    with _open(server, cookie) as ws:
        _start(ws)
        for frame in frames:  # far faster than any camera: 200 messages at once
            ws.send(json.dumps({"type": "frames", "frames": [frame]}))
        replies = [_recv(ws) for _ in frames]
    refused = [r for r in replies if r.get("code") == "rate"]
    taken = [r for r in replies if r["type"] == "view"]
    # the burst allowance (120 messages) passes, and what refills while the server works (60 a
    # second, so how many depends on the machine's speed); a frame after a refused one is a gap
    # in the sequence (the page resends from the last acknowledged frame), never a crash
    others = {r.get("code") for r in replies if r["type"] != "view" and r.get("code") != "rate"}
    assert others <= {"gap"} and len(taken) >= 120 and len(refused) >= 10
    # a page that goes on sending refused messages is disconnected
    with _open(server, cookie) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(200):
                ws.send("not json")
                _recv(ws)
    assert closed.value.rcvd.code == 4408


def test_a_revoked_device_loses_its_connection_and_its_page(clinic):
    from mindmove.telehealth.access import revoke_devices

    server, url, token = clinic
    cookie = bind_device(server.base, token)
    frames = arm_raise_frames(10)
    with _open(server, cookie) as ws:
        started = _start(ws)
        _send_frames(ws, frames)
        store = open_store(url)
        try:
            assert revoke_devices(store, "P001", by="test therapist") == 1
        finally:
            store.dispose()
        t0 = time.monotonic()
        got, code = [], None
        while code is None:  # the page sends nothing more: the server ends the connection by itself
            try:
                got.append(_recv(ws))
            except ConnectionClosed as exc:
                code = exc.rcvd.code
        assert code == 4403 and time.monotonic() - t0 < 2.0  # polled every 0.5 s
    assert got[-1]["type"] == "revoked" and got[-1]["text"].startswith("This device is no longer connected")
    status, body, _ = http("GET", f"{server.base}/api/me", cookie=cookie)
    assert status == 401 and "no longer connected" in body["text"]
    with _open(server, cookie) as ws:  # a new connection is refused too
        assert _recv(ws)["code"] == "device_refused"
    s, *_rest, actions = _rows(url, started["session"])
    assert s.status == "interrupted" and s.summary["location"] == "home"  # what was done is kept
    assert "revoke_device" in actions and "device_refused" in actions


def test_links_expired_used_or_unknown_are_refused(clinic, tmp_path):
    from datetime import timedelta

    from mindmove.store.models import utcnow
    from mindmove.telehealth.access import create_invitation

    server, url, token = clinic
    bind_device(server.base, token)
    status, body, _ = http("POST", f"{server.base}/api/join", body={"token": token})
    assert status == 403 and body["text"].startswith("This link cannot be used")
    store = open_store(url)
    try:
        old = create_invitation(store, "P002", by="test", valid_s=3600.0, now=utcnow() - timedelta(hours=2))
    finally:
        store.dispose()
    assert http("POST", f"{server.base}/api/join", body={"token": old.token})[0] == 403
    assert http("POST", f"{server.base}/api/join", body={"token": "made-up"})[0] == 403
    assert http("GET", f"{server.base}/api/me")[0] == 401  # no device at all


def test_a_patient_device_reads_its_own_patient_only_and_no_clinician_route(clinic):
    server, url, token = clinic
    cookie = bind_device(server.base, token)
    store = open_store(url)
    try:
        with store.session() as db:  # a session of the other patient, which P001 must never see
            from mindmove.store.models import Patient

            p2 = db.scalar(select(Patient.id).where(Patient.code == "P002"))
            db.add(Session(patient_id=p2, kind="practice", exercise="sit_to_stand", status="completed", active_s=60.0))
    finally:
        store.dispose()
    for path in ("/api/me", "/api/me?patient=P002", "/api/me?patient_code=P002"):
        status, body, _ = http("GET", f"{server.base}{path}", cookie=cookie)
        assert status == 200 and all(s["what"] != "Sit to stand" for s in body["sessions"])
        assert body["plan"]["items"][0]["exercise"] == ARM_EXERCISE
    for path in ("/dashboard", "/api/patients", "/api/sessions", "/api/audit", "/api/programme", "/admin",
                 "/vendor/tasks-vision/package.json", "/js/../../mindmove/auth.py"):
        assert http("GET", f"{server.base}{path}", cookie=cookie)[0] == 404, path
    assert http("GET", f"{server.base}/model/pose_landmarker.task")[0] == 401  # the model: bound devices only


def _children(pid: int) -> list[int]:
    from pathlib import Path

    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_pipeline_workers_and_a_worker_that_dies(tmp_path, bundle):
    """With worker processes (as `mindmove serve` runs by default on several cores) the record
    is the same; a worker killed mid-session is started again and the session comes back from
    its journal, the page sending again what was not yet acknowledged."""
    import os
    import signal

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    token = seed_home_clinic(url)
    server = ServeProcess(tmp_path / "data", url, workers=2, bundle=bundle).start()
    try:
        cookie = bind_device(server.base, token)
        frames = arm_raise_frames(15 * 14)
        workers = _children(server.proc.pid)
        assert len(workers) == 2
        with _open(server, cookie) as ws:
            started = _start(ws)
            views = _send_frames(ws, frames[:100], batch=4)
            time.sleep(1.2)  # the journal is synced at most every second: the next reply acknowledges
            acked = _send_frames(ws, frames[100:104], batch=4)[0]["ack"]
            assert acked >= 99
            os.kill(workers[1], signal.SIGKILL)  # device 1 is routed to worker 1
            with pytest.raises(ConnectionClosed) as closed:
                for k in range(104, len(frames), 4):
                    _send_frames(ws, frames[k:k + 4], batch=4)
            assert closed.value.rcvd.code == 1011
        deadline = time.monotonic() + 60
        while len(_children(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        with _open(server, cookie) as ws:
            ws.send(json.dumps({"type": "resume", "session": started["session"], "next": acked + 1}))
            resumed = _recv(ws)
            assert resumed["type"] == "resumed" and acked + 1 <= resumed["next"] <= 104
            _send_frames(ws, frames[resumed["next"]:], batch=4)
            ws.send(json.dumps({"type": "finish"}))
            assert _recv(ws)["repetitions"] == 2
    finally:
        server.stop()
    assert views[-1]["seq"] == 99
    s, samples, reps, *_ = _rows(url, started["session"])
    local_samples, local_reps, _ = replay_locally(frames, profile_record=load_patient_profile(url))
    stored = _by_channel(samples)
    for channel, series in local_samples.items():
        assert [v for _, v in stored[channel]] == pytest.approx([None if v != v else v for _, v in series], nan_ok=True)
    assert [i for i, _ in reps] == [i for i, _ in local_reps] == [1, 2]
    assert s.status == "completed" and s.summary["telehealth"]["frames"] == len(frames)
