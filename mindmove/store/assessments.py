"""Storing a functional test in the patient's record (``assessments``, with its session row).

:func:`record_assessment` writes, in one transaction, a session (kind ``assessment``, the
test as its ``exercise``, the newest calibration profile version as its
``profile_version_id``), the :class:`~mindmove.store.models.AssessmentRecord` with the result
and its provenance (who ran it, when, the source, the software and pose model), and for the
gait tests a :class:`~mindmove.store.models.GaitResult` too, so the Gait page shows them.
The patient must exist already: a test is never the way a patient enters the record.
Nothing is written for a refused analysis (it raises before this is called).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from core.errors import ValidationError
from core.patients import check_patient_code
from mindmove.store.db import Store
from mindmove.store.models import AssessmentRecord, GaitResult, Patient, ProfileVersion, Session
from mindmove.store.recording import station_name

log = logging.getLogger(__name__)

SOURCE_KINDS = ("camera", "video", "landmarks", "mocap", "simulated")
GAIT_TESTS = ("gait", "gait-speed")
MAX_NAME_CHARS = 255


@dataclass(frozen=True)
class Provenance:
    """Where a result comes from: who ran the test, when (UTC), from what, with what."""

    run_by: str
    source_kind: str
    source_name: str
    pose_model: str
    started_at: datetime
    ended_at: datetime
    software: dict = field(default_factory=dict)
    station: str = field(default_factory=station_name)


def find_patient_id(store: Store, patient_code: str, /) -> int:
    """The patient's id; a one-line refusal naming what to do when the clinic has no such patient."""
    code = check_patient_code(patient_code)
    with store.session() as db:
        pid = db.scalar(select(Patient.id).where(Patient.code == code))
    if pid is None:
        raise ValidationError(f"There is no patient {code} in this clinic's record, so nothing was measured or "
                              f"stored. Check the code, or add the patient first with 'mindmove patient add {code} --team TEAM'.")
    return pid


def _json_safe(value):
    """``value`` with non-finite floats as None (JSON has no NaN), checked serialisable."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _json_safe(value.item())
    return value


def gait_result_row(gait: dict, /) -> dict:
    """The :class:`GaitResult` columns of a gait report (``GaitReport.to_dict()``). The store
    keeps step-time symmetry as the ratio of the shorter to the longer side's step (1 = even)."""
    params = gait.get("parameters", {})
    left, right = params.get("step_time_left_s"), params.get("step_time_right_s")
    ratio = None if not left or not right else min(left, right) / max(left, right)
    return {"direction": gait.get("direction", "unknown"), "strides": int(params.get("n_strides") or 0),
            "cadence_steps_per_min": params.get("cadence_steps_per_min"),
            "gait_speed_m_s": params.get("gait_speed_m_s"),
            "step_time_symmetry": None if ratio is None else round(ratio, 4),
            "stride_time_cv_pct": params.get("stride_time_cv_pct"), "parameters": _json_safe(params),
            "quality": _json_safe(gait.get("quality", {}))}


def _check(provenance: Provenance) -> None:
    if not provenance.run_by.strip():
        raise ValidationError("Expected who ran the test (--by NAME), but got nothing.")
    if provenance.source_kind not in SOURCE_KINDS:
        raise ValidationError(f"Expected a source kind among {', '.join(SOURCE_KINDS)}, but got "
                              f"{provenance.source_kind!r}.")


def add_assessment_rows(db, patient_id: int, result, provenance: Provenance, /, *,
                        profile_version_id: int | None, summary: dict | None = None) -> AssessmentRecord:
    """Add the session, the assessment (and for gait tests the gait result) to ``db``'s open
    transaction; returns the assessment row (its id once flushed). ``summary`` adds to the
    session's summary (the demo keeps its simulation's arguments there)."""
    from mindmove import __version__

    _check(provenance)
    data = _json_safe(result.to_dict())
    json.dumps(data, allow_nan=False)  # fails here, before anything is written
    started = provenance.started_at.astimezone(timezone.utc)
    ended = provenance.ended_at.astimezone(timezone.utc)
    session = Session(patient_id=patient_id, kind="assessment", exercise=result.test,
                      profile_version_id=profile_version_id, started_at=started, ended_at=ended, last_write_at=ended,
                      status="completed", station=provenance.station[:120],
                      active_s=max(0.0, (ended - started).total_seconds()),
                      summary={"assessment": result.test, "value": data["value"], "unit": result.unit,
                               **(summary or {})})
    db.add(session)
    db.flush()
    row = AssessmentRecord(
        session_id=session.id, test=result.test, value=data["value"], unit=result.unit,
        result=data["fields"], detail={"events": data["events"], **data["detail"]},
        quality={"flags": data["flags"], "notes": data["notes"]}, run_by=provenance.run_by.strip()[:160],
        source_kind=provenance.source_kind, source_name=provenance.source_name[:MAX_NAME_CHARS],
        software_version=__version__, software=_json_safe(provenance.software),
        pose_model=(provenance.pose_model or "")[:160], recorded_at=ended)
    db.add(row)
    gait = data["detail"].get("gait")
    if result.test in GAIT_TESTS and gait:
        db.add(GaitResult(session_id=session.id, **gait_result_row(gait)))
    db.flush()
    return row


def record_assessment(store: Store, patient_code: str, result, provenance: Provenance, /) -> int:
    """Store ``result`` (an :class:`~feedback.assessments.AssessmentResult`) for the patient;
    returns the new assessment's id. One transaction: all of it is stored, or nothing."""
    _check(provenance)
    patient_id = find_patient_id(store, patient_code)
    with store.session() as db:
        version_id = db.scalar(select(ProfileVersion.id).where(ProfileVersion.patient_id == patient_id)
                               .order_by(ProfileVersion.version.desc()).limit(1))
        assessment_id = add_assessment_rows(db, patient_id, result, provenance, profile_version_id=version_id).id
    log.info("stored %s for patient %s (assessment %d)", result.test, patient_code, assessment_id)
    return assessment_id
