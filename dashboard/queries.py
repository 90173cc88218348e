"""Every figure the dashboard shows, aggregated in the database.

Each function takes the open :class:`~mindmove.store.db.Store` and the
:class:`~mindmove.auth.SignedInUser`, checks care-team access (admin sees everyone), writes
one audit entry (``view_*``, refused attempts with ``success=False``) and returns a
``pandas.DataFrame`` (or a small dataclass of them) whose columns carry their units. Pages
draw these as they are: no metric is computed in a page.

Times are UTC (``started_at`` is a timezone-aware pandas timestamp); "days" are UTC days.
Counts of sessions and days (remote therapeutic monitoring's days with data, attendance,
active patients) take only sessions that recorded something (:func:`session_has_data`; the
recorder notes ``sessions.recorded_nothing`` when a session closes without a sample, a
per-angle metric, a gait or a breath result): a session started and ended with nothing
measured (refused at the start, killed at once) is a record, listed, but not practice.
All SQL is built with SQLAlchemy Core, so every value from a user is a bound parameter; every
selected column is labelled with the name it has in the frame, and rows are read by name.
Nothing here writes, except the audit entry of each view: a calibration change is
:func:`mindmove.store.profiles.save_range_change`.

Column reference (see each function for the full list):

- ``list_patients``: patient_code, display_name, care_team, last_session_at,
  sessions_in_period, days_with_data_in_period, range_exceeded_last_session,
  practice_dropping_off, pain_trending_up, ...
- ``compute_mobility``: one row per session x motion: rom_deg, min_deg, max_deg,
  safe_min_deg, safe_max_deg (the safe band of the profile version used),
  time_in_range_pct, range_exceeded, profile_version.
- ``compute_repetitions``, ``compute_gait_trends``, ``compute_breath_trends``,
  ``compute_checkins``, ``list_sessions``, ``load_session_detail``,
  ``compute_programme_evaluation`` (admin), ``load_audit_log`` (admin).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import Float, and_, case, cast, distinct, func, select, true

from mindmove.auth import (
    SignedInUser, audit, clean_input, require_active, require_patient, require_role, require_session,
    visible_patients,
)
from mindmove.store.db import Store
from mindmove.store.models import (
    AuditEntry, BreathResult, CareTeam, CheckIn, CueEvent, GaitResult, Patient, ProfileVersion,
    Repetition, Sample, Session, SessionMetric, utcnow,
)
from mindmove.store.profiles import load_profile, profile_history
from mindmove.store.sql import floor_int, utc_day, utc_week

log = logging.getLogger(__name__)

PERIOD_DAYS = 30                 # remote therapeutic monitoring counts days with data per 30 days
FLAG_WINDOW_DAYS = 14            # flags compare the last 14 days with the 14 before
DROP_OFF_RATIO = 0.5             # "practice dropping off": recent sessions < half of the earlier ones
MIN_EARLIER_SESSIONS = 3         # ... and there were at least this many earlier
PAIN_RISE_POINTS = 1.0           # "pain trending up": mean pain before sessions rose by >= 1 point (0-10)
CHANGE_WINDOW_SESSIONS = 3       # programme change: mean of the last 3 minus mean of the first 3
ACTIVE_DAYS = 30                 # an active patient practised within the last 30 days
MAX_SERIES_POINTS = 2000         # session detail: longer channels are averaged in the database
AUDIT_ROWS = 500


# --- helpers -----------------------------------------------------------------------------

def _now(now: datetime | None) -> datetime:
    now = now or utcnow()
    return now.astimezone(timezone.utc) if now.tzinfo else now.replace(tzinfo=timezone.utc)


def _frame(rows, columns: list[str], *, times: tuple[str, ...] = ("started_at",),
           motions: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows, read by their labels (result rows or dicts), as a frame with exactly
    ``columns`` in that order; ``times`` become UTC timestamps, ``motions`` lose ``_deg``.

    A column the query did not label is a KeyError here, never a shifted column.
    """
    records = [r if isinstance(r, dict) else dict(r._mapping) for r in rows]
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=columns)
    df = df[columns]
    for col in times:
        if col in df:
            df[col] = pd.to_datetime(df[col], utc=True)
    for col in motions:
        df[col] = df[col].map(_motion)
    return df


