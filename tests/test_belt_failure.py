"""An unexpected error in the belt thread: never silent, never a hang.

The real ``bleak.BleakClient`` and our supervisor run against the in-memory devices of
tests/belt_backend.py, the one mock, at the hardware seam (no Bluetooth radio here). The
device's ``connect()`` raises a ``RuntimeError`` (not a link error: a driver bug) on a chosen
connection. Every consumer must end or report it in one line: the stream itself, the
``breathe`` reader (:class:`sensing.breath_source.BeltBreathSource`), the practice
:class:`feedback.session.BeltFeed`, and the ``breathe --belt`` command.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import pytest
from sqlalchemy import select

from belt_backend import VernierEmulator, make_backend
from core.errors import SourceError
from sensing.belts import BreathSample, ReconnectPolicy, open_belt
from sensing.breath_source import BeltBreathSource

FAST = ReconnectPolicy(first_delay_s=0.02, initial_attempts=2)
ADDRESS = "C4:64:E3:00:00:01"
DEADLINE_S = 10.0


def failing_stream(**device_options):
    device = VernierEmulator(**device_options)
    return device, open_belt(ADDRESS, kind="vernier", backend=make_backend(device), reconnect=FAST)


def test_unexpected_error_on_connecting_is_a_one_line_source_error(caplog):
    device = VernierEmulator(fail_on_connection=1)
    with caplog.at_level(logging.ERROR, logger="sensing.belts.stream"):
        with pytest.raises(SourceError) as info:
            open_belt(ADDRESS, kind="vernier", backend=make_backend(device), reconnect=FAST)
    text = str(info.value)
    assert "\n" not in text and "RuntimeError" in text and "driver crashed" in text
    assert isinstance(info.value.__cause__, RuntimeError)
    # the traceback is logged once, for whoever reads the log
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


@pytest.mark.timeout(30)
def test_breathe_reader_ends_with_the_error_after_the_samples(caplog):
    """Streams 5 packets (10 samples), drops, and the reconnection crashes: the reader yields
    every sample, then ends (instead of polling forever) with the stream's error."""
    _, stream = failing_stream(drop_after=5, per_connection=8, fail_on_connection=2)
    source = BeltBreathSource(stream, poll_s=0.05)
    got = []
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING):
        for t, _ in source.samples():
            got.extend(t.tolist())
            assert time.monotonic() - t0 < DEADLINE_S
    stream.close()
    assert len(got) == 10 and got[0] == 0.0
    assert isinstance(source.error, SourceError) and "RuntimeError" in str(source.error)
    assert source.ended and stream.finished and not stream.connected
    assert stream.error is source.error
    with pytest.raises(SourceError):  # the stream keeps saying so
        stream.read()
    assert any("belt stopped" in r.getMessage() for r in caplog.records)


@pytest.mark.timeout(30)
def test_practice_shows_a_calm_stop_not_reconnecting_forever(_isolated_data_dir):
    from feedback.exercises import load_exercise
    from calibration.practice import build_practice_pipeline
    from feedback.session import BELT_STOPPED_NOTICE_S, BeltFeed, PracticeBreath, PracticeSession
    from synthetic import simulate_pose_frame
    from mindmove.store.db import open_store
    from mindmove.store.recording import SessionRecorder

    _, stream = failing_stream(drop_after=5, per_connection=8, fail_on_connection=2)
    breath = PracticeBreath(feed=BeltFeed(stream))
    store = open_store()
    recorder = SessionRecorder(store, "P031", exercise="standing_shoulder_flexion")
    recorder.start()
    session = PracticeSession(build_practice_pipeline(load_exercise("standing_shoulder_flexion")), recorder=recorder,
                              breath=breath)
    origin = time.monotonic()
    session.start(origin)
    frames = []
    while time.monotonic() - origin < DEADLINE_S:
        t = time.monotonic() - origin
        session.update(t, simulate_pose_frame({"right_shoulder_flexion_deg": 5.0}))
        frames.append((t, breath.feed.stopped, breath.feed.reconnecting))
        if breath.feed.stopped:
            break
        time.sleep(1 / 15)
    stream.close()
    assert breath.feed.stopped, "the feed never noticed the belt thread had failed"
    # Once stopped, the feed no longer says "reconnecting" (it may have, before the failure).
    assert frames[-1][1] and not frames[-1][2]
    t_stop = frames[-1][0]
    for k in range(1, 46):  # 3 s more of the movement session (simulated frame times)
        session.update(t_stop + k / 15, simulate_pose_frame({"right_shoulder_flexion_deg": 5.0}))
    frame = breath.update(t_stop + 3.1, recorder=recorder)
    assert frame.belt_stopped and not frame.reconnecting and frame.measured_phase == "unknown"
    assert not breath.update(t_stop + BELT_STOPPED_NOTICE_S + 1.0, recorder=recorder).belt_stopped
    result = session.finish(processed=len(frames) + 45)
    recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s)
    assert "RuntimeError" in result.breath["detail"]["belt_error"]
    con = sqlite3.connect(_isolated_data_dir / "mindmove.db")
    keys = [k for (k,) in con.execute("select message_key from cues")]
    con.close()
    assert "breath.belt_stopped" in keys


def test_breathe_command_ends_and_keeps_the_session(monkeypatch, capsys):
    from mindmove.cli import main
    from mindmove.commands.belt import BACKEND_ENV
    from mindmove.store.db import open_store
    from mindmove.store.models import BreathResult, Sample, Session

    monkeypatch.setenv(BACKEND_ENV, "belt_backend:failing_cli_backends")
    t0 = time.monotonic()
    rc = main(["breathe", "--patient", "P050", "--no-window", "--belt", "GDX-RB", "--belt-kind", "vernier",
               "--minutes", "1"])
    assert time.monotonic() - t0 < 30  # ended by the failure, not by the 1-minute limit
    err = capsys.readouterr().err
    assert rc == 0
    lines = [ln for ln in err.splitlines() if "belt stopped" in ln]
    assert len(lines) == 1 and "RuntimeError" in lines[0]
    with open_store().session() as db:
        session = db.scalar(select(Session))
        assert session.kind == "breathe" and session.status == "interrupted"
        result = db.scalar(select(BreathResult))
        assert "RuntimeError" in result.detail["belt_error"]
        n = db.query(Sample).filter(Sample.session_id == session.id, Sample.channel == "breath").count()
        assert n >= 10  # the samples streamed before the failure are kept (plus the gap marker)


def test_samples_before_the_failure_are_delivered_first():
    """read() hands over what was queued before it raises the error."""
    _, stream = failing_stream(drop_after=3, per_connection=6, fail_on_connection=2)
    events, t0 = [], time.monotonic()
    with pytest.raises(SourceError):
        while time.monotonic() - t0 < DEADLINE_S:
            events += stream.read(timeout_s=0.05)
    stream.close()
    assert sum(isinstance(e, BreathSample) for e in events) == 6
