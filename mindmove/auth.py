"""Users, sign-in, care teams and the audit log.

- Passwords are hashed with Argon2id (argon2-cffi's defaults); the hash string carries its
  own parameters, so stronger settings later re-hash on the next successful sign-in.
- Sign-in is rate-limited per username and per client (address or station): after
  :data:`MAX_FAILURES` failures in a row the key is locked for :data:`BASE_LOCK_S`, doubling
  with each further failure up to :data:`MAX_LOCK_S`. The counts live in the database
  (``login_throttle``), so several dashboard processes share them. A locked key is refused
  even with the right password; a success clears the count.
- Roles: ``clinician`` and ``therapist`` see the patients of their care teams; ``admin``
  sees every patient and the programme evaluation.
- Every sign-in attempt, every view of a patient and every change goes to ``audit_log``
  (its own transaction, so a refusal is recorded even when the caller's work is not).

The unknown-user and wrong-password refusals are the same message and take the same time
(a dummy hash is verified), so sign-in tells nobody which usernames exist. A patient outside
the user's teams and a patient that does not exist are refused with the same message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Iterable, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, exists, select, true

from core.errors import AccessDenied, ValidationError
from core.patients import check_patient_code
from mindmove.store.db import Store
from mindmove.store.models import (
    AuditEntry, CareTeam, CareTeamMember, LoginThrottle, Patient, Session, User, as_utc, utcnow,
)

log = logging.getLogger(__name__)

Role = Literal["clinician", "therapist", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
MAX_FAILURES = 5            # failures in a row before a key is locked
BASE_LOCK_S = 30.0          # first lock; doubles with each further failure
MAX_LOCK_S = 3600.0         # longest lock
FORGET_FAILURES_AFTER_S = 3600.0  # a quiet hour since the last failure starts the count again
MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,79}$")
MAX_FIELD_CHARS = 200       # longer sign-in input is cut before it reaches a key or the log

SIGN_IN_REFUSED = ("Sign-in refused: the username or password is not right. "
                   "Check both and try again, or ask an administrator to reset the password.")
ACCOUNT_CHANGED = ("Your account is no longer active, or its role has changed since you signed in. "
                   "Sign in again, or ask an administrator.")
PATIENT_REFUSED = ("This patient is not in your care team's list, or does not exist. "
                   "Choose a patient from your list, or ask an administrator to add you to their team.")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password: equalises the time of unknown-user refusals")


class SignInLocked(AccessDenied):
    """Too many failed sign-ins for this username or client; ``retry_after_s`` says how long."""

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class SignedInUser:
    """Who is signed in; pass it to every query in :mod:`dashboard.queries`."""

    id: int
    username: str
    role: Role
    display_name: str = ""
    client: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def clean_input(text: str) -> str:
    """Sign-in, search and URL input cut to a sane length; NUL (refused by PostgreSQL) replaced."""
    return str(text)[:MAX_FIELD_CHARS].replace("\x00", "\ufffd")


# --- audit -------------------------------------------------------------------------------

def audit(store: Store, username: str, action: str, /, *, patient_code: str | None = None,
          success: bool = True, detail: str = "", client: str = "") -> None:
    """Append one entry to the audit log in its own transaction."""
    with store.session() as db:
        db.add(AuditEntry(username=clean_input(username)[:80], action=action[:60],
                          patient_code=None if patient_code is None else clean_input(patient_code)[:64],
                          success=success, detail=clean_input(detail), client=clean_input(client)[:120]))


# --- passwords and users -----------------------------------------------------------------

def hash_password(password: str, /) -> str:
    """An Argon2id hash of ``password`` (with its salt and parameters)."""
    return _hasher.hash(password)


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters, but got "
                              f"{len(password)}. Choose a longer one (a short sentence works well).")


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise ValidationError(f"A username is 1-80 of a-z, 0-9, '.', '_', '@', '-' starting with a letter or "
                              f"digit, but got {username!r}. Choose another.")
    return name


def _team_id(db, name: str) -> int:
    team_id = db.scalar(select(CareTeam.id).where(CareTeam.name == name.strip()))
    if team_id is None:
        raise ValidationError(f"Expected an existing care team, but there is no team {name!r}. "
                              "Create it first with `mindmove team add NAME`.")
    return team_id


def create_team(store: Store, name: str, /, *, by: str) -> int:
    """Create care team ``name``; returns its id."""
    name = name.strip()
    if not 0 < len(name) <= 120:
        raise ValidationError(f"A care team name is 1-120 characters, but got {len(name)}.")
    with store.session() as db:
        if db.scalar(select(CareTeam.id).where(CareTeam.name == name)) is not None:
            raise ValidationError(f"There is already a care team {name!r}. Use it, or choose another name.")
        team = CareTeam(name=name)
        db.add(team)
        db.flush()
        team_id = team.id
    audit(store, by, "team_add", detail=f"team={name}")
    return team_id


def create_user(store: Store, username: str, password: str, /, *, role: str, by: str,
                display_name: str = "", teams: Iterable[str] = ()) -> int:
    """Create a user with ``role`` in care ``teams``; returns the user id."""
    name = _check_username(username)
    if role not in ROLES:
        raise ValidationError(f"A role is one of {', '.join(ROLES)}, but got {role!r}.")
    _check_new_password(password)
    teams = [t for t in teams if t]
    with store.session() as db:
        if db.scalar(select(User.id).where(User.username == name)) is not None:
            raise ValidationError(f"There is already a user {name!r}. Choose another username.")
        team_ids = [_team_id(db, t) for t in teams]
        user = User(username=name, role=role, display_name=display_name.strip()[:160],
                    password_hash=hash_password(password))
        db.add(user)
        db.flush()
        db.add_all(CareTeamMember(team_id=t, user_id=user.id) for t in team_ids)
        user_id = user.id
    audit(store, by, "user_add", detail=f"user={name} role={role} teams={','.join(teams)}")
    return user_id


def add_team_member(store: Store, team: str, username: str, /, *, by: str) -> None:
    """Put user ``username`` in care team ``team``."""
    name = username.strip().lower()
    with store.session() as db:
        team_id = _team_id(db, team)
        user_id = db.scalar(select(User.id).where(User.username == name))
        if user_id is None:
            raise ValidationError(f"Expected an existing user, but there is no user {name!r}. "
                                  "Create it with `mindmove user add`.")
        if db.get(CareTeamMember, (team_id, user_id)) is None:
            db.add(CareTeamMember(team_id=team_id, user_id=user_id))
    audit(store, by, "team_member_add", detail=f"team={team} user={name}")


def set_password(store: Store, username: str, password: str, /, *, by: str) -> None:
    """Replace a user's password (and clear their sign-in lock)."""
    _check_new_password(password)
    name = username.strip().lower()
    with store.session() as db:
        user = db.scalar(select(User).where(User.username == name))
        if user is None:
            raise ValidationError(f"Expected an existing user, but there is no user {name!r}.")
        user.password_hash = hash_password(password)
        db.execute(delete(LoginThrottle).where(LoginThrottle.key == f"user:{name}"))
    audit(store, by, "password_set", detail=f"user={name}")