def _motion(name: str) -> str:
    return name.removesuffix("_deg")


def session_has_data():
    """A WHERE clause on ``sessions``: the session is not one that closed having recorded
    nothing (running sessions, and rows made outside the recorder, count)."""
    return Session.recorded_nothing.is_not(True)


def _since_clause(since: datetime | None):
    return Session.started_at >= _now(since) if since is not None else true()


# --- patient list ------------------------------------------------------------------------

PATIENT_LIST_COLUMNS = [
    "patient_code", "display_name", "care_team", "last_session_at", "sessions_in_period",
    "days_with_data_in_period", "sessions_recent", "sessions_earlier", "pain_before_recent",
    "pain_before_earlier", "range_exceeded_last_session", "practice_dropping_off", "pain_trending_up",
]


def list_patients(store: Store, user: SignedInUser, /, *, now: datetime | None = None,
                  period_days: int = PERIOD_DAYS, search: str = "", audit_view: bool = True) -> pd.DataFrame:
    """The patients ``user`` may see, one row each (columns: :data:`PATIENT_LIST_COLUMNS`).

    - ``sessions_in_period`` / ``days_with_data_in_period``: sessions and distinct UTC days with
      a session in the ``period_days`` up to ``now``.
    - ``sessions_recent`` / ``sessions_earlier``: sessions in the last :data:`FLAG_WINDOW_DAYS`
      days and in the window before; ``pain_before_*`` the mean pain (0-10) reported before
      sessions in the same windows.
    - flags: ``range_exceeded_last_session`` (any motion beyond the safe range in the newest
      session), ``practice_dropping_off`` (recent < :data:`DROP_OFF_RATIO` x earlier, earlier >=
      :data:`MIN_EARLIER_SESSIONS`), ``pain_trending_up`` (recent - earlier >= :data:`PAIN_RISE_POINTS`).

    ``search`` keeps codes or names containing it (a bound LIKE parameter, wildcards escaped).
    A user deactivated or given another role since signing in is refused (audited). The view
    is audited (``view_patient_list``) unless ``audit_view=False``: for the patient chooser,
    whose page audits what it then shows.
    """
    require_active(store, user, action="view_patient_list")
    stmt = _patient_list_statement(user, now=_now(now), period_days=period_days)
    search = clean_input(search)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(Patient.code.like(pattern, escape="\\") | Patient.display_name.like(pattern, escape="\\"))
    with store.session() as db:
        rows = db.execute(stmt).all()
    df = _frame(rows, PATIENT_LIST_COLUMNS[:11], times=("last_session_at",))
    df["range_exceeded_last_session"] = df["range_exceeded_last_session"].astype(bool)
    df["practice_dropping_off"] = ((df["sessions_earlier"] >= MIN_EARLIER_SESSIONS)
                                   & (df["sessions_recent"] < DROP_OFF_RATIO * df["sessions_earlier"]))
    rise = df["pain_before_recent"].astype(float) - df["pain_before_earlier"].astype(float)
    df["pain_trending_up"] = (rise >= PAIN_RISE_POINTS).fillna(False).astype(bool)
    if audit_view:
        audit(store, user.username, "view_patient_list", client=user.client,
              detail=f"patients={len(df)}" + (" search" if search else ""))
    return df[PATIENT_LIST_COLUMNS]


