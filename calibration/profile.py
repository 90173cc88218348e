"""Per-patient calibration profiles: safe ranges, neutral posture, breath target, height, and
the birth year and sex that choose the published norms of the functional tests.

This module holds the profile's value types, its validation and its JSON codec; it knows
nothing of the database. Persistence lives next to the store
(:mod:`mindmove.store.profiles`): a profile is never edited in place, ``save_profile``
validates the whole profile (:func:`validate_profile`) and stores it as the patient's next
version, with who changed it, when (UTC) and why; every earlier version stays readable
through ``profile_history``. Live sessions read the newest version with ``load_profile``
and record its ``version_id``.

Stored form (``profile_versions.data``, JSON)::

    {"ranges": {"right_shoulder_flexion": {"min_deg": 0, "max_deg": 120, "caution_margin_deg": 10}},
     "neutral": {"standing": {"trunk_forward_lean": 2.1, ...}, "seated": {...}},
     "breath": {"resting_rate_bpm": 14, "target_rate_bpm": 6, "ie_ratio": 2},
     "height_m": 1.68, "birth_year": 1951, "sex": "female", "notes": "..."}

Birth year rather than age: an age goes stale while the profile stays the same, and the age
at each functional test is the test's year minus the birth year (within a year of the true
age, finer than the norms' 5- or 10-year bands). ``sex`` is ``female`` or ``male`` as the
published norms are split; anything else leaves it unrecorded (no sex-specific norm is
then shown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal, Mapping, get_args

from calibration.limits import DEFAULT_COMFORTABLE_RANGES, PHYSIOLOGICAL_LIMITS, check_motion, check_range
from core.errors import ValidationError
from core.ranges import DEFAULT_CAUTION_MARGIN_DEG, SafeRange

NeutralPosture = Literal["standing", "seated"]
NEUTRAL_POSTURES: tuple[str, ...] = get_args(NeutralPosture)
MAX_CAUTION_MARGIN_DEG = 45.0
BREATH_RATE_LIMITS_BPM = (2.0, 40.0)  # any rate outside is a typing error
IE_RATIO_LIMITS = (0.25, 4.0)  # inhale:exhale = 1:ie_ratio
HEIGHT_LIMITS_M = (0.5, 2.5)
BIRTH_YEAR_MIN = 1900  # no earlier birth year is plausible for a patient today
SEXES = ("female", "male")  # as the published norms of the functional tests are split
MAX_NOTES_CHARS = 4000


@dataclass(frozen=True)
class BreathTarget:
    """Resting breath rate (if measured) and the paced-breathing target (inhale:exhale = 1:ie_ratio)."""

    resting_rate_bpm: float | None
    target_rate_bpm: float = 6.0
    ie_ratio: float = 2.0


@dataclass(frozen=True)
class Profile:
    ranges: dict[str, SafeRange] = field(default_factory=dict)
    neutral: dict[str, dict[str, float]] = field(default_factory=dict)  # posture -> motion -> deg
    breath: BreathTarget | None = None
    height_m: float | None = None
    birth_year: int | None = None
    sex: str | None = None
    notes: str = ""

    def age_in(self, year: int, /) -> int | None:
        """Age in whole years during ``year`` (within one year of the exact age), or None."""
        return None if self.birth_year is None else int(year) - int(self.birth_year)

    def with_range(self, motion: str, safe_range: SafeRange, /) -> "Profile":
        """A copy with ``motion``'s range set (the original is left unchanged)."""
        return replace(self, ranges={**self.ranges, motion: safe_range})

    def with_neutral(self, posture: str, angles_deg: Mapping[str, float], /) -> "Profile":
        return replace(self, neutral={**self.neutral, posture: dict(angles_deg)})


@dataclass(frozen=True)
class ProfileRecord:
    """One stored version of a patient's profile."""

    profile: Profile
    version: int  # 1, 2, 3 ... per patient
    version_id: int  # profile_versions.id, what a session records
    created_by: str
    created_at: datetime  # UTC
    reason: str
    patient_code: str = ""


# --- validation -------------------------------------------------------------------------

def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_between(label: str, value: Any, low: float, high: float, unit: str) -> None:
    if not _finite(value) or not low <= value <= high:
        raise ValidationError(f"{label} must be between {low:g} and {high:g} {unit}, but got {value!r}. Correct the value.")


