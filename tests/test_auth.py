"""Sign-in, rate limiting, users and teams, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mindmove import auth
from core.errors import AccessDenied, ValidationError
from mindmove.store import open_store
from mindmove.store.models import AuditEntry, CareTeamMember, User
from store_support import NOW, PASSWORD, module_store  # noqa: F401


@pytest.fixture(scope="module")
def people(module_store):
    auth.create_team(module_store, "north", by="test")
    for name in ("ana", "ben", "cleo", "dora"):
        auth.create_user(module_store, name, PASSWORD, role="therapist", teams=["north"], by="test")
    return module_store


def entries(store, username):
    with store.session() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.username == username).order_by(AuditEntry.id)))


def test_password_is_stored_as_argon2id_and_sign_in_works(people):
    with people.session() as db:
        user = db.scalar(select(User).where(User.username == "ana"))
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert db.scalar(select(CareTeamMember.team_id).where(CareTeamMember.user_id == user.id)) is not None
    who = auth.authenticate(people, " Ana ", PASSWORD, client="10.0.0.1", now=NOW)
    assert (who.username, who.role, who.is_admin) == ("ana", "therapist", False)
    last = entries(people, "ana")[-1]
    assert (last.action, last.success, last.client) == ("sign_in", True, "10.0.0.1")


def test_wrong_password_and_unknown_user_are_refused_alike(people):
    with pytest.raises(AccessDenied) as wrong:
        auth.authenticate(people, "ben", "not the password", now=NOW)
    with pytest.raises(AccessDenied) as unknown:
        auth.authenticate(people, "nobody", PASSWORD, now=NOW)
    assert str(wrong.value) == str(unknown.value) == auth.SIGN_IN_REFUSED
    assert (entries(people, "ben")[-1].action, entries(people, "ben")[-1].success) == ("sign_in_failed", False)
    assert entries(people, "nobody")[-1].detail == "unknown user"


def test_lock_after_repeated_failures_grows_and_expires(people):
    t = NOW
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(AccessDenied):
            auth.authenticate(people, "cleo", "wrong password!", now=t)
    # locked now, even with the right password
    with pytest.raises(auth.SignInLocked) as locked:
        auth.authenticate(people, "cleo", PASSWORD, now=t + timedelta(seconds=1))
    assert locked.value.retry_after_s == pytest.approx(auth.BASE_LOCK_S - 1)
    assert entries(people, "cleo")[-1].action == "sign_in_locked"
    # after the lock a further failure locks twice as long
    t2 = t + timedelta(seconds=auth.BASE_LOCK_S + 1)
    with pytest.raises(AccessDenied):
        auth.authenticate(people, "cleo", "wrong again!!", now=t2)
    with pytest.raises(auth.SignInLocked) as longer:
        auth.authenticate(people, "cleo", PASSWORD, now=t2)
    assert longer.value.retry_after_s == pytest.approx(2 * auth.BASE_LOCK_S)
    # a second dashboard process (its own engine and pool) sees the same lock
    other = open_store(people.engine.url.render_as_string(hide_password=False), create=False)
    try:
        with pytest.raises(auth.SignInLocked):
            auth.authenticate(other, "cleo", PASSWORD, now=t2 + timedelta(seconds=1))
    finally:
        other.dispose()
    # once it expires, the right password signs in and clears the count
    t3 = t2 + timedelta(seconds=2 * auth.BASE_LOCK_S + 1)
    assert auth.authenticate(people, "cleo", PASSWORD, now=t3).username == "cleo"
    with pytest.raises(AccessDenied) as again:
        auth.authenticate(people, "cleo", "wrong once more", now=t3)
    assert not isinstance(again.value, auth.SignInLocked)


def test_one_client_trying_many_usernames_is_locked(people):
    for i in range(auth.MAX_FAILURES):
        with pytest.raises(AccessDenied):
            auth.authenticate(people, f"guess{i}", "password123", client="203.0.113.9", now=NOW)
    with pytest.raises(auth.SignInLocked):
        auth.authenticate(people, "dora", PASSWORD, client="203.0.113.9", now=NOW)
    assert auth.authenticate(people, "dora", PASSWORD, client="10.0.0.2", now=NOW).username == "dora"


def test_lock_durations():
    assert auth.compute_lock_s(auth.MAX_FAILURES - 1) == 0
    assert auth.compute_lock_s(auth.MAX_FAILURES) == auth.BASE_LOCK_S
    assert auth.compute_lock_s(auth.MAX_FAILURES + 2) == 4 * auth.BASE_LOCK_S
    assert auth.compute_lock_s(100) == auth.MAX_LOCK_S


SQL_LIKE = ["' OR '1'='1", "ana'; DROP TABLE users; --", "ana' --", "\" OR \"\"=\"", "%", "x" * 5000, "ana\x00"]


def test_sql_like_sign_in_input_is_refused_and_harmless(people):
    for text in SQL_LIKE:
        for username, password in ((text, PASSWORD), ("ana", text), (text, text)):
            with pytest.raises(AccessDenied):
                auth.authenticate(people, username, password, client=text, now=NOW - timedelta(days=1))
    with people.session() as db:
        assert db.scalar(select(User.id).where(User.username == "ana")) is not None
        logged = db.scalars(select(AuditEntry.username).where(AuditEntry.action == "sign_in_failed")).all()
    assert "' or '1'='1" in logged and max(len(u) for u in logged) <= 80


def test_bad_new_users_are_refused(people):
    with pytest.raises(ValidationError, match="at least"):
        auth.create_user(people, "eve", "short", role="clinician", by="test")
    with pytest.raises(ValidationError, match="role"):
        auth.create_user(people, "eve", PASSWORD, role="superuser", by="test")
    with pytest.raises(ValidationError, match="username"):
        auth.create_user(people, "eve'; drop table users;--", PASSWORD, role="clinician", by="test")
    with pytest.raises(ValidationError, match="already"):
        auth.create_user(people, "ANA", PASSWORD, role="clinician", by="test")
    with pytest.raises(ValidationError, match="no team"):
        auth.create_user(people, "eve", PASSWORD, role="clinician", teams=["nowhere"], by="test")
    with pytest.raises(ValidationError, match="patient code"):
        auth.create_patient(people, "Jane Doe", team="north", by="test")