def _patient_list_statement(user: SignedInUser, /, *, now: datetime, period_days: int):
    """The patient list's SELECT: one row per visible patient, the counts and pain means of
    the windows before ``now``, labelled with PATIENT_LIST_COLUMNS' names."""
    period_start = now - timedelta(days=period_days)
    recent_start = now - timedelta(days=FLAG_WINDOW_DAYS)
    earlier_start = now - timedelta(days=2 * FLAG_WINDOW_DAYS)
    window_start = min(period_start, earlier_start)

    visible = select(Patient.id).where(visible_patients(user))

    with_data = session_has_data()
    last = (select(Session.patient_id, func.max(Session.started_at).label("last_at"))
            .where(Session.patient_id.in_(visible), with_data)
            .group_by(Session.patient_id).subquery("last"))
    in_window = Session.started_at >= window_start
    counts = (select(
        Session.patient_id,
        func.count(case((Session.started_at >= period_start, Session.id))).label("n_period"),
        func.count(distinct(case((Session.started_at >= period_start, utc_day(Session.started_at))))).label("days"),
        func.count(case((Session.started_at >= recent_start, Session.id))).label("n_recent"),
        func.count(case((and_(Session.started_at >= earlier_start, Session.started_at < recent_start),
                         Session.id))).label("n_earlier"),
    ).where(Session.patient_id.in_(visible), in_window, with_data).group_by(Session.patient_id).subquery("counts"))
    pain = (select(
        Session.patient_id,
        func.avg(case((Session.started_at >= recent_start, cast(CheckIn.pain, Float)))).label("pain_recent"),
        func.avg(case((Session.started_at < recent_start, cast(CheckIn.pain, Float)))).label("pain_earlier"),
    ).join(CheckIn, CheckIn.session_id == Session.id)
        .where(Session.patient_id.in_(visible), CheckIn.phase == "before", Session.started_at >= earlier_start)
        .group_by(Session.patient_id).subquery("pain"))
    exceeded = (select(Session.patient_id, func.max(case((SessionMetric.range_exceeded, 1), else_=0)).label("exceeded"))
                .join(last, and_(last.c.patient_id == Session.patient_id, last.c.last_at == Session.started_at))
                .join(SessionMetric, SessionMetric.session_id == Session.id)
                .group_by(Session.patient_id).subquery("exceeded"))

    stmt = (select(Patient.code.label("patient_code"), Patient.display_name.label("display_name"),
                   CareTeam.name.label("care_team"), last.c.last_at.label("last_session_at"),
                   func.coalesce(counts.c.n_period, 0).label("sessions_in_period"),
                   func.coalesce(counts.c.days, 0).label("days_with_data_in_period"),
                   func.coalesce(counts.c.n_recent, 0).label("sessions_recent"),
                   func.coalesce(counts.c.n_earlier, 0).label("sessions_earlier"),
                   pain.c.pain_recent.label("pain_before_recent"), pain.c.pain_earlier.label("pain_before_earlier"),
                   func.coalesce(exceeded.c.exceeded, 0).label("range_exceeded_last_session"))
            .outerjoin(CareTeam, CareTeam.id == Patient.care_team_id)
            .outerjoin(last, last.c.patient_id == Patient.id)
            .outerjoin(counts, counts.c.patient_id == Patient.id)
            .outerjoin(pain, pain.c.patient_id == Patient.id)
            .outerjoin(exceeded, exceeded.c.patient_id == Patient.id)
            .where(visible_patients(user))
            .order_by(Patient.code))
    return stmt


# --- mobility ----------------------------------------------------------------------------

MOBILITY_COLUMNS = ["session_id", "started_at", "motion", "rom_deg", "min_deg", "max_deg",
                    "safe_min_deg", "safe_max_deg", "time_in_range_pct", "range_exceeded", "profile_version"]


def _profile_band(data: dict, motion: str) -> tuple[float | None, float | None]:
    rng = (data or {}).get("ranges", {}).get(motion) or {}
    return rng.get("min_deg"), rng.get("max_deg")


