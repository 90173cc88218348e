"""A demo clinic for the dashboard, made by running the project's real analysis.

Nothing here is a stored number: for each demo session a simulated body moves through a
gentle exercise at the joint angles that session's story calls for
(:func:`synthetic.simulate_landmark_series`), its joint angles are measured back
(:func:`feedback.angles.compute_joint_angles`), and the session's range of motion, time
within the safe range and repetitions come from the same running statistics and repetition
engine the live practice uses (:class:`feedback.session.AngleStats`,
:class:`feedback.engines.RepetitionEngine`). Breath sessions stream a simulated breathing
belt signal (a wave with breath-to-breath variability and noise, breathing out twice as long
as in, as the guide asks) through the live :class:`feedback.breath.BreathAnalyzer` beside the
guide (:class:`feedback.pacer.Pacer`), and :class:`feedback.pacer.PacerScorer` measures how
closely it follows, exactly as ``mindmove breathe`` does. About once a week each patient also walks past a
side-on camera: :func:`synthetic.simulate_walk` makes the walking body (pixels with
a little jitter, as a webcam would give, and a known distance scale), at the cadence, step
length, step-time asymmetry and stride-time variability of that week's story, and
:func:`feedback.gait.compute_gait` measures it, stored as a gait assessment as
``mindmove assess --test gait`` stores one; the walk's arguments are kept in the session's
``summary["simulated_walk"]`` so any stored figure can be measured again. In weeks 1, 4 and 6
each patient also does the Timed Up and Go, the 30-second chair stand and the five times
sit-to-stand: a simulated body (:mod:`synthetic.assessments`) moves at the pace of that
week's story and :mod:`feedback.assessments` measures it, as for a real recording.

The story (seeded random, so every run gives the same clinic): two care teams, five patients
over six weeks, with steady progress, a set-back with a pain flare, a patient whose practice
drops off in the last fortnight, and gaps (weekends, a holiday week). Each patient has a
home programme, and two practice days a week (:data:`HOME_WEEKDAYS`) were practised at home
in the patient's browser (``location = "home"``), as ``mindmove serve`` records them.

The demo has its own database, ``<data dir>/demo.db`` (:func:`demo_db_url`), never the
clinic's: its users have a published password. :func:`seed_demo` refuses a database holding
users or patients the demo did not make, and writes a completion entry (``demo_seeded`` in
the audit log) last, so an interrupted seed is cleared and made again on the next run.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from sqlalchemy import delete, func, select

from mindmove.auth import audit, create_patient, create_team, create_user
from core.errors import StoreError
from mindmove.settings import Settings, hide_password, load_settings
from mindmove.store.db import Store
from mindmove.store.models import (
    AuditEntry, Base, BreathResult, CareTeam, CareTeamMember, CheckIn, CueEvent, Patient,
    ProfileVersion, Repetition, Sample, Session, SessionMetric, User, utcnow,
)

log = logging.getLogger(__name__)

DEMO_DB_NAME = "demo.db"       # in the data directory, beside (never instead of) the clinic's store
DEMO_PASSWORD = "mindmove-demo"
DEMO_TEAMS = ("Riverside", "Hillview")
SEEDED_ACTION = "demo_seeded"  # the audit entry written when the whole clinic is in
DEMO_USERS = (  # username, role, teams
    ("therapist", "therapist", ("Riverside", "Hillview")),
    ("clinician", "clinician", ("Riverside",)),
    ("admin", "admin", ()),
)
WEEKS = 6
FRAME_RATE_HZ = 5.0            # simulated camera frames per second (the analysis is rate-free)
REPS_PER_SESSION = 5
REP_PERIOD_S = 8.0
BREATH_RATE_HZ = 25.0
BREATH_SECONDS = 90.0
BREATH_TIMING_CV = 0.08        # breath-to-breath timing variability, as a share of a breath
BREATH_CHUNK_S = 0.2           # the belt's samples reach the live analysis in chunks this long
PACER_TARGET_BPM = 6.0
PACER_IE_RATIO = 2.0           # inhale:exhale 1:2
DETAIL_SAMPLE_STEP = 1         # store every angle frame of each session's series
WALK_SECONDS = 12.0            # one pass past the camera: about 10 strides
WALK_RATE_HZ = 30.0            # a webcam's frame rate
WALK_IMAGE_SIZE = (1280, 720)
WALK_NOISE_M = 0.003           # landmark jitter, about a pixel at this scale
FUNCTION_WEEKS = (0, 3, 5)     # weeks with the standard functional tests
FUNCTION_TESTS = ("tug", "chair-stand-30s", "sit-to-stand-5x")
FUNCTION_RATE_HZ = 15.0        # simulated camera rate for the functional tests (timing is rate-free)
HOME_WEEKDAYS = (2, 4)         # days of the week (0 = the story's first day) practised at home, in the browser
DEMO_HOME_STATION = "home-device-demo"
DEMO_PROGRAMMES = {            # each patient's home programme (exercise=SETSxREPS), with 1 x 5 min of guided breathing
    "D001": ("seated_knee_extension:right=2x8",),
    "D002": ("elbow_flexion:right=2x10",),
    "D003": ("seated_knee_extension:left=2x8",),
    "D004": ("shoulder_abduction:left=2x8",),
    "D005": ("standing_hip_abduction:right=2x8",),
}


@dataclass(frozen=True)
class DemoPatient:
    code: str
    team: str
    motion: str
    safe_min_deg: float
    safe_max_deg: float
    start_peak_deg: float       # how far the patient reaches in week 1
    gain_deg_per_week: float
    sessions_per_week: int
    pain_start: float
    story: str                  # steady | setback | dropping_off | gaps | breath


PATIENTS = (
    DemoPatient("D001", "Riverside", "right_knee_flexion", 0.0, 95.0, 55.0, 6.0, 4, 6.0, "steady"),
    DemoPatient("D002", "Riverside", "right_elbow_flexion", 0.0, 130.0, 70.0, 7.0, 3, 5.0, "setback"),
    DemoPatient("D003", "Riverside", "left_knee_flexion", 0.0, 90.0, 60.0, 3.0, 4, 4.0, "dropping_off"),
    DemoPatient("D004", "Hillview", "left_shoulder_abduction", 0.0, 85.0, 45.0, 4.0, 3, 7.0, "gaps"),
    DemoPatient("D005", "Hillview", "right_hip_flexion", 0.0, 80.0, 40.0, 4.0, 3, 5.0, "breath"),
)


@dataclass(frozen=True)
class DemoWalker:
    """How a demo patient walks in week 0 and how that changes (see :func:`demo_walk`)."""

    cadence_steps_per_min: float
    cadence_gain_per_week: float
    step_length_m: float
    step_gain_m_per_week: float
    asymmetry: float             # step-time asymmetry in week 0; it halves every ASYMMETRY_HALVING_WEEKS
    heading: str = "+x"          # which way past the camera; "both" alternates week by week


ASYMMETRY_HALVING_WEEKS = 3.0
RESIDUAL_ASYMMETRY = 0.02
# (birth year, sex) in the profile, which chooses the published norms of the functional tests
DEMOGRAPHICS = {"D001": (1948, "female"), "D002": (1955, "male"), "D003": (1941, "female"),
                "D004": (1960, "male"), "D005": (1944, "female")}
# How much slower than a typical older adult each patient moves in the weeks of FUNCTION_WEEKS
# (1 = typical, see synthetic.assessments.PACES): the stories of mobility and pain.
FUNCTION_PACE = {"D001": (1.8, 1.4, 1.15), "D002": (1.3, 1.7, 1.35), "D003": (1.5, 1.4, 1.55),
                 "D004": (1.2, 1.15, 1.05), "D005": (2.0, 1.7, 1.5)}

WALKERS = {
    "D001": DemoWalker(92.0, 2.5, 0.48, 0.020, 0.14),        # after a right knee replacement
    "D002": DemoWalker(98.0, 1.5, 0.55, 0.010, 0.06),        # set-back with the flare-up
    "D003": DemoWalker(95.0, 1.0, 0.50, 0.010, 0.12, "-x"),  # left knee
    "D004": DemoWalker(100.0, 1.0, 0.58, 0.005, 0.04, "both"),
    "D005": DemoWalker(88.0, 2.0, 0.45, 0.015, 0.10),        # hip
}


def demo_walk(p: DemoPatient, day: int, rng: np.random.Generator, /):
    """The :class:`synthetic.WalkSpec` of ``p``'s walk on ``day``:
    cadence and step length grow, asymmetry and stride-time variability settle over the weeks,
    and the set-back story loses some of it during the flare-up."""
    w = WALKERS[p.code]
    week = day / 7.0
    cadence = w.cadence_steps_per_min + w.cadence_gain_per_week * week + rng.normal(0.0, 1.0)
    step_m = w.step_length_m + w.step_gain_m_per_week * week
    asymmetry = w.asymmetry * 0.5 ** (week / ASYMMETRY_HALVING_WEEKS) + RESIDUAL_ASYMMETRY
    cv_pct = 2.0 + 2.5 * math.exp(-week / 2.0)
    if p.story == "setback" and 3.0 <= week < 4.5:
        cadence, step_m, asymmetry, cv_pct = cadence - 10.0, step_m - 0.08, asymmetry + 0.12, cv_pct + 2.0
    heading = w.heading if w.heading != "both" else ("+x" if int(week) % 2 == 0 else "-x")
    from synthetic import WalkSpec

    return WalkSpec(duration_s=WALK_SECONDS, rate_hz=WALK_RATE_HZ, cadence_steps_per_min=round(cadence, 2),
                    step_length_m=round(step_m, 3), heading=heading, asymmetry=round(asymmetry, 3),
                    stride_time_cv_pct=round(cv_pct, 2), noise_m=WALK_NOISE_M, seed=int(rng.integers(1 << 30)),
                    image_size=WALK_IMAGE_SIZE)


def measure_demo_walk(walk, /):
    """The gait report of one demo walk (a :class:`synthetic.WalkSpec`, as :func:`demo_walk`
    gives it or ``WalkSpec.from_dict`` reads it back from the store)."""
    from feedback.gait import compute_gait
    from synthetic import simulate_walk

    series = simulate_walk(walk)
    return compute_gait(series, scale_m_per_px=1.0 / series.attrs["px_per_m"])


def demo_pace(factor: float, /):
    """The typical older adult's pace (:data:`synthetic.assessments.PACES`) ``factor`` times slower."""
    from synthetic.assessments import PACES, Pace

    p = PACES["typical"]
    return Pace(f"x{factor:.2f}", rise_s=p.rise_s * factor, sit_s=p.sit_s * factor,
                stand_pause_s=p.stand_pause_s * factor, seated_pause_s=p.seated_pause_s * factor,
                walk_speed_m_s=p.walk_speed_m_s / factor, turn_s=p.turn_s * factor,
                cadence_steps_per_min=p.cadence_steps_per_min / math.sqrt(factor))


