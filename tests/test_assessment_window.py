"""The assessment window for real on a virtual X display (Xvfb + evilwm, as the practice
window is tested): `mindmove assess` on a rendered video shows the patient's view with the
instruction band, stores the result, and the therapist's q key cancels with nothing stored."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from mindmove.auth import create_patient, create_team
from mindmove.store import open_store
from mindmove.store.models import AssessmentRecord
from synthetic.assessments import PACES, Camera, TugSpec, simulate_tug
from synthetic.render import render_simulated_video
from test_windows_xvfb import _find_window, _has_cue_band, _image_area, _save, _screenshot, _x, display, run  # noqa: F401

pytestmark = [pytest.mark.display, pytest.mark.slow]
TITLE = "MindMove assessment"
RUN_TIMEOUT_S = 300


@pytest.fixture
def clinic_video(tmp_path):
    store = open_store()  # the test's own data folder (MINDMOVE_DATA_DIR), as the subprocess will use
    create_team(store, "north", by="test")
    create_patient(store, "P001", team="north", by="test")
    sim = simulate_tug(TugSpec(pace=PACES["typical"], camera=Camera(height_m=1.0, distance_m=4.5, aim_x_m=1.5),
                               rate_hz=15.0))
    yield store, render_simulated_video(sim, tmp_path / "tug.mp4"), sim
    store.dispose()


def _stored(store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count(AssessmentRecord.id)))


def test_the_window_shows_the_patient_view_and_the_result_is_stored(run, display, clinic_video):
    store, video, sim = clinic_video
    command = run("assess", "--patient", "P001", "--test", "tug", "--source", str(video), "--windowed",
                  "--by", "A. Therapist")
    _find_window(display, TITLE, command)
    banded = False
    shot, shots = None, 0
    while command.proc.poll() is None and not banded:  # until a frame is drawn (the model loads first)
        try:
            _, shot = _screenshot(display, TITLE)
        except AssertionError:  # the window closed between the search and the photograph
            break
        shots += 1
        banded = not (shot == shot[0, 0]).all() and _has_cue_band(_image_area(shot))
        time.sleep(0.2)
    if shot is not None:
        _save(shot, "assessment_window.png")
    assert banded, f"{shots} screenshots, process {'ended' if command.proc.poll() is not None else 'running'}"
    command.proc.wait(timeout=RUN_TIMEOUT_S)  # every frame through the model, then the result held 5 s
    rc, out, err = command.finish()
    assert rc == 0, err[-2000:]
    assert "Timed Up and Go for P001" in out and _stored(store) == 1
    with store.session() as s:
        value = s.scalar(select(AssessmentRecord.value))
    assert value == pytest.approx(sim.attrs["truth"]["total_s"], abs=0.3)


def test_q_cancels_and_nothing_is_stored(run, display, clinic_video):
    store, video, _ = clinic_video
    command = run("assess", "--patient", "P001", "--test", "tug", "--source", str(video), "--windowed")
    win = _find_window(display, TITLE, command)
    _x(display, "xdotool", "windowactivate", "--sync", str(win))
    _x(display, "xdotool", "key", "--window", str(win), "q")
    rc, _, err = command.finish()
    assert rc == 2 and "cancelled; nothing was stored" in err
    assert _stored(store) == 0