def compute_mobility(store: Store, user: SignedInUser, patient_code: str, /, *, motion: str | None = None,
                     since: datetime | None = None) -> pd.DataFrame:
    """Range of motion per session and motion, oldest first (columns: :data:`MOBILITY_COLUMNS`).

    The safe band is what the session recorded from the profile version it used; where a
    session did not record it, the band comes from that profile version's ``ranges``.
    ``motion`` (e.g. ``right_knee_flexion``) keeps one motion.
    """
    patient_id = require_patient(store, user, patient_code, action="view_mobility")
    stmt = (select(Session.id.label("session_id"), Session.started_at, SessionMetric.name.label("motion"),
                   SessionMetric.rom_deg, SessionMetric.min_deg, SessionMetric.max_deg, SessionMetric.safe_min_deg,
                   SessionMetric.safe_max_deg, SessionMetric.time_in_range_pct, SessionMetric.range_exceeded,
                   ProfileVersion.version.label("profile_version"), ProfileVersion.id.label("profile_version_id"))
            .join(SessionMetric, SessionMetric.session_id == Session.id)
            .outerjoin(ProfileVersion, ProfileVersion.id == Session.profile_version_id)
            .where(Session.patient_id == patient_id, _since_clause(since))
            .order_by(Session.started_at, SessionMetric.name))
    if motion:
        stmt = stmt.where(SessionMetric.name.in_([motion, f"{motion}_deg"]))
    with store.session() as db:
        rows = [dict(r._mapping) for r in db.execute(stmt)]
        version_ids = {r["profile_version_id"] for r in rows if r["profile_version_id"] is not None
                       and (r["safe_min_deg"] is None or r["safe_max_deg"] is None)}
        profiles = {}
        if version_ids:
            profiles = {v.id: v.data for v in db.execute(select(ProfileVersion.id, ProfileVersion.data)
                                                          .where(ProfileVersion.id.in_(version_ids)))}
    for r in rows:
        r["motion"] = _motion(r["motion"])
        r["range_exceeded"] = bool(r["range_exceeded"])
        if (r["safe_min_deg"] is None or r["safe_max_deg"] is None) and r["profile_version_id"] in profiles:
            low, high = _profile_band(profiles[r["profile_version_id"]], r["motion"])
            r["safe_min_deg"] = low if r["safe_min_deg"] is None else r["safe_min_deg"]
            r["safe_max_deg"] = high if r["safe_max_deg"] is None else r["safe_max_deg"]
    return _frame(rows, MOBILITY_COLUMNS)


def list_motions(store: Store, user: SignedInUser, patient_code: str, /) -> list[str]:
    """The motions with recorded range of motion for this patient, sorted."""
    patient_id = require_patient(store, user, patient_code, action="view_motions")
    with store.session() as db:
        names = db.scalars(select(SessionMetric.name).distinct().join(Session, Session.id == SessionMetric.session_id)
                           .where(Session.patient_id == patient_id))
        return sorted({_motion(n) for n in names})


REPETITION_COLUMNS = ["session_id", "started_at", "motion", "repetitions", "mean_peak_deg",
                      "max_peak_deg", "mean_hold_s"]


def compute_repetitions(store: Store, user: SignedInUser, patient_code: str, /, *,
                        since: datetime | None = None) -> pd.DataFrame:
    """Repetitions per session and motion (columns: :data:`REPETITION_COLUMNS`)."""
    patient_id = require_patient(store, user, patient_code, action="view_repetitions")
    stmt = (select(Session.id.label("session_id"), Session.started_at, Repetition.angle_name.label("motion"),
                   func.count(Repetition.id).label("repetitions"),
                   func.avg(Repetition.peak_deg).label("mean_peak_deg"),
                   func.max(Repetition.peak_deg).label("max_peak_deg"),
                   func.avg(Repetition.hold_s).label("mean_hold_s"))
            .join(Repetition, Repetition.session_id == Session.id)
            .where(Session.patient_id == patient_id, _since_clause(since))
            .group_by(Session.id, Session.started_at, Repetition.angle_name)
            .order_by(Session.started_at, Repetition.angle_name))
    with store.session() as db:
        rows = db.execute(stmt).all()
    return _frame(rows, REPETITION_COLUMNS, motions=("motion",))


# --- gait, breath, check-ins --------------------------------------------------------------

GAIT_COLUMNS = ["session_id", "started_at", "direction", "strides", "cadence_steps_per_min", "gait_speed_m_s",
                "step_time_symmetry", "stride_time_cv_pct", "quality"]


