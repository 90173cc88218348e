"""`mindmove user/team/patient add` through the real command line, on the default SQLite store."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from mindmove.auth import SignInLocked, authenticate
from core.errors import AccessDenied
from mindmove.cli import main
from mindmove.store import open_store
from mindmove.store.models import AuditEntry, Patient


def run(monkeypatch, argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_users_teams_patients_from_the_command_line(monkeypatch, capsys):
    assert run(monkeypatch, ["team", "add", "north"]) == 0
    assert run(monkeypatch, ["user", "add", "Ana", "--role", "therapist", "--team", "north", "--password-stdin"],
               "a long enough password\n") == 0
    assert run(monkeypatch, ["patient", "add", "P001", "--team", "north"]) == 0
    store = open_store()
    try:
        assert authenticate(store, "ana", "a long enough password").role == "therapist"
        with store.session() as db:
            assert db.scalar(select(Patient.code).where(Patient.care_team_id.is_not(None))) == "P001"
            actions = db.scalars(select(AuditEntry.action).where(AuditEntry.username.like("cli%"))).all()
        assert actions == ["team_add", "user_add", "patient_add"]
    finally:
        store.dispose()
    assert "created" in capsys.readouterr().out


@pytest.mark.parametrize("argv, stdin, expect", [
    (["user", "add", "bob", "--role", "wizard", "--password-stdin"], "a long enough password\n", "role"),
    (["user", "add", "bob", "--role", "admin", "--password-stdin"], "short\n", "at least"),
    (["user", "add", "bob", "--role", "admin", "--team", "ghosts", "--password-stdin"], "a long enough password\n",
     "no team"),
    (["patient", "add", "x'; DROP TABLE patients;--", "--team", "north"], "", "patient code"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, argv, stdin, expect):
    assert run(monkeypatch, argv, stdin) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err


def test_an_admin_lifts_a_sign_in_pause_from_the_command_line(monkeypatch, capsys):
    assert run(monkeypatch, ["user", "add", "ana", "--role", "therapist", "--password-stdin"],
               "a long enough password\n") == 0
    store = open_store()
    try:
        for _ in range(5):
            with pytest.raises(AccessDenied):
                authenticate(store, "ana", "not the password")
        with pytest.raises(SignInLocked):
            authenticate(store, "ana", "a long enough password")
        assert run(monkeypatch, ["user", "unlock", "ana"]) == 0
        assert "open again" in capsys.readouterr().out
        assert authenticate(store, "ana", "a long enough password").username == "ana"
        with store.session() as db:
            entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in_unlock")).one()
        assert entry.username.startswith("cli") and entry.detail == "user=ana keys=1"
        assert run(monkeypatch, ["user", "unlock", "ana"]) == 0
        assert "was not paused" in capsys.readouterr().out
    finally:
        store.dispose()
    assert run(monkeypatch, ["user", "unlock", "nobody"]) == 2
    assert run(monkeypatch, ["user", "unlock"]) == 2
    assert capsys.readouterr().err.count("\n") == 2


def test_a_password_that_is_not_utf8_on_stdin_is_one_line(tmp_path):
    """Real bytes on a real pipe (a subprocess): refused with one line, exit 2, no user made."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MINDMOVE_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "mindmove", "user", "add", "bob", "--role", "admin",
                           "--password-stdin"], input=b"caf\xe9 au lait is long\n", capture_output=True, env=env,
                          timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1 and "not UTF-8" in err, err
    store = open_store(f"sqlite:///{tmp_path / 'mindmove.db'}")
    try:
        with store.session() as db:
            assert db.scalar(select(AuditEntry.id).where(AuditEntry.action == "user_add")) is None
    finally:
        store.dispose()
