"""Test support for the dashboard tests (not a test module).

:func:`seed_dashboard_clinic` writes a small clinic into a fresh SQLite file, with session
times relative to the real clock (the pages ask the query layer for "now"): teams north and
south; users ``thera`` (therapist, north), ``clin`` (clinician, south), ``boss`` (admin);
patients N1 and N2 (north) and S1 (south). Figures are known numbers, listed below, so the
tests can compare what a page shows with what the database holds.
"""

from __future__ import annotations

import math
from datetime import timedelta

from mindmove.auth import create_patient, create_team, create_user
from mindmove.store import open_store
from mindmove.store.models import (
    BreathResult, CheckIn, CueEvent, GaitResult, Patient, ProfileVersion, Repetition, Sample, Session, SessionMetric,
    utcnow,
)

PASSWORD = "correct horse battery"
PATIENT_NAMES = {"N1": "Ada Northcott", "N2": "Ben Norris", "S1": "Sue Southgate"}
# N1: (days ago, pain before, pain after, highest right knee angle deg, range exceeded)
N1_SESSIONS = [(27, 5, 4, 60.0, False), (24, 5, 4, 63.0, False), (20, 4, 3, 66.0, False), (17, 4, 4, 68.0, False),
               (13, 4, 3, 71.0, False), (10, 3, 2, 73.0, False), (6, 3, 3, 75.0, False), (2, 3, 2, 82.0, True)]
N1_SAFE = (0.0, 80.0)
N1_BREATH = [(20, 13.5, 7.1, 71.0, 1.6), (10, 12.8, 6.5, 82.0, 1.8), (2, 12.1, 6.1, 90.0, 2.0)]  # days, rest, rate, agree %, I:E
N1_GAIT = [(24, 96.0, 0.82, 0.91, 5.5, ["few_strides"]), (13, 101.0, 0.95, 0.95, 4.2, []), (2, 104.0, 1.05, 0.97, 3.1, [])]
S1_DAYS = [5, 3]


def seed_dashboard_clinic(url: str) -> dict[str, int]:
    """Seed the clinic at ``url``; returns session ids by name (``N1_0`` ... ``S1_1``)."""
    store = open_store(url)
    now = utcnow().replace(microsecond=0)

    def at(days: float):
        return now - timedelta(days=days, hours=1)

    try:
        create_team(store, "north", by="test")
        create_team(store, "south", by="test")
        create_user(store, "thera", PASSWORD, role="therapist", teams=["north"], by="test", display_name="Theo Rapist")
        create_user(store, "clin", PASSWORD, role="clinician", teams=["south"], by="test")
        create_user(store, "boss", PASSWORD, role="admin", by="test")
        for code, team in (("N1", "north"), ("N2", "north"), ("S1", "south")):
            create_patient(store, code, team=team, by="test", display_name=PATIENT_NAMES[code])
        ids: dict[str, int] = {}
        with store.session() as db:
            pid = {p.code: p.id for p in db.query(Patient)}
            pv = ProfileVersion(patient_id=pid["N1"], version=1, created_by="thera", reason="first calibration",
                                data={"ranges": {"right_knee_flexion": {"min_deg": N1_SAFE[0], "max_deg": N1_SAFE[1],
                                                                        "caution_margin_deg": 10.0}}})
            db.add(pv)
            db.flush()
            for i, (d, pain_b, pain_a, top, exceeded) in enumerate(N1_SESSIONS):
                s = Session(patient_id=pid["N1"], kind="practice", exercise="seated knee extension", started_at=at(d),
                            ended_at=at(d) + timedelta(minutes=12), status="completed", active_s=600.0 + 10 * i,
                            profile_version_id=pv.id)
                db.add(s)
                db.flush()
                ids[f"N1_{i}"] = s.id
                db.add(SessionMetric(session_id=s.id, name="right_knee_flexion_deg", min_deg=4.0, max_deg=top,
                                     rom_deg=top - 4.0, safe_min_deg=N1_SAFE[0], safe_max_deg=N1_SAFE[1],
                                     time_in_range_pct=100.0 if not exceeded else 93.5, range_exceeded=exceeded))
                db.add(SessionMetric(session_id=s.id, name="left_knee_flexion_deg", min_deg=3.0, max_deg=top - 5,
                                     rom_deg=top - 8.0, safe_min_deg=0.0, safe_max_deg=85.0, time_in_range_pct=100.0,
                                     range_exceeded=False))
                db.add(CheckIn(session_id=s.id, phase="before", pain=pain_b, mood=3))
                db.add(CheckIn(session_id=s.id, phase="after", pain=pain_a, mood=4))
                for k in range(5 + i % 3):
                    db.add(Repetition(session_id=s.id, index=k, angle_name="right_knee_flexion_deg",
                                      t_start_s=8.0 * k, t_end_s=8.0 * k + 6, peak_deg=top - k, hold_s=2.0))
            by_day = {d: ids[f"N1_{i}"] for i, (d, *_rest) in enumerate(N1_SESSIONS)}
            for d, rest, rate, agree, ie in N1_BREATH:
                db.add(BreathResult(session_id=by_day[d], breaths=40, rate_bpm=rate, resting_rate_bpm=rest, ie_ratio=ie,
                                    pacer_target_bpm=6.0, pacer_agreement_pct=agree, rate_difference_bpm=rate - 6.0))
            for d, cadence, speed, sym, cv, flags in N1_GAIT:
                db.add(GaitResult(session_id=by_day[d], strides=12, cadence_steps_per_min=cadence, gait_speed_m_s=speed,
                                  step_time_symmetry=sym, stride_time_cv_pct=cv, quality={"flags": flags}))
            last = ids[f"N1_{len(N1_SESSIONS) - 1}"]
            db.add(CueEvent(session_id=last, t_s=21.0, kind="range", message_key="range.approaching_limit",
                            value=78.0, limit=80.0, priority=2))
            db.add(CueEvent(session_id=last, t_s=45.0, kind="breath", message_key="breath.slow_down",
                            value=None, limit=None, priority=1))
            rate_hz = 10.0
            db.execute(Sample.__table__.insert(), [
                {"session_id": last, "channel": "right_knee_flexion_deg", "t_s": i / rate_hz,
                 "value": 4.0 + 39.0 * (1 - math.cos(2 * math.pi * i / rate_hz / 8.0))} for i in range(600)]
                + [{"session_id": last, "channel": "breath", "t_s": i / rate_hz,
                    "value": math.sin(2 * math.pi * 0.1 * i / rate_hz)} for i in range(600)])
            for j, d in enumerate(S1_DAYS):
                s = Session(patient_id=pid["S1"], kind="practice", started_at=at(d), status="completed",
                            exercise="arm raise" if j == 0 else None)  # one without: a NaN in the frame
                db.add(s)
                db.flush()
                ids[f"S1_{j}"] = s.id
                db.add(SessionMetric(session_id=s.id, name="left_shoulder_flexion_deg", min_deg=0.0, max_deg=110.0 + j,
                                     rom_deg=110.0 + j, safe_min_deg=0.0, safe_max_deg=150.0, time_in_range_pct=100.0,
                                     range_exceeded=False))
                db.add(CheckIn(session_id=s.id, phase="before", pain=7, mood=2))
        return ids
    finally:
        store.dispose()
