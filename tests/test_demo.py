"""`mindmove demo --seed-only`: the demo clinic comes from the real analysis of simulated streams."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from dashboard import queries as q
from mindmove.auth import authenticate, create_patient, create_team, create_user
from mindmove.cli import main
from mindmove.demo import (
    DEMO_PASSWORD, DEMO_TEAMS, DEMO_USERS, PACER_TARGET_BPM, PATIENTS, REPS_PER_SESSION, demo_db_url,
    measure_paced_breath, seed_demo, simulate_breath_signal, simulate_exercise,
)
from core.errors import StoreError
from mindmove.store import open_store
from mindmove.store.models import Patient, Session, User


class StartedServer:
    """Stands in for ``serve_until_stopped`` where the CLI would start the Streamlit server
    (the one process seam; the real server is driven in tests/test_browser_e2e.py and
    tests/test_dashboard_server.py): records the command line and environment it would run with."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[tuple[list[str], dict | None]] = []
        self.background: list[tuple[list[str], dict | None]] = []  # the home-practice server (Popen)
        monkeypatch.setattr("mindmove.commands.dashboard.serve_until_stopped", self)
        monkeypatch.setattr(subprocess, "Popen", self.popen)

    def __call__(self, cmd, env=None, **_kw) -> int:
        self.calls.append((list(cmd), env))
        return 0

    def popen(self, cmd, env=None, **_kw):
        self.background.append((list(cmd), env))
        started = self

        class Process:
            returncode = None

            def poll(self):
                return self.returncode

            def terminate(self):
                self.returncode = -15
                started.terminated = True

            def wait(self, timeout=None):
                return self.returncode

        return Process()

    def option(self, name: str) -> str:
        cmd = self.calls[-1][0]
        return cmd[cmd.index(name) + 1]


def test_simulated_exercise_is_measured_back_at_the_chosen_angles():
    p = PATIENTS[0]
    measured = simulate_exercise(p, 80.0).column(p.motion)
    assert np.nanmax(measured) == pytest.approx(80.0, abs=0.5)
    assert np.nanmin(measured) == pytest.approx(5.0, abs=0.5)


def test_simulated_breath_is_analysed_at_its_rate():
    from feedback.breath import analyze_breath

    t_s, values = simulate_breath_signal(6.0, seconds=120.0)
    assert analyze_breath(t_s, values, rate_hz=25.0).summary["rate_bpm_median"] == pytest.approx(6.0, abs=0.6)


def _interrupted_seed(url: str) -> None:
    """What an interrupted seed leaves: teams, users and the first patient, no completion entry."""
    store = open_store(url)
    try:
        for team in DEMO_TEAMS:
            create_team(store, team, by="demo")
        for name, role, teams in DEMO_USERS:
            create_user(store, name, DEMO_PASSWORD, role=role, teams=teams, by="demo")
        create_patient(store, PATIENTS[0].code, team=PATIENTS[0].team, by="demo")
    finally:
        store.dispose()


def test_demo_seed_only_fills_its_own_clinic_the_dashboard_can_show(capsys, monkeypatch, tmp_path,
                                                                     _isolated_data_dir):
    clinic = tmp_path / "clinic.db"  # the clinic's real store: the demo must never write there
    monkeypatch.setenv("MINDMOVE_DB_URL", f"sqlite:///{clinic}")
    url = demo_db_url()
    assert url == f"sqlite:///{Path(_isolated_data_dir) / 'demo.db'}"
    _interrupted_seed(url)  # the next run clears it and seeds the whole clinic
    assert main(["demo", "--seed-only"]) == 0
    out = capsys.readouterr().out
    assert "therapist" in out and DEMO_PASSWORD in out and "demo.db" in out
    assert not clinic.exists()
    store = open_store(url)
    try:
        with store.session() as db:
            assert db.scalar(select(func.count(User.id))) == len(DEMO_USERS)
            assert db.scalars(select(Patient.code).order_by(Patient.code)).all() == [p.code for p in PATIENTS]
        admin = authenticate(store, "admin", DEMO_PASSWORD)
        patients = q.list_patients(store, admin).set_index("patient_code")
        assert list(patients.index) == [p.code for p in PATIENTS]
        # the stories show as the gentle flags
        assert patients.loc["D001", "range_exceeded_last_session"]
        assert patients.loc["D003", "practice_dropping_off"]
        assert patients.loc["D003", "pain_trending_up"]
        mobility = q.compute_mobility(store, admin, "D001")
        assert len(mobility) >= 15
        # progress: later weeks reach further than the first
        assert mobility.rom_deg.tail(5).mean() > mobility.rom_deg.head(5).mean() + 15
        reps = q.compute_repetitions(store, admin, "D001")
        assert (reps.repetitions == REPS_PER_SESSION).mean() > 0.9
        _check_breath(store, admin)
        _check_gait(store, admin)
        # home practice: a programme for every patient, and practice days recorded at home
        from mindmove.programme import load_programme

        assert all(load_programme(store, p.code) is not None for p in PATIENTS)
        locations = q.list_sessions(store, admin, "D001").location
        assert set(locations) == {"clinic", "home"} and (locations == "home").sum() >= 4
        clinician = authenticate(store, "clinician", DEMO_PASSWORD)
        assert set(q.list_patients(store, clinician).care_team) == {"Riverside"}
    finally:
        store.dispose()
    server = StartedServer(monkeypatch)
    assert main(["demo", "--port", "8612"]) == 0  # a second run leaves the clinic as it is, then serves it
    out = capsys.readouterr().out
    assert "already" in out
    assert server.option("--server.address") == "localhost" and server.option("--server.port") == "8612"
    assert server.calls[-1][1]["MINDMOVE_DB_URL"] == url  # the dashboard shows the demo's database
    # beside it, home practice on the same database, stopped with the dashboard; a link for D001
    home_cmd, home_env = server.background[-1]
    assert home_cmd[-3:] == ["serve", "--port", "8600"] and home_env["MINDMOVE_DB_URL"] == url
    assert server.terminated
    assert "http://localhost:8600/join#" in out
    assert not clinic.exists()


