"""The session store's tables (SQLAlchemy 2).

Times are UTC. Patient-facing identifiers are the clinic's own codes (``patients.code``),
never names in file paths or logs. Changes to these tables go with an Alembic migration
in ``mindmove/store/migrations``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None, /) -> datetime | None:
    """A time read back from the store, made timezone-aware (SQLite returns naive datetimes;
    every time in the store is UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class CareTeam(Base):
    __tablename__ = "care_teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(160), default="")
    role: Mapped[str] = mapped_column(String(20))  # clinician | therapist | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CareTeamMember(Base):
    __tablename__ = "care_team_members"
    team_id: Mapped[int] = mapped_column(ForeignKey("care_teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # the --patient ID
    display_name: Mapped[str] = mapped_column(String(160), default="")
    care_team_id: Mapped[int | None] = mapped_column(ForeignKey("care_teams.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProfileVersion(Base):
    """One immutable version of a patient's calibration profile (see calibration/)."""

    __tablename__ = "profile_versions"
    __table_args__ = (UniqueConstraint("patient_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(160))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON)


class CameraSetup(Base):
    """A distance scale for one camera set-up (metres per pixel at the walking plane)."""

    __tablename__ = "camera_setups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    metres_per_pixel: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(40))  # height | known_length
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(160), default="")


class Session(Base):
    __tablename__ = "sessions"
    # the dashboard's counts read patient, start and recorded_nothing from this index alone
    __table_args__ = (Index("ix_sessions_patient_started_data", "patient_id", "started_at", "recorded_nothing"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="practice")  # practice | breathe | gait | calibrate
    exercise: Mapped[str | None] = mapped_column(String(80), nullable=True)
    profile_version_id: Mapped[int | None] = mapped_column(ForeignKey("profile_versions.id"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_write_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | completed | interrupted
    station: Mapped[str] = mapped_column(String(120), default="")
    # The recording process (on ``station``): a ``running`` session whose process is gone was
    # interrupted; one whose process lives is someone's session in progress. The start time
    # (seconds since the epoch, as psutil reports it) tells a reused process id apart.
    owner_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    owner_start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Set when the session closes (completed or interrupted): True when it recorded no sample,
    # per-angle metric, gait or breath result. Such a session is not counted as practice (RTM
    # days, attendance). NULL while running, and for rows made outside the recorder.
    recorded_nothing: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # clinic: a practice station; home: the patient's own browser (telehealth, mindmove serve)
    location: Mapped[str] = mapped_column(String(10), default="clinic", server_default="clinic")
    active_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)

    metrics: Mapped[list["SessionMetric"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class SessionMetric(Base):
    """Per-session aggregate of one angle: what trend pages query instead of samples."""

    __tablename__ = "session_metrics"
    __table_args__ = (Index("ix_session_metrics_session_name", "session_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))  # e.g. right_knee_flexion_deg
    min_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    rom_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    safe_min_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    safe_max_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    time_in_range_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    range_exceeded: Mapped[bool] = mapped_column(Boolean, default=False)


class Sample(Base):
    """One time-series value: an angle (``channel`` = angle column) or breath (``breath``)."""

    __tablename__ = "samples"
    __table_args__ = (Index("ix_samples_session_channel_t", "session_id", "channel", "t_s"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(80))
    t_s: Mapped[float] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)


class CueEvent(Base):
    __tablename__ = "cues"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    t_s: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(40))
    message_key: Mapped[str] = mapped_column(String(80))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)


class Repetition(Base):
    __tablename__ = "repetitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    angle_name: Mapped[str] = mapped_column(String(80))
    t_start_s: Mapped[float] = mapped_column(Float)
    t_end_s: Mapped[float] = mapped_column(Float)
    peak_deg: Mapped[float] = mapped_column(Float)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    # Breath coordination (exercises with a [breath] table; NULL when not asked or not measured):
    breath_coordinated: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    inhale_overlap_pct: Mapped[float | None] = mapped_column(Float, nullable=True)  # of the rise
    exhale_overlap_pct: Mapped[float | None] = mapped_column(Float, nullable=True)  # of the lowering


class CheckIn(Base):
    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("session_id", "phase"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(10))  # before | after
    pain: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0-10
    mood: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1-5
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1-5, after a session only
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GaitResult(Base):
    __tablename__ = "gait_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(20), default="forward")
    strides: Mapped[int] = mapped_column(Integer, default=0)
    cadence_steps_per_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    gait_speed_m_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    step_time_symmetry: Mapped[float | None] = mapped_column(Float, nullable=True)
    stride_time_cv_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    quality: Mapped[dict] = mapped_column(JSON, default=dict)


class AssessmentRecord(Base):
    """One functional test (``mindmove assess``, ``analyze --patient``), in its own session row
    (kind ``assessment``, ``exercise`` = the test, ``profile_version_id`` = the calibration
    profile in force). ``value`` is the test's headline result in ``unit``; ``result`` holds
    every result field, ``detail`` the events, phases and analysis output, ``quality`` the flags
    and notes. Provenance: who ran it, the source (camera or file name), software and pose model."""

    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_test_session", "test", "session_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    test: Mapped[str] = mapped_column(String(40))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(20), default="")
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    quality: Mapped[dict] = mapped_column(JSON, default=dict)
    run_by: Mapped[str] = mapped_column(String(160))
    source_kind: Mapped[str] = mapped_column(String(20))  # camera | video | landmarks | mocap | simulated
    source_name: Mapped[str] = mapped_column(String(255), default="")
    software_version: Mapped[str] = mapped_column(String(40))
    software: Mapped[dict] = mapped_column(JSON, default=dict)
    pose_model: Mapped[str] = mapped_column(String(160), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BreathResult(Base):
    __tablename__ = "breath_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    breaths: Mapped[int] = mapped_column(Integer, default=0)
    rate_bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    resting_rate_bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    ie_ratio: Mapped[float | None] = mapped_column(Float, nullable=True)
    pacer_target_bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    pacer_agreement_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_difference_bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))  # sign_in, sign_in_failed, view_patient, ...
    patient_code: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    client: Mapped[str] = mapped_column(String(120), default="", server_default="")  # address or station


class LoginThrottle(Base):
    """Failed sign-in attempts per key (see :mod:`mindmove.auth`): ``user:NAME`` (an account,
    from browsers it was never signed in on), ``device:NAME:HASH`` (an account, from one of its
    known browsers) and ``client:ADDR`` (every attempt from unknown browsers at one address).

    Kept in the database so several dashboard processes share one count.
    """

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(220), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class KnownDevice(Base):
    """A browser a user has signed in on before (by the hash of its ``mindmove_device`` cookie).

    Sign-in from a known browser is throttled on its own count, so failures elsewhere (someone
    guessing the account's password, or a busy shared address) never lock the user out of it.
    """

    __tablename__ = "known_devices"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    device_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
# --- home practice (telehealth): prescriptions, patient devices -------------------------------

class HomeProgramme(Base):
    """One version of a patient's home programme, set by a therapist; the newest is in force.

    What to practise at home (the items) on how many days a week, and how many guided
    breathing sessions of how many minutes on a practice day. Versions are never changed,
    only superseded, so every past session can be read against the plan of its day."""

    __tablename__ = "home_programmes"
    __table_args__ = (UniqueConstraint("patient_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(160))
    days_per_week: Mapped[int] = mapped_column(Integer)
    breathing_sessions_per_day: Mapped[int] = mapped_column(Integer, default=0)
    breathing_minutes: Mapped[float] = mapped_column(Float, default=5.0)
    notes: Mapped[str] = mapped_column(Text, default="")

    items: Mapped[list["HomeProgrammeItem"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="HomeProgrammeItem.position")


class HomeProgrammeItem(Base):
    """One prescribed exercise of a home programme: sets x repetitions on a practice day."""

    __tablename__ = "home_programme_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("home_programmes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    exercise: Mapped[str] = mapped_column(String(80))
    side: Mapped[str | None] = mapped_column(String(10), nullable=True)  # left | right; None: the exercise's own
    sets: Mapped[int] = mapped_column(Integer)
    repetitions: Mapped[int] = mapped_column(Integer)


class PatientDevice(Base):
    """A patient's own device (browser) bound by a one-time invitation.

    Only the SHA-256 of its token is kept; the token itself lives in the device's cookie.
    ``revoked_at`` ends its access."""

    __tablename__ = "patient_devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(160), default="")  # the browser, as it said (for the therapist)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(160), nullable=True)


class PatientInvitation(Base):
    """A one-time link for a patient's device, valid until ``expires_at``; ``used_at`` once redeemed.
    Only the SHA-256 of its token is kept."""

    __tablename__ = "patient_invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(160))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("patient_devices.id", ondelete="SET NULL"),
                                                  nullable=True)
