"""Exercise files: the shipped set, a clinic directory, malformed files."""

from __future__ import annotations

import pytest

from calibration.limits import MOTIONS
from feedback.exercises import load_exercise, load_exercises
from core.errors import InputError, ValidationError

GOOD = """
title = "Wall push"
position = "standing"
[tracking]
motion = "elbow_flexion"
sides = ["left"]
[repetition]
target = 5
"""


def test_shipped_exercises_cover_the_programme():
    ex = load_exercises()
    for name in ("seated_knee_extension", "sit_to_stand", "standing_shoulder_flexion", "shoulder_abduction",
                 "elbow_flexion", "standing_hip_abduction", "neck_rotation", "standing_balance",
                 "mindful_walking", "seated_shoulder_flexion", "seated_shoulder_abduction",
                 "seated_hip_abduction", "seated_balance"):
        assert name in ex, name
    for e in ex.values():
        assert all(m in MOTIONS for m in e.tracking.motions)
        assert e.tracking.landmarks
        if e.repetition.enabled:
            assert 0 < e.repetition.start_fraction < e.repetition.top_fraction < 1
        if e.tempo:
            assert e.tempo.min_up_s >= 2.0 and e.tempo.min_down_s >= 2.0
    knee = ex["seated_knee_extension"]
    assert knee.position == "seated" and knee.tracking.direction == "decrease"
    assert knee.tracking.channel == "right_knee_flexion_deg"
    assert knee.with_side("left").tracking.channel == "left_knee_flexion_deg"
    assert ex["sit_to_stand"].tracking.channel == "knee_flexion_deg"


def test_clinic_directory_adds_and_overrides(tmp_path, monkeypatch):
    (tmp_path / "wall_push.toml").write_text(GOOD)
    ex = load_exercises(directory=tmp_path)
    assert ex["wall_push"].tracking.angle_names == ("left_elbow_flexion_deg",)
    assert ex["wall_push"].repetition.target == 5
    assert "neck_rotation" in ex


@pytest.mark.parametrize("text, field", [
    (GOOD.replace('motion = "elbow_flexion"', 'motion = "elbow_twist"'), "tracking.motion"),
    (GOOD.replace('position = "standing"', 'position = "lying"'), "position"),
    (GOOD.replace('title = "Wall push"', ''), "title"),
    (GOOD.replace("target = 5", "target = -1"), "repetition.target"),
    (GOOD + "start_fraction = 0.8\ntop_fraction = 0.5\n", "repetition.top_fraction"),
    (GOOD.replace('sides = ["left"]', 'sides = ["middle"]'), "tracking.sides"),
    (GOOD + "[tempo]\nmin_up_s = 0\n", "tempo.min_up_s"),
    (GOOD + "[posture]\nchecks = ['slouch']\n", "posture.checks"),
])
def test_malformed_file_names_file_and_field(tmp_path, monkeypatch, text, field):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ValidationError) as err:
        load_exercise("broken", directory=tmp_path)
    msg = str(err.value)
    assert str(path) in msg and f"'{field}'" in msg and "\n" not in msg


def test_invalid_toml_and_unknown_name(tmp_path, monkeypatch):
    (tmp_path / "bad.toml").write_text("title = [unclosed")
    with pytest.raises(ValidationError, match="bad.toml"):
        load_exercise("bad", directory=tmp_path)
    with pytest.raises(InputError, match="Unknown exercise 'nope'"):
        load_exercise("nope", directory=tmp_path)


def test_exercises_read_no_settings_the_cli_passes_the_clinic_folder(tmp_path, monkeypatch, capsys):
    """feedback.exercises reads no settings (layering): without ``directory``, the shipped
    set; ``mindmove exercises`` passes MINDMOVE_EXERCISES_DIR, as before."""
    from mindmove.cli import main

    (tmp_path / "wall_push.toml").write_text(GOOD)
    monkeypatch.setenv("MINDMOVE_EXERCISES_DIR", str(tmp_path))
    assert "wall_push" not in load_exercises()
    assert main(["exercises"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Wall push" in "\n".join(lines)
    assert lines[0].split()[:5] == ["exercise", "(--exercise)", "position", "tracked", "motion"]  # a header first
    assert len(lines) == 1 + len(load_exercises(directory=tmp_path))
