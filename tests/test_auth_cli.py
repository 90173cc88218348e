"""`mindmove user/team/patient add` through the real command line, on the default SQLite store."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from mindmove.auth import authenticate
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