def measure_demo_function(test: str, factor: float, /, *, seed: int, standing_camera: bool):
    """A simulated person doing ``test`` at ``factor`` times the typical pace, measured by the
    functional-test analysis; returns (result, the simulation's arguments)."""
    from feedback.assessments import compute_assessment
    from synthetic.assessments import (
        STANDING_HEIGHT_CAMERA, SEATED_HEIGHT_CAMERA, Camera, ChairStandSpec, TugSpec, simulate_chair_stands,
        simulate_tug,
    )

    pace = demo_pace(factor)
    height = (STANDING_HEIGHT_CAMERA if standing_camera else SEATED_HEIGHT_CAMERA).height_m
    args = {"test": test, "pace_factor": factor, "camera_height_m": height, "seed": seed}
    if test == "tug":
        series = simulate_tug(TugSpec(pace=pace, camera=Camera(height_m=height, distance_m=4.5, aim_x_m=1.5),
                                      rate_hz=FUNCTION_RATE_HZ, noise_px=1.0, seed=seed))
    else:
        cycle = pace.rise_s + pace.sit_s + pace.stand_pause_s + pace.seated_pause_s
        stands = 5 if test == "sit-to-stand-5x" else int(math.ceil(32.0 / cycle)) + 1
        series = simulate_chair_stands(ChairStandSpec(pace=pace, stands=stands, camera=Camera(height_m=height),
                                                      rate_hz=FUNCTION_RATE_HZ, noise_px=1.0, seed=seed))
    return compute_assessment(test, series), args


