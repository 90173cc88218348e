"""The Streamlit dashboard through Streamlit's own AppTest, on a seeded SQLite file.

Every page: signed out it shows no patient data; signed in, the numbers it shows (charts,
metrics, tables) are the numbers in the database, read here directly with SQLAlchemy or
through the query layer.
"""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest
from sqlalchemy import delete, func, select
from streamlit.testing.v1 import AppTest

from dashboard import queries, ui
from dashboard_support import N1_BREATH, N1_GAIT, N1_SAFE, N1_SESSIONS, PASSWORD, PATIENT_NAMES, seed_dashboard_clinic
from mindmove import auth
from mindmove.auth import SIGN_IN_REFUSED, authenticate
from core.errors import AccessDenied
from mindmove.store import open_store
from mindmove.store.models import (
    AuditEntry, CheckIn, CueEvent, LoginThrottle, Patient, ProfileVersion, Sample, Session, SessionMetric, User,
)

APP = "dashboard/app.py"
PAGES = ["pages/patients.py", "pages/mobility.py", "pages/gait.py", "pages/breath.py", "pages/checkins.py",
         "pages/session_detail.py", "pages/calibration.py", "pages/home_programme.py", "pages/programme.py",
         "pages/exports.py"]
SECRETS = [*PATIENT_NAMES, *PATIENT_NAMES.values(), "seated knee extension", "northcott"]
TIMEOUT_S = 30


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'clinic.db'}"
    ids = seed_dashboard_clinic(url)
    store = open_store(url)
    yield url, store, ids
    store.dispose()


@pytest.fixture
def db(clinic, monkeypatch):
    """The seeded store; the app under test reads the same file through MINDMOVE_DB_URL.

    Every AppTest browser is the client ``local`` (Streamlit gives no address), so the failed
    sign-ins of one test would lock the next: each test starts with no sign-in failures."""
    url, store, ids = clinic
    monkeypatch.setenv("MINDMOVE_DB_URL", url)
    with store.session() as s:
        s.execute(delete(LoginThrottle))
    yield store, ids
    with store.session() as s:
        s.execute(delete(LoginThrottle))


def rendered_bytes(at: AppTest) -> bytes:
    """Everything the app sent to the browser (every element's protobuf), as one byte string."""
    out: list[bytes] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(proto.SerializeToString())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return b"\n".join(out)


def assert_no_patient_data(at: AppTest) -> None:
    blob = rendered_bytes(at).lower()
    for secret in SECRETS:
        assert secret.lower().encode() not in blob, f"{secret!r} was shown"


