"""Norms from the data file, the registry, the profile's birth year and sex, storing a
result with its provenance, satisfaction in check-ins, and the query layer over them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from calibration.profile import Profile
from mindmove.store.profiles import load_profile, save_profile
from core.errors import AccessDenied, InputError, ValidationError
from dashboard import function_queries as fq
from feedback.assessments import ASSESSMENTS, compute_change, get_assessment
from feedback.assessments.norms import find_norm, load_norms
from feedback.assessments.result import AssessmentResult
from feedback.messages import load_catalogue
from mindmove.auth import authenticate, create_patient, create_team, create_user
from mindmove.cli import main
from mindmove.store import open_store
from mindmove.store.assessments import Provenance, record_assessment
from mindmove.store.models import AssessmentRecord, AuditEntry, CheckIn, GaitResult, Session
from mindmove.store.recording import SessionRecorder
from store_support import store_url  # noqa: F401  (SQLite, and PostgreSQL when MINDMOVE_TEST_PG_URL is set)

PASSWORD = "correct horse battery"


# --- norms (feedback/assessments/norms.toml) ----------------------------------------------

@pytest.mark.parametrize("key, age, sex, expected", [
    # CDC STEADI 30-second chair stand, below average (and Rikli & Jones' normal range)
    ("chair_stand_30s", 72, "male", {"cutoff": 12, "low": 12, "high": 17}),
    ("chair_stand_30s", 87, "female", {"cutoff": 8, "low": 8, "high": 13}),
    ("chair_stand_30s", 92, "female", {"cutoff": 4, "low": 4, "high": 11}),
    # Bohannon 2006 TUG 95% CI by age, any sex; CDC STEADI: 12 s or more
    ("tug", 65, None, {"low": 7.1, "high": 9.0, "mean": 8.1, "cutoff": 12.0}),
    ("tug", 84, "male", {"low": 10.0, "high": 12.7, "mean": 11.3, "cutoff": 12.0}),
    # Bohannon 2006 five-repetition sit-to-stand: worse than average above
    ("five_times_sit_to_stand", 75, "female", {"high": 12.6, "cutoff": 12.6, "low": None}),
    # Bohannon & Andrews 2011 mean comfortable gait speed
    ("gait_speed", 74, "female", {"mean": 1.13, "low": None, "high": None}),
    ("gait_speed", 65, "male", {"mean": 1.34}),
])
def test_norms_come_from_the_data_file(key, age, sex, expected):
    norm = find_norm(key, age_years=age, sex=sex)
    assert norm is not None
    for field, value in expected.items():
        assert getattr(norm, field) == value, field
    assert norm.source and ("Bohannon" in norm.source or "Rikli" in norm.source)


def test_no_norm_without_age_or_sex_where_the_norms_are_by_sex():
    assert find_norm("chair_stand_30s", age_years=72, sex=None) is None      # by sex, sex unknown
    assert find_norm("chair_stand_30s", age_years=55, sex="male") is None    # younger than the tables
    assert find_norm("tug", age_years=None, sex="female") is None
    assert find_norm(None, age_years=70, sex="female") is None


def test_every_norm_row_cites_a_source_and_a_bad_file_is_refused(tmp_path):
    data = load_norms()
    keys = {a.norms_key for a in ASSESSMENTS.values()}
    assert keys <= set(data) - {"sources"}
    for key in keys:
        for row in data[key]["bands"]:
            assert row["source"] in data["sources"]
    bad = tmp_path / "norms.toml"
    bad.write_text('[sources]\na = "x"\n[tug]\nbands = [{ sex = "any", age = [60, 69], low = 1, source = "b" }]\n')
    with pytest.raises(InputError, match="cites 'b'"):
        load_norms(str(bad))


# --- registry ----------------------------------------------------------------------------

def test_each_registry_entry_is_complete():
    catalogue = load_catalogue()
    for name, a in ASSESSMENTS.items():
        assert a.name == name and a.title and a.result_fields
        for key in (*a.instructions, a.running_message, a.result_message):
            assert key in catalogue, key
        assert a.mdc.value > 0 and a.mdc.source
        assert a.start_posture in ("seated", "standing")
    with pytest.raises(InputError, match="Unknown test 'walk'"):
        get_assessment("walk")


def test_change_is_judged_against_the_minimal_detectable_change_in_the_better_direction():
    assert compute_change("tug", 14.0, 11.5) == (-2.5, True)          # faster by more than 2.08 s
    assert compute_change("tug", 14.0, 13.0) == (-1.0, False)
    assert compute_change("chair-stand-30s", 8, 11) == (3, True)       # 3 stands more, MDC 2.5
    assert compute_change("chair-stand-30s", 11, 8) == (-3, False)
    assert compute_change("gait-speed", 0.8, None) == (None, None)


# --- profile: birth year and sex ----------------------------------------------------------

def test_profile_keeps_birth_year_and_sex_and_validates_them(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        save_profile(store, "P001", Profile(birth_year=1951, sex="female"), by="ana", reason="norms")
        record = load_profile(store, "P001")
        assert (record.profile.birth_year, record.profile.sex) == (1951, "female")
        assert record.profile.age_in(2026) == 75
        for bad in (Profile(birth_year=1850), Profile(birth_year=datetime.now().year + 1), Profile(birth_year=True),
                    Profile(sex="f"), Profile(sex="other")):
            with pytest.raises(ValidationError):
                save_profile(store, "P001", bad, by="ana", reason="x")
        assert load_profile(store, "P001").version == 1  # none of them was stored
    finally:
        store.dispose()


def test_profile_set_cli_takes_birth_year_and_sex(capsys):
    assert main(["profile", "set", "--patient", "P002", "--birth-year", "1949", "--sex", "Male", "--by", "ana",
                 "--reason", "norms"]) == 0
    assert "birth year: - -> 1949" in capsys.readouterr().out
    assert main(["profile", "set", "--patient", "P002", "--sex", "unknown", "--by", "ana", "--reason", "x"]) == 2
    assert "female or male" in capsys.readouterr().err


# --- storing a result ----------------------------------------------------------------------

def _clinic(tmp_path, url: str | None = None):
    store = open_store(url or f"sqlite:///{tmp_path / 'clinic.db'}")
    create_team(store, "north", by="test")
    create_team(store, "south", by="test")
    create_user(store, "thera", PASSWORD, role="therapist", teams=["north"], by="test")
    create_user(store, "boss", PASSWORD, role="admin", by="test")
    for code, team in (("P001", "north"), ("P002", "north"), ("S001", "south")):
        create_patient(store, code, team=team, by="test")
    save_profile(store, "P001", Profile(birth_year=1952, sex="female"), by="thera", reason="norms")
    return store


def _provenance(started: datetime, **kw) -> Provenance:
    base = dict(run_by="A. Therapist", source_kind="video", source_name="tug.mp4", pose_model="mediapipe-pose-full",
                started_at=started, ended_at=started + timedelta(seconds=15), software={"mindmove": "0.1.0"})
    return Provenance(**{**base, **kw})


def test_a_result_is_stored_with_its_provenance(tmp_path):
    store = _clinic(tmp_path)
    try:
        started = datetime(2026, 5, 4, 10, 0, tzinfo=timezone.utc)
        result = AssessmentResult("tug", 12.34, "s", {"time_s": 12.34, "turn_s": 1.5}, ({"t_s": 2.0, "kind": "rise_onset"},),
                                  ("other_person_in_view",), ("A note.",), {"phases_s": {"turn": 1.5}})
        aid = record_assessment(store, "P001", result, _provenance(started))
        with store.session() as db:
            row = db.get(AssessmentRecord, aid)
            session = db.get(Session, row.session_id)
            newest = load_profile(store, "P001")
            assert (row.test, row.value, row.unit, row.run_by) == ("tug", 12.34, "s", "A. Therapist")
            assert (row.source_kind, row.source_name, row.pose_model) == ("video", "tug.mp4", "mediapipe-pose-full")
            assert row.software_version and row.software == {"mindmove": "0.1.0"}
            assert row.quality == {"flags": ["other_person_in_view"], "notes": ["A note."]}
            assert row.detail["phases_s"] == {"turn": 1.5} and row.detail["events"][0]["kind"] == "rise_onset"
            assert session.kind == "assessment" and session.exercise == "tug"
            assert session.profile_version_id == newest.version_id
            assert session.started_at.replace(tzinfo=timezone.utc) == started
    finally:
        store.dispose()


def test_unknown_patient_is_refused_and_nothing_is_stored(tmp_path):
    store = _clinic(tmp_path)
    try:
        result = AssessmentResult("tug", 12.0, "s")
        with pytest.raises(ValidationError, match="no patient P404"):
            record_assessment(store, "P404", result, _provenance(datetime.now(timezone.utc)))
        with store.session() as db:
            assert db.scalar(select(func.count(AssessmentRecord.id))) == 0
            assert db.scalar(select(func.count(Session.id))) == 0
    finally:
        store.dispose()


def test_a_gait_assessment_also_feeds_the_gait_table(tmp_path):
    store = _clinic(tmp_path)
    try:
        gait = {"parameters": {"n_strides": 9, "n_steps": 10, "cadence_steps_per_min": 101.5, "gait_speed_m_s": 1.02,
                               "step_time_left_s": 0.6, "step_time_right_s": 0.57, "stride_time_cv_pct": 2.5},
                "direction": "forward", "passes": [{}], "events": [], "quality": {"flags": ["few_strides"]}}
        result = AssessmentResult("gait", 1.02, "m/s", {"gait_speed_m_s": 1.02}, (), ("few_strides",), (), {"gait": gait})
        aid = record_assessment(store, "P001", result, _provenance(datetime.now(timezone.utc)))
        with store.session() as db:
            row = db.get(AssessmentRecord, aid)
            g = db.scalar(select(GaitResult).where(GaitResult.session_id == row.session_id))
        assert (g.cadence_steps_per_min, g.gait_speed_m_s, g.strides) == (101.5, 1.02, 9)
        assert g.step_time_symmetry == pytest.approx(0.57 / 0.6, abs=1e-4)
        assert g.quality == {"flags": ["few_strides"]}
    finally:
        store.dispose()


# --- satisfaction ---------------------------------------------------------------------------

def test_satisfaction_is_stored_after_a_session_only_and_in_range(tmp_path):
    store = _clinic(tmp_path)
    try:
        rec = SessionRecorder(store, "P001")
        rec.start()
        rec.add_checkin("after", pain=2, mood=4, satisfaction=5)
        for phase, value in (("after", 6), ("after", 0), ("before", 4)):
            with pytest.raises(ValidationError):
                rec.add_checkin(phase, pain=None, mood=None, satisfaction=value)
        with store.session() as db:
            assert db.scalars(select(CheckIn.satisfaction)).all() == [5]
    finally:
        store.dispose()


def test_practice_refuses_a_satisfaction_out_of_range_before_the_camera_opens(capsys):
    assert main(["practice", "--patient", "P001", "--exercise", "sit_to_stand", "--satisfaction", "9",
                 "--no-window", "--source", "/nonexistent.mp4"]) == 2
    assert "Satisfaction is recorded from 1 to 5" in capsys.readouterr().err


# --- queries ---------------------------------------------------------------------------------

def _seed_results(store):
    base = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    plan = {"P001": [("tug", 15.0), ("tug", 13.5), ("tug", 12.4), ("chair-stand-30s", 8), ("chair-stand-30s", 9)],
            "P002": [("tug", 10.0), ("tug", 12.9)], "S001": [("tug", 20.0), ("tug", 16.0)]}
    for code, items in plan.items():
        for k, (test, value) in enumerate(items):
            record_assessment(store, code, AssessmentResult(test, float(value), "s" if test == "tug" else "stands",
                                                            flags=("few_strides",) if k == 1 else ()),
                              _provenance(base + timedelta(weeks=k)))


def test_function_trends_carry_the_norm_for_age_and_sex_and_access_is_checked(tmp_path):
    store = _clinic(tmp_path)
    try:
        _seed_results(store)
        thera = authenticate(store, "thera", PASSWORD)
        trend = fq.compute_function_trends(store, thera, "P001", test="tug")
        assert list(trend["value"]) == [15.0, 13.5, 12.4]
        assert set(trend["age_years"]) == {2026 - 1952}
        assert set(trend["norm_low"]) == {8.2} and set(trend["norm_high"]) == {10.2}  # Bohannon 2006, 70-79
        assert set(trend["norm_cutoff"]) == {12.0}
        assert list(trend["flags"]) == ["", "few_strides", ""]
        assert (trend["run_by"] == "A. Therapist").all() and (trend["source_name"] == "tug.mp4").all()
        chair = fq.compute_function_trends(store, thera, "P001", test="chair-stand-30s")
        assert set(chair["norm_low"]) == {10} and set(chair["norm_high"]) == {15}  # women 70-74
        nobody = fq.compute_function_trends(store, thera, "P002")
        assert nobody["norm_low"].isna().all()  # no birth year in P002's profile: no norm shown
        assert fq.list_function_tests(store, thera, "P001") == ["tug", "chair-stand-30s"]
        with pytest.raises(AccessDenied):
            fq.compute_function_trends(store, thera, "S001")
        with store.session() as db:
            refused = db.scalars(select(AuditEntry).where(AuditEntry.action == "view_function",
                                                          AuditEntry.success.is_(False))).all()
        assert refused and refused[-1].patient_code == "S001"
    finally:
        store.dispose()


def test_functional_change_counts_who_improved_by_at_least_the_mdc(tmp_path, store_url):
    store = _clinic(tmp_path, store_url)  # SQLite and PostgreSQL: the window functions run in the database
    try:
        _seed_results(store)
        boss = authenticate(store, "boss", PASSWORD)
        change = fq.compute_functional_change(store, boss)
        tug = change.per_test.set_index("test").loc["tug"]
        # P001 15.0 -> 12.4 (-2.6, better than the 2.08 s MDC), P002 10.0 -> 12.9 (worse by 2.9),
        # S001 20.0 -> 16.0 (-4.0, better)
        assert tug["patients"] == 3 and tug["improved"] == 2 and tug["worsened"] == 1
        assert tug["mean_change"] == pytest.approx((-2.6 + 2.9 - 4.0) / 3)
        assert tug["mdc"] == 2.08 and "Donoghue" in tug["mdc_source"]
        chair = change.per_test.set_index("test").loc["chair-stand-30s"]
        assert (chair["patients"], chair["improved"], chair["worsened"]) == (1, 0, 0)  # +1 stand < 2.5
        per = change.per_patient.set_index(["patient_code", "test"])
        assert per.loc[("P001", "tug"), "first"] == 15.0 and per.loc[("P001", "tug"), "latest"] == 12.4
        thera = authenticate(store, "thera", PASSWORD)
        with pytest.raises(AccessDenied):
            fq.compute_functional_change(store, thera)
    finally:
        store.dispose()


def test_checkin_outcomes_give_satisfaction_beside_pain_and_mood(tmp_path, store_url):
    store = _clinic(tmp_path, store_url)
    try:
        for pain_b, pain_a, sat in ((6, 4, 4), (5, 4, None), (5, 3, 5)):
            rec = SessionRecorder(store, "P001")
            rec.start()
            rec.add_checkin("before", pain=pain_b, mood=3)
            rec.add_checkin("after", pain=pain_a, mood=4, satisfaction=sat)
        boss = authenticate(store, "boss", PASSWORD)
        out = fq.compute_checkin_outcomes(store, boss).set_index("patient_code").loc["P001"]
        assert out["sessions_with_checkin"] == 3 and out["satisfaction_answers"] == 2
        assert out["satisfaction"] == pytest.approx(4.5)
        assert out["pain_change"] == pytest.approx(-5 / 3)
        assert (out["mood_before"], out["mood_after"]) == (3.0, 4.0)
    finally:
        store.dispose()


# --- analyze --patient on motion capture ------------------------------------------------------

def test_analyze_with_a_patient_stores_motion_capture_gait(tmp_path, monkeypatch, shared, capsys):
    store = _clinic(tmp_path)
    monkeypatch.setenv("MINDMOVE_DB_URL", str(store.engine.url))
    try:
        from sensing.mocap import MARKER_MAP_DIR

        walk = shared("mocap/gaitmap/mocap_sample.csv")
        markers = str(MARKER_MAP_DIR / "gaitmap_foot.toml")
        assert main(["analyze", str(walk), "--markers", markers, "--task", "gait", "--patient", "P001",
                     "--by", "A. Therapist"]) == 0
        assert "Gait for P001" in capsys.readouterr().out
        with store.session() as db:
            row = db.scalars(select(AssessmentRecord)).one()
            gait = db.scalars(select(GaitResult)).one()
        assert (row.test, row.source_kind, row.source_name) == ("gait", "mocap", "mocap_sample.csv")
        # the ground truth of this walk: about 110 steps/min (gaitmap's own events, see the README)
        assert gait.cadence_steps_per_min == pytest.approx(110.3, abs=1.0) and row.value == gait.gait_speed_m_s
        assert row.detail["gait"]["parameters"]["cadence_steps_per_min"] == gait.cadence_steps_per_min
        # refusals: not a gait task, an unknown patient; nothing more is stored
        assert main(["analyze", str(walk), "--markers", markers, "--task", "angles", "--patient", "P001"]) == 2
        assert main(["analyze", str(walk), "--markers", markers, "--task", "gait", "--patient", "P404"]) == 2
        err = capsys.readouterr().err
        assert "give --task gait" in err and "no patient P404" in err
        with store.session() as db:
            assert db.scalar(select(func.count(AssessmentRecord.id))) == 1
    finally:
        store.dispose()
