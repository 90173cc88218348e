"""A clinic's own message or exercise files never crash a session with a traceback (review
item 7): they are checked when loaded, and `practice` loads them before the camera opens."""

from __future__ import annotations

import pytest

from feedback.cues import Cue
from feedback.exercises import load_exercises
from feedback.messages import compute_placeholders, load_catalogue, message
from mindmove.cli import main
from core.errors import InputError


@pytest.fixture
def own_messages(tmp_path, monkeypatch):
    def write(text: str, *, encoding: str = "utf-8"):
        path = tmp_path / "messages.toml"
        path.write_bytes(text.encode(encoding))
        monkeypatch.setenv("MINDMOVE_MESSAGES", str(path))
        load_catalogue.cache_clear()
        return path

    yield write
    load_catalogue.cache_clear()


def test_translated_placeholder_is_refused_at_load(own_messages):
    path = own_messages('[repetitions]\nrep_done = "Das sind {anzahl}"\n')
    with pytest.raises(InputError, match=r"repetitions.rep_done uses \{anzahl\}, but it may only use \{count\}") as e:
        load_catalogue()
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_latin1_message_file_is_one_line_naming_the_file(own_messages):
    path = own_messages('[session]\nwelcome = "Très bien"\n', encoding="latin-1")
    with pytest.raises(InputError, match="not UTF-8") as e:
        load_catalogue()
    assert str(path) in str(e.value)


def test_unpaired_brace_is_refused(own_messages):
    own_messages('[repetitions]\nrep_done = "Das sind {count"\n')
    with pytest.raises(InputError, match="unpaired braces"):
        load_catalogue()


def test_good_translation_is_used_with_its_placeholders(own_messages):
    own_messages('[repetitions]\nrep_done = "Das sind {count}"\n[body_part]\narms = "Arme"\n'
                 '[visibility]\nshow_joint = "Die Kamera soll Ihre {body_part} sehen"\n')
    assert message("repetitions.rep_done", count=3) == "Das sind 3"
    cue = Cue.of("visibility", "visibility.show_joint", t_s=0.0, params={"body_part": "body_part.arms"})
    assert cue.text() == "Die Kamera soll Ihre Arme sehen"
    assert compute_placeholders("{a} and {b_c} and {{literal}}") == {"a", "b_c"}


def test_practice_refuses_a_bad_message_file_before_the_camera(own_messages, capsys):
    own_messages('[repetitions]\nrep_done = "Das sind {anzahl}"\n')
    # Camera 7 does not exist: were the camera opened first, the error would be about it.
    assert main(["practice", "--patient", "P001", "--exercise", "elbow_flexion", "--camera", "7",
                 "--no-window"]) == 2
    err = capsys.readouterr().err.strip()
    assert "{anzahl}" in err and "camera" not in err.lower() and "\n" not in err


def test_latin1_exercise_file_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "mine.toml").write_bytes('title = "Épaule"\nposition = "seated"\n'.encode("latin-1"))
    monkeypatch.setenv("MINDMOVE_EXERCISES_DIR", str(tmp_path))
    with pytest.raises(InputError, match="mine.toml is not UTF-8"):
        load_exercises(directory=tmp_path)
    assert main(["exercises"]) == 2
    err = capsys.readouterr().err.strip()
    assert "mine.toml is not UTF-8" in err and "\n" not in err


@pytest.mark.parametrize("text, expect", [
    ('[repetitions]\nrep_done = "{count.__class__.__mro__}"\n', "{count.__class__.__mro__} is not a plain {name}"),
    ('[repetitions]\nrep_done = "{count:>999999999}"\n', "{count:>999999999} is not a plain {name}"),
    ('[repetitions]\nrep_done = "{count!r} done"\n', "{count!r} is not a plain {name}"),
    ('[repetitions]\nrep_done = "{count[0]}"\n', "{count[0]} is not a plain {name}"),
    ('[repetitions]\nrep_done = "That is {}"\n', "{} is not a plain {name}"),
    ('[repetitions]\nrep_done = 5\n', "repetitions.rep_done is 5 (int), but a message is text"),
    ('[session]\nwelcome = true\n', "session.welcome is True (true/false), but a message is text"),
    ('[range.approaching_limit]\nx = "a table"\n', "range.approaching_limit is a table"),
    ('[session]\nmy_own = "Hello {name}"\n', "session.my_own uses {name}, but MindMove has no such message"),
])
def test_a_placeholder_is_a_plain_allowed_name_and_a_message_is_text(own_messages, text, expect):
    own_messages(text)
    with pytest.raises(InputError) as e:
        load_catalogue()
    assert expect in str(e.value) and "\n" not in str(e.value)


def test_the_shipped_catalogue_uses_plain_placeholders_only():
    shipped = load_catalogue()
    assert compute_placeholders(shipped["repetitions.rep_done"]) == {"count"}
    assert all(isinstance(text, str) for text in shipped.values())


@pytest.mark.parametrize("argv", [
    ["breathe", "--patient", "P001", "--no-window", "--minutes", "0.01"],
    ["calibrate", "--patient", "P001", "--motion", "right_shoulder_flexion", "--camera", "7", "--no-window",
     "--accept", "--by", "Sam PT"],
])
def test_breathe_and_calibrate_check_the_catalogue_first(own_messages, capsys, argv):
    from sqlalchemy import func, select

    from mindmove.store import open_store
    from mindmove.store.models import Session

    own_messages('[repetitions]\nrep_done = "{count:>999999999}"\n')
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "not a plain {name}" in err and "\n" not in err
    store = open_store()
    try:
        with store.session() as db:
            assert db.scalar(select(func.count(Session.id))) == 0
    finally:
        store.dispose()


def test_a_broken_clinic_exercise_is_reported_when_another_is_chosen(tmp_path, monkeypatch, caplog, capsys):
    (tmp_path / "wobbly_arms.toml").write_text('title = "Wobbly arms"\nposition = "floating"\n')
    monkeypatch.setenv("MINDMOVE_EXERCISES_DIR", str(tmp_path))
    # a shipped exercise is chosen; camera 7 does not exist, so the command stops there
    assert main(["practice", "--patient", "P001", "--exercise", "elbow_flexion", "--camera", "7", "--no-window"]) == 2
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("'wobbly_arms' cannot be used until its file is fixed" in w and "wobbly_arms.toml" in w
               for w in warned), warned
    assert "camera" in capsys.readouterr().err.lower()
