"""Users, sign-in, care teams and the audit log.

- Passwords are hashed with Argon2id (argon2-cffi's defaults); the hash string carries its
  own parameters, so stronger settings later re-hash on the next successful sign-in.
- Sign-in is throttled per account and per browser, with a ceiling per client address
  (OWASP ASVS 4.0.3 V2.2.1; the design and its reasons are in ``docs/store.md``). Each
  dashboard browser carries a random ``mindmove_device`` cookie; a browser a user has signed
  in on before is one of their *known devices* (``known_devices``). Failures are counted on
  keys: ``user:NAME`` for attempts on an account from browsers it does not know,
  ``device:NAME:HASH`` for attempts from one of its known browsers, ``client:ADDR`` for every
  attempt from unknown browsers at one address. After :data:`MAX_FAILURES` failures in a row
  (:data:`MAX_CLIENT_FAILURES` for an address) the key is locked for :data:`BASE_LOCK_S`,
  doubling with each further failure up to :data:`MAX_LOCK_S`. An attempt from a known
  browser is judged on its own key only: however many wrong passwords other people type
  for the account or at the address, the user signs in from their own browser with the right
  password. Every lock is audited (``sign_in_lock``); an administrator lifts one with
  :func:`unlock_user` / :func:`unlock_client` (``mindmove user unlock``). The counts live in
  the database (``login_throttle``), so several dashboard processes share them. A locked key
  is refused even with the right password; a success clears the account's count.
- Roles: ``clinician`` and ``therapist`` see the patients of their care teams; ``admin``
  sees every patient and the programme evaluation.
- Every sign-in attempt, every view of a patient and every change goes to ``audit_log``
  (its own transaction, so a refusal is recorded even when the caller's work is not).

The unknown-user and wrong-password refusals are the same message and take the same time
(a dummy hash is verified), so sign-in tells nobody which usernames exist. A patient outside
the user's teams and a patient that does not exist are refused with the same message.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Iterable, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, exists, or_, select, true

from core.errors import AccessDenied, ValidationError
from core.patients import check_patient_code
from mindmove.store.db import Store
from mindmove.store.models import (
    AuditEntry, CareTeam, CareTeamMember, KnownDevice, LoginThrottle, Patient, Session, User, as_utc, utcnow,
)

log = logging.getLogger(__name__)

Role = Literal["clinician", "therapist", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
MAX_FAILURES = 5            # failures in a row before an account (or one of its known browsers) is locked
# An address (a proxy, or every browser on the dashboard's own computer) carries many users'
# mistakes: its ceiling is four accounts' worth, so one user's mistyping never reaches it,
# while a machine trying many usernames is still slowed down.
MAX_CLIENT_FAILURES = 4 * MAX_FAILURES
BASE_LOCK_S = 30.0          # first lock; doubles with each further failure
MAX_LOCK_S = 3600.0         # longest lock
FORGET_FAILURES_AFTER_S = 3600.0  # a quiet hour since the last failure starts the count again
MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,79}$")
MAX_FIELD_CHARS = 200       # longer sign-in input is cut before it reaches a key or the log
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")  # the browser cookie's random value (urlsafe base64)
MAX_SESSION_ID = 2**31 - 1  # sessions.id is a 32-bit integer on PostgreSQL

SIGN_IN_REFUSED = ("Sign-in refused: the username or password is not right. "
                   "Check both and try again, or ask an administrator to reset the password.")
ACCOUNT_CHANGED = ("Your account is no longer active, or its role has changed since you signed in. "
                   "Sign in again, or ask an administrator.")
PATIENT_REFUSED = ("This patient is not in your care team's list, or does not exist. "
                   "Choose a patient from your list, or ask an administrator to add you to their team.")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password: equalises the time of unknown-user refusals")


class SignInLocked(AccessDenied):
    """Too many failed sign-ins for this account, browser or address; ``retry_after_s`` says how long."""

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
    device: str = ""  # the hash of the browser's device cookie ("" without one): exports are bound to it

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def clean_input(text: str) -> str:
    """Sign-in, search and URL input cut to a sane length; NUL (refused by PostgreSQL) and lone
    surrogates (text that was not UTF-8) replaced."""
    text = str(text)[:MAX_FIELD_CHARS].replace("\x00", "\ufffd")
    return text.encode("utf-8", "replace").decode("utf-8")


def hash_device(device_id: str, /) -> str:
    """The stored form of a browser's device cookie: its SHA-256 (hex), ``""`` for a missing or
    malformed one (which then counts as an unknown browser)."""
    if not isinstance(device_id, str) or not DEVICE_ID_PATTERN.match(device_id):
        return ""
    return hashlib.sha256(device_id.encode("ascii")).hexdigest()


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
    """Replace a user's password (and clear their sign-in locks)."""
    _check_new_password(password)
    name = username.strip().lower()
    with store.session() as db:
        user = db.scalar(select(User).where(User.username == name))
        if user is None:
            raise ValidationError(f"Expected an existing user, but there is no user {name!r}.")
        user.password_hash = hash_password(password)
        db.execute(delete(LoginThrottle).where(_account_keys(name)))
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


