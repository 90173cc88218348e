"""Home sessions in the session host (no web server): resuming after a crash from the
landmark journal, finishing sessions whose page never came back, and the record they leave
(seen by the dashboard's queries, counted in remote-monitoring days and the plan's progress)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mindmove.store import open_store
from mindmove.store.models import Repetition, Sample, Session, utcnow
from mindmove.telehealth.access import redeem_invitation
from mindmove.telehealth.host import HostConfig, SessionHost
from mindmove.telehealth.journal import journal_path
from mindmove.telehealth.protocol import StartMessage
from telehealth_support import ARM_EXERCISE, arm_raise_frames, seed_home_clinic


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def home(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    token = seed_home_clinic(url)
    store = open_store(url)
    identity = redeem_invitation(store, token, label="test").identity
    config = HostConfig(store_url=url, data_dir=tmp_path / "data")
    yield store, identity, config
    store.dispose()


def _record(store, session_id):
    with store.session() as db:
        samples = db.execute(select(Sample.channel, Sample.t_s, Sample.value).where(Sample.session_id == session_id)
                             .order_by(Sample.channel, Sample.t_s)).all()
        reps = db.execute(select(Repetition.index, Repetition.t_start_s, Repetition.t_end_s, Repetition.peak_deg)
                          .where(Repetition.session_id == session_id).order_by(Repetition.index)).all()
        s = db.get(Session, session_id)
        return [tuple(r) for r in samples], [tuple(r) for r in reps], s.status, dict(s.summary)


def _run(host, identity, frames, *, batch=8):
    started = host.open(identity, StartMessage(ARM_EXERCISE, None, None, None))
    sid = started["session"]
    for k in range(0, len(frames), batch):
        host.frames(identity.device_id, sid, frames[k:k + batch])
    return sid


def test_a_crashed_server_resumes_the_session_from_its_journal_with_the_same_record(home):
    store, identity, config = home
    frames = arm_raise_frames(15 * 14)  # 14 s: two arm raises
    # the record of an uninterrupted session
    host = SessionHost(config)
    whole = _run(host, identity, frames)
    host.finish(identity.device_id, whole, pain=None, mood=None)
    host.close()
    expected_samples, expected_reps, _, expected_summary = _record(store, whole)
    assert len(expected_reps) == 2

    # the same frames; the server dies after 150 of them, with frames 140-149 written but not yet durable
    host = SessionHost(config)
    sid = _run(host, identity, frames[:140])
    session = host.sessions[sid]
    durable = session.journal.sync()
    assert durable == 139
    size = os.path.getsize(journal_path(config.data_dir, sid))
    host.frames(identity.device_id, sid, frames[140:150])
    host.syncer.stop()
    session.recorder._stop.set()  # a SIGKILL: no more writes, nothing closed
    session.journal._file.flush()
    with open(journal_path(config.data_dir, sid), "r+b") as f:  # what reached the disk: up to the last sync,
        f.truncate(size)                                         # and half a line being written
        f.seek(0, os.SEEK_END)
        f.write(b'{"seq":140,"t":12.')
    with store.session() as db:
        assert db.get(Session, sid).status == "running"

    restarted = SessionHost(config)
    resumed = restarted.resume(identity, sid)
    assert resumed["next"] == 140  # the page sends again from there: it kept every unacknowledged frame
    reply = restarted.frames(identity.device_id, sid, frames[130:150])  # overlapping: 130-139 skipped
    assert reply["seq"] == 149 and restarted.sessions[sid].duplicates == 10
    for k in range(150, len(frames), 8):
        restarted.frames(identity.device_id, sid, frames[k:k + 8])
    restarted.finish(identity.device_id, sid, pain=None, mood=None)
    restarted.close()
    samples, reps, status, summary = _record(store, sid)
    assert status == "completed"
    assert samples == expected_samples and reps == expected_reps  # nothing lost, nothing twice
    assert summary["repetitions"] == expected_summary["repetitions"] == 2
    assert summary["angles"] == expected_summary["angles"]
    assert not journal_path(config.data_dir, sid).exists()


def test_a_session_whose_page_never_comes_back_is_finished_as_interrupted(home):
    store, identity, config = home
    clock = Clock()
    host = SessionHost(config, clock=clock)
    sid = _run(host, identity, arm_raise_frames(15 * 8))
    host.detach(identity.device_id, sid)
    clock.t += config.resume_window_s - 1.0
    assert host.reap() == []  # still within the window: the page may come back
    clock.t += 2.0
    assert host.reap() == [sid]
    _, reps, status, summary = _record(store, sid)
    assert status == "interrupted" and len(reps) == 1 and summary["stopped_by"] == "interrupted"
    host.close()


def test_a_session_left_running_by_an_earlier_server_is_rebuilt_and_finished(home):
    store, identity, config = home
    host = SessionHost(config)
    sid = _run(host, identity, arm_raise_frames(15 * 8))
    host.sessions[sid].journal.sync()
    host.syncer.stop()
    host.sessions[sid].recorder._stop.set()  # killed: the session stays running
    with store.session() as db:
        db.execute(update(Session).where(Session.id == sid).values(last_write_at=utcnow() - timedelta(hours=1)))
    later = SessionHost(config)
    assert later.reap() == [sid]
    _, reps, status, summary = _record(store, sid)
    assert status == "interrupted" and len(reps) == 1 and summary["location"] == "home"
    later.close()


def test_starting_again_finishes_the_session_the_page_left(home):
    store, identity, config = home
    host = SessionHost(config)
    first = _run(host, identity, arm_raise_frames(30))
    second = _run(host, identity, arm_raise_frames(30))
    assert first != second and list(host.sessions) == [second]
    assert _record(store, first)[2] == "interrupted"
    host.close()