def compute_gait_trends(store: Store, user: SignedInUser, patient_code: str, /, *,
                        since: datetime | None = None) -> pd.DataFrame:
    """One row per gait result, oldest first (columns: :data:`GAIT_COLUMNS`; ``quality`` is
    the analysis's own dict of flags)."""
    patient_id = require_patient(store, user, patient_code, action="view_gait")
    stmt = (select(Session.id.label("session_id"), Session.started_at, GaitResult.direction, GaitResult.strides,
                   GaitResult.cadence_steps_per_min, GaitResult.gait_speed_m_s, GaitResult.step_time_symmetry,
                   GaitResult.stride_time_cv_pct, GaitResult.quality)
            .join(GaitResult, GaitResult.session_id == Session.id)
            .where(Session.patient_id == patient_id, _since_clause(since))
            .order_by(Session.started_at, GaitResult.id))
    with store.session() as db:
        rows = db.execute(stmt).all()
    return _frame(rows, GAIT_COLUMNS)


BREATH_COLUMNS = ["session_id", "started_at", "kind", "breaths", "rate_bpm", "resting_rate_bpm",
                  "pacer_target_bpm", "pacer_agreement_pct", "rate_difference_bpm", "ie_ratio"]


def compute_breath_trends(store: Store, user: SignedInUser, patient_code: str, /, *,
                          since: datetime | None = None) -> pd.DataFrame:
    """One row per breath result (columns: :data:`BREATH_COLUMNS`): ``rate_bpm`` during the
    practice, ``resting_rate_bpm`` before it, agreement with the pacer, inhale:exhale ratio."""
    patient_id = require_patient(store, user, patient_code, action="view_breath")
    stmt = (select(Session.id.label("session_id"), Session.started_at, Session.kind, BreathResult.breaths,
                   BreathResult.rate_bpm,
                   BreathResult.resting_rate_bpm, BreathResult.pacer_target_bpm, BreathResult.pacer_agreement_pct,
                   BreathResult.rate_difference_bpm, BreathResult.ie_ratio)
            .join(BreathResult, BreathResult.session_id == Session.id)
            .where(Session.patient_id == patient_id, _since_clause(since))
            .order_by(Session.started_at, BreathResult.id))
    with store.session() as db:
        rows = db.execute(stmt).all()
    return _frame(rows, BREATH_COLUMNS)


CHECKIN_COLUMNS = ["session_id", "started_at", "pain_before", "pain_after", "mood_before", "mood_after",
                   "pain_change", "satisfaction"]


def compute_checkins(store: Store, user: SignedInUser, patient_code: str, /, *,
                     since: datetime | None = None) -> pd.DataFrame:
    """Pain (0-10) and mood (1-5) before and after each session, and the satisfaction (1-5)
    given after it (columns: :data:`CHECKIN_COLUMNS`; ``pain_change`` = after - before,
    negative is relief)."""
    patient_id = require_patient(store, user, patient_code, action="view_checkins")

    def pick(phase: str, col):
        return func.max(case((CheckIn.phase == phase, col)))

    pain_before, pain_after = pick("before", CheckIn.pain), pick("after", CheckIn.pain)
    stmt = (select(Session.id.label("session_id"), Session.started_at, pain_before.label("pain_before"),
                   pain_after.label("pain_after"), pick("before", CheckIn.mood).label("mood_before"),
                   pick("after", CheckIn.mood).label("mood_after"), (pain_after - pain_before).label("pain_change"),
                   pick("after", CheckIn.satisfaction).label("satisfaction"))
            .join(CheckIn, CheckIn.session_id == Session.id)
            .where(Session.patient_id == patient_id, _since_clause(since))
            .group_by(Session.id, Session.started_at)
            .order_by(Session.started_at))
    with store.session() as db:
        rows = db.execute(stmt).all()
    return _frame(rows, CHECKIN_COLUMNS)


# --- sessions ----------------------------------------------------------------------------

SESSION_COLUMNS = ["session_id", "started_at", "ended_at", "kind", "exercise", "status", "active_s",
                   "station", "cues", "profile_version", "has_data", "location"]


