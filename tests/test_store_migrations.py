"""Alembic migrations: the models match the newest revision; upgrading keeps data."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from mindmove.store import open_store
from mindmove.store.db import alembic_config, current_revision, upgrade_schema
from mindmove.store.models import Base
from store_support import store_url  # noqa: F401


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrations_match_the_models(store_url):
    store = open_store(store_url)
    try:
        assert current_revision(store.engine) == _head()
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations differ; add a revision: {diff}"
    finally:
        store.dispose()


def test_upgrade_from_first_revision_keeps_rows(store_url):
    engine = create_engine(store_url)
    upgrade_schema(engine, revision="0001")
    assert "login_throttle" not in inspect(engine).get_table_names()
    started = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    with engine.begin() as c:
        c.execute(text("INSERT INTO care_teams (id, name) VALUES (1, 'north')"))
        c.execute(text("INSERT INTO patients (id, code, display_name, care_team_id, created_at) "
                       "VALUES (1, 'P001', '', 1, :t)"), {"t": started})
        c.execute(text("INSERT INTO sessions (id, patient_id, kind, started_at, status, station, summary) "
                       "VALUES (7, 1, 'practice', :t, 'completed', 'st1', '{}')"), {"t": started})
        c.execute(text("INSERT INTO session_metrics (session_id, name, rom_deg, range_exceeded) "
                       "VALUES (7, 'right_knee_flexion_deg', 61.5, false)"))
        c.execute(text("INSERT INTO audit_log (at, username, action, success, detail) "
                       "VALUES (:t, 'ana', 'sign_in', true, '')"), {"t": started})
    engine.dispose()
    store = open_store(store_url)  # upgrades to head
    try:
        assert current_revision(store.engine) == _head() != "0001"
        with store.engine.connect() as c:
            assert c.execute(text("SELECT code FROM patients")).scalars().all() == ["P001"]
            assert c.execute(text("SELECT rom_deg FROM session_metrics WHERE session_id = 7")).scalar() == 61.5
            assert c.execute(text("SELECT username, client FROM audit_log")).one() == ("ana", "")
            assert c.execute(text("SELECT count(*) FROM login_throttle")).scalar() == 0
    finally:
        store.dispose()


def test_unversioned_store_from_before_migrations_is_stamped_and_upgraded(tmp_path):
    """Stores made by the skeleton's create_all (no alembic_version) upgrade too."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade_schema(engine, revision="0001")
    with engine.begin() as c:
        c.execute(text("DROP TABLE alembic_version"))
        c.execute(text("INSERT INTO care_teams (name) VALUES ('kept')"))
    engine.dispose()
    store = open_store(url)
    try:
        assert current_revision(store.engine) == _head()
        with store.engine.connect() as c:
            assert c.execute(text("SELECT name FROM care_teams")).scalar() == "kept"
    finally:
        store.dispose()


def test_opening_twice_is_harmless(store_url):
    for _ in range(2):
        store = open_store(store_url)
        assert current_revision(store.engine) == _head()
        store.dispose()


def test_0004_marks_closed_sessions_that_recorded_nothing_and_repairs_their_end(store_url):
    engine = create_engine(store_url)
    upgrade_schema(engine, revision="0003")
    t0 = datetime(2026, 5, 2, 8, 0, tzinfo=timezone.utc)
    with engine.begin() as c:
        c.execute(text("INSERT INTO patients (id, code, display_name, created_at) VALUES (1, 'P001', '', :t)"),
                  {"t": t0})
        for sid, status, ended in ((1, 'completed', t0), (2, 'interrupted', datetime(2026, 5, 2, 7, 59, 59, 999000,
                                                                                      tzinfo=timezone.utc)),
                                   (3, 'running', None)):
            c.execute(text("INSERT INTO sessions (id, patient_id, kind, started_at, ended_at, status, station, summary) "
                           "VALUES (:id, 1, 'practice', :t, :e, :s, 'st1', '{}')"),
                      {"id": sid, "t": t0, "e": ended, "s": status})
        c.execute(text("INSERT INTO session_metrics (session_id, name, rom_deg, range_exceeded) "
                       "VALUES (1, 'right_knee_flexion_deg', 40.0, false)"))
    engine.dispose()
    store = open_store(store_url)
    try:
        with store.engine.connect() as c:
            rows = c.execute(text("SELECT id, recorded_nothing, ended_at >= started_at FROM sessions ORDER BY id")).all()
        assert [(r[0], r[1], r[2]) for r in rows] == [(1, False, True), (2, True, True), (3, None, None)]
    finally:
        store.dispose()
