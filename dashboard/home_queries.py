"""The dashboard's home-practice actions: a patient's home programme, their devices, links.

Like :mod:`dashboard.queries`, every function checks who asks against the database now
(role and care team) and is audited: views as ``view_home_practice``; changes by the library
functions they call (``programme_set``, ``invite_device``, ``revoke_device``) with the
signed-in user's name and browser address. Only the therapist role changes a programme or a
patient's devices; clinicians of the care team may look.
"""

from __future__ import annotations

from dataclasses import dataclass

from mindmove.auth import SignedInUser, require_patient, require_role
from mindmove.store.db import Store

HOME_EDIT_ROLES = ("therapist",)


@dataclass(frozen=True)
class HomePracticeView:
    """Today's plan and what is done (``day``; None without a programme), the patient's devices."""

    patient_code: str
    day: object | None       # mindmove.programme.ProgrammeDay
    devices: list            # mindmove.telehealth.access.DeviceInfo, newest first


def load_home_practice(store: Store, user: SignedInUser, patient_code: str, /) -> HomePracticeView:
    from mindmove.programme import compute_programme_day
    from mindmove.telehealth.access import list_devices

    require_patient(store, user, patient_code, action="view_home_practice")
    code = str(patient_code)
    return HomePracticeView(patient_code=code, day=compute_programme_day(store, code), devices=list_devices(store, code))


def _require_editor(store: Store, user: SignedInUser, patient_code: str, action: str) -> None:
    require_role(store, user, *HOME_EDIT_ROLES, action=action)
    require_patient(store, user, patient_code, action=f"open_{action}")


def save_home_programme(store: Store, user: SignedInUser, patient_code: str, plan, /, *, exercises_dir=None):
    """Store ``plan`` (a :class:`mindmove.programme.HomeProgrammePlan`) as the new version."""
    from mindmove.programme import save_programme

    _require_editor(store, user, patient_code, "programme_set")
    return save_programme(store, str(patient_code), plan, by=user.username, client=user.client,
                          exercises_dir=exercises_dir)


def invite_home_device(store: Store, user: SignedInUser, patient_code: str, /, *, valid_hours: float):
    """A one-time link for the patient's device (:class:`mindmove.telehealth.access.Invitation`)."""
    from mindmove.telehealth.access import create_invitation

    _require_editor(store, user, patient_code, "invite_device")
    return create_invitation(store, str(patient_code), by=user.username, client=user.client,
                             valid_s=valid_hours * 3600.0)


def revoke_home_device(store: Store, user: SignedInUser, patient_code: str, /, *, device_id: int | None = None) -> int:
    """Disconnect one device of the patient, or all of them (and unopened links)."""
    from mindmove.telehealth.access import revoke_devices

    _require_editor(store, user, patient_code, "revoke_device")
    return revoke_devices(store, str(patient_code), by=user.username, client=user.client, device_id=device_id)