def create_patient(store: Store, code: str, /, *, team: str, by: str, display_name: str = "") -> int:
    """Register patient ``code`` in care ``team`` (or move an existing one there); returns the id."""
    code = check_patient_code(code)
    with store.session() as db:
        team_id = _team_id(db, team)
        patient = db.scalar(select(Patient).where(Patient.code == code))
        if patient is None:
            patient = Patient(code=code, display_name=display_name.strip()[:160], care_team_id=team_id)
            db.add(patient)
        else:
            patient.care_team_id = team_id
            if display_name:
                patient.display_name = display_name.strip()[:160]
        db.flush()
        patient_id = patient.id
    audit(store, by, "patient_add", patient_code=code, detail=f"team={team}")
    return patient_id


# --- sign-in -----------------------------------------------------------------------------

def _throttle_keys(username: str, client: str) -> list[str]:
    keys = [f"user:{clean_input(username.strip().lower())}"]
    if client:
        keys.append(f"client:{clean_input(client)}")
    return keys


def _lock_remaining_s(rows: list[LoginThrottle], now: datetime) -> float:
    remaining = [(as_utc(r.locked_until) - now).total_seconds() for r in rows if r.locked_until is not None]
    return max([0.0, *remaining])


def compute_lock_s(failures: int, /) -> float:
    """How long a key is locked after ``failures`` failures in a row (0 below the threshold)."""
    if failures < MAX_FAILURES:
        return 0.0
    return min(BASE_LOCK_S * 2 ** (failures - MAX_FAILURES), MAX_LOCK_S)