# --- sign-in ----------------------------------------------------------------------------

def _user_key(name: str) -> str:
    return f"user:{name}"


def _device_key(name: str, device_hash: str) -> str:
    return f"device:{name}:{device_hash[:16]}"


def _client_key(client: str) -> str:
    return f"client:{clean_input(client)}"


def _account_keys(name: str) -> ColumnElement[bool]:
    """The throttle keys of account ``name``: its own and those of its known browsers."""
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(LoginThrottle.key == _user_key(name),
               LoginThrottle.key.like(f"device:{escaped}:%", escape="\\"))


def _threshold(key: str) -> int:
    return MAX_CLIENT_FAILURES if key.startswith("client:") else MAX_FAILURES


def _lock_remaining_s(rows: list[LoginThrottle], now: datetime) -> float:
    remaining = [(as_utc(r.locked_until) - now).total_seconds() for r in rows if r.locked_until is not None]
    return max([0.0, *remaining])


def compute_lock_s(failures: int, /, *, threshold: int = MAX_FAILURES) -> float:
    """How long a key is locked after ``failures`` failures in a row (0 below ``threshold``)."""
    if failures < threshold:
        return 0.0
    return min(BASE_LOCK_S * 2 ** (failures - threshold), MAX_LOCK_S)


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


def _record_failure(rows: list[LoginThrottle], now: datetime) -> list[tuple[str, int, float]]:
    """Count a failure on every row; returns ``(key, failures, lock_s)`` of the keys it locks."""
    locked = []
    for row in rows:
        last = as_utc(row.last_failure_at)
        if last is not None and (now - last).total_seconds() > FORGET_FAILURES_AFTER_S:
            row.failures = 0
        row.failures = (row.failures or 0) + 1
        row.last_failure_at = now
        lock_s = compute_lock_s(row.failures, threshold=_threshold(row.key))
        row.locked_until = now + timedelta(seconds=lock_s) if lock_s else None
        if lock_s:
            locked.append((row.key, row.failures, lock_s))
    return locked


def _is_known_device(db, user: User | None, device_hash: str) -> bool:
    if user is None or not device_hash:
        return False
    return db.get(KnownDevice, (user.id, device_hash)) is not None


def _remember_device(db, user_id: int, device_hash: str, now: datetime) -> None:
    if not device_hash:
        return
    known = db.get(KnownDevice, (user_id, device_hash))
    if known is None:
        db.add(KnownDevice(user_id=user_id, device_hash=device_hash, first_seen_at=now, last_seen_at=now))
    else:
        known.last_seen_at = now


