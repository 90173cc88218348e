"""The functional tests in the dashboard: per patient over time, and the programme's change.

Like :mod:`dashboard.queries`: each function checks access (care team; admin for the
programme), writes one audit entry, and returns frames whose columns carry their units.

- :func:`compute_function_trends`: one row per stored assessment, oldest first, with the
  published norm band for the patient's age at the test and sex (from the newest profile:
  birth year and sex; see :mod:`feedback.assessments.norms`), the quality flags and the
  provenance (who ran it, the source, software, pose model, profile version).
- :func:`compute_functional_change` (admin): per test, each patient's first and latest
  result, the change, and whether it improved (or worsened) by at least the test's minimal
  detectable change (:data:`feedback.assessments.ASSESSMENTS`, each MDC cited).
- :func:`compute_checkin_outcomes` (admin): pain, mood and satisfaction per patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Float, case, cast, func, select

from dashboard.queries import _frame, _since_clause
from feedback.assessments import ASSESSMENTS, compute_change, get_assessment
from feedback.assessments.norms import find_norm
from mindmove.auth import SignedInUser, audit, require_patient, require_role
from mindmove.store.db import Store
from mindmove.store.models import AssessmentRecord, CheckIn, Patient, ProfileVersion, Session

FUNCTION_COLUMNS = ["assessment_id", "session_id", "started_at", "test", "title", "value", "unit", "result",
                    "flags", "notes", "run_by", "source_kind", "source_name", "pose_model", "software_version",
                    "profile_version", "age_years", "sex", "norm_low", "norm_high", "norm_mean", "norm_cutoff",
                    "norm_cutoff_worse", "norm_meaning", "norm_source"]


def _newest_profile(db, patient_id: int) -> dict:
    data = db.scalar(select(ProfileVersion.data).where(ProfileVersion.patient_id == patient_id)
                     .order_by(ProfileVersion.version.desc()).limit(1))
    return dict(data or {})


def compute_function_trends(store: Store, user: SignedInUser, patient_code: str, /, *, test: str | None = None,
                            since: datetime | None = None) -> pd.DataFrame:
    """Every functional test of the patient, oldest first (columns: :data:`FUNCTION_COLUMNS`)."""
    patient_id = require_patient(store, user, patient_code, action="view_function")
    stmt = (select(AssessmentRecord.id.label("assessment_id"), Session.id.label("session_id"), Session.started_at,
                   AssessmentRecord.test, AssessmentRecord.value, AssessmentRecord.unit, AssessmentRecord.result,
                   AssessmentRecord.quality, AssessmentRecord.run_by, AssessmentRecord.source_kind,
                   AssessmentRecord.source_name, AssessmentRecord.pose_model, AssessmentRecord.software_version,
                   ProfileVersion.version.label("profile_version"))
            .join(Session, Session.id == AssessmentRecord.session_id)
            .outerjoin(ProfileVersion, ProfileVersion.id == Session.profile_version_id)
            .where(Session.patient_id == patient_id, _since_clause(since))
            .order_by(Session.started_at, AssessmentRecord.id))
    if test:
        stmt = stmt.where(AssessmentRecord.test == test)
    with store.session() as db:
        rows = db.execute(stmt).all()
        profile = _newest_profile(db, patient_id)
    birth_year, sex = profile.get("birth_year"), profile.get("sex")
    out = []
    for r in rows:
        age = None if birth_year is None else int(pd.Timestamp(r.started_at).year) - int(birth_year)
        entry = ASSESSMENTS.get(r.test)
        norm = find_norm(entry.norms_key if entry else None, age_years=age, sex=sex)
        quality = dict(r.quality or {})
        row = dict(r._mapping)
        row.update(title=entry.title if entry else r.test, result=dict(r.result or {}),
                   flags=", ".join(quality.get("flags", [])), notes=" ".join(quality.get("notes", [])),
                   age_years=age, sex=sex)
        norm_values = ((norm.low, norm.high, norm.mean, norm.cutoff, norm.cutoff_worse, norm.band_meaning,
                        norm.source + (f" Cut-off: {norm.cutoff_source}" if norm.cutoff_source else ""))
                       if norm else (None,) * 7)
        row.update(zip(("norm_low", "norm_high", "norm_mean", "norm_cutoff", "norm_cutoff_worse", "norm_meaning",
                        "norm_source"), norm_values))
        out.append(row)
    return _frame(out, FUNCTION_COLUMNS)


def list_function_tests(store: Store, user: SignedInUser, patient_code: str, /) -> list[str]:
    """The tests recorded for this patient, in registry order."""
    patient_id = require_patient(store, user, patient_code, action="view_function_tests")
    with store.session() as db:
        names = set(db.scalars(select(AssessmentRecord.test).distinct()
                               .join(Session, Session.id == AssessmentRecord.session_id)
                               .where(Session.patient_id == patient_id)))
    return [name for name in ASSESSMENTS if name in names] + sorted(names - set(ASSESSMENTS))


CHANGE_COLUMNS = ["test", "title", "unit", "patients", "mean_first", "mean_latest", "mean_change", "improved",
                  "worsened", "mdc", "mdc_source", "better"]
PATIENT_CHANGE_COLUMNS = ["patient_code", "test", "first", "latest", "change", "improved_by_mdc", "assessments"]


@dataclass(frozen=True)
class FunctionalChange:
    """Programme-wide change in the functional tests: ``per_test`` (:data:`CHANGE_COLUMNS`:
    patients with two or more results of the test, mean first and latest result, mean change,
    how many improved and how many worsened by at least the MDC) and ``per_patient``
    (:data:`PATIENT_CHANGE_COLUMNS`)."""

    per_test: pd.DataFrame
    per_patient: pd.DataFrame


def compute_functional_change(store: Store, user: SignedInUser, /, *, since: datetime | None = None) -> FunctionalChange:
    """First versus latest result per patient and test (admin; see :class:`FunctionalChange`)."""
    require_role(store, user, "admin", action="view_functional_change")
    ranked = (select(Patient.code.label("code"), AssessmentRecord.test.label("test"),
                     AssessmentRecord.value.label("value"),
                     func.row_number().over(partition_by=[Patient.id, AssessmentRecord.test],
                                            order_by=[Session.started_at.asc(), AssessmentRecord.id.asc()]).label("rf"),
                     func.row_number().over(partition_by=[Patient.id, AssessmentRecord.test],
                                            order_by=[Session.started_at.desc(), AssessmentRecord.id.desc()]).label("rl"),
                     func.count().over(partition_by=[Patient.id, AssessmentRecord.test]).label("n"))
              .join(Session, Session.id == AssessmentRecord.session_id)
              .join(Patient, Patient.id == Session.patient_id)
              .where(AssessmentRecord.value.is_not(None), _since_clause(since)).subquery("ranked"))
    stmt = (select(ranked.c.code, ranked.c.test,
                   func.max(_pick(ranked.c.rf, ranked.c.value)).label("first"),
                   func.max(_pick(ranked.c.rl, ranked.c.value)).label("latest"), func.max(ranked.c.n).label("n"))
            .where(ranked.c.n >= 2).group_by(ranked.c.code, ranked.c.test).order_by(ranked.c.test, ranked.c.code))
    with store.session() as db:
        rows = db.execute(stmt).all()
    per_patient = []
    for r in rows:
        change, improved = compute_change(r.test, r.first, r.latest) if r.test in ASSESSMENTS else (None, None)
        per_patient.append((r.code, r.test, r.first, r.latest, change, improved, int(r.n)))
    patients = pd.DataFrame(per_patient, columns=PATIENT_CHANGE_COLUMNS)
    summary = []
    for test, part in patients.groupby("test", sort=False):
        a = get_assessment(test) if test in ASSESSMENTS else None
        if a is None:
            continue
        worse = -part["change"] if a.higher_is_better else part["change"]
        summary.append((test, a.title, a.unit, len(part), float(part["first"].mean()), float(part["latest"].mean()),
                        float(part["change"].mean()), int(part["improved_by_mdc"].sum()),
                        int((worse >= a.mdc.value).sum()), a.mdc.value, a.mdc.source,
                        "higher" if a.higher_is_better else "lower"))
    audit(store, user.username, "view_functional_change", client=user.client, detail=f"patient_tests={len(patients)}")
    return FunctionalChange(pd.DataFrame(summary, columns=CHANGE_COLUMNS), patients)


def _pick(rank, value):
    return case((rank == 1, value))


OUTCOME_COLUMNS = ["patient_code", "sessions_with_checkin", "pain_before", "pain_change", "mood_before",
                   "mood_after", "satisfaction", "satisfaction_answers"]


def compute_checkin_outcomes(store: Store, user: SignedInUser, /, *, since: datetime | None = None) -> pd.DataFrame:
    """Per patient (admin): mean pain before sessions (0-10), mean change within a session
    (after - before), mean mood before and after (1-5), mean satisfaction after sessions
    (1-5) and how many sessions it was given for (columns: :data:`OUTCOME_COLUMNS`)."""
    require_role(store, user, "admin", action="view_checkin_outcomes")
    per_session = (select(Session.patient_id.label("pid"), Session.id.label("sid"),
                          func.max(_phase("before", CheckIn.pain)).label("pb"),
                          func.max(_phase("after", CheckIn.pain)).label("pa"),
                          func.max(_phase("before", CheckIn.mood)).label("mb"),
                          func.max(_phase("after", CheckIn.mood)).label("ma"),
                          func.max(_phase("after", CheckIn.satisfaction)).label("sa"))
                   .join(CheckIn, CheckIn.session_id == Session.id).where(_since_clause(since))
                   .group_by(Session.patient_id, Session.id).subquery("per_session"))
    c = per_session.c
    stmt = (select(Patient.code.label("patient_code"), func.count(c.sid).label("sessions_with_checkin"),
                   func.avg(cast(c.pb, Float)).label("pain_before"), func.avg(cast(c.pa - c.pb, Float)).label("pain_change"),
                   func.avg(cast(c.mb, Float)).label("mood_before"), func.avg(cast(c.ma, Float)).label("mood_after"),
                   func.avg(cast(c.sa, Float)).label("satisfaction"), func.count(c.sa).label("satisfaction_answers"))
            .join(per_session, per_session.c.pid == Patient.id).group_by(Patient.code).order_by(Patient.code))
    with store.session() as db:
        rows = db.execute(stmt).all()
    audit(store, user.username, "view_checkin_outcomes", client=user.client)
    return _frame(rows, OUTCOME_COLUMNS, times=())


def _phase(phase: str, column):
    return case((CheckIn.phase == phase, column))