def list_sessions(store: Store, user: SignedInUser, patient_code: str, /, *,
                  since: datetime | None = None) -> pd.DataFrame:
    """The patient's sessions, newest first (columns: :data:`SESSION_COLUMNS`; ``has_data`` is
    False for a session that recorded nothing, see :func:`session_has_data`; ``location``: clinic,
    or home for a session practised in the patient's own browser)."""
    patient_id = require_patient(store, user, patient_code, action="view_sessions")
    cues = (select(CueEvent.session_id, func.count(CueEvent.id).label("n")).group_by(CueEvent.session_id)
            .subquery("n_cues"))
    stmt = (select(Session.id.label("session_id"), Session.started_at, Session.ended_at, Session.kind,
                   Session.exercise, Session.status, Session.active_s, Session.station,
                   func.coalesce(cues.c.n, 0).label("cues"), ProfileVersion.version.label("profile_version"),
                   case((session_has_data(), True), else_=False).label("has_data"), Session.location)
            .outerjoin(cues, cues.c.session_id == Session.id)
            .outerjoin(ProfileVersion, ProfileVersion.id == Session.profile_version_id)
            .where(Session.patient_id == patient_id, _since_clause(since))
            .order_by(Session.started_at.desc()))
    with store.session() as db:
        rows = db.execute(stmt).all()
    df = _frame(rows, SESSION_COLUMNS, times=("started_at", "ended_at"))
    df["has_data"] = df["has_data"].astype(bool)
    return df


@dataclass(frozen=True)
class SessionDetail:
    """One session: its row, time series (``channel, t_s, value``), cues and repetitions.

    ``bucket_s`` is the averaging interval used in the database for long channels (0 = raw).
    """

    patient_code: str
    session: dict
    samples: pd.DataFrame
    cues: pd.DataFrame
    repetitions: pd.DataFrame
    bucket_s: float = 0.0
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_session_detail(store: Store, user: SignedInUser, session_id: int, /, *,
                        max_points: int = MAX_SERIES_POINTS) -> SessionDetail:
    """Angle and breath series of one session with its cues; a channel longer than
    ``max_points`` samples is averaged over equal time buckets in the database."""
    sid, code = require_session(store, user, session_id, action="view_session")
    with store.session() as db:
        s = db.get(Session, sid)
        session = {"session_id": s.id, "started_at": pd.to_datetime(s.started_at, utc=True),
                   "ended_at": pd.to_datetime(s.ended_at, utc=True) if s.ended_at else None, "kind": s.kind,
                   "exercise": s.exercise, "status": s.status, "active_s": s.active_s,
                   "station": s.station, "location": s.location, "summary": dict(s.summary or {})}
        extent = db.execute(select(func.count(Sample.id).label("n"), func.min(Sample.t_s).label("t_min_s"),
                                   func.max(Sample.t_s).label("t_max_s"))
                            .where(Sample.session_id == sid).group_by(Sample.channel)).all()
        longest = max((e.n for e in extent), default=0)
        bucket_s = 0.0
        if longest > max_points:
            span = max(e.t_max_s - e.t_min_s for e in extent)
            bucket_s = span / max_points if span > 0 else 0.0
        if bucket_s > 0:
            bucket = floor_int(Sample.t_s / bucket_s)
            stmt = (select(Sample.channel, func.avg(Sample.t_s).label("t_s"), func.avg(Sample.value).label("value"))
                    .where(Sample.session_id == sid).group_by(Sample.channel, bucket)
                    .order_by(Sample.channel, bucket))
        else:
            stmt = (select(Sample.channel, Sample.t_s, Sample.value).where(Sample.session_id == sid)
                    .order_by(Sample.channel, Sample.t_s))
        samples = db.execute(stmt).all()
        cues = db.execute(select(CueEvent.t_s, CueEvent.kind, CueEvent.message_key, CueEvent.value,
                                 CueEvent.limit, CueEvent.priority)
                          .where(CueEvent.session_id == sid).order_by(CueEvent.t_s)).all()
        reps = db.execute(select(Repetition.index, Repetition.angle_name, Repetition.t_start_s, Repetition.t_end_s,
                                 Repetition.peak_deg, Repetition.hold_s)
                          .where(Repetition.session_id == sid).order_by(Repetition.angle_name, Repetition.index)).all()
        metrics = db.execute(select(SessionMetric.name.label("motion"), SessionMetric.rom_deg, SessionMetric.min_deg,
                                    SessionMetric.max_deg, SessionMetric.safe_min_deg, SessionMetric.safe_max_deg,
                                    SessionMetric.time_in_range_pct, SessionMetric.range_exceeded)
                             .where(SessionMetric.session_id == sid).order_by(SessionMetric.name)).all()
    return SessionDetail(
        patient_code=code, session=session, bucket_s=bucket_s,
        samples=_frame(samples, ["channel", "t_s", "value"]),
        cues=_frame(cues, ["t_s", "kind", "message_key", "value", "limit", "priority"]),
        repetitions=_frame(reps, ["index", "angle_name", "t_start_s", "t_end_s", "peak_deg", "hold_s"]),
        metrics=_frame(metrics, ["motion", "rom_deg", "min_deg", "max_deg", "safe_min_deg", "safe_max_deg",
                                 "time_in_range_pct", "range_exceeded"], motions=("motion",)),
    )