def validate_profile(profile: Profile, /) -> None:
    """Raise :class:`ValidationError` (one line, naming the field) unless ``profile`` may be stored."""
    if not isinstance(profile, Profile):
        raise ValidationError(f"Expected a Profile, but got {type(profile).__name__}.")
    for motion, rng in profile.ranges.items():
        check_range(motion, rng.min_deg, rng.max_deg)
        _check_between(f"{motion} caution margin", rng.caution_margin_deg, 0.0, MAX_CAUTION_MARGIN_DEG, "deg")
    for posture, angles in profile.neutral.items():
        if posture not in NEUTRAL_POSTURES:
            raise ValidationError(f"Unknown neutral posture {posture!r}: expected one of {', '.join(NEUTRAL_POSTURES)}.")
        for motion, value in angles.items():
            check_motion(motion)
            low, high = PHYSIOLOGICAL_LIMITS[motion]
            _check_between(f"{posture} neutral {motion}", value, low, high, "deg (physiological limit)")
    if profile.breath is not None:
        low, high = BREATH_RATE_LIMITS_BPM
        if profile.breath.resting_rate_bpm is not None:
            _check_between("resting breath rate", profile.breath.resting_rate_bpm, low, high, "breaths/min")
        _check_between("target breath rate", profile.breath.target_rate_bpm, low, high, "breaths/min")
        _check_between("inhale:exhale ratio", profile.breath.ie_ratio, *IE_RATIO_LIMITS, "(exhale / inhale)")
    if profile.height_m is not None:
        _check_between("height", profile.height_m, *HEIGHT_LIMITS_M, "m")
    if profile.birth_year is not None:
        this_year = datetime.now(timezone.utc).year
        if not isinstance(profile.birth_year, int) or isinstance(profile.birth_year, bool) \
                or not BIRTH_YEAR_MIN <= profile.birth_year <= this_year:
            raise ValidationError(f"Birth year must be a whole year from {BIRTH_YEAR_MIN} to {this_year}, but got "
                                  f"{profile.birth_year!r}. Correct the value.")
    if profile.sex is not None and profile.sex not in SEXES:
        raise ValidationError(f"Sex is recorded as {' or '.join(SEXES)} (as the published norms are split), but got "
                              f"{profile.sex!r}; leave it out to record none.")
    if not isinstance(profile.notes, str) or len(profile.notes) > MAX_NOTES_CHARS:
        raise ValidationError(f"Notes must be text of at most {MAX_NOTES_CHARS} characters. Shorten them.")


# --- JSON form --------------------------------------------------------------------------

def profile_to_dict(profile: Profile, /) -> dict:
    """The JSON-ready form stored in ``profile_versions.data``."""
    breath = None
    if profile.breath is not None:
        breath = {"resting_rate_bpm": profile.breath.resting_rate_bpm,
                  "target_rate_bpm": profile.breath.target_rate_bpm, "ie_ratio": profile.breath.ie_ratio}
    return {
        "ranges": {m: {"min_deg": r.min_deg, "max_deg": r.max_deg, "caution_margin_deg": r.caution_margin_deg}
                   for m, r in sorted(profile.ranges.items())},
        "neutral": {p: dict(sorted(a.items())) for p, a in profile.neutral.items()},
        "breath": breath,
        "height_m": profile.height_m,
        "birth_year": profile.birth_year,
        "sex": profile.sex,
        "notes": profile.notes,
    }


def profile_from_dict(data: Mapping, /) -> Profile:
    """Inverse of :func:`profile_to_dict`; missing parts are empty."""
    try:
        ranges = {m: SafeRange(float(r["min_deg"]), float(r["max_deg"]),
                               float(r.get("caution_margin_deg", DEFAULT_CAUTION_MARGIN_DEG)))
                  for m, r in (data.get("ranges") or {}).items()}
        neutral = {p: {m: float(v) for m, v in a.items()} for p, a in (data.get("neutral") or {}).items()}
        b = data.get("breath")
        breath = None if not b else BreathTarget(
            resting_rate_bpm=None if b.get("resting_rate_bpm") is None else float(b["resting_rate_bpm"]),
            target_rate_bpm=float(b.get("target_rate_bpm", 6.0)), ie_ratio=float(b.get("ie_ratio", 2.0)))
        height = data.get("height_m")
        birth_year = data.get("birth_year")
        return Profile(ranges=ranges, neutral=neutral, breath=breath,
                       height_m=None if height is None else float(height),
                       birth_year=None if birth_year is None else int(birth_year), sex=data.get("sex") or None,
                       notes=str(data.get("notes") or ""))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationError(f"A stored profile is not in the expected form ({exc!r}); it cannot be read.") from exc


def comfortable_range(source: ProfileRecord | Profile | None, motion: str, /) -> SafeRange:
    """The patient's range for ``motion``, or the conservative default when none is calibrated."""
    check_motion(motion)
    profile = source.profile if isinstance(source, ProfileRecord) else source
    if profile is not None and motion in profile.ranges:
        return profile.ranges[motion]
    low, high = DEFAULT_COMFORTABLE_RANGES[motion]
    return SafeRange(low, high)


def compute_profile_changes(old: Profile | None, new: Profile, /) -> list[str]:
    """Short human-readable lines saying what ``new`` changes relative to ``old``."""
    old = old or Profile()
    changes: list[str] = []

    def fmt(r: SafeRange | None) -> str:
        return "-" if r is None else f"{r.min_deg:g}..{r.max_deg:g} deg (margin {r.caution_margin_deg:g})"

    for motion in sorted(set(old.ranges) | set(new.ranges)):
        a, b = old.ranges.get(motion), new.ranges.get(motion)
        if a != b:
            changes.append(f"{motion}: {fmt(a)} -> {fmt(b)}")
    for posture in sorted(set(old.neutral) | set(new.neutral)):
        if old.neutral.get(posture) != new.neutral.get(posture):
            changes.append(f"neutral {posture}: {len(new.neutral.get(posture, {}))} angles")
    if old.breath != new.breath:
        b = new.breath
        changes.append("breath: -" if b is None else
                       f"breath: resting {b.resting_rate_bpm if b.resting_rate_bpm is not None else '-'} bpm, "
                       f"target {b.target_rate_bpm:g} bpm, 1:{b.ie_ratio:g}")
    if old.height_m != new.height_m:
        changes.append(f"height: {old.height_m} -> {new.height_m} m")
    if old.birth_year != new.birth_year:
        changes.append(f"birth year: {old.birth_year or '-'} -> {new.birth_year or '-'}")
    if old.sex != new.sex:
        changes.append(f"sex: {old.sex or '-'} -> {new.sex or '-'}")
    if old.notes != new.notes:
        changes.append("notes changed")
    return changes
