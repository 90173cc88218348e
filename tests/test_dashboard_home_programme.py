"""The dashboard's Home programme page (therapist role) through Streamlit's AppTest: today's
plan from the database, saving a new version, a one-time link for the patient's device that
really binds one, disconnecting it; a clinician is refused, signed out shows nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from streamlit.testing.v1 import AppTest

from core.errors import AccessDenied
from dashboard_support import PASSWORD, seed_dashboard_clinic
from mindmove.programme import HomeProgrammePlan, load_programme, parse_prescription, save_programme
from mindmove.store import open_store
from mindmove.store.models import LoginThrottle
from mindmove.telehealth.access import authenticate_device, list_devices, redeem_invitation

APP = "dashboard/app.py"
PAGE = "pages/home_programme.py"
TIMEOUT_S = 30


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    seed_dashboard_clinic(url)
    monkeypatch.setenv("MINDMOVE_DB_URL", url)
    monkeypatch.setenv("MINDMOVE_HOME_URL", "https://mindmove.clinic.example:8443")
    store = open_store(url)
    save_programme(store, "N1", HomeProgrammePlan(items=(parse_prescription("seated_knee_extension:right=2x8"),),
                                                 days_per_week=4, breathing_sessions_per_day=1), by="thera")
    yield store
    with store.session() as s:
        s.execute(delete(LoginThrottle))
    store.dispose()


def sign_in(username: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["patient"] = "N1"
    at.run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_therapist_sees_the_plan_saves_a_version_and_connects_a_device(db):
    at = sign_in("thera")
    table = at.dataframe[0].value
    assert list(table["Exercise"]) == ["seated knee extension (right)", "guided breathing, 5 min"]
    assert list(table["Sets x repetitions"]) == ["2 x 8", "1 a day"]
    assert list(table["Done today (repetitions)"]) == ["0 of 16", "0 of 1 sessions"]
    # a new version: elbow flexion added, 3 days a week
    at.multiselect(key="home_exercises_N1").set_value(["seated_knee_extension", "elbow_flexion"]).run()
    at.number_input(key="sets_N1_elbow_flexion").set_value(3)
    at.number_input(key="reps_N1_elbow_flexion").set_value(10)
    at.number_input(key="days_N1").set_value(3)
    at.button(key="FormSubmitter:home_programme_N1-Save as a new version").click().run()
    assert not at.exception, at.exception
    record = load_programme(db, "N1")
    assert record.version == 2 and record.plan.days_per_week == 3
    assert [i.label for i in record.plan.items] == ["seated_knee_extension:right=2x8", "elbow_flexion=3x10"]
    # a one-time link, shown once, that binds the patient's device
    at.button(key="invite_N1").click().run()
    link = at.code[0].value
    assert link.startswith("https://mindmove.clinic.example:8443/join#")
    grant = redeem_invitation(db, link.split("#", 1)[1], label="tablet")
    assert authenticate_device(db, grant.token).patient_code == "N1"
    at.run()
    assert at.dataframe[1].value["Browser"].tolist() == ["tablet"]
    at.button(key="revoke_all_N1").click().run()
    with pytest.raises(AccessDenied):
        authenticate_device(db, grant.token)
    assert list_devices(db, "N1")[0].revoked_by == "thera"


def test_a_clinician_is_refused_and_nothing_is_shown_signed_out(db):
    at = sign_in("clin")
    assert any("therapist role" in w.value for w in at.warning)
    assert not at.dataframe and not at.code
    signed_out = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    signed_out.run()
    signed_out.switch_page(PAGE).run()
    assert not signed_out.dataframe and not signed_out.code
