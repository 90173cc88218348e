"""Patient access for home practice: one-time invitations, bound devices, revocation.

- A therapist issues an invitation (``mindmove patient invite P001``, or the dashboard's
  button): a link ``<home url>/join#<token>`` valid for ``valid_s`` (72 h by default). The
  token is in the link's fragment, which browsers never send to a server or put in a
  Referer, so it does not reach any log; the page posts it once.
- Opening it on the patient's device redeems it (:func:`redeem_invitation`): the invitation
  is used up (a conditional update, so two devices racing for one link get one device) and a
  new device is bound with a long-lived token, kept in the device's cookie. A used, expired,
  revoked or unknown link is refused with the same calm message.
- Every request and message of the device is authenticated by that token
  (:func:`authenticate_device`); it names ONE patient, and nothing else: the patient sees
  only their own plan and sessions, and a device token is no clinician sign-in.
- Revoking (``mindmove patient revoke``, or the dashboard) sets ``revoked_at``; the server
  checks on every request and polls connected devices (see ``docs/telehealth.md``).

Tokens are 256 random bits (:func:`secrets.token_urlsafe`); the store keeps only their
SHA-256. A slow password hash (Argon2) protects guessable passwords against a stolen table;
a 256-bit random token cannot be guessed, so one fast hash suffices and lets the store find
it by an indexed equality. Every invitation, binding, refusal and revocation is audited.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.errors import AccessDenied, ValidationError
from core.patients import check_patient_code
from feedback.messages import message
from mindmove.auth import audit, clean_input
from mindmove.store.db import Store
from mindmove.store.models import Patient, PatientDevice, PatientInvitation, as_utc, utcnow

log = logging.getLogger(__name__)

TOKEN_BYTES = 32                   # 256 bits
DEFAULT_INVITATION_VALID_S = 72 * 3600.0  # three days: time to open it at home after the visit
MAX_INVITATION_VALID_S = 14 * 24 * 3600.0
LAST_SEEN_RESOLUTION_S = 60.0      # a device's last_seen_at is updated at most this often
LINK_REFUSED_KEY = "home.link_refused"      # what the patient reads (feedback/messages.toml)
DEVICE_REFUSED_KEY = "home.device_refused"
NO_DEVICE_KEY = "home.no_device"
DEVICE_ACTOR = "device"            # audit username prefix for a patient's device: device:<id>


def hash_token(token: str, /) -> str:
    """The SHA-256 (hex) of a token: what the store keeps."""
    return hashlib.sha256(str(token).encode("utf-8")).hexdigest()


def device_actor(device_id: int, /) -> str:
    """The audit log's name for a patient's device."""
    return f"{DEVICE_ACTOR}:{device_id}"


@dataclass(frozen=True)
class Invitation:
    """A one-time link's token (shown once, never stored) and when it expires."""

    id: int
    patient_code: str
    token: str
    expires_at: datetime

    def link(self, home_url: str, /) -> str:
        return f"{home_url.rstrip('/')}/join#{self.token}"


@dataclass(frozen=True)
class PatientIdentity:
    """Who a device token speaks for: one device of one patient."""

    device_id: int
    patient_id: int
    patient_code: str


@dataclass(frozen=True)
class DeviceGrant:
    """A newly bound device: its token (for the device's cookie) and identity."""

    token: str
    identity: PatientIdentity


@dataclass(frozen=True)
class DeviceInfo:
    id: int
    label: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