# --- programme evaluation (admin) --------------------------------------------------------

@dataclass(frozen=True)
class ProgrammeSummary:
    """The evaluation a clinic reports: who practises, how often, and what changed.

    - ``attendance``: per UTC week (``week_start``): ``sessions``, ``patients`` (distinct),
      ``sessions_per_patient``.
    - ``pain_change``: per patient, mean pain before the last :data:`CHANGE_WINDOW_SESSIONS`
      sessions minus the first (negative = less pain); only patients with at least twice
      that many check-ins. ``mean_pain_change`` averages it.
    - ``rom_change``: per motion, the mean over patients of last-minus-first ROM (deg), and
      how many patients it averages. ``mean_rom_change_deg`` averages every patient x motion.
    """

    patients_total: int
    active_patients: int
    sessions_total: int
    mean_pain_change: float | None
    mean_rom_change_deg: float | None
    attendance: pd.DataFrame
    pain_change: pd.DataFrame
    rom_change: pd.DataFrame


def _first_last_change(partition, order, value, key_cols):
    """Per group: mean of the last N values minus mean of the first N (window functions)."""
    n = CHANGE_WINDOW_SESSIONS
    ranked = (select(*partition, value.label("v"),
                     func.row_number().over(partition_by=partition, order_by=order.asc()).label("rn_first"),
                     func.row_number().over(partition_by=partition, order_by=order.desc()).label("rn_last"),
                     func.count().over(partition_by=partition).label("n_all"))
              .subquery("ranked"))
    cols = [ranked.c[k] for k in key_cols]
    first = func.avg(case((ranked.c.rn_first <= n, ranked.c.v)))
    last = func.avg(case((ranked.c.rn_last <= n, ranked.c.v)))
    return (select(*cols, (last - first).label("change"), func.max(ranked.c.n_all).label("n_all"))
            .where(ranked.c.n_all >= 2 * n).group_by(*cols))