def _claim_throttle_rows(db, keys: list[str]) -> list[LoginThrottle]:
    """The throttle rows of ``keys`` (made if missing), locked for the rest of the transaction.

    The insert comes first: on SQLite it takes the database's write lock at once (as
    ``BEGIN IMMEDIATE`` would), on PostgreSQL it makes sure there is a row for ``SELECT ...
    FOR UPDATE`` to lock. So two sign-ins sharing a key are decided one after the other, each
    seeing the other's failure. Keys are taken in sorted order, so two attempts never wait on
    each other crosswise.
    """
    keys = sorted(set(keys))
    dialect = db.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        db.execute(insert(LoginThrottle).values([{"key": k, "failures": 0} for k in keys])
                   .on_conflict_do_nothing(index_elements=["key"]))
    else:  # another database: without an atomic "insert if missing", add the rows we do not see
        have = set(db.scalars(select(LoginThrottle.key).where(LoginThrottle.key.in_(keys))))
        db.add_all(LoginThrottle(key=k, failures=0) for k in keys if k not in have)
        db.flush()
    return list(db.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))
                           .order_by(LoginThrottle.key).with_for_update()))


def _record_failure(rows: list[LoginThrottle], now: datetime) -> None:
    for row in rows:
        last = as_utc(row.last_failure_at)
        if last is not None and (now - last).total_seconds() > FORGET_FAILURES_AFTER_S:
            row.failures = 0
        row.failures = (row.failures or 0) + 1
        row.last_failure_at = now
        lock_s = compute_lock_s(row.failures)
        row.locked_until = now + timedelta(seconds=lock_s) if lock_s else None


def authenticate(store: Store, username: str, password: str, /, *, client: str = "",
                 now: datetime | None = None) -> SignedInUser:
    """Check a sign-in; returns the user or raises :class:`AccessDenied` / :class:`SignInLocked`.

    ``client`` identifies where the attempt comes from (the browser's address, or the station
    name) for per-client rate limiting; ``""`` counts per username only. ``now`` is for tests.

    The password is verified first, outside any transaction (Argon2 is deliberately slow);
    then one transaction locks the throttle rows, checks the lock and records the failure
    or clears the username's count, so parallel attempts cannot slip past the limit.
    """
    now = now or utcnow()
    name = clean_input(str(username).strip().lower())
    keys = _throttle_keys(name, client)
    with store.session() as db:
        user = db.scalar(select(User).where(User.username == name))
    known = user is not None and user.active
    try:
        ok = _hasher.verify(user.password_hash if known else _DUMMY_HASH, str(password)) and known
    except (VerificationError, InvalidHashError):
        ok = False
    signed_in = None
    with store.session() as db:
        rows = _claim_throttle_rows(db, keys)
        wait_s = _lock_remaining_s(rows, now)
        if wait_s > 0:
            pass  # refused whatever the password: nothing changes until the lock ends
        elif not ok:
            _record_failure(rows, now)
        else:
            # only the user's count: one valid account must not wipe a client's failures
            for row in rows:
                if row.key == keys[0]:
                    row.failures = 0
            account = db.get(User, user.id)
            if _hasher.check_needs_rehash(account.password_hash):
                account.password_hash = hash_password(password)
            signed_in = SignedInUser(id=account.id, username=account.username, role=account.role,
                                     display_name=account.display_name, client=client)
        for row in rows:  # a key without failures keeps no row
            if not row.failures:
                db.delete(row)
    if wait_s > 0:
        audit(store, name, "sign_in_locked", success=False, client=client, detail=f"retry_after_s={wait_s:.0f}")
        raise SignInLocked(f"Sign-in is paused after several unsuccessful attempts: try again in "
                           f"{wait_s:.0f} s, or ask an administrator to reset the password.",
                           retry_after_s=wait_s)
    if signed_in is None:
        reason = "unknown user" if user is None else ("inactive user" if not user.active else "wrong password")
        audit(store, name, "sign_in_failed", success=False, client=client, detail=reason)
        raise AccessDenied(SIGN_IN_REFUSED)
    audit(store, name, "sign_in", client=client)
    return signed_in