def authenticate(store: Store, username: str, password: str, /, *, client: str = "", device: str = "",
                 now: datetime | None = None) -> SignedInUser:
    """Check a sign-in; returns the user or raises :class:`AccessDenied` / :class:`SignInLocked`.

    ``client`` identifies where the attempt comes from (the browser's address, or the station
    name; ``""`` for none) and ``device`` is the browser's device cookie (``""`` for none): see
    the module docstring for how they are throttled. ``now`` is for tests.

    The password is verified first, outside any transaction (Argon2 is deliberately slow);
    then one transaction locks the throttle rows, checks the lock and records the failure
    or clears the account's count, so parallel attempts cannot slip past the limit.
    """
    now = now or utcnow()
    name = clean_input(str(username).strip().lower())
    device_hash = hash_device(device)
    with store.session() as db:
        user = db.scalar(select(User).where(User.username == name))
        known_device = _is_known_device(db, user, device_hash)
    if known_device:  # the user's own browser: judged on its own count only
        keys = [_device_key(name, device_hash)]
    else:
        keys = [_user_key(name)] + ([_client_key(client)] if client else [])
    known = user is not None and user.active
    try:
        ok = _hasher.verify(user.password_hash if known else _DUMMY_HASH, str(password)) and known
    except (VerificationError, InvalidHashError):
        ok = False
    signed_in, new_locks = None, []
    with store.session() as db:
        rows = _claim_throttle_rows(db, keys)
        wait_s = _lock_remaining_s(rows, now)
        if wait_s > 0:
            pass  # refused whatever the password: nothing changes until the lock ends
        elif not ok:
            new_locks = _record_failure(rows, now)
        else:
            # only the account's count: one valid account must not wipe an address's failures
            for row in rows:
                if row.key == keys[0]:
                    row.failures = 0
            account = db.get(User, user.id)
            if _hasher.check_needs_rehash(account.password_hash):
                account.password_hash = hash_password(password)
            _remember_device(db, account.id, device_hash, now)
            signed_in = SignedInUser(id=account.id, username=account.username, role=account.role,
                                     display_name=account.display_name, client=client, device=device_hash)
        for row in rows:  # a key without failures keeps no row
            if not row.failures:
                db.delete(row)
    where = "known browser" if known_device else ("unknown browser" if device_hash else "no browser cookie")
    for key, failures, lock_s in new_locks:
        audit(store, name, "sign_in_lock", success=False, client=client,
              detail=f"key={key} failures={failures} lock_s={lock_s:.0f}")
    if wait_s > 0:
        audit(store, name, "sign_in_locked", success=False, client=client,
              detail=f"retry_after_s={wait_s:.0f} from={where}")
        raise SignInLocked(f"Sign-in is paused after several unsuccessful attempts: try again in "
                           f"{wait_s:.0f} s, or ask an administrator to lift the pause "
                           f"(mindmove user unlock NAME).", retry_after_s=wait_s)
    if signed_in is None:
        reason = "unknown user" if user is None else ("inactive user" if not user.active else "wrong password")
        audit(store, name, "sign_in_failed", success=False, client=client, detail=reason)
        raise AccessDenied(SIGN_IN_REFUSED)
    audit(store, name, "sign_in", client=client, detail=f"from={where}")
    return signed_in


def unlock_user(store: Store, username: str, /, *, by: str) -> int:
    """Lift every sign-in pause of account ``username`` (its own and its known browsers'); audited.
    Returns how many keys had failures counted."""
    name = str(username).strip().lower()
    with store.session() as db:
        if db.scalar(select(User.id).where(User.username == name)) is None:
            raise ValidationError(f"Expected an existing user, but there is no user {name!r}. "
                                  "Check the name with the person who cannot sign in.")
        cleared = list(db.scalars(select(LoginThrottle.key).where(_account_keys(name))))
        db.execute(delete(LoginThrottle).where(_account_keys(name)))
    audit(store, by, "sign_in_unlock", detail=f"user={name} keys={len(cleared)}")
    return len(cleared)


def unlock_client(store: Store, client: str, /, *, by: str) -> int:
    """Lift the sign-in pause of client address ``client`` (``local``: the dashboard's own
    computer or its proxy); audited. Returns 1 when it had failures counted, else 0."""
    key = _client_key(str(client).strip())
    with store.session() as db:
        cleared = db.execute(delete(LoginThrottle).where(LoginThrottle.key == key)).rowcount or 0
    audit(store, by, "sign_in_unlock", detail=f"{key} keys={cleared}")
    return int(cleared)


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


def parse_session_id(value: object, /) -> int | None:
    """``value`` as a session id (a whole number 1..:data:`MAX_SESSION_ID`), else ``None``."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_SESSION_ID)):
        return None
    sid = int(text)
    return sid if 1 <= sid <= MAX_SESSION_ID else None


def require_session(store: Store, user: SignedInUser, session_id: int, /, *, action: str) -> tuple[int, str]:
    """``(session id, patient code)`` if ``user`` may see session ``session_id``; audited.
    An id that is not a whole number in the store's range is refused before any query."""
    sid = parse_session_id(session_id)
    code = None
    if sid is not None:
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
