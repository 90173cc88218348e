"""`mindmove demo --seed-only`: the demo clinic comes from the real analysis of simulated streams."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import queries as q
from mindmove.auth import authenticate
from mindmove.cli import main
from mindmove.demo import (
    DEMO_PASSWORD, PATIENTS, REPS_PER_SESSION, simulate_breath_signal, simulate_exercise,
)
from mindmove.store import open_store
from mindmove.store.models import Session


def test_simulated_exercise_is_measured_back_at_the_chosen_angles():
    p = PATIENTS[0]
    measured = simulate_exercise(p, 80.0).column(p.motion)
    assert np.nanmax(measured) == pytest.approx(80.0, abs=0.5)
    assert np.nanmin(measured) == pytest.approx(5.0, abs=0.5)


def test_simulated_breath_is_analysed_at_its_rate():
    from feedback.breath import analyze_breath

    t_s, values = simulate_breath_signal(6.0, seconds=120.0)
    assert analyze_breath(t_s, values, rate_hz=25.0).summary["rate_bpm_median"] == pytest.approx(6.0, abs=0.6)


def test_demo_seed_only_fills_a_clinic_the_dashboard_can_show(capsys):
    assert main(["demo", "--seed-only"]) == 0
    out = capsys.readouterr().out
    assert "therapist" in out and DEMO_PASSWORD in out
    store = open_store()
    try:
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
        breath = q.compute_breath_trends(store, admin, "D005")
        assert breath.rate_bpm.iloc[-1] < breath.rate_bpm.iloc[0]  # settles towards the 6/min pacer
        _check_gait(store, admin)
        clinician = authenticate(store, "clinician", DEMO_PASSWORD)
        assert set(q.list_patients(store, clinician).care_team) == {"Riverside"}
    finally:
        store.dispose()
    assert main(["demo", "--seed-only"]) == 0  # a second run leaves the clinic as it is
    assert "already" in capsys.readouterr().out


def _check_gait(store, admin):
    """Every patient has weekly walks whose stored figures the gait analysis gives again."""
    from feedback.gait import compute_gait
    from feedback.simulate import simulate_walk

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
    series = simulate_walk(**{**walk, "image_size": tuple(walk["image_size"])})
    report = compute_gait(series, scale_m_per_px=1.0 / series.attrs["px_per_m"])
    assert row.cadence_steps_per_min == pytest.approx(report.parameters["cadence_steps_per_min"], abs=1.0)
    assert row.gait_speed_m_s == pytest.approx(report.parameters["gait_speed_m_s"], abs=0.01)
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