def _check_breath(store, admin):
    """Breath results are measured as a live `breathe` session measures them."""
    for p in PATIENTS:
        breath = q.compute_breath_trends(store, admin, p.code)
        assert len(breath) >= 1, p.code
        # signed, measured minus guided, as real sessions store it
        assert np.allclose(breath.rate_difference_bpm, breath.rate_bpm - breath.pacer_target_bpm)
        assert breath.pacer_agreement_pct.between(0, 100).all()
    d005 = q.compute_breath_trends(store, admin, "D005")
    assert d005.rate_bpm.iloc[-1] < d005.rate_bpm.iloc[0]  # settles towards the 6/min pacer
    with store.session() as db:
        breathe = db.scalars(select(Session).where(Session.kind == "breathe")).all()
    assert breathe and all(s.ended_at is not None and s.last_write_at == s.ended_at for s in breathe)
    assert {round((s.ended_at - s.started_at).total_seconds()) for s in breathe} == {90}


def test_paced_breath_agreement_is_the_pacer_scorers():
    """On the guide's beat the scorer finds close agreement; two breaths a minute faster, the
    phases drift apart and agreement falls to about chance."""
    t_s, on_beat = simulate_breath_signal(PACER_TARGET_BPM, ie_ratio=2.0, paced=True, seed=5)
    matched = measure_paced_breath(t_s, on_beat)
    assert matched["pacer_agreement_pct"] > 75
    assert matched["rate_bpm"] == pytest.approx(PACER_TARGET_BPM, abs=0.3)
    _, fast = simulate_breath_signal(PACER_TARGET_BPM + 2.0, ie_ratio=2.0, paced=True, seed=5)
    faster = measure_paced_breath(t_s, fast)
    assert faster["pacer_agreement_pct"] < 65
    assert faster["rate_difference_bpm"] == pytest.approx(2.0, abs=0.4) and faster["rate_difference_bpm"] > 0


def test_demo_refuses_a_database_with_a_clinics_own_data(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    store = open_store(url)
    try:
        create_user(store, "ana", "a long enough password", role="therapist", by="test")
        with pytest.raises(StoreError, match="1 user"):
            seed_demo(store)
        with store.session() as db:
            assert db.scalars(select(User.username)).all() == ["ana"]
    finally:
        store.dispose()
    assert main(["demo", "--seed-only", "--db-url", url]) == 2
    err = capsys.readouterr().err
    assert "never writes into a clinic's data" in err and "Traceback" not in err


def test_dashboard_serves_localhost_by_default(monkeypatch):
    server = StartedServer(monkeypatch)
    assert main(["dashboard", "--port", "8613"]) == 0
    assert server.option("--server.address") == "localhost"
    assert server.option("--client.showErrorDetails") == "none"
    assert server.calls[-1][1] is None  # the configured store, as the environment says


def _check_gait(store, admin):
    """Every patient has weekly walks whose stored figures the gait analysis gives again."""
    from feedback.gait import compute_gait
    from synthetic import WalkSpec, simulate_walk

    for p in PATIENTS:
        gait = q.compute_gait_trends(store, admin, p.code)
        assert len(gait) >= 4, p.code
        assert (gait.direction == "forward").all() and (gait.strides >= 8).all()
        assert gait.cadence_steps_per_min.between(80, 120).all()
        assert gait.step_time_symmetry.between(0.8, 1.0).all()
    d001 = q.compute_gait_trends(store, admin, "D001")
    assert d001.cadence_steps_per_min.iloc[-1] > d001.cadence_steps_per_min.iloc[0] + 5  # walks more briskly
    assert d001.step_time_symmetry.iloc[-1] > d001.step_time_symmetry.iloc[0]  # and more evenly
    d002 = q.compute_gait_trends(store, admin, "D002")
    assert d002.step_time_symmetry.min() < d002.step_time_symmetry.iloc[0] - 0.03  # the flare-up shows
    # Recompute one stored walk from its simulation arguments.
    row = d002.loc[d002.step_time_symmetry.idxmin()]
    with store.session() as db:
        walk = db.get(Session, int(row.session_id)).summary["simulated_walk"]
    series = simulate_walk(WalkSpec.from_dict(walk))
    report = compute_gait(series, scale_m_per_px=1.0 / series.attrs["px_per_m"])
    assert row.cadence_steps_per_min == pytest.approx(report.parameters.cadence_steps_per_min, abs=1.0)
    assert row.gait_speed_m_s == pytest.approx(report.parameters.gait_speed_m_s, abs=0.01)
    # ... and it is the cadence the simulated person walked at (stride-to-stride variability aside)
    assert row.cadence_steps_per_min == pytest.approx(walk["cadence_steps_per_min"], abs=4.0)


def test_dashboard_runs_headless_without_a_display(monkeypatch):
    from mindmove.commands.dashboard import APP_PATH, streamlit_command

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    cmd = streamlit_command(port=8611)
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--server.port") + 1] == "8611" and str(APP_PATH) in cmd
    monkeypatch.setenv("DISPLAY", ":0")
    cmd = streamlit_command(port=8611)
    assert cmd[cmd.index("--server.headless") + 1] == "false"
