"""Test support for the store, auth and query tests (not a test module).

``store_url`` fixture: a fresh SQLite file, or (marked ``postgres``) a fresh schema on the
server in ``MINDMOVE_TEST_PG_URL``, dropped afterwards. In CI (``CI=true``) a missing server
fails the test; elsewhere it skips.

:func:`seed_known_clinic` writes a small clinic whose figures are worked out by hand in
the tests (times relative to :data:`NOW`).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from mindmove.auth import create_patient, create_team, create_user
from mindmove.store import open_store
from mindmove.store.models import (
    BreathResult, CheckIn, CueEvent, GaitResult, Patient, ProfileVersion, Repetition, Sample, Session, SessionMetric,
)

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pg_base_url() -> str:
    url = os.environ.get("MINDMOVE_TEST_PG_URL")
    if not url:
        msg = "MINDMOVE_TEST_PG_URL is not set (.ci/postgres.sh starts a test server)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return url


def make_url(backend: str, tmp_path, request) -> str:
    """A fresh empty database URL on ``backend``; a PostgreSQL schema is dropped at teardown."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    base = pg_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    request.addfinalizer(drop)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    return make_url(request.param, tmp_path, request)


@pytest.fixture(scope="module", params=BACKENDS)
def module_store(request, tmp_path_factory):
    """One store per test module and backend, for tests that share a seeded clinic."""
    s = open_store(make_url(request.param, tmp_path_factory.mktemp("store"), request))
    yield s
    s.dispose()


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.dispose()


def at(days_ago: float, hours: float = 0.0) -> datetime:
    return NOW - timedelta(days=days_ago, hours=hours)


# N1: (days ago, hours earlier, pain before, ROM right knee deg, range exceeded)
N1_SESSIONS = [(40, 0, 2, 50.0, False), (22, 0, 3, 52.0, False), (21, 0, 3, 54.0, False), (20, 0, 3, 56.0, False),
               (10, 0, 4, 60.0, False), (2, 2, 5, 62.0, False), (2, 0, 5, 64.0, False), (1, 0, 6, 80.0, True)]
N2_DAYS = [15, 16, 17, 18]
S1_DAYS = [3]


def seed_known_clinic(store) -> dict[str, int]:
    """Teams north/south; users thera (therapist, north), clin (clinician, south), boss (admin);
    patients N1, N2, P0 (north, P0 without sessions), S1 (south). Returns session ids by name."""
    create_team(store, "north", by="test")
    create_team(store, "south", by="test")
    create_user(store, "thera", PASSWORD, role="therapist", teams=["north"], by="test")
    create_user(store, "clin", PASSWORD, role="clinician", teams=["south"], by="test")
    create_user(store, "boss", PASSWORD, role="admin", by="test")
    for code, team in (("N1", "north"), ("N2", "north"), ("P0", "north"), ("S1", "south")):
        create_patient(store, code, team=team, by="test", display_name=f"Name {code}")
    ids: dict[str, int] = {}
    with store.session() as db:
        pid = {p.code: p.id for p in db.query(Patient)}
        pv = ProfileVersion(patient_id=pid["N1"], version=1, created_by="test", reason="first",
                            data={"ranges": {"right_knee_flexion": {"min_deg": 5.0, "max_deg": 75.0}}})
        db.add(pv)
        db.flush()
        for i, (d, h, pain, rom, exceeded) in enumerate(N1_SESSIONS):
            s = Session(patient_id=pid["N1"], kind="practice", exercise="knee", started_at=at(d, h),
                        ended_at=at(d, h) + timedelta(minutes=10), status="completed", profile_version_id=pv.id)
            db.add(s)
            db.flush()
            ids[f"N1_{i}"] = s.id
            # the first session recorded no band: it comes from profile version 1
            band = (None, None) if i == 0 else (0.0, 90.0 if not exceeded else 70.0)
            db.add(SessionMetric(session_id=s.id, name="right_knee_flexion_deg", min_deg=5.0, max_deg=5.0 + rom,
                                 rom_deg=rom, safe_min_deg=band[0], safe_max_deg=band[1],
                                 time_in_range_pct=90.0 - i, range_exceeded=exceeded))
            db.add(CheckIn(session_id=s.id, phase="before", pain=pain, mood=3))
            db.add(CheckIn(session_id=s.id, phase="after", pain=pain - 1, mood=4))
            for k in range(3):
                db.add(Repetition(session_id=s.id, index=k, angle_name="right_knee_flexion_deg",
                                  t_start_s=10.0 * k, t_end_s=10.0 * k + 5, peak_deg=rom + k, hold_s=2.0))
        for name, days in (("N2", N2_DAYS), ("S1", S1_DAYS)):
            for j, d in enumerate(days):
                s = Session(patient_id=pid[name], kind="practice", started_at=at(d), status="completed")
                db.add(s)
                db.flush()
                ids[f"{name}_{j}"] = s.id
                db.add(SessionMetric(session_id=s.id, name="left_shoulder_flexion_deg", rom_deg=100.0 + j,
                                     safe_min_deg=0.0, safe_max_deg=150.0, time_in_range_pct=100.0,
                                     range_exceeded=False))
        last = ids["N1_7"]
        db.add(BreathResult(session_id=last, breaths=40, rate_bpm=6.2, resting_rate_bpm=13.0, ie_ratio=1.9,
                            pacer_target_bpm=6.0, pacer_agreement_pct=88.0, rate_difference_bpm=0.2))
        db.add(GaitResult(session_id=last, strides=12, cadence_steps_per_min=104.0, gait_speed_m_s=1.1,
                          step_time_symmetry=0.97, stride_time_cv_pct=3.1, quality={"enough_strides": True}))
        db.add(CueEvent(session_id=last, t_s=12.5, kind="range", message_key="range.approaching_limit",
                        value=68.0, limit=70.0, priority=2))
        db.execute(Sample.__table__.insert(), [
            {"session_id": last, "channel": "right_knee_flexion_deg", "t_s": i / 10, "value": i / 10}
            for i in range(3000)])
    return ids
