"""Exercise titles come from the message catalogue (review item 20); the breath renderer
loads OpenCV only when it draws."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from feedback.exercises import exercise_title, load_exercise, load_exercises
from feedback.messages import load_catalogue
from feedback.render_practice import render_practice_frame
from calibration.practice import build_practice_pipeline

REPO = Path(__file__).resolve().parents[1]


def test_every_shipped_exercise_has_a_catalogue_title(monkeypatch):
    monkeypatch.delenv("MINDMOVE_EXERCISES_DIR", raising=False)
    catalogue = load_catalogue()
    for name, ex in load_exercises().items():
        assert catalogue[f"exercise.{name}"] == ex.title == exercise_title(ex)


def test_translated_title_is_shown_and_a_clinic_exercise_keeps_its_own(tmp_path, monkeypatch):
    own = tmp_path / "messages.toml"
    own.write_text('[exercise]\nsit_to_stand = "Aufstehen und Hinsetzen"\nelbow_flexion = "Ellbogen"\n',
                   encoding="utf-8")
    clinic = tmp_path / "exercises"
    clinic.mkdir()
    shipped_toml = (REPO / "feedback" / "exercises" / "elbow_flexion.toml").read_text("utf-8")
    (clinic / "elbow_flexion.toml").write_text(shipped_toml.replace('title = "Elbow flexion"',
                                                                    'title = "Elbow bends, our way"'))
    monkeypatch.setenv("MINDMOVE_MESSAGES", str(own))
    load_catalogue.cache_clear()
    try:
        assert exercise_title(load_exercise("sit_to_stand")) == "Aufstehen und Hinsetzen"
        assert exercise_title(load_exercise("elbow_flexion", directory=clinic)) == "Elbow bends, our way"
        # The renderer draws the translated label: the picture differs from the English one.
        pipeline = build_practice_pipeline(load_exercise("sit_to_stand"))
        image = np.full((480, 640, 3), 90, np.uint8)
        german = render_practice_frame(image, None, {}, None, pipeline)
    finally:
        monkeypatch.delenv("MINDMOVE_MESSAGES")
        load_catalogue.cache_clear()
    english = render_practice_frame(image, None, {}, None, pipeline)
    assert np.any(german != english)


def test_importing_the_breath_renderer_loads_no_opencv():
    code = "import sys, feedback.render_breath, feedback.render_practice; print('cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
