"""Access follows the database, not the sign-in: deactivated and re-roled users, and the
sign-in limit decided in one transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from dashboard import queries as q
from mindmove import auth
from core.errors import AccessDenied
from mindmove.store.models import AuditEntry, LoginThrottle, User
from store_support import NOW, PASSWORD, seed_known_clinic, store, store_url  # noqa: F401


def set_user(store, username: str, **values) -> None:
    with store.session() as db:
        row = db.scalar(select(User).where(User.username == username))
        for k, v in values.items():
            setattr(row, k, v)


def refused(store, username: str) -> list[str]:
    with store.session() as db:
        return list(db.scalars(select(AuditEntry.action).where(AuditEntry.username == username,
                                                               AuditEntry.success.is_(False))
                               .order_by(AuditEntry.id)))


def test_a_deactivated_admin_gets_nothing(store):
    seed_known_clinic(store)
    boss = auth.authenticate(store, "boss", PASSWORD, now=NOW)
    assert len(q.list_patients(store, boss, now=NOW)) == 4
    set_user(store, "boss", active=False)
    for call in (lambda: q.list_patients(store, boss, now=NOW),
                 lambda: q.compute_programme_evaluation(store, boss, now=NOW),
                 lambda: q.load_audit_log(store, boss),
                 lambda: q.compute_mobility(store, boss, "N1")):
        with pytest.raises(AccessDenied) as err:
            call()
        assert "no longer active" in str(err.value) or "not in your care team" in str(err.value)
    assert refused(store, "boss") == ["view_patient_list", "view_programme", "view_audit_log", "view_mobility"]
    assert auth.refresh_user(store, boss) is None


def test_a_demoted_admin_keeps_only_what_the_new_role_may_see(store):
    seed_known_clinic(store)
    boss = auth.authenticate(store, "boss", PASSWORD, now=NOW)
    set_user(store, "boss", role="clinician")
    with pytest.raises(AccessDenied):
        q.compute_programme_evaluation(store, boss, now=NOW)
    with pytest.raises(AccessDenied):
        q.load_audit_log(store, boss)
    with pytest.raises(AccessDenied):
        q.list_patients(store, boss, now=NOW)  # the admin's "every patient" is gone too
    now_clinician = auth.refresh_user(store, boss)
    assert (now_clinician.role, now_clinician.is_admin) == ("clinician", False)
    assert q.list_patients(store, now_clinician, now=NOW).empty  # in no care team
    with pytest.raises(AccessDenied, match="admin role"):
        q.compute_programme_evaluation(store, now_clinician, now=NOW)


def test_one_client_is_locked_after_the_limit_whatever_the_usernames(store):
    auth.create_user(store, "ana", PASSWORD, role="therapist", by="test")
    for i in range(auth.MAX_CLIENT_FAILURES + 2):
        with pytest.raises(AccessDenied):
            auth.authenticate(store, f"guess{i}", "password123", client="local", now=NOW)
    with pytest.raises(auth.SignInLocked):
        auth.authenticate(store, "ana", PASSWORD, client="local", now=NOW)
    with store.session() as db:
        # two attempts came while locked: refused without counting
        assert db.get(LoginThrottle, "client:local").failures == auth.MAX_CLIENT_FAILURES
        # the locked attempts leave no empty rows behind for their usernames
        assert db.get(LoginThrottle, "user:ana") is None


def test_parallel_attempts_cannot_slip_past_the_limit(store):
    """Eight sign-ins for one account at the same moment: the lock check and the failure
    count are one transaction, so exactly MAX_FAILURES are judged and the rest are locked."""
    attempts = auth.MAX_FAILURES + 3
    barrier = threading.Barrier(attempts)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            auth.authenticate(store, "guess", f"password{i}", client=f"203.0.113.{i}", now=NOW)
        except auth.SignInLocked:
            outcomes.append("locked")
        except AccessDenied:
            outcomes.append("failed")
        except Exception as exc:  # a lost update or a deadlock would show here  # noqa: BLE001
            outcomes.append(f"error {exc.__class__.__name__}")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(outcomes) == {"failed": auth.MAX_FAILURES, "locked": attempts - auth.MAX_FAILURES}
    with store.session() as db:
        assert db.get(LoginThrottle, "user:guess").failures == auth.MAX_FAILURES