def sign_in(username: str, password: str = PASSWORD, *, page: str | None = None, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def audits(store, **where) -> list[AuditEntry]:
    with store.session() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return list(s.scalars(stmt))


def chart(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def values(trace_field) -> list:
    """A Plotly trace's x or y as a list (plotly encodes numeric arrays as base64 typed arrays)."""
    if isinstance(trace_field, dict) and "bdata" in trace_field:
        return list(np.frombuffer(base64.b64decode(trace_field["bdata"]), dtype=np.dtype(trace_field["dtype"])))
    return list(trace_field)


def trace(spec: dict, name: str) -> dict:
    matches = [t for t in spec["data"] if t.get("name") == name]
    assert matches, f"no trace {name!r} in {[t.get('name') for t in spec['data']]}"
    return matches[0]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# --- signed out ----------------------------------------------------------------------------

@pytest.mark.parametrize("page", [None, *PAGES])
def test_signed_out_no_page_shows_patient_data(db, page):
    store, _ = db
    before = len(audits(store))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["patient"] = "N1"  # even a patient named in the URL stays hidden
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception
    # the sign-in form, or (a page reached directly) only a request to sign in
    assert ([t.label for t in at.text_input] == ["Username", "Password"]
            or [i.value for i in at.info] == ["Please sign in to see the dashboard."])
    assert not (at.dataframe or at.metric or at.get("plotly_chart") or at.selectbox or at.get("download_button"))
    assert_no_patient_data(at)
    assert len(audits(store)) == before  # nothing about patients was even read


def test_sign_out_returns_to_the_form_and_is_audited(db):
    store, _ = db
    at = sign_in("thera")
    assert b"Ada Northcott" in rendered_bytes(at)
    at.button(key="sign_out").click().run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert_no_patient_data(at)
    assert audits(store, username="thera", action="sign_out")


# --- signed in: figures match the database ------------------------------------------------

@pytest.mark.parametrize("username", ["thera", "clin", "boss"])
def test_every_page_renders_for_every_role(db, username):
    at = sign_in(username)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, f"{page}: {at.exception}"
        assert not at.error, f"{page}: {[e.value for e in at.error]}"
    if username == "clin":  # the south team's patient, whose sessions differ in shape from N1's
        at.switch_page("pages/session_detail.py").run()
        assert at.selectbox(key="patient_select").value == "S1"
        assert len(at.selectbox(key="session_S1").options) == 2


def test_patients_page_lists_the_care_team_with_database_figures(db):
    store, _ = db
    at = sign_in("thera")
    shown = at.dataframe[0].value.set_index("patient_code")
    assert list(shown.index) == ["N1", "N2"]  # S1 is the south team's
    user = authenticate(store, "thera", PASSWORD)
    expected = queries.list_patients(store, user).set_index("patient_code")
    for code in ("N1", "N2"):
        assert shown.loc[code, "sessions_in_period"] == expected.loc[code, "sessions_in_period"]
        assert shown.loc[code, "days_with_data_in_period"] == expected.loc[code, "days_with_data_in_period"]
    with store.session() as s:  # and straight from the tables: N1's sessions in the last 30 days
        n1 = s.scalar(select(func.count(Session.id)).join(Patient).where(Patient.code == "N1"))
    assert shown.loc["N1", "sessions_in_period"] == n1 == len(N1_SESSIONS)
    assert "beyond the safe range" in shown.loc["N1", "flags"] and shown.loc["N2", "flags"] == ""
    assert b"S1" not in rendered_bytes(at) and b"Southgate" not in rendered_bytes(at)


def test_mobility_page_draws_the_recorded_angles_over_the_safe_band(db):
    store, _ = db
    at = sign_in("thera", page="pages/mobility.py")
    at.selectbox(key="mobility_motion").set_value("right_knee_flexion").run()
    with store.session() as s:
        rows = s.execute(select(SessionMetric.max_deg, SessionMetric.min_deg, SessionMetric.rom_deg,
                                SessionMetric.safe_max_deg, SessionMetric.time_in_range_pct)
                         .join(Session).join(Patient)
                         .where(Patient.code == "N1", SessionMetric.name == "right_knee_flexion_deg")
                         .order_by(Session.started_at)).all()
    spec = chart(at, 0)
    assert values(trace(spec, "Highest angle (deg)")["y"]) == [r[0] for r in rows] == [s[3] for s in N1_SESSIONS]
    assert values(trace(spec, "Lowest angle (deg)")["y"]) == [r[1] for r in rows]
    assert set(values(trace(spec, f"Safe range {N1_SAFE[0]:g} to {N1_SAFE[1]:g} deg")["y"])) == {N1_SAFE[1]}
    assert values(trace(spec, "Beyond safe range")["y"]) == [N1_SESSIONS[-1][3]]
    assert spec["layout"]["yaxis"]["title"]["text"] == "Angle (deg)"
    assert values(chart(at, 1)["data"][0]["y"]) == [r[2] for r in rows]
    assert values(chart(at, 2)["data"][0]["y"]) == [r[4] for r in rows]
    reps = values(chart(at, 3)["data"][0]["y"])
    assert reps == [5 + i % 3 for i in range(len(N1_SESSIONS))]
    m = metrics(at)
    assert m["Sessions with this motion"] == str(len(rows))
    assert m["Latest range of motion (deg)"] == f"{rows[-1][2]:.1f}"
    assert m["Latest safe range (deg)"] == f"{N1_SAFE[0]:.0f} to {N1_SAFE[1]:.0f}"
    entry = audits(store, action="view_mobility", patient_code="N1")[-1]
    assert entry.success and entry.username == "thera"


def test_gait_page_matches_results_and_shows_quality_flags(db):
    at = sign_in("thera", page="pages/gait.py")
    spec = chart(at)
    cadence = [t for t in spec["data"] if t["name"] == "Cadence (steps/min)"][0]
    assert values(cadence["y"]) == [g[1] for g in N1_GAIT]
    speed = [t for t in spec["data"] if t["name"] == "Gait speed (m/s)"][0]
    assert values(speed["y"]) == [g[2] for g in N1_GAIT]
    flagged = [t for t in spec["data"] if t["name"] == "Check quality"]
    assert flagged and values(flagged[0]["y"]) == [N1_GAIT[0][1]]
    table = at.dataframe[0].value
    assert list(table["Quality flags"]) == ["few strides", "none", "none"]
    assert list(table["Stride-time variability (CV %)"]) == [g[4] for g in N1_GAIT]


def test_breath_page_matches_results(db):
    at = sign_in("thera", page="pages/breath.py")
    spec = chart(at)
    assert values(trace(spec, "Resting rate (breaths/min)")["y"]) == [b[1] for b in N1_BREATH]
    assert values(trace(spec, "Practice rate (breaths/min)")["y"]) == [b[2] for b in N1_BREATH]
    assert values(trace(spec, "Pacer agreement (%)")["y"]) == [b[3] for b in N1_BREATH]
    assert values(trace(spec, "Exhale:inhale (ratio)")["y"]) == [b[4] for b in N1_BREATH]


def test_checkins_page_matches_database(db):
    store, _ = db
    at = sign_in("thera", page="pages/checkins.py")
    with store.session() as s:
        before = list(s.scalars(select(CheckIn.pain).join(Session).join(Patient)
                                .where(Patient.code == "N1", CheckIn.phase == "before").order_by(Session.started_at)))
    spec = chart(at)
    assert values(trace(spec, "Pain before (0-10)")["y"]) == before == [s[1] for s in N1_SESSIONS]
    assert values(trace(spec, "Pain after (0-10)")["y"]) == [s[2] for s in N1_SESSIONS]
    assert list(at.dataframe[0].value["Pain change (points)"]) == [s[2] - s[1] for s in N1_SESSIONS]


def test_session_detail_marks_the_cues_on_the_series(db):
    store, ids = db
    at = sign_in("thera", page="pages/session_detail.py")
    last = ids[f"N1_{len(N1_SESSIONS) - 1}"]
    assert at.selectbox(key="session_N1").value == last  # newest first
    with store.session() as s:
        cue_t = list(s.scalars(select(CueEvent.t_s).where(CueEvent.session_id == last).order_by(CueEvent.t_s)))
        n_samples = s.scalar(select(func.count(Sample.id)).where(Sample.session_id == last,
                                                                 Sample.channel == "right_knee_flexion_deg"))
    spec = chart(at)
    knee = trace(spec, "right knee flexion (deg)")
    assert len(values(knee["y"])) == n_samples
    assert values(trace(spec, "Cue given")["x"]) == cue_t
    lines = [sh for sh in spec["layout"]["shapes"] if sh.get("type") == "line"]
    assert sorted({sh["x0"] for sh in lines}) == cue_t
    assert metrics(at)["Cues given"] == str(len(cue_t))


def test_calibration_edit_uses_the_cli_validation_and_is_audited(db):
    store, _ = db
    at = sign_in("thera", page="pages/calibration.py")
    assert at.dataframe[0].value["Maximum (deg)"].tolist() == [N1_SAFE[1]]
    with store.session() as s:
        n_versions = s.scalar(select(func.count(ProfileVersion.id)))
    # beyond the physiological limit: refused with check_range's message, nothing stored
    assert at.selectbox(key="edit_motion").value == "right_knee_flexion"  # calibrated motions first
    at.number_input(key="edit_max_deg_right_knee_flexion").set_value(175.0)
    at.number_input(key="edit_min_deg_right_knee_flexion").set_value(100.0)
    at.text_input(key="edit_reason_right_knee_flexion").input("trying")
    at.button[-1].click().run()  # the form's submit button
    assert any("beyond" in w.value or "physiological" in w.value for w in at.warning), [w.value for w in at.warning]
    at.number_input(key="edit_min_deg_right_knee_flexion").set_value(50.0)
    at.number_input(key="edit_max_deg_right_knee_flexion").set_value(40.0)
    at.text_input(key="edit_reason_right_knee_flexion").input("trying")
    at.button[-1].click().run()
    assert any("minimum to be below the maximum" in w.value for w in at.warning)
    refused = audits(store, action="edit_calibration", success=False)
    assert refused and "minimum to be below the maximum" in refused[-1].detail
    # a valid change with SQL-like text as the reason: stored as plain text, a new version
    reason = "'; DROP TABLE profile_versions; --"
    at.number_input(key="edit_min_deg_right_knee_flexion").set_value(0.0)
    at.number_input(key="edit_max_deg_right_knee_flexion").set_value(85.0)
    at.text_input(key="edit_reason_right_knee_flexion").input(reason)
    at.button[-1].click().run()
    assert not at.exception
    with store.session() as s:
        newest = s.scalars(select(ProfileVersion).order_by(ProfileVersion.id.desc())).first()
        assert s.scalar(select(func.count(ProfileVersion.id))) == n_versions + 1
    assert newest.reason == reason and newest.data["ranges"]["right_knee_flexion"]["max_deg"] == 85.0
    assert newest.created_by == "thera"
    assert audits(store, action="edit_calibration", success=True)[-1].patient_code == "N1"
    assert at.dataframe[0].value["Maximum (deg)"].tolist() == [85.0]


def test_calibration_is_for_therapists(db):
    store, _ = db
    for name in ("clin", "boss"):  # the page is not in their navigation: they land elsewhere
        at = sign_in(name, page="pages/calibration.py")
        assert not at.number_input and not at.get("form")
    at2 = AppTest.from_file("dashboard/pages/calibration.py", default_timeout=TIMEOUT_S)  # the page run directly
    at2.session_state["signed_in_user"] = authenticate(store, "clin", PASSWORD)
    at2.run()
    assert any("therapist" in w.value for w in at2.warning) and not at2.number_input
    assert audits(store, action="view_calibration_page", username="clin")[-1].success is False


def test_programme_page_for_admin_matches_the_query_layer(db):
    store, _ = db
    at = sign_in("boss", page="pages/programme.py")
    boss = authenticate(store, "boss", PASSWORD)
    p = queries.compute_programme_evaluation(store, boss)
    m = metrics(at)
    assert m["Patients"] == str(p.patients_total) == "3"
    assert m[f"Active (last {queries.ACTIVE_DAYS} d)"] == str(p.active_patients) == "2"
    assert m["Sessions"] == str(p.sessions_total) == str(len(N1_SESSIONS) + 2)
    first3 = np.mean([s[1] for s in N1_SESSIONS[:3]])
    last3 = np.mean([s[1] for s in N1_SESSIONS[-3:]])
    assert m["Pain change (points)"] == f"{last3 - first3:.2f}"
    spec = chart(at)
    assert sum(values(trace(spec, "Sessions (count)")["y"])) == p.sessions_total


def test_programme_refused_for_a_therapist(db):
    store, _ = db
    at = AppTest.from_file("dashboard/pages/programme.py", default_timeout=TIMEOUT_S)
    at.session_state["signed_in_user"] = authenticate(store, "thera", PASSWORD)
    at.run()
    assert any("admin" in w.value for w in at.warning) and not at.metric
    assert audits(store, action="view_programme", username="thera")[-1].success is False


def test_exports_offer_every_visible_table(db):
    store, _ = db
    at = sign_in("thera", page="pages/exports.py")
    assert not at.get("download_button")  # nothing is read before the user asks
    at.button(key="prepare_patients").click().run()
    at.button(key="prepare_tables").click().run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Patient list (CSV, 2 rows)" in labels
    assert f"Sessions (CSV, {len(N1_SESSIONS)} rows)" in labels
    assert f"Check-ins (CSV, {len(N1_SESSIONS)} rows)" in labels
    assert f"Gait (CSV, {len(N1_GAIT)} rows)" in labels
    assert not any("Audit" in label for label in labels)  # admin only
    at.button(key="prepare_report").click().run()
    assert not at.exception
    assert "Download the PDF progress report" in [b.proto.label for b in at.get("download_button")]
    assert audits(store, action="export_report", patient_code="N1")[-1].success
    boss = sign_in("boss", page="pages/exports.py")
    boss.button(key="prepare_programme").click().run()
    assert any(b.proto.label.startswith("Audit log") for b in boss.get("download_button"))


# --- refusals -------------------------------------------------------------------------------

SQL_LIKE = ["' OR '1'='1", "N1'; DROP TABLE patients; --", "1 UNION SELECT password_hash FROM users", "%", "S1\" --"]


def test_wrong_password_and_unknown_user_refused_alike_and_audited(db):
    store, _ = db
    for username, password, reason in (("thera", "not the password", "wrong password"),
                                       ("nobody", PASSWORD, "unknown user")):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
        at.text_input(key="sign_in_username").input(username)
        at.text_input(key="sign_in_password").input(password)
        at.button[0].click().run()
        assert [e.value for e in at.error] == [SIGN_IN_REFUSED]
        assert "signed_in_user" not in at.session_state
        assert_no_patient_data(at)
        last = audits(store, action="sign_in_failed", username=username)[-1]
        assert last.success is False and last.detail == reason
    sign_in("thera")  # a success clears thera's failure count for the other tests


@pytest.mark.parametrize("text", SQL_LIKE)
def test_sql_like_sign_in_is_refused_and_audited(db, text):
    store, _ = db
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.text_input(key="sign_in_username").input(text)
    at.text_input(key="sign_in_password").input(text)
    at.button[0].click().run()
    assert [e.value for e in at.error] == [SIGN_IN_REFUSED]
    assert_no_patient_data(at)
    assert audits(store, action="sign_in_failed")[-1].username == text.strip().lower()
    with store.session() as s:
        assert s.scalar(select(func.count(Patient.id))) == 3  # the table is still there


def test_sql_like_search_finds_nothing_and_is_audited(db):
    store, _ = db
    at = sign_in("thera")
    for text in SQL_LIKE:
        at.text_input(key="patient_search").input(text).run()
        assert not at.dataframe, f"search {text!r} listed patients"
        assert any("No patients match" in i.value for i in at.info)
        assert audits(store, action="view_patient_list", username="thera")[-1].detail == "patients=0 search"
    at.text_input(key="patient_search").input("norris").run()
    assert list(at.dataframe[0].value["patient_code"]) == ["N2"]


@pytest.mark.parametrize("page", ["pages/mobility.py", "pages/gait.py", "pages/breath.py", "pages/checkins.py",
                                  "pages/session_detail.py", "pages/calibration.py", "pages/exports.py"])
@pytest.mark.parametrize("requested", ["S1", "N1' OR '1'='1"])
def test_patient_outside_the_care_team_by_url_is_refused_and_audited(db, page, requested):
    store, _ = db
    at = sign_in("thera")
    at.query_params["patient"] = requested
    at.switch_page(page).run()
    assert not at.exception
    assert any("not in your care team" in w.value for w in at.warning)
    assert not at.get("plotly_chart") and not at.metric
    blob = rendered_bytes(at)
    assert b"Southgate" not in blob and b"left shoulder" not in blob and b"left_shoulder" not in blob
    entry = audits(store, action="open_patient_url", username="thera")[-1]
    assert entry.success is False and entry.patient_code == requested


def test_other_teams_session_by_url_is_refused_and_audited(db):
    store, ids = db
    for requested in (str(ids["S1_0"]), "1 OR 1=1"):
        at = sign_in("thera", page="pages/session_detail.py", params={"session": requested})
        assert any("not one of your care team's" in w.value for w in at.warning)
        assert not at.get("plotly_chart")
        entry = audits(store, action="view_session", username="thera")[-1]
        assert entry.success is False and f"session={requested}" in entry.detail


def test_own_patient_by_url_is_opened(db):
    at = sign_in("thera", page="pages/checkins.py", params={"patient": "N2"})
    assert at.selectbox(key="patient_select").value == "N2"
    assert any("No check-ins recorded for N2" in i.value for i in at.info)
    assert not at.get("plotly_chart")


# --- re-checked on every rerun, idle sign-out, per-client limit, calm failures ---------------

def test_exports_read_only_when_asked_and_audit_each_download(db):
    store, _ = db
    at = sign_in("thera", page="pages/exports.py")
    at.button(key="prepare_tables").click().run()
    views = len([a for a in audits(store, username="thera") if a.action.startswith("view_")])
    at.download_button(key="checkins").click().run()
    assert not at.exception
    entry = audits(store, action="export_csv", username="thera")[-1]
    assert (entry.patient_code, entry.detail) == ("N1", f"table=checkins rows={len(N1_SESSIONS)}")
    at.run()  # a rerun, as any click makes: nothing is read (or audited as viewed) again
    assert len([a for a in audits(store, username="thera") if a.action.startswith("view_")]) == views
    before = len(audits(store, action="view_patient_list", username="thera"))
    at.switch_page("pages/gait.py").run()  # the patient chooser is not a view of the patient list
    assert len(audits(store, action="view_patient_list", username="thera")) == before
    assert audits(store, action="view_gait", username="thera")[-1].patient_code == "N1"


def test_browsers_without_an_address_share_one_sign_in_limit(db):
    store, _ = db
    for i in range(auth.MAX_FAILURES + 2):  # different usernames: only the client key can lock
        at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
        at.text_input(key="sign_in_username").input(f"guess{i}")
        at.text_input(key="sign_in_password").input("password123")
        at.button[0].click().run()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.text_input(key="sign_in_username").input("thera")
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    assert "signed_in_user" not in at.session_state
    assert any("paused" in e.value for e in at.error), [e.value for e in at.error]
    assert audits(store, action="sign_in_locked", username="thera")[-1].client == ui.LOCAL_CLIENT
    with store.session() as s:
        assert s.get(LoginThrottle, f"client:{ui.LOCAL_CLIENT}").failures == auth.MAX_FAILURES


def _set_user(store, username: str, **values) -> None:
    with store.session() as s:
        row = s.scalar(select(User).where(User.username == username))
        for k, v in values.items():
            setattr(row, k, v)


def test_a_deactivated_user_is_signed_out_at_the_next_click(db):
    store, _ = db
    at = sign_in("thera", page="pages/mobility.py")
    assert at.get("plotly_chart")
    _set_user(store, "thera", active=False)
    try:
        at.run()
        assert [i.value for i in at.info] == [auth.ACCOUNT_CHANGED]  # on the page it was on
        assert not (at.get("plotly_chart") or at.metric or at.dataframe or at.selectbox)
        assert "signed_in_user" not in at.session_state
        assert_no_patient_data(at)
        assert audits(store, username="thera")[-1].action == "sign_out_inactive"
    finally:
        _set_user(store, "thera", active=True)


def test_a_demoted_admin_loses_the_admin_pages(db):
    store, _ = db
    at = sign_in("boss", page="pages/programme.py")
    assert metrics(at)["Patients"] == "3"
    stale = at.session_state["signed_in_user"]
    _set_user(store, "boss", role="clinician")
    try:
        at.switch_page("pages/programme.py").run()
        assert not at.exception and "Patients" not in metrics(at)
        assert at.session_state["signed_in_user"].role == "clinician"
        assert audits(store, username="boss", action="role_changed")
        page = AppTest.from_file("dashboard/pages/programme.py", default_timeout=TIMEOUT_S)  # the page run directly
        page.session_state["signed_in_user"] = stale
        page.run()
        assert not page.metric and any("admin" in w.value for w in page.warning)
        with pytest.raises(AccessDenied):
            queries.compute_programme_evaluation(store, stale)
        with pytest.raises(AccessDenied):
            queries.load_audit_log(store, stale)
    finally:
        _set_user(store, "boss", role="admin")


def test_idle_sign_in_ends_after_the_timeout(db):
    store, _ = db
    at = sign_in("thera")
    at.session_state[ui.ACTIVE_AT_KEY] = time.time() - ui.IDLE_TIMEOUT_S + 60
    at.run()
    assert at.dataframe  # 29 minutes idle: still signed in
    at.session_state[ui.ACTIVE_AT_KEY] = time.time() - ui.IDLE_TIMEOUT_S - 1
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]  # the sign-in form, with why
    assert [i.value for i in at.info] == [ui.IDLE_NOTICE]
    assert_no_patient_data(at)
    assert audits(store, username="thera")[-1].action == "sign_out_idle"


def test_a_store_failure_is_a_calm_message_not_a_traceback(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    seed_dashboard_clinic(url)
    monkeypatch.setenv("MINDMOVE_DB_URL", url)
    at = sign_in("thera")
    store = open_store(url, create=False)
    try:
        with store.engine.begin() as c:  # the gait table goes missing under the running dashboard
            c.exec_driver_sql("ALTER TABLE gait_results RENAME TO gait_results_lost")
        at.switch_page("pages/gait.py").run()
    finally:
        store.dispose()
    assert not at.exception
    assert [w.value for w in at.warning] == [ui.COULD_NOT_LOAD]
    blob = rendered_bytes(at)
    assert b"Traceback" not in blob and b"gait_results" not in blob and b"OperationalError" not in blob


def test_the_browser_is_never_sent_error_details():
    from mindmove.commands.dashboard import streamlit_command

    cmd = streamlit_command(port=8611)
    assert cmd[cmd.index("--client.showErrorDetails") + 1] == "none"
