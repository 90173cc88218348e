"""The functional tests on the dashboard (Streamlit AppTest), in the PDF report and the CSV
exports, on the seeded clinic of ``dashboard_support`` plus stored assessments and
satisfaction answers."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select
from streamlit.testing.v1 import AppTest

from calibration.profile import Profile
from mindmove.store.profiles import save_profile
from dashboard.report import render_progress_report
from dashboard_support import PASSWORD, seed_dashboard_clinic
from feedback.assessments.norms import find_norm
from feedback.assessments.result import AssessmentResult
from mindmove.auth import authenticate
from mindmove.store import open_store
from mindmove.store.assessments import Provenance, record_assessment
from mindmove.store.models import CheckIn, LoginThrottle, Patient, Session, utcnow
from test_dashboard_app import chart, trace, values

APP = "dashboard/app.py"
TIMEOUT_S = 30
BIRTH_YEAR, SEX = 1950, "female"
N1_TUG = [(40, 15.2, ()), (20, 13.9, ("other_person_in_view",)), (3, 12.7, ())]  # days ago, seconds, flags
N2_TUG = [(30, 11.0), (4, 14.0)]
N1_CHAIR = [(40, 8), (3, 11)]
SATISFACTION = [5, 4, 3]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('function') / 'clinic.db'}"
    seed_dashboard_clinic(url)
    store = open_store(url)
    save_profile(store, "N1", Profile(birth_year=BIRTH_YEAR, sex=SEX), by="thera", reason="norms")
    now = utcnow()

    def store_result(code, test, value, days, flags=()):
        started = now - timedelta(days=days)
        result = AssessmentResult(test, float(value), "s" if test == "tug" else "stands",
                                  {"time_s" if test == "tug" else "stands": value}, flags=tuple(flags))
        record_assessment(store, code, result, Provenance(run_by="A. Therapist", source_kind="video",
                                                          source_name=f"{test}.mp4", pose_model="mediapipe",
                                                          started_at=started, ended_at=started + timedelta(seconds=20)))

    for days, value, flags in N1_TUG:
        store_result("N1", "tug", value, days, flags)
    for days, value in N2_TUG:
        store_result("N2", "tug", value, days)
    for days, value in N1_CHAIR:
        store_result("N1", "chair-stand-30s", value, days)
    with store.session() as db:  # the optional satisfaction after N1's latest sessions
        n1 = db.scalar(select(Patient.id).where(Patient.code == "N1"))
        rows = db.scalars(select(CheckIn).join(Session).where(Session.patient_id == n1, CheckIn.phase == "after")
                          .order_by(Session.started_at.desc())).all()
        for row, sat in zip(rows, SATISFACTION):
            row.satisfaction = sat
    yield url, store
    store.dispose()


@pytest.fixture
def db(clinic, monkeypatch):
    url, store = clinic
    monkeypatch.setenv("MINDMOVE_DB_URL", url)
    with store.session() as s:
        s.execute(delete(LoginThrottle))
    return store


def sign_in(username: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _frame_with(at: AppTest, column: str):
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(frames) == 1, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def test_function_page_draws_each_result_over_the_norm_band_with_flags(db):
    at = sign_in("thera", "pages/function.py")
    assert at.selectbox(key="function_test").options == ["Timed Up and Go", "30-second chair stand"]
    spec = chart(at)
    assert values(trace(spec, "Time (s)")["y"]) == [v for _, v, _ in N1_TUG]
    age = utcnow().year - BIRTH_YEAR
    norm = find_norm("tug", age_years=age, sex=SEX)
    band = [t for t in spec["data"] if str(t.get("name", "")).startswith("Published norm")]
    assert band and set(values(band[0]["y"])) == {norm.high}
    assert set(values(trace(spec, "Published cut-off")["y"])) == {12.0}
    assert values(trace(spec, "Check quality")["y"]) == [N1_TUG[1][1]]
    table = at.dataframe[0].value
    assert list(table["Quality flags"]) == ["none", "other person in view", "none"]
    assert set(table["Run by"]) == {"A. Therapist"} and set(table["Source"]) == {"video: tug.mp4"}
    assert any("Bohannon" in c.value for c in at.caption)  # the norm's source is named
    at.selectbox(key="function_test").set_value("chair-stand-30s").run()
    spec = chart(at)
    assert values(trace(spec, "Stands in 30 s")["y"]) == [v for _, v in N1_CHAIR]
    chair_norm = find_norm("chair_stand_30s", age_years=age, sex=SEX)
    band = [t for t in spec["data"] if str(t.get("name", "")).startswith("Published norm")][0]
    assert set(values(band["y"])) == {chair_norm.high}


def test_function_page_without_results_says_so(db):
    at = sign_in("thera", "pages/function.py")
    at.selectbox(key="patient_select").set_value("N2").run()
    assert not at.exception
    assert "No published norm applies" in " ".join(c.value for c in at.caption)  # N2 has no birth year


def test_programme_page_shows_functional_change_and_satisfaction(db):
    at = sign_in("boss", "pages/programme.py")
    table = _frame_with(at, "improved").set_index("title")
    tug = table.loc["Timed Up and Go"]
    # N1 15.2 -> 12.7 s improved by more than the 2.08 s MDC; N2 11.0 -> 14.0 s worse by more
    assert (tug["patients"], tug["improved"], tug["worsened"]) == (2, 1, 1)
    assert tug["mean_change"] == pytest.approx(((12.7 - 15.2) + (14.0 - 11.0)) / 2)
    chair = table.loc["30-second chair stand"]
    assert (chair["patients"], chair["improved"]) == (1, 1)  # 8 -> 11 stands, MDC 2.5
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Satisfaction after sessions (1-5)"] == f"{sum(SATISFACTION) / len(SATISFACTION):.2f}"
    assert metrics["Satisfaction answers"] == str(len(SATISFACTION))
    outcomes = _frame_with(at, "satisfaction_answers").set_index("patient_code")
    assert outcomes.loc["N1", "satisfaction_answers"] == len(SATISFACTION)


def test_checkins_page_shows_satisfaction(db):
    at = sign_in("thera", "pages/checkins.py")
    column = at.dataframe[0].value["Satisfaction after (1-5)"]
    assert sorted(column.dropna().astype(int)) == sorted(SATISFACTION)
    assert values(trace(chart(at), "Satisfaction after (1-5)")["y"])[-len(SATISFACTION):] == list(reversed(SATISFACTION))


def test_exports_and_report_carry_the_functional_tests(db):
    at = sign_in("thera", "pages/exports.py")
    at.button(key="prepare_tables").click().run()
    labels = [b.proto.label for b in at.get("link_button")]
    assert f"Function (functional tests, with norms and provenance) (CSV, {len(N1_TUG) + len(N1_CHAIR)} rows)" in labels
    thera = authenticate(db, "thera", PASSWORD)
    reader = PdfReader(io.BytesIO(render_progress_report(db, thera, "N1")))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Timed Up and Go, first / latest (s)" in text and "15.20 / 12.70" in text
    assert "Function: Timed Up and Go" in text and "Walking" in text
    assert "Bohannon" in text  # the norms' sources
