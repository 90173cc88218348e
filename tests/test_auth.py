"""Sign-in, rate limiting, users and teams, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mindmove import auth
from core.errors import AccessDenied, ValidationError
from mindmove.store import open_store
from mindmove.store.models import AuditEntry, CareTeamMember, LoginThrottle, User
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
    for i in range(auth.MAX_CLIENT_FAILURES):
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


# --- throttle per account, per known browser, per address (issue 15) -------------------------

BROWSER_A = "a" * 43  # the random values of two browsers' mindmove_device cookies
BROWSER_B = "b" * 43


def lock_entries(store, username):
    return [e.detail for e in entries(store, username) if e.action == "sign_in_lock"]


def test_one_users_wrong_passwords_do_not_stop_another_user_on_the_same_address(people):
    auth.create_user(people, "eli", PASSWORD, role="therapist", by="test")
    auth.create_user(people, "fay", PASSWORD, role="admin", by="test")
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(AccessDenied):
            auth.authenticate(people, "eli", "mistyped password", client="local", now=NOW)
    with pytest.raises(auth.SignInLocked):  # eli is paused on browsers eli never used...
        auth.authenticate(people, "eli", PASSWORD, client="local", now=NOW)
    # ...but the address is not: the admin and everyone else still sign in there
    assert auth.authenticate(people, "fay", PASSWORD, client="local", now=NOW).is_admin
    assert lock_entries(people, "eli") == [f"key=user:eli failures={auth.MAX_FAILURES} lock_s={auth.BASE_LOCK_S:.0f}"]


def test_a_known_browser_signs_in_whatever_others_type(people):
    """Someone guessing gus's password elsewhere, and an address full of failures, never lock gus
    out of the browser he signed in on before (the OWASP device-cookie design)."""
    auth.create_user(people, "gus", PASSWORD, role="clinician", by="test")
    t = NOW + timedelta(days=2)
    assert auth.authenticate(people, "gus", PASSWORD, client="local", device=BROWSER_A, now=t).device
    for i in range(auth.MAX_CLIENT_FAILURES):  # wrong passwords for gus, then others, from browser B
        with pytest.raises(AccessDenied):
            auth.authenticate(people, "gus" if i < auth.MAX_FAILURES else f"nobody{i}", "password123",
                              client="local", device=BROWSER_B, now=t)
    for device in (BROWSER_B, ""):  # an unknown browser, or none: paused (account and address locked)
        with pytest.raises(auth.SignInLocked):
            auth.authenticate(people, "gus", PASSWORD, client="local", device=device, now=t)
    who = auth.authenticate(people, "gus", PASSWORD, client="local", device=BROWSER_A, now=t)
    assert who.username == "gus" and who.device == auth.hash_device(BROWSER_A)
    with people.session() as db:
        assert db.get(LoginThrottle, "client:local").failures == auth.MAX_CLIENT_FAILURES
    assert lock_entries(people, "gus") == [f"key=user:gus failures={auth.MAX_FAILURES} lock_s=30"]
    assert lock_entries(people, f"nobody{auth.MAX_CLIENT_FAILURES - 1}") == [
        f"key=client:local failures={auth.MAX_CLIENT_FAILURES} lock_s=30"]


def test_a_known_browser_has_its_own_count_and_an_admin_lifts_the_lock(people):
    auth.create_user(people, "hal", PASSWORD, role="therapist", by="test")
    t = NOW + timedelta(days=3)
    auth.authenticate(people, "hal", PASSWORD, device=BROWSER_A, now=t)
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(AccessDenied):
            auth.authenticate(people, "hal", "not it at all", device=BROWSER_A, now=t)
    with pytest.raises(auth.SignInLocked):
        auth.authenticate(people, "hal", PASSWORD, device=BROWSER_A, now=t)
    device_key = f"device:hal:{auth.hash_device(BROWSER_A)[:16]}"
    assert lock_entries(people, "hal") == [f"key={device_key} failures={auth.MAX_FAILURES} lock_s=30"]
    assert auth.authenticate(people, "hal", PASSWORD, device=BROWSER_B, now=t).username == "hal"  # elsewhere: fine
    assert auth.unlock_user(people, "HAL", by="cli:admin") == 1
    assert auth.authenticate(people, "hal", PASSWORD, device=BROWSER_A, now=t).username == "hal"
    unlock = [e for e in entries(people, "cli:admin") if e.action == "sign_in_unlock"][-1]
    assert unlock.detail == "user=hal keys=1"
    with pytest.raises(ValidationError, match="no user"):
        auth.unlock_user(people, "nobody-at-all", by="cli:admin")


def test_an_admin_lifts_an_address_pause(people):
    t = NOW + timedelta(days=4)
    for i in range(auth.MAX_CLIENT_FAILURES):
        with pytest.raises(AccessDenied):
            auth.authenticate(people, f"spray{i}", "password123", client="198.51.100.4", now=t)
    with pytest.raises(auth.SignInLocked):
        auth.authenticate(people, "ana", PASSWORD, client="198.51.100.4", now=t)
    assert auth.unlock_client(people, "198.51.100.4", by="cli:admin") == 1
    assert auth.authenticate(people, "ana", PASSWORD, client="198.51.100.4", now=t).username == "ana"


def test_a_malformed_browser_cookie_is_an_unknown_browser():
    assert auth.hash_device("short") == auth.hash_device("x" * 43 + "'; --") == ""
    assert len(auth.hash_device(BROWSER_A)) == 64
