"""The dashboard's query layer on a hand-worked clinic (tests/store_support.py), on SQLite
and PostgreSQL: figures, care-team access, audit entries."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard import queries as q
from mindmove.auth import authenticate
from core.errors import AccessDenied
from mindmove.store.models import AuditEntry
from store_support import (  # noqa: F401
    N1_SESSIONS, N2_DAYS, NOW, PASSWORD, S1_DAYS, at, module_store, seed_known_clinic, store, store_url,
)


@pytest.fixture(scope="module")
def clinic(module_store):
    """Seeded once per backend (argon2 hashing is deliberately slow); tests only read it."""
    ids = seed_known_clinic(module_store)
    users = {name: authenticate(module_store, name, PASSWORD, client="test") for name in ("thera", "clin", "boss")}
    return module_store, users, ids


def audits(store, **where):
    with store.session() as db:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return list(db.scalars(stmt))


def test_patient_list_counts_and_flags(clinic):
    store, users, _ = clinic
    df = q.list_patients(store, users["thera"], now=NOW).set_index("patient_code")
    assert list(df.index) == ["N1", "N2", "P0"]  # S1 belongs to the south team
    n1, n2, p0 = df.loc["N1"], df.loc["N2"], df.loc["P0"]
    # N1: sessions 22, 21, 20, 10, 2 (two that day), 1 days ago fall in the 30-day period
    assert n1.sessions_in_period == 7 and n1.days_with_data_in_period == 6
    assert n1.last_session_at == at(1)
    assert (n1.sessions_recent, n1.sessions_earlier) == (4, 3)
    assert n1.pain_before_recent == pytest.approx(5.0) and n1.pain_before_earlier == pytest.approx(3.0)
    assert n1.pain_trending_up and n1.range_exceeded_last_session and not n1.practice_dropping_off
    assert n2.sessions_in_period == 4 and n2.days_with_data_in_period == 4
    assert n2.practice_dropping_off and not n2.pain_trending_up and not n2.range_exceeded_last_session
    assert p0.sessions_in_period == 0 and pd.isna(p0.last_session_at)
    assert not (p0.practice_dropping_off or p0.pain_trending_up or p0.range_exceeded_last_session)
    assert audits(store, action="view_patient_list", username="thera")[-1].detail == "patients=3"


def test_admin_sees_everyone_clinician_only_their_team(clinic):
    store, users, _ = clinic
    assert list(q.list_patients(store, users["boss"], now=NOW).patient_code) == ["N1", "N2", "P0", "S1"]
    south = q.list_patients(store, users["clin"], now=NOW)
    assert list(south.patient_code) == ["S1"] and south.iloc[0].sessions_in_period == len(S1_DAYS)


def test_mobility_band_from_session_or_profile_version(clinic):
    store, users, ids = clinic
    df = q.compute_mobility(store, users["thera"], "N1")
    assert list(df.rom_deg) == [s[3] for s in N1_SESSIONS]
    assert set(df.motion) == {"right_knee_flexion"}
    first, last = df.iloc[0], df.iloc[-1]
    assert (first.safe_min_deg, first.safe_max_deg) == (5.0, 75.0)  # from profile version 1
    assert (last.safe_min_deg, last.safe_max_deg) == (0.0, 70.0) and bool(last.range_exceeded)
    assert first.profile_version == 1 and last.session_id == ids["N1_7"]
    assert list(df.time_in_range_pct) == [90.0 - i for i in range(len(N1_SESSIONS))]
    assert q.list_motions(store, users["thera"], "N1") == ["right_knee_flexion"]
    assert q.compute_mobility(store, users["thera"], "N1", motion="left_hip_flexion").empty
    assert audits(store, action="view_mobility", patient_code="N1")[-1].success


def test_repetitions_checkins_breath_gait(clinic):
    store, users, ids = clinic
    reps = q.compute_repetitions(store, users["thera"], "N1")
    assert len(reps) == len(N1_SESSIONS) and set(reps.repetitions) == {3}
    assert reps.iloc[-1].mean_peak_deg == pytest.approx(81.0) and reps.iloc[-1].max_peak_deg == 82.0
    ck = q.compute_checkins(store, users["thera"], "N1")
    assert list(ck.pain_before) == [s[2] for s in N1_SESSIONS]
    assert set(ck.pain_change) == {-1} and set(ck.mood_after) == {4}
    br = q.compute_breath_trends(store, users["thera"], "N1")
    assert len(br) == 1 and br.iloc[0].rate_bpm == 6.2 and br.iloc[0].resting_rate_bpm == 13.0
    assert br.iloc[0].pacer_agreement_pct == 88.0 and br.iloc[0].ie_ratio == 1.9
    gait = q.compute_gait_trends(store, users["thera"], "N1")
    assert gait.iloc[0].cadence_steps_per_min == 104.0 and gait.iloc[0].quality == {"enough_strides": True}
    sessions = q.list_sessions(store, users["thera"], "N1")
    assert sessions.iloc[0].session_id == ids["N1_7"] and sessions.iloc[0].cues == 1
    assert len(sessions) == len(N1_SESSIONS)


def test_session_detail_is_averaged_in_the_database(clinic):
    store, users, ids = clinic
    detail = q.load_session_detail(store, users["thera"], ids["N1_7"], max_points=100)
    s = detail.samples
    assert detail.patient_code == "N1" and detail.bucket_s == pytest.approx(299.9 / 100)
    assert 95 <= len(s) <= 101
    # each point is the mean of a bucket of a ramp value == t: value equals t exactly
    assert (s.value - s.t_s).abs().max() < 1e-9
    assert s.t_s.is_monotonic_increasing
    assert list(detail.cues.message_key) == ["range.approaching_limit"] and detail.cues.iloc[0].t_s == 12.5
    raw = q.load_session_detail(store, users["thera"], ids["N1_7"], max_points=5000)
    assert raw.bucket_s == 0 and len(raw.samples) == 3000


def test_programme_evaluation(clinic):
    store, users, _ = clinic
    p = q.compute_programme_evaluation(store, users["boss"], now=NOW)
    assert (p.patients_total, p.active_patients) == (4, 3)
    assert p.sessions_total == len(N1_SESSIONS) + len(N2_DAYS) + len(S1_DAYS)
    # only N1 has >= 6 pain check-ins: last three (5, 5, 6) minus first three (2, 3, 3)
    assert list(p.pain_change.patient_code) == ["N1"]
    assert p.mean_pain_change == pytest.approx((5 + 5 + 6) / 3 - (2 + 3 + 3) / 3)
    assert p.mean_rom_change_deg == pytest.approx((62 + 64 + 80) / 3 - (50 + 52 + 54) / 3)
    assert list(p.rom_change.motion) == ["right_knee_flexion"]
    times = [at(d, h) for d, h, *_ in N1_SESSIONS] + [at(d) for d in N2_DAYS + S1_DAYS]
    weeks = Counter((t - timedelta(days=t.weekday())).date() for t in times)
    assert dict(zip(p.attendance.week_start.dt.date, p.attendance.sessions)) == dict(weeks)
    with pytest.raises(AccessDenied):
        q.compute_programme_evaluation(store, users["thera"], now=NOW)
    assert not audits(store, action="view_programme", username="thera")[-1].success


def test_other_team_patient_refused_and_audited(clinic):
    store, users, ids = clinic
    calls = [lambda: q.compute_mobility(store, users["thera"], "S1"),
             lambda: q.compute_checkins(store, users["thera"], "S1"),
             lambda: q.compute_breath_trends(store, users["thera"], "S1"),
             lambda: q.compute_gait_trends(store, users["thera"], "S1"),
             lambda: q.compute_repetitions(store, users["thera"], "S1"),
             lambda: q.list_sessions(store, users["thera"], "S1"),
             lambda: q.load_session_detail(store, users["thera"], ids["S1_0"]),
             lambda: q.load_audit_log(store, users["thera"])]
    for call in calls:
        with pytest.raises(AccessDenied) as err:
            call()
        assert "S1" not in str(err.value)
    before = len(audits(store, username="thera", success=False))
    for call in calls:
        with pytest.raises(AccessDenied):
            call()
    refused = audits(store, username="thera", success=False)[before:]
    assert len(refused) == len(calls)
    assert {a.patient_code for a in refused[:6]} == {"S1"} and f"session={ids['S1_0']}" in refused[6].detail
    # an unknown patient gets the very same refusal as another team's
    with pytest.raises(AccessDenied) as unknown:
        q.compute_mobility(store, users["thera"], "NOPE")
    with pytest.raises(AccessDenied) as other:
        q.compute_mobility(store, users["thera"], "S1")
    assert str(unknown.value) == str(other.value)


SQL_LIKE = ["' OR '1'='1", "N1'; DROP TABLE patients; --", "%", "_1", "N1\" OR 1=1 --", "1 UNION SELECT * FROM users", "N1\x00"]


def test_sql_like_text_is_harmless(clinic):
    store, users, _ = clinic
    for text in SQL_LIKE:
        for call in (q.compute_mobility, q.compute_checkins, q.list_motions, q.list_sessions):
            with pytest.raises(AccessDenied):
                call(store, users["thera"], text)
        with pytest.raises(AccessDenied):
            q.load_session_detail(store, users["thera"], text)
        assert q.list_patients(store, users["thera"], now=NOW, search=text).empty  # wildcards are literal
        assert audits(store, patient_code=text.replace("\x00", "\ufffd"))[-1].success is False
    assert list(q.list_patients(store, users["boss"], now=NOW).patient_code) == ["N1", "N2", "P0", "S1"]
    assert len(q.compute_mobility(store, users["boss"], "N1")) == len(N1_SESSIONS)


def test_search_and_deactivated_user(clinic):
    store, users, _ = clinic
    assert list(q.list_patients(store, users["thera"], now=NOW, search="2").patient_code) == ["N2"]
    from mindmove.store.models import User
    with store.session() as db:
        db.scalar(select(User).where(User.username == "thera")).active = False
    try:
        with pytest.raises(AccessDenied):
            q.compute_mobility(store, users["thera"], "N1")
    finally:
        with store.session() as db:
            db.scalar(select(User).where(User.username == "thera")).active = True


def test_a_session_that_recorded_nothing_is_listed_but_not_counted(store):
    """Issue 15: a session refused or killed before any sample (status interrupted, nothing
    measured) counts in no RTM day, attendance or activity; it stays in the session list."""
    import subprocess
    import sys

    from mindmove.auth import create_team, create_user, create_patient
    from mindmove.store.models import Session, SessionMetric
    from mindmove.store.recording import SessionRecorder, mark_interrupted_sessions

    create_team(store, "north", by="test")
    create_user(store, "boss", PASSWORD, role="admin", by="test")
    create_patient(store, "E1", team="north", by="test")
    url = store.engine.url.render_as_string(hide_password=False)
    started = subprocess.run([sys.executable, "-c", (
        "import sys; from mindmove.store import open_store; from mindmove.store.recording import SessionRecorder; "
        "print(SessionRecorder(open_store(sys.argv[1]), 'E1', station='st-e').start())"), url],
        capture_output=True, text=True, timeout=120, check=True)  # the process ends with its session "running"
    empty = int(started.stdout)
    assert mark_interrupted_sessions(store, station="st-e") == [empty]
    rec = SessionRecorder(store, "E1", station="st-e")
    full = rec.start()
    rec.finish(summary={}, metrics=[{"name": "right_knee_flexion_deg", "rom_deg": 40.0}])
    boss = authenticate(store, "boss", PASSWORD, client="test")
    row = q.list_patients(store, boss).set_index("patient_code").loc["E1"]
    assert (row["sessions_in_period"], row["days_with_data_in_period"]) == (1, 1)
    programme = q.compute_programme_evaluation(store, boss)
    assert (programme.sessions_total, programme.active_patients) == (1, 1)
    assert int(programme.attendance["sessions"].sum()) == 1
    listed = q.list_sessions(store, boss, "E1").set_index("session_id")
    assert list(listed.loc[[full, empty], "has_data"]) == [True, False]
    assert listed.loc[empty, "status"] == "interrupted"
    assert listed.loc[empty, "ended_at"] >= listed.loc[empty, "started_at"]
    with store.session() as db:
        assert db.get(Session, full).status == "completed"
        assert db.query(SessionMetric).count() == 1
def test_rows_are_read_by_their_labels_not_their_position():
    """A query that selects its columns in another order gives the same frame; a column the
    query forgot to label is an error, never a shifted column."""
    from types import SimpleNamespace

    def row(**values):
        return SimpleNamespace(_mapping=values)

    ordered = [row(session_id=1, started_at="2026-03-01T10:00:00Z", motion="right_knee_flexion_deg", rom_deg=40.0)]
    shuffled = [row(rom_deg=40.0, motion="right_knee_flexion_deg", started_at="2026-03-01T10:00:00Z", session_id=1)]
    columns = ["session_id", "started_at", "motion", "rom_deg"]
    a = q._frame(ordered, columns, motions=("motion",))
    b = q._frame(shuffled, columns, motions=("motion",))
    pd.testing.assert_frame_equal(a, b)
    assert a.iloc[0].to_dict() == {"session_id": 1, "started_at": pd.Timestamp("2026-03-01T10:00:00Z"),
                                   "motion": "right_knee_flexion", "rom_deg": 40.0}
    with pytest.raises(KeyError, match="rom_deg"):
        q._frame([row(session_id=1, started_at="2026-03-01T10:00:00Z", motion="x", max_deg=40.0)], columns)


def test_the_query_layer_only_reads():
    """dashboard/queries.py writes nothing but its audit entries: no session.add, no insert,
    update or delete, no save_* (a calibration change lives in mindmove.store.profiles)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(q.__file__).read_text("utf-8"))
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
              for node in ast.walk(tree) if isinstance(node, ast.Call)}
    writes = {name for name in called if name in {"add", "add_all", "merge", "insert", "update", "delete", "execute_many"}
              or name.startswith("save_")}
    assert writes == set()
    assert "audit" in called and "select" in called
