"""Calibration profiles in the store: every change a new version, none ever edited in place.

The profile itself (value types, validation, JSON codec) is :mod:`calibration.profile`,
which knows nothing of the database; this module stores and reads it. :func:`save_profile`
validates the whole profile and stores it as the patient's next version, with who changed
it, when (UTC) and why; every earlier version stays readable through
:func:`profile_history`. Live sessions read the newest version with :func:`load_profile` and
record its ``version_id``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import func, select

from calibration.profile import (
    Profile, ProfileRecord, compute_profile_changes, profile_from_dict, profile_to_dict, validate_profile,
)
from core.errors import ValidationError
from core.patients import check_patient_code
from core.ranges import SafeRange
from mindmove.auth import SignedInUser, audit, require_patient, require_role
from mindmove.store.models import Patient, ProfileVersion, as_utc
from mindmove.store.recording import get_or_create_patient

log = logging.getLogger(__name__)

CALIBRATION_EDIT_ROLES = ("therapist",)  # who may change a safe range in the dashboard


def _record(row: ProfileVersion, patient_code: str) -> ProfileRecord:
    return ProfileRecord(profile=profile_from_dict(row.data), version=row.version, version_id=row.id,
                         created_by=row.created_by, created_at=as_utc(row.created_at), reason=row.reason,
                         patient_code=patient_code)


def _patient_id(db, code: str) -> int | None:
    return db.scalar(select(Patient.id).where(Patient.code == code))


def load_profile(store, patient_code: str, /) -> ProfileRecord | None:
    """The patient's newest profile version, or None if the patient has none."""
    code = check_patient_code(patient_code)
    with store.session() as db:
        pid = _patient_id(db, code)
        if pid is None:
            return None
        row = db.scalar(select(ProfileVersion).where(ProfileVersion.patient_id == pid)
                        .order_by(ProfileVersion.version.desc()).limit(1))
        return None if row is None else _record(row, code)


def profile_history(store, patient_code: str, /) -> list[ProfileRecord]:
    """Every version of the patient's profile, oldest first."""
    code = check_patient_code(patient_code)
    with store.session() as db:
        pid = _patient_id(db, code)
        if pid is None:
            return []
        rows = db.scalars(select(ProfileVersion).where(ProfileVersion.patient_id == pid)
                          .order_by(ProfileVersion.version)).all()
        return [_record(r, code) for r in rows]


def save_profile(store, patient_code: str, profile: Profile, /, *, by: str, reason: str) -> ProfileRecord:
    """Validate ``profile`` and store it as the patient's next version (the patient is created if new)."""
    code = check_patient_code(patient_code)
    validate_profile(profile)
    by = (by or "").strip()
    reason = (reason or "").strip()
    if not by:
        raise ValidationError("Expected the name of the person making this change (--by NAME), but got nothing.")
    if not reason:
        raise ValidationError("Expected a reason for this change (--reason TEXT), but got nothing.")
    data = profile_to_dict(profile)
    with store.session() as db:
        pid = get_or_create_patient(db, code).id
        newest = db.scalar(select(func.max(ProfileVersion.version)).where(ProfileVersion.patient_id == pid)) or 0
        row = ProfileVersion(patient_id=pid, version=newest + 1, created_by=by, reason=reason,
                             created_at=datetime.now(timezone.utc), data=data)
        db.add(row)
        db.flush()
        record = _record(row, code)
    log.info("Stored profile version %d for patient %s", record.version, code)
    return record


def save_profile_change(store, patient_code: str, old: Profile | None, new: Profile, /, *, actor: str, by: str,
                        reason: str, detail_prefix: str = "", client: str = "") -> ProfileRecord:
    """:func:`save_profile`, written to the audit log as ``edit_calibration`` by ``actor``.

    A refused change (a :class:`ValidationError`) is audited with ``success=False`` and
    re-raised. The detail is ``version=N; <detail_prefix><what changed relative to old>``
    (``detail_prefix`` e.g. ``"by=Sam PT; calibrate: "``), or ``<detail_prefix>refused: <why>``.
    """
    try:
        record = save_profile(store, patient_code, new, by=by, reason=reason)
    except ValidationError as exc:
        audit(store, actor, "edit_calibration", patient_code=patient_code, success=False, client=client,
              detail=f"{detail_prefix}refused: {exc}")
        raise
    audit(store, actor, "edit_calibration", patient_code=patient_code, client=client,
          detail=f"version={record.version}; {detail_prefix}" + "; ".join(compute_profile_changes(old, new)))
    return record


def save_range_change(store, user: SignedInUser, patient_code: str, /, *, motion: str, min_deg: float,
                      max_deg: float, caution_margin_deg: float, reason: str) -> ProfileRecord:
    """A new profile version with ``motion``'s safe range changed, by a signed-in dashboard user.

    Only :data:`CALIBRATION_EDIT_ROLES` of the patient's care team may (a refusal is audited
    by ``require_role`` / ``require_patient``). The same validation as ``mindmove profile set``
    (:func:`save_profile`, which checks every range with :func:`calibration.limits.check_range`);
    a refused change is audited (``edit_calibration``, ``success=False``) and re-raised.
    """
    require_role(store, user, *CALIBRATION_EDIT_ROLES, action="edit_calibration")
    require_patient(store, user, patient_code, action="open_calibration_edit")
    code = str(patient_code)
    current = load_profile(store, code)
    old = current.profile if current is not None else Profile()
    new = old.with_range(str(motion), SafeRange(min_deg, max_deg, caution_margin_deg))
    return save_profile_change(store, code, old, new, actor=user.username, by=user.username, reason=reason,
                               client=user.client)
