"""Store failures are one line and exit code 2, never a traceback or a password; patient codes
are checked the same way wherever a patient enters the store."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from calibration.profile import Profile
from mindmove.store.profiles import load_profile, save_profile
from mindmove.cli import main
from core.errors import StoreError, ValidationError
from mindmove.settings import hide_password
from mindmove.store import open_store
from mindmove.store.models import Patient
from mindmove.store.recording import SessionRecorder, get_or_create_patient

SECRET = "s3cret-pw"


def one_line_exit_2(capsys, argv) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err and SECRET not in err
    assert err.strip().startswith("mindmove:") and "\n" not in err.strip(), err
    return err


def test_a_data_folder_that_cannot_be_a_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("a file, not a folder")
    monkeypatch.setenv("MINDMOVE_DATA_DIR", str(tmp_path / "file" / "sub"))
    err = one_line_exit_2(capsys, ["team", "add", "north"])
    assert "Not a directory" in err and "MINDMOVE_DATA_DIR" in err


def test_a_database_path_that_cannot_exist(monkeypatch, capsys):
    monkeypatch.setenv("MINDMOVE_DB_URL", "sqlite:////proc/nope/x.db")
    err = one_line_exit_2(capsys, ["team", "add", "north"])
    assert "/proc/nope" in err


def test_a_corrupt_database_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "mindmove.db"
    path.write_bytes(b"this is not an SQLite database, just some bytes " * 100)
    monkeypatch.setenv("MINDMOVE_DB_URL", f"sqlite:///{path}")
    err = one_line_exit_2(capsys, ["team", "add", "north"])
    assert "not a database" in err and "backup" in err


def test_an_unreachable_server_is_one_line_without_the_password(monkeypatch, capsys):
    # port 1 on this machine refuses at once; psycopg's own message spans two lines
    monkeypatch.setenv("MINDMOVE_DB_URL", f"postgresql+psycopg://clinic:{SECRET}@127.0.0.1:1/mindmove")
    err = one_line_exit_2(capsys, ["team", "add", "north"])
    assert "Cannot reach the database at postgresql+psycopg://clinic:***@127.0.0.1:1/mindmove" in err
    assert "Connection refused" in err


@pytest.mark.parametrize("url", [f"nosuchdriver://clinic:{SECRET}@db/mindmove", f"not a url clinic:{SECRET}@db"])
def test_an_unusable_url_is_shown_without_the_password(monkeypatch, capsys, url):
    monkeypatch.setenv("MINDMOVE_DB_URL", url)
    err = one_line_exit_2(capsys, ["team", "add", "north"])
    assert "Cannot use the database URL" in err and "@db" in err


def test_hide_password():
    assert hide_password(f"postgresql+psycopg://bob:{SECRET}@db:5432/x") == "postgresql+psycopg://bob:***@db:5432/x"
    assert hide_password(f"postgresql://bob:p@{SECRET}@db/x") == "postgresql://***@db/x"  # an unescaped '@'
    assert hide_password(f"garbage bob:{SECRET}@db") == "***@db"
    assert hide_password("sqlite:////var/lib/mindmove/mindmove.db") == "sqlite:////var/lib/mindmove/mindmove.db"


def test_open_store_refusals_are_store_errors(tmp_path):
    (tmp_path / "bad.db").write_bytes(b"\x00garbage" * 512)
    with pytest.raises(StoreError, match="could not be read"):
        open_store(f"sqlite:///{tmp_path / 'bad.db'}")


# --- one patient-code check ------------------------------------------------------------------

NAMES = ["Jane Smith", "Bad Name!", "  ", "x" * 65, "P001; DROP TABLE patients"]


@pytest.mark.parametrize("name", NAMES)
def test_every_way_in_refuses_a_name_for_a_code(name):
    store = open_store()
    try:
        with pytest.raises(ValidationError):
            save_profile(store, name, Profile(height_m=1.7), by="Sam PT", reason="intake")
        with pytest.raises(ValidationError):
            SessionRecorder(store, name).start()
        with pytest.raises(ValidationError), store.session() as db:
            get_or_create_patient(db, name)
        with pytest.raises(ValidationError):
            load_profile(store, name)
        with store.session() as db:
            assert db.scalar(select(func.count(Patient.id))) == 0
        # a real code still works, spaces around it trimmed, by the profile and the recorder alike
        assert save_profile(store, " P001 ", Profile(height_m=1.7), by="Sam PT", reason="intake").patient_code == "P001"
        SessionRecorder(store, "P001").start()
        with store.session() as db:
            assert db.scalars(select(Patient.code)).all() == ["P001"]
    finally:
        store.dispose()


@pytest.mark.parametrize("argv", [
    ["profile", "set", "--patient", "Jane Smith", "--height-m", "1.7", "--by", "Sam PT", "--reason", "intake"],
    ["breathe", "--patient", "Bad Name!", "--no-window", "--minutes", "0.01"],
])
def test_the_commands_refuse_a_name_for_a_code(capsys, argv):
    err = one_line_exit_2(capsys, argv)
    assert "patient code" in err
    store = open_store()
    try:
        with store.session() as db:
            assert db.scalar(select(func.count(Patient.id))) == 0
    finally:
        store.dispose()


def test_the_store_as_a_context_manager_closes_its_connections(tmp_path):
    """``with open_store() as store:`` closes every connection when the block ends, also on an
    error: SQLite folds its write-ahead log back into the file only when the last one closes."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    with open_store(url) as store:
        save_profile(store, "P001", Profile(height_m=1.7), by="Sam PT", reason="intake")
        assert (tmp_path / "clinic.db-wal").exists()
    assert not (tmp_path / "clinic.db-wal").exists()
    with pytest.raises(ValidationError), open_store(url) as store:
        assert load_profile(store, "P001").profile.height_m == 1.7
        save_profile(store, "P001", Profile(height_m=9.0), by="Sam PT", reason="typo")
    assert not (tmp_path / "clinic.db-wal").exists()
    with open_store(url) as store:
        assert load_profile(store, "P001").version == 1  # the refused change stored nothing