def _now(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def create_invitation(store: Store, patient_code: str, /, *, by: str, client: str = "",
                      valid_s: float = DEFAULT_INVITATION_VALID_S, now: datetime | None = None) -> Invitation:
    """A one-time link for ``patient_code`` valid ``valid_s`` seconds (audited ``invite_device``)."""
    code = check_patient_code(patient_code)
    if not 60.0 <= valid_s <= MAX_INVITATION_VALID_S:
        raise ValidationError(f"An invitation is valid from 1 minute to {MAX_INVITATION_VALID_S / 86400:g} days, "
                              f"but got {valid_s / 3600:g} hours.")
    now = _now(now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with store.session() as db:
        patient_id = db.scalar(select(Patient.id).where(Patient.code == code))
        if patient_id is None:
            raise ValidationError(f"There is no patient {code!r}. Register them first with "
                                  "`mindmove patient add CODE --team TEAM`.")
        row = PatientInvitation(patient_id=patient_id, token_hash=hash_token(token), created_by=by[:160],
                                created_at=now, expires_at=now + timedelta(seconds=valid_s))
        db.add(row)
        db.flush()
        invitation = Invitation(id=row.id, patient_code=code, token=token, expires_at=row.expires_at)
    audit(store, by, "invite_device", patient_code=code, client=client,
          detail=f"invitation={invitation.id} expires={invitation.expires_at:%Y-%m-%d %H:%M} UTC")
    return invitation


def redeem_invitation(store: Store, token: str, /, *, label: str = "", client: str = "",
                      now: datetime | None = None) -> DeviceGrant:
    """Bind a new device with a one-time invitation token; :class:`AccessDenied` (audited)
    when the link is unknown, used or expired."""
    now = _now(now)
    digest = hash_token(clean_input(token))
    device_token = secrets.token_urlsafe(TOKEN_BYTES)
    with store.session() as db:
        row = db.scalar(select(PatientInvitation).where(PatientInvitation.token_hash == digest))
        claimed = row is not None and db.execute(
            update(PatientInvitation)
            .where(PatientInvitation.id == row.id, PatientInvitation.used_at.is_(None),
                   PatientInvitation.expires_at > now)
            .values(used_at=now).execution_options(synchronize_session=False)).rowcount == 1
        if claimed:
            device = PatientDevice(patient_id=row.patient_id, token_hash=hash_token(device_token),
                                   label=clean_input(label)[:160], created_at=now, last_seen_at=now)
            db.add(device)
            db.flush()
            row.device_id = device.id
            code = db.scalar(select(Patient.code).where(Patient.id == row.patient_id))
            identity = PatientIdentity(device_id=device.id, patient_id=row.patient_id, patient_code=code)
        else:
            code = None if row is None else db.scalar(select(Patient.code).where(Patient.id == row.patient_id))
            reason = ("unknown link" if row is None else "link used already" if row.used_at is not None
                      else "link expired")
    if not claimed:
        audit(store, "device:unbound", "bind_device", patient_code=code, success=False, client=client,
              detail=f"refused: {reason}")
        raise AccessDenied(message(LINK_REFUSED_KEY))
    audit(store, device_actor(identity.device_id), "bind_device", patient_code=identity.patient_code,
          client=client, detail=f"invitation={row.id} device={identity.device_id} label={clean_input(label)[:80]}")
    return DeviceGrant(token=device_token, identity=identity)


def authenticate_device(store: Store, device_token: str | None, /, *, now: datetime | None = None) -> PatientIdentity:
    """The patient a device token speaks for; :class:`AccessDenied` for a missing, unknown or
    revoked token (not audited here: the caller audits what it refuses)."""
    if not device_token:
        raise AccessDenied(message(NO_DEVICE_KEY))
    now = _now(now)
    with store.session() as db:
        found = db.execute(select(PatientDevice, Patient.code).join(Patient, Patient.id == PatientDevice.patient_id)
                           .where(PatientDevice.token_hash == hash_token(clean_input(device_token)))).first()
        if found is None or found[0].revoked_at is not None:
            raise AccessDenied(message(DEVICE_REFUSED_KEY))
        device, code = found
        seen = as_utc(device.last_seen_at)
        if seen is None or (now - seen).total_seconds() >= LAST_SEEN_RESOLUTION_S:
            device.last_seen_at = now
        return PatientIdentity(device_id=device.id, patient_id=device.patient_id, patient_code=code)


def revoked_device_ids(store: Store, device_ids, /) -> set[int]:
    """Which of ``device_ids`` are revoked (or gone) now: one query for every connected device."""
    ids = {int(i) for i in device_ids}
    if not ids:
        return set()
    with store.session() as db:
        live = set(db.scalars(select(PatientDevice.id).where(PatientDevice.id.in_(ids),
                                                             PatientDevice.revoked_at.is_(None))))
    return ids - live


def revoke_devices(store: Store, patient_code: str, /, *, by: str, device_id: int | None = None, client: str = "",
                   now: datetime | None = None) -> int:
    """Revoke one device (``device_id``) or every device of the patient, and every pending
    invitation with them; returns how many devices were revoked (audited ``revoke_device``)."""
    code = check_patient_code(patient_code)
    now = _now(now)
    with store.session() as db:
        patient_id = db.scalar(select(Patient.id).where(Patient.code == code))
        if patient_id is None:
            raise ValidationError(f"There is no patient {code!r}.")
        where = [PatientDevice.patient_id == patient_id, PatientDevice.revoked_at.is_(None)]
        if device_id is not None:
            where.append(PatientDevice.id == int(device_id))
        ids = list(db.scalars(select(PatientDevice.id).where(*where)))
        if device_id is not None and not ids:
            raise ValidationError(f"{code} has no connected device {device_id}. See `mindmove patient devices {code}`.")
        if ids:
            db.execute(update(PatientDevice).where(PatientDevice.id.in_(ids)).values(revoked_at=now, revoked_by=by[:160]))
        expired = 0
        if device_id is None:  # revoking the patient's access also ends links not yet opened
            expired = db.execute(update(PatientInvitation).where(
                PatientInvitation.patient_id == patient_id, PatientInvitation.used_at.is_(None),
                PatientInvitation.expires_at > now).values(expires_at=now)).rowcount
    audit(store, by, "revoke_device", patient_code=code, client=client,
          detail=f"devices={','.join(map(str, ids)) or 'none'} invitations_ended={expired}")
    return len(ids)


def list_devices(store: Store, patient_code: str, /) -> list[DeviceInfo]:
    """The patient's devices, newest first (revoked ones too, for the record)."""
    code = check_patient_code(patient_code)
    with store.session() as db:
        rows = db.scalars(select(PatientDevice).join(Patient, Patient.id == PatientDevice.patient_id)
                          .where(Patient.code == code).order_by(PatientDevice.id.desc())).all()
        return [DeviceInfo(id=r.id, label=r.label, created_at=as_utc(r.created_at), last_seen_at=as_utc(r.last_seen_at),
                           revoked_at=as_utc(r.revoked_at), revoked_by=r.revoked_by) for r in rows]