def sign_out(store: Store, user: SignedInUser, /) -> None:
    audit(store, user.username, "sign_out", client=user.client)


# --- care-team access --------------------------------------------------------------------

def visible_patients(user: SignedInUser, /) -> ColumnElement[bool]:
    """A WHERE clause on ``patients`` keeping those ``user`` may see (every one for admin)."""
    if user.is_admin:
        return true()
    member = select(CareTeamMember.team_id).where(CareTeamMember.user_id == user.id)
    return Patient.care_team_id.in_(member)


def _still_active(db, user: SignedInUser) -> bool:
    """Whether ``user`` is still active in the database with the role it signed in with."""
    return bool(db.scalar(select(exists().where(User.id == user.id, User.active.is_(True),
                                                User.role == user.role))))


def is_still_active(store: Store, user: SignedInUser, /) -> bool:
    """Whether ``user`` is still active with the same role (deactivated or re-roled: ``False``)."""
    with store.session() as db:
        return _still_active(db, user)


def refresh_user(store: Store, user: SignedInUser, /) -> SignedInUser | None:
    """``user`` as the database has it now: ``None`` once deactivated or deleted, with the
    new role (and name) after a change. The dashboard calls it on every rerun."""
    with store.session() as db:
        row = db.get(User, user.id)
        if row is None or not row.active or row.username != user.username:
            return None
        if (row.role, row.display_name) == (user.role, user.display_name):
            return user
        return replace(user, role=row.role, display_name=row.display_name)


def require_active(store: Store, user: SignedInUser, /, *, action: str, patient_code: str | None = None) -> None:
    """Refuse (and audit) a ``user`` deactivated or given another role since signing in."""
    if not is_still_active(store, user):
        audit(store, user.username, action, patient_code=patient_code, success=False, client=user.client,
              detail="refused: user inactive or role changed since sign-in")
        raise AccessDenied(ACCOUNT_CHANGED)


def require_role(store: Store, user: SignedInUser, /, *roles: str, action: str) -> None:
    """Refuse (and audit) unless ``user`` has one of ``roles``, as the database has it now."""
    if user.role not in roles:
        audit(store, user.username, action, success=False, client=user.client,
              detail=f"role {user.role} may not; needs {'/'.join(roles)}")
        raise AccessDenied(f"This page is for the {' or '.join(roles)} role; you are signed in as "
                           f"{user.role}. Ask an administrator if you need it.")
    require_active(store, user, action=action)


def require_patient(store: Store, user: SignedInUser, patient_code: str, /, *, action: str,
                    detail: str = "") -> int:
    """The id of ``patient_code`` if ``user`` may see it; audits the attempt either way."""
    code = clean_input(str(patient_code))
    with store.session() as db:
        allowed = _still_active(db, user)
        patient_id = db.scalar(select(Patient.id).where(Patient.code == code, visible_patients(user))) if allowed else None
    if patient_id is None:
        audit(store, user.username, action, patient_code=code, success=False, client=user.client,
              detail=(detail + " refused: not in care team, unknown, or user inactive").strip())
        raise AccessDenied(PATIENT_REFUSED)
    audit(store, user.username, action, patient_code=code, client=user.client, detail=detail)
    return patient_id


def require_session(store: Store, user: SignedInUser, session_id: int, /, *, action: str) -> tuple[int, str]:
    """``(session id, patient code)`` if ``user`` may see session ``session_id``; audited."""
    try:
        sid = int(session_id)
    except (TypeError, ValueError):
        sid = -1
    with store.session() as db:
        allowed = _still_active(db, user)
        code = db.scalar(select(Patient.code).join(Session, Session.patient_id == Patient.id)
                         .where(Session.id == sid, visible_patients(user))) if allowed else None
    if code is None:
        audit(store, user.username, action, success=False, client=user.client,
              detail=f"session={clean_input(str(session_id))} refused: not in care team, unknown, or user inactive")
        raise AccessDenied("This session is not one of your care team's, or does not exist. "
                           "Choose a session from the patient's list.")
    audit(store, user.username, action, patient_code=code, client=user.client, detail=f"session={sid}")
    return sid, code