def compute_programme_evaluation(store: Store, user: SignedInUser, /, *, now: datetime | None = None,
                                 since: datetime | None = None) -> ProgrammeSummary:
    """Programme-wide figures (admin only); ``since`` limits to sessions from then on."""
    require_role(store, user, "admin", action="view_programme")
    now = _now(now)
    where_since = _since_clause(since)
    with store.session() as db:
        patients_total = db.scalar(select(func.count(Patient.id))) or 0
        with_data = session_has_data()
        active = db.scalar(select(func.count(distinct(Session.patient_id)))
                           .where(Session.started_at >= now - timedelta(days=ACTIVE_DAYS), with_data)) or 0
        sessions_total = db.scalar(select(func.count(Session.id)).where(where_since, with_data)) or 0
        week = utc_week(Session.started_at)
        attendance = db.execute(select(week.label("week_start"), func.count(Session.id).label("sessions"),
                                       func.count(distinct(Session.patient_id)).label("patients"))
                                .where(where_since, with_data).group_by(week).order_by(week)).all()

        pain_base = (select(Session.patient_id, Session.started_at, cast(CheckIn.pain, Float).label("pain"))
                     .join(CheckIn, CheckIn.session_id == Session.id)
                     .where(CheckIn.phase == "before", CheckIn.pain.is_not(None), where_since).subquery("pb"))
        pain_per = _first_last_change([pain_base.c.patient_id], pain_base.c.started_at, pain_base.c.pain,
                                      ["patient_id"]).subquery("pain_per")
        pain_rows = db.execute(select(Patient.code.label("patient_code"), pain_per.c.change.label("pain_change"),
                                      pain_per.c.n_all.label("checkins"))
                               .join(pain_per, pain_per.c.patient_id == Patient.id).order_by(Patient.code)).all()

        rom_base = (select(Session.patient_id, SessionMetric.name, Session.started_at, SessionMetric.rom_deg)
                    .join(SessionMetric, SessionMetric.session_id == Session.id)
                    .where(SessionMetric.rom_deg.is_not(None), where_since).subquery("rb"))
        rom_per = _first_last_change([rom_base.c.patient_id, rom_base.c.name], rom_base.c.started_at,
                                     rom_base.c.rom_deg, ["patient_id", "name"]).subquery("rom_per")
        rom_rows = db.execute(select(rom_per.c.name.label("motion"),
                                     func.avg(rom_per.c.change).label("mean_rom_change_deg"),
                                     func.count().label("patients"))
                              .group_by(rom_per.c.name).order_by(rom_per.c.name)).all()
        mean_rom = db.scalar(select(func.avg(rom_per.c.change)))
    attendance_df = _frame(attendance, ["week_start", "sessions", "patients"], times=())
    attendance_df["week_start"] = pd.to_datetime(attendance_df["week_start"])
    attendance_df["sessions_per_patient"] = attendance_df["sessions"] / attendance_df["patients"]
    pain_df = _frame(pain_rows, ["patient_code", "pain_change", "checkins"], times=())
    rom_df = _frame(rom_rows, ["motion", "mean_rom_change_deg", "patients"], times=(), motions=("motion",))
    audit(store, user.username, "view_programme", client=user.client)
    return ProgrammeSummary(
        patients_total=int(patients_total), active_patients=int(active), sessions_total=int(sessions_total),
        mean_pain_change=float(pain_df["pain_change"].mean()) if len(pain_df) else None,
        mean_rom_change_deg=None if mean_rom is None else float(mean_rom),
        attendance=attendance_df, pain_change=pain_df, rom_change=rom_df)


# --- audit log (admin) ---------------------------------------------------------------------

AUDIT_COLUMNS = ["at", "username", "action", "patient_code", "success", "client", "detail"]


def load_audit_log(store: Store, user: SignedInUser, /, *, patient_code: str | None = None,
                   limit: int = AUDIT_ROWS) -> pd.DataFrame:
    """The newest audit entries (admin only), optionally for one patient."""
    require_role(store, user, "admin", action="view_audit_log")
    stmt = (select(AuditEntry.at, AuditEntry.username, AuditEntry.action, AuditEntry.patient_code,
                   AuditEntry.success, AuditEntry.client, AuditEntry.detail)
            .order_by(AuditEntry.id.desc()).limit(max(1, int(limit))))
    if patient_code:
        stmt = stmt.where(AuditEntry.patient_code == str(patient_code))
    with store.session() as db:
        rows = db.execute(stmt).all()
    audit(store, user.username, "view_audit_log", patient_code=patient_code, client=user.client)
    return _frame(rows, AUDIT_COLUMNS, times=("at",))


# --- calibration (therapist) ---------------------------------------------------------------
# Changing a range is mindmove.store.profiles.save_range_change; this module only reads.

@dataclass(frozen=True)
class CalibrationView:
    """A patient's current calibration profile (``None`` before the first) and every version,
    oldest first (:class:`calibration.profile.ProfileRecord`)."""

    patient_code: str
    current: object | None
    history: list


def load_calibration(store: Store, user: SignedInUser, patient_code: str, /) -> CalibrationView:
    """The profile and its history, for a patient ``user`` may see (audited ``view_calibration``)."""
    require_patient(store, user, patient_code, action="view_calibration")
    code = str(patient_code)
    return CalibrationView(patient_code=code, current=load_profile(store, code), history=profile_history(store, code))
