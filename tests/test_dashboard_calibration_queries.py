"""What the Calibration page reads (dashboard/queries.py) and writes (a range change,
mindmove/store/profiles.py): care-team access, the therapist role, the CLI's validation, and
the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard import queries
from dashboard_support import N1_SAFE, PASSWORD, seed_dashboard_clinic
from mindmove.auth import authenticate, create_user
from core.errors import AccessDenied, ValidationError
from mindmove.store import open_store
from mindmove.store.models import AuditEntry
from mindmove.store.profiles import save_range_change


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('calq') / 'clinic.db'}"
    seed_dashboard_clinic(url)
    store = open_store(url)
    create_user(store, "nclin", PASSWORD, role="clinician", teams=["north"], by="test")
    users = {n: authenticate(store, n, PASSWORD) for n in ("thera", "clin", "nclin")}
    yield store, users
    store.dispose()


def last_audit(store, **where) -> AuditEntry:
    with store.session() as db:
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return db.scalars(stmt).first()


def test_load_calibration_for_own_team_and_refused_for_another(clinic):
    store, users = clinic
    view = queries.load_calibration(store, users["thera"], "N1")
    assert view.current.version == 1 and len(view.history) == 1
    r = view.current.profile.ranges["right_knee_flexion"]
    assert (r.min_deg, r.max_deg) == N1_SAFE
    assert last_audit(store, action="view_calibration").patient_code == "N1"
    with pytest.raises(AccessDenied):
        queries.load_calibration(store, users["clin"], "N1")
    refused = last_audit(store, username="clin")
    assert refused.success is False and refused.patient_code == "N1"


def test_save_range_needs_the_therapist_role_and_validates_like_the_cli(clinic):
    store, users = clinic
    with pytest.raises(AccessDenied):  # a clinician of the same team may look but not change
        save_range_change(store, users["nclin"], "N1", motion="right_knee_flexion",
                          min_deg=0.0, max_deg=70.0, caution_margin_deg=10.0, reason="try")
    assert last_audit(store, username="nclin").success is False
    with pytest.raises(ValidationError, match="physiological limit"):
        save_range_change(store, users["thera"], "N1", motion="right_knee_flexion",
                          min_deg=0.0, max_deg=200.0, caution_margin_deg=10.0, reason="try")
    with pytest.raises(ValidationError, match="Unknown motion"):
        save_range_change(store, users["thera"], "N1", motion="left_knee_flexion' OR 1=1 --",
                          min_deg=0.0, max_deg=70.0, caution_margin_deg=10.0, reason="try")
    with pytest.raises(ValidationError, match="reason"):
        save_range_change(store, users["thera"], "N1", motion="right_knee_flexion",
                          min_deg=0.0, max_deg=70.0, caution_margin_deg=10.0, reason="  ")
    assert last_audit(store, action="edit_calibration").success is False
    assert queries.load_calibration(store, users["thera"], "N1").current.version == 1  # nothing stored
    record = save_range_change(store, users["thera"], "N1", motion="right_knee_flexion",
                               min_deg=0.0, max_deg=72.5, caution_margin_deg=8.0, reason="review")
    assert record.version == 2 and record.created_by == "thera"
    assert record.profile.ranges["right_knee_flexion"].max_deg == 72.5
    entry = last_audit(store, action="edit_calibration")
    assert entry.success and "version=2" in entry.detail and "right_knee_flexion" in entry.detail
    with pytest.raises(AccessDenied):
        save_range_change(store, users["thera"], "S1", motion="right_knee_flexion",
                          min_deg=0.0, max_deg=70.0, caution_margin_deg=10.0, reason="other team")
