"""Patient access for home practice on SQLite and PostgreSQL: one-time links, bound devices,
revocation, what the store keeps (hashes only) and the audit log; the CLI and the dashboard's
actions (therapist role, care team)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from core.errors import AccessDenied, ValidationError
from mindmove.auth import authenticate, create_patient, create_team, create_user
from mindmove.cli import main
from mindmove.store import open_store
from mindmove.store.models import AuditEntry, PatientDevice, PatientInvitation, utcnow
from mindmove.telehealth.access import (
    authenticate_device, create_invitation, list_devices, redeem_invitation, revoke_devices, revoked_device_ids,
)
from store_support import store, store_url  # noqa: F401

PASSWORD = "a long password"


@pytest.fixture
def clinic(store):  # noqa: F811
    create_team(store, "north", by="test")
    create_team(store, "south", by="test")
    create_patient(store, "P001", team="north", by="test")
    create_patient(store, "S001", team="south", by="test")
    return store


def _actions(store):
    with store.session() as db:
        return [(a.action, a.success, a.patient_code) for a in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_link_binds_one_device_once_and_the_store_keeps_only_hashes(clinic):
    store = clinic
    invitation = create_invitation(store, "P001", by="ana", valid_s=3600)
    assert invitation.link("https://clinic.example:8443/").startswith("https://clinic.example:8443/join#")
    grant = redeem_invitation(store, invitation.token, label="Firefox on a tablet", client="10.0.0.5")
    assert grant.identity.patient_code == "P001"
    assert authenticate_device(store, grant.token) == grant.identity
    with pytest.raises(AccessDenied, match="This link cannot be used"):
        redeem_invitation(store, invitation.token)  # used already
    with store.session() as db:
        stored = " ".join(str(v) for row in db.execute(text("SELECT * FROM patient_devices")).all() for v in row)
        stored += " ".join(str(v) for row in db.execute(text("SELECT * FROM patient_invitations")).all() for v in row)
        device = db.scalars(select(PatientDevice)).one()
    assert invitation.token not in stored and grant.token not in stored
    assert device.token_hash == hashlib.sha256(grant.token.encode()).hexdigest() and device.label == "Firefox on a tablet"
    assert ("invite_device", True, "P001") in _actions(store)
    assert ("bind_device", True, "P001") in _actions(store) and ("bind_device", False, "P001") in _actions(store)


def test_expired_unknown_and_revoked(clinic):
    store = clinic
    stale = create_invitation(store, "P001", by="ana", valid_s=3600, now=utcnow() - timedelta(hours=2))
    with pytest.raises(AccessDenied, match="This link cannot be used"):
        redeem_invitation(store, stale.token)
    with pytest.raises(AccessDenied):
        redeem_invitation(store, "not-a-token")
    for missing in (None, ""):
        with pytest.raises(AccessDenied, match="open the link your clinic gave you"):
            authenticate_device(store, missing)
    first = redeem_invitation(store, create_invitation(store, "P001", by="ana").token)
    second = redeem_invitation(store, create_invitation(store, "P001", by="ana").token)
    pending = create_invitation(store, "P001", by="ana")
    assert revoke_devices(store, "P001", by="ana", device_id=first.identity.device_id) == 1
    with pytest.raises(AccessDenied, match="no longer connected"):
        authenticate_device(store, first.token)
    assert authenticate_device(store, second.token).device_id == second.identity.device_id
    assert revoked_device_ids(store, {first.identity.device_id, second.identity.device_id}) == {first.identity.device_id}
    assert revoke_devices(store, "P001", by="ana") == 1  # the rest, and the link not yet opened
    with pytest.raises(AccessDenied):
        redeem_invitation(store, pending.token)
    with pytest.raises(ValidationError, match="no connected device"):
        revoke_devices(store, "P001", by="ana", device_id=first.identity.device_id)
    assert [d.revoked_by for d in list_devices(store, "P001")] == ["ana", "ana"]
    assert ("revoke_device", True, "P001") in _actions(store)
    with pytest.raises(ValidationError, match="from 1 minute to 14 days"):
        create_invitation(store, "P001", by="ana", valid_s=30 * 86400)
    with pytest.raises(ValidationError, match="There is no patient"):
        create_invitation(store, "P999", by="ana")


def test_two_devices_racing_for_one_link_get_one_device(clinic, store_url):  # noqa: F811
    """The claim is a conditional update in the database: a second store (another server
    process) redeeming the same link after the first is refused."""
    token = create_invitation(clinic, "P001", by="ana").token
    other = open_store(store_url)
    try:
        redeem_invitation(clinic, token)
        with pytest.raises(AccessDenied):
            redeem_invitation(other, token)
    finally:
        other.dispose()
    with clinic.session() as db:
        assert len(db.scalars(select(PatientDevice)).all()) == 1
        assert db.scalars(select(PatientInvitation)).one().device_id is not None


def test_cli_invite_revoke_devices(capsys, monkeypatch):
    monkeypatch.setenv("MINDMOVE_HOME_URL", "https://mindmove.clinic.example:8443")
    store = open_store()
    try:
        create_team(store, "north", by="test")
        create_patient(store, "P001", team="north", by="test")
        assert main(["patient", "invite", "P001", "--valid-hours", "48"]) == 0
        link = capsys.readouterr().out.strip().splitlines()[-1]
        assert link.startswith("https://mindmove.clinic.example:8443/join#")
        redeem_invitation(store, link.split("#", 1)[1], label="phone")
        assert main(["patient", "devices", "P001"]) == 0
        assert "device 1: connected" in capsys.readouterr().out
        assert main(["patient", "revoke", "P001"]) == 0
        assert "1 device(s) of P001 disconnected" in capsys.readouterr().out
        assert main(["patient", "invite", "P001", "--valid-hours", "1000"]) == 2
        assert "14 days" in capsys.readouterr().err
        actions = [a for a, _, _ in _actions(store)]
        assert {"invite_device", "bind_device", "view_devices", "revoke_device"} <= set(actions)
        assert all(u.startswith("cli:") for u in [e.username for e in store.factory().scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["invite_device", "revoke_device"])))])
    finally:
        store.dispose()


def test_dashboard_actions_need_the_therapist_role_and_the_care_team(clinic):
    from dashboard.home_queries import (
        invite_home_device, load_home_practice, revoke_home_device, save_home_programme,
    )
    from mindmove.programme import HomeProgrammePlan, parse_prescription

    store = clinic
    create_user(store, "thera", PASSWORD, role="therapist", teams=["north"], by="test")
    create_user(store, "clin", PASSWORD, role="clinician", teams=["north"], by="test")
    thera, clin = authenticate(store, "thera", PASSWORD), authenticate(store, "clin", PASSWORD)
    plan = HomeProgrammePlan(items=(parse_prescription("elbow_flexion=2x8"),), days_per_week=3)
    assert save_home_programme(store, thera, "P001", plan).version == 1
    invitation = invite_home_device(store, thera, "P001", valid_hours=24)
    redeem_invitation(store, invitation.token)
    view = load_home_practice(store, clin, "P001")  # a clinician of the team may look
    assert view.day.record.version == 1 and len(view.devices) == 1
    for action in (lambda: save_home_programme(store, clin, "P001", plan),
                   lambda: invite_home_device(store, clin, "P001", valid_hours=24),
                   lambda: revoke_home_device(store, clin, "P001"),
                   lambda: invite_home_device(store, thera, "S001", valid_hours=24),  # another team's patient
                   lambda: load_home_practice(store, thera, "S001")):
        with pytest.raises(AccessDenied):
            action()
    assert revoke_home_device(store, thera, "P001") == 1
    refused = [(a, p) for a, ok, p in _actions(store) if not ok]
    assert ("programme_set", None) in refused and ("invite_device", None) in refused
    assert ("view_home_practice", "S001") in refused