def _demo_provenance(test: str, started: datetime, duration_s: float):
    from mindmove.analyze import software_versions
    from mindmove.store.assessments import Provenance

    return Provenance(run_by="demo therapist", source_kind="simulated", source_name=f"simulated {test}",
                      pose_model="none (simulated landmarks)", started_at=started,
                      ended_at=started + timedelta(seconds=duration_s), software=software_versions(),
                      station="demo-station")


def _gait_result(walk, /):
    from feedback.assessments.walking import gait_assessment_from_report

    return gait_assessment_from_report(measure_demo_walk(walk).to_dict(), source="simulated walk")


def _add_function_tests(db, p: DemoPatient, patient_id: int, version_id: int, day: int, start: datetime,
                        number: int) -> int:
    """The week's functional tests of ``p``, measured on simulated bodies; returns how many."""
    from mindmove.store.assessments import add_assessment_rows

    factor = FUNCTION_PACE[p.code][FUNCTION_WEEKS.index(day // 7)]
    for k, test in enumerate(FUNCTION_TESTS):
        result, args = measure_demo_function(test, factor, seed=1000 * number + day * 10 + k,
                                             standing_camera=number % 2 == 1)
        duration = float(result.fields.get("time_s") or 30.0)
        add_assessment_rows(db, patient_id, result, _demo_provenance(test, start + timedelta(minutes=5 * k), duration),
                            profile_version_id=version_id, summary={"demo": True, "simulated_test": args})
    return len(FUNCTION_TESTS)


def _satisfaction(p: DemoPatient, day: int, rng: np.random.Generator) -> int:
    """The optional satisfaction after a session (1-5): mostly content, less so in a flare-up
    or while practice drops off."""
    week = day / 7.0
    base = 4.3 - (1.2 if p.story == "setback" and 3.0 <= week < 4.5 else 0.0) \
        - (1.0 if p.story == "dropping_off" and week >= WEEKS - 2.5 else 0.0)
    return int(np.clip(round(base + rng.normal(0.0, 0.5)), 1, 5))


def _practice_days(p: DemoPatient, rng: np.random.Generator) -> list[int]:
    """Days (0 = six weeks ago) with a session, per the patient's story."""
    days = []
    for week in range(WEEKS):
        if p.story == "gaps" and week == 3:
            continue  # a holiday week
        n = p.sessions_per_week
        if p.story == "dropping_off" and week >= WEEKS - 2:
            n = 1 if week == WEEKS - 2 else 0
        days += sorted(week * 7 + int(d) for d in rng.choice(5, size=min(n, 5), replace=False))
    return days


def _session_peak(p: DemoPatient, day: int, rng: np.random.Generator, *, last: bool) -> float:
    week = day / 7.0
    peak = p.start_peak_deg + p.gain_deg_per_week * week + rng.normal(0.0, 2.0)
    if p.story == "setback" and 3.0 <= week < 4.5:
        peak -= 20.0  # a flare-up: less reach for a while
    if p.story == "steady" and last:
        peak = p.safe_max_deg + 6.0  # an enthusiastic last session beyond the safe range
    return float(peak)


def _pain(p: DemoPatient, day: int, rng: np.random.Generator) -> int:
    week = day / 7.0
    pain = p.pain_start - 0.4 * week + rng.normal(0.0, 0.6)
    if p.story == "setback" and 3.0 <= week < 4.5:
        pain += 3.0
    if p.story == "dropping_off" and week >= WEEKS - 2.5:
        pain += 2.5
    return int(np.clip(round(pain), 0, 10))


def simulate_exercise(p: DemoPatient, peak_deg: float, /):
    """Angles measured from a simulated body doing REPS_PER_SESSION slow repetitions."""
    from feedback.angles import compute_joint_angles
    from synthetic import simulate_landmark_series

    t_s = np.arange(0.0, REPS_PER_SESSION * REP_PERIOD_S, 1.0 / FRAME_RATE_HZ)
    rest_deg = 5.0

    def angles(t: float) -> dict[str, float]:
        phase = (1.0 - math.cos(2.0 * math.pi * t / REP_PERIOD_S)) / 2.0
        return {p.motion: rest_deg + (peak_deg - rest_deg) * phase}

    return compute_joint_angles(simulate_landmark_series(t_s, angles))


def _measure(p: DemoPatient, measured, /) -> tuple[dict, list, list[dict]]:
    """Metrics row, repetition events and cues, from the live practice's own engines."""
    from feedback.engines import RepetitionEngine
    from core.ranges import SafeRange
    from feedback.session import AngleStats

    column = f"{p.motion}_deg"
    values = measured.column(column)
    safe = SafeRange(p.safe_min_deg, p.safe_max_deg, 10.0)
    stats = AngleStats()
    reps = RepetitionEngine(channel=column, min_deg=p.safe_min_deg, max_deg=0.8 * p.safe_max_deg)
    cues: list[dict] = []
    for t, v in zip(measured.t_s, values):
        stats.update(float(t), float(v), safe=safe)
        reps.update(float(t), {column: float(v)})
        if v > p.safe_max_deg and (not cues or t - cues[-1]["t_s"] > REP_PERIOD_S / 2):
            cues.append({"t_s": float(t), "kind": "range", "message_key": "range.approaching_limit",
                         "value": float(v), "limit": p.safe_max_deg, "priority": 2})
    metric = {"name": column, "min_deg": stats.min_deg, "max_deg": stats.max_deg,
              "rom_deg": stats.max_deg - stats.min_deg, "safe_min_deg": p.safe_min_deg,
              "safe_max_deg": p.safe_max_deg, "time_in_range_pct": stats.time_in_range_pct(),
              "range_exceeded": stats.exceeded}
    return metric, list(reps.repetitions), cues


def simulate_breath_signal(rate_bpm: float, /, *, seconds: float = BREATH_SECONDS, rate_hz: float = BREATH_RATE_HZ,
                           ie_ratio: float = 1.0, paced: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A belt-like breathing signal whose timing varies 8 % of a breath, breath to breath, plus noise.

    Each breath starts at the bottom of an inhale (t = 0 is an inhale onset): a half cosine up
    for the inhale, a half cosine down for the exhale, ``ie_ratio`` times as long. Breathing
    freely (``paced=False``) each breath's length varies, so the timing wanders; breathing
    with a guide (``paced=True``) each inhale onset is off its beat by its own small error,
    which does not add up.
    """
    rng = np.random.default_rng(seed)
    t_s = np.arange(0.0, seconds, 1.0 / rate_hz)
    n = int(seconds * rate_bpm / 60) + 4
    period_s = 60.0 / rate_bpm
    if paced:
        beats = period_s * np.arange(1, n + 1) + BREATH_TIMING_CV * period_s * rng.standard_normal(n)
        edges = np.concatenate([[0.0], np.maximum.accumulate(beats)])
        periods = np.maximum(np.diff(edges), 0.5 * period_s)
        edges = np.concatenate([[0.0], np.cumsum(periods)])
    else:
        periods = period_s * (1.0 + BREATH_TIMING_CV * rng.standard_normal(n))
        edges = np.concatenate([[0.0], np.cumsum(periods)])
    k = np.clip(np.searchsorted(edges, t_s, side="right") - 1, 0, len(periods) - 1)
    phase = (t_s - edges[k]) / periods[k]
    inhale = 1.0 / (1.0 + ie_ratio)
    angle = np.where(phase < inhale, np.pi * phase / inhale, np.pi * (1.0 + (phase - inhale) / (1.0 - inhale)))
    return t_s, -np.cos(angle) + 0.05 * rng.standard_normal(t_s.size)


def measure_paced_breath(t_s: np.ndarray, values: np.ndarray, /, *, target_bpm: float = PACER_TARGET_BPM,
                         ie_ratio: float = PACER_IE_RATIO, rate_hz: float = BREATH_RATE_HZ,
                         chunk_s: float = BREATH_CHUNK_S, polarity: str = "normal") -> dict:
    """A guided breathing practice measured as ``mindmove breathe`` measures it: the signal
    streamed in chunks through :class:`~feedback.breath.BreathAnalyzer`, its phase scored
    against the guide's by :class:`~feedback.pacer.PacerScorer`. Returns the breath result's
    rate (breaths/min), rate difference (measured minus guided, signed), pacer agreement (%),
    breaths and exhale:inhale ratio. The simulated belt rises on the inhale, so its
    ``polarity`` is known (``mindmove breathe --polarity normal``)."""
    from feedback.breath import BreathAnalyzer, compute_breath_rate_bpm, compute_breath_summary
    from feedback.pacer import Pacer, PacerPlan, PacerScorer

    analyzer = BreathAnalyzer(rate_hz=rate_hz, polarity=polarity)
    pacer = Pacer(PacerPlan(rate_bpm=target_bpm, ie_ratio=ie_ratio))
    scorer = PacerScorer()
    step = max(1, int(round(chunk_s * rate_hz)))
    for i in range(0, len(t_s), step):
        t, v = t_s[i:i + step], values[i:i + step]
        analyzer.update(t, v)
        t_now = float(t[-1])
        if analyzer.phase != "unknown":
            state = pacer.state(t_now)
            scorer.update(t_now, state.phase, analyzer.phase, breath_rate_bpm=analyzer.rate_bpm(),
                          pacer_rate_bpm=state.rate_bpm, ie_ratio=analyzer.ie_ratio(), target_ie_ratio=ie_ratio)
    analyzer.finish()
    summary = compute_breath_summary(analyzer.breaths, analyzer.events, polarity=analyzer.polarity)
    rate = compute_breath_rate_bpm(analyzer.breaths)
    return {"breaths": summary["breaths"], "rate_bpm": rate, "ie_ratio": summary["ie_ratio_median"],
            "pacer_target_bpm": target_bpm, "pacer_agreement_pct": scorer.agreement_pct,
            "rate_difference_bpm": None if rate is None else rate - target_bpm}


def _breath_row(session_id: int, rate_bpm: float, resting_bpm: float, seed: int) -> dict:
    from feedback.breath import analyze_breath, compute_breath_rate_bpm

    t_s, values = simulate_breath_signal(rate_bpm, ie_ratio=PACER_IE_RATIO, paced=True, seed=seed)
    practice = measure_paced_breath(t_s, values)
    t_r, v_r = simulate_breath_signal(resting_bpm, seconds=60.0, seed=seed + 1)
    resting = compute_breath_rate_bpm(analyze_breath(t_r, v_r, rate_hz=BREATH_RATE_HZ, polarity="normal").breaths)
    return {"session_id": session_id, "resting_rate_bpm": resting, **practice,
            "detail": {"simulated_rate_bpm": rate_bpm, "resting_simulated_bpm": resting_bpm}}


def demo_db_url(settings: Settings | None = None, /) -> str:
    """The demo's own SQLite database: ``<data dir>/demo.db`` (never ``MINDMOVE_DB_URL``)."""
    settings = settings or load_settings()
    return f"sqlite:///{settings.data_dir / DEMO_DB_NAME}"


def _demo_state(store: Store) -> str:
    """``"seeded"``, ``"empty"`` or ``"partial"`` (an interrupted seed); a database with users
    or patients of its own is refused."""
    usernames = [u for u, _, _ in DEMO_USERS]
    codes = [p.code for p in PATIENTS]
    with store.session() as db:
        if db.scalar(select(AuditEntry.id).where(AuditEntry.action == SEEDED_ACTION).limit(1)) is not None:
            return "seeded"
        other_users = db.scalar(select(func.count(User.id)).where(User.username.not_in(usernames))) or 0
        other_patients = db.scalar(select(func.count(Patient.id)).where(Patient.code.not_in(codes))) or 0
        demo_rows = (db.scalar(select(func.count(User.id))) or 0) + (db.scalar(select(func.count(Patient.id))) or 0) \
            + (db.scalar(select(func.count(CareTeam.id))) or 0)
    if other_users or other_patients:
        raise StoreError(f"Expected an empty database or one made by the demo, but {hide_password(str(store.engine.url))} "
                         f"holds {other_users} user(s) and {other_patients} patient(s) of its own. The demo never "
                         "writes into a clinic's data: leave out --db-url (it uses its own demo.db), or give a new database.")
    return "partial" if demo_rows else "empty"


def _clear_partial_demo(store: Store) -> None:
    """Remove what an interrupted seed left (only the demo's own users, teams and patients)."""
    codes = [p.code for p in PATIENTS]
    with store.session() as db:
        patients = select(Patient.id).where(Patient.code.in_(codes))
        sessions = select(Session.id).where(Session.patient_id.in_(patients))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "sessions" and "session_id" in table.c:
                db.execute(delete(table).where(table.c.session_id.in_(sessions)))
        db.execute(delete(Session).where(Session.patient_id.in_(patients)))
        db.execute(delete(ProfileVersion).where(ProfileVersion.patient_id.in_(patients)))
        db.execute(delete(Patient).where(Patient.code.in_(codes)))
        users = select(User.id).where(User.username.in_([u for u, _, _ in DEMO_USERS]))
        db.execute(delete(CareTeamMember).where(CareTeamMember.user_id.in_(users)))
        db.execute(delete(User).where(User.username.in_([u for u, _, _ in DEMO_USERS])))
        db.execute(delete(CareTeam).where(CareTeam.name.in_(DEMO_TEAMS)))
    log.warning("cleared an interrupted demo seed; seeding again")


def _seed_programme(store: Store, code: str, /) -> None:
    """The patient's home programme, as a therapist sets it with `mindmove programme set`."""
    from mindmove.programme import HomeProgrammePlan, parse_prescription, save_programme

    plan = HomeProgrammePlan(items=tuple(parse_prescription(i) for i in DEMO_PROGRAMMES[code]), days_per_week=5,
                             breathing_sessions_per_day=1, breathing_minutes=5.0)
    save_programme(store, code, plan, by="demo")


def seed_demo(store: Store, /, *, now: datetime | None = None, seed: int = 7) -> dict:
    """Fill ``store`` with the demo clinic; returns counts (``{"already_seeded": True}`` when
    it is complete already). Refuses a database with users or patients the demo did not make;
    clears and redoes an interrupted seed."""
    now = (now or utcnow()).astimezone(timezone.utc)
    state = _demo_state(store)
    if state == "seeded":
        log.info("demo clinic already present")
        return {"already_seeded": True}
    if state == "partial":
        _clear_partial_demo(store)
    rng = np.random.default_rng(seed)
    for team in DEMO_TEAMS:
        create_team(store, team, by="demo")
    for name, role, teams in DEMO_USERS:
        create_user(store, name, DEMO_PASSWORD, role=role, teams=teams, by="demo", display_name=f"Demo {role}")
    start = (now - timedelta(days=WEEKS * 7)).replace(hour=9, minute=0, second=0, microsecond=0)
    counts = {"patients": 0, "sessions": 0, "samples": 0, "walks": 0, "assessments": 0, "home_sessions": 0}
    for number, p in enumerate(PATIENTS):
        _seed_patient(store, p, start=start, now=now, rng=rng, seed=seed,
                      walk_rng=np.random.default_rng([seed, number]),  # its own streams: the rest stays as it was
                      satisfaction_rng=np.random.default_rng([seed, number, 1]), number=number, counts=counts)
    audit(store, "demo", SEEDED_ACTION, detail=", ".join(f"{k}={v}" for k, v in counts.items()))
    log.info("demo clinic seeded: %s", counts)
    return counts


def _seed_patient(store: Store, p: DemoPatient, /, *, start: datetime, now: datetime, rng, seed: int, walk_rng,
                  satisfaction_rng, number: int, counts: dict) -> None:
    """One demo patient: the profile (with birth year and sex, for the norms), then each practice
    day's session, with a paced-breath session on some days, a walk on the first practice day of
    each week, and the functional tests in :data:`FUNCTION_WEEKS`."""
    from calibration.profile import BreathTarget, Profile
    from core.ranges import SafeRange
    from mindmove.store.profiles import save_profile

    walked_weeks: set[int] = set()
    create_patient(store, p.code, team=p.team, by="demo")
    birth_year, sex = DEMOGRAPHICS[p.code]
    profile = Profile(ranges={p.motion: SafeRange(p.safe_min_deg, p.safe_max_deg)},
                      breath=BreathTarget(resting_rate_bpm=14.0, target_rate_bpm=PACER_TARGET_BPM,
                                          ie_ratio=PACER_IE_RATIO),
                      birth_year=birth_year, sex=sex)
    version_id = save_profile(store, p.code, profile, by="demo therapist",
                              reason="first calibration (demo)").version_id
    _seed_programme(store, p.code)
    counts["patients"] += 1
    with store.session() as db:
        patient_id = db.query(Patient.id).filter(Patient.code == p.code).scalar()
        days = _practice_days(p, rng)
        for day in days:
            started = start + timedelta(days=day, minutes=int(rng.integers(0, 480)))
            if started > now:
                continue
            peak = _session_peak(p, day, rng, last=day == days[-1])
            at_home = day % 7 in HOME_WEEKDAYS
            s, n_samples = _add_practice(db, p, patient_id=patient_id, version_id=version_id, started=started,
                                         day=day, peak=peak, rng=rng, at_home=at_home,
                                         satisfaction=_satisfaction(p, day, satisfaction_rng))
            counts["sessions"] += 1
            counts["home_sessions"] += at_home
            counts["samples"] += n_samples
            if p.story == "breath" or day % 7 == 0:
                _add_breathe(db, patient_id=patient_id, version_id=version_id, start=s.ended_at + timedelta(minutes=5),
                             day=day, rng=rng, seed=seed)
                counts["sessions"] += 1
            if day // 7 not in walked_weeks:  # a walk on the first practice day of the week
                walked_weeks.add(day // 7)
                _add_walk(db, patient_id=patient_id, version_id=version_id, start=s.ended_at + timedelta(minutes=15),
                          walk=demo_walk(p, day, walk_rng))
                counts["sessions"] += 1
                counts["walks"] += 1
                if day // 7 in FUNCTION_WEEKS:
                    counts["assessments"] += _add_function_tests(db, p, patient_id, version_id, day,
                                                                 s.ended_at + timedelta(minutes=30), number)
                    counts["sessions"] += len(FUNCTION_TESTS)


def _add_practice(db, p: DemoPatient, /, *, patient_id: int, version_id: int, started: datetime, day: int,
                  peak: float, rng, at_home: bool = False, satisfaction: int | None = None) -> tuple[Session, int]:
    """A practice session measured from a simulated body reaching ``peak``, with its
    repetitions, cues, angle samples and check-ins; returns it and its number of samples."""
    measured = simulate_exercise(p, peak)
    metric, reps, cues = _measure(p, measured)
    active_s = float(measured.t_s[-1] - measured.t_s[0])
    s = Session(patient_id=patient_id, kind="practice", exercise=p.motion, started_at=started,
                ended_at=started + timedelta(seconds=active_s + 120), last_write_at=started,
                status="completed", station=DEMO_HOME_STATION if at_home else "demo-station",
                location="home" if at_home else "clinic", active_s=active_s, profile_version_id=version_id,
                summary={"repetitions": len(reps), "demo": True})
    db.add(s)
    db.flush()
    db.add(SessionMetric(session_id=s.id, **metric))
    db.add_all(Repetition(session_id=s.id, index=r.index, angle_name=r.angle_name, t_start_s=r.t_start_s,
                          t_end_s=r.t_end_s, peak_deg=r.peak_deg, hold_s=r.hold_s) for r in reps)
    db.add_all(CueEvent(session_id=s.id, **c) for c in cues)
    column = measured.column(p.motion)
    rows = [{"session_id": s.id, "channel": f"{p.motion}_deg", "t_s": float(t),
             "value": None if not np.isfinite(v) else float(v)}
            for t, v in zip(measured.t_s[::DETAIL_SAMPLE_STEP], column[::DETAIL_SAMPLE_STEP])]
    db.execute(Sample.__table__.insert(), rows)
    pain = _pain(p, day, rng)
    db.add(CheckIn(session_id=s.id, phase="before", pain=pain, mood=int(np.clip(3 + rng.integers(-1, 2), 1, 5)),
                   recorded_at=started))
    db.add(CheckIn(session_id=s.id, phase="after", pain=max(0, pain - int(rng.integers(0, 3))),
                   mood=int(np.clip(4 + rng.integers(-1, 2), 1, 5)), recorded_at=s.ended_at,
                   satisfaction=satisfaction))
    return s, len(rows)


def _add_breathe(db, /, *, patient_id: int, version_id: int, start: datetime, day: int, rng, seed: int) -> None:
    """A paced-breath session whose rate settles towards the 6 breaths/min target over the weeks."""
    end = start + timedelta(seconds=BREATH_SECONDS)
    b = Session(patient_id=patient_id, kind="breathe", started_at=start, ended_at=end, last_write_at=end,
                status="completed", station="demo-station", active_s=BREATH_SECONDS, profile_version_id=version_id,
                summary={"demo": True})
    db.add(b)
    db.flush()
    rate = PACER_TARGET_BPM + 3.0 * math.exp(-day / 14.0) + abs(rng.normal(0.0, 0.3))
    db.add(BreathResult(**_breath_row(b.id, rate, 14.0 + rng.normal(0.0, 1.0), seed=seed * 1000 + day)))


def _add_walk(db, /, *, patient_id: int, version_id: int, start: datetime, walk) -> None:
    """A walk past the camera, measured by the gait analysis and stored as a gait assessment (as
    ``mindmove assess --test gait`` stores one); its WalkSpec is kept in the summary."""
    from mindmove.store.assessments import add_assessment_rows

    add_assessment_rows(db, patient_id, _gait_result(walk), _demo_provenance("gait", start, WALK_SECONDS),
                        profile_version_id=version_id, summary={"demo": True, "simulated_walk": walk.to_dict()})
