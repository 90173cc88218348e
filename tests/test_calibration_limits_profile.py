"""Physiological limits, profile validation, and versioned profiles in a real SQLite store."""

from __future__ import annotations

from datetime import timezone

import pytest

from calibration.limits import (
    AAOS_NORMAL_ROM_DEG, DEFAULT_COMFORTABLE_RANGES, GENEROUS_MARGIN_DEG, MOTIONS, PHYSIOLOGICAL_LIMITS,
    check_range,
)
from calibration.profile import BreathTarget, Profile, comfortable_range, validate_profile
from core.ranges import SafeRange
from core.errors import ValidationError
from mindmove.store import open_store
from mindmove.store.models import ProfileVersion
from mindmove.store.profiles import load_profile, profile_history, save_profile


@pytest.fixture
def store():
    s = open_store()
    yield s
    s.dispose()


def test_limits_cover_every_motion_and_widen_the_aaos_table():
    assert len(MOTIONS) == 18
    assert set(PHYSIOLOGICAL_LIMITS) == set(MOTIONS) == set(DEFAULT_COMFORTABLE_RANGES)
    assert PHYSIOLOGICAL_LIMITS["right_shoulder_flexion"] == (-75.0, 195.0)
    assert PHYSIOLOGICAL_LIMITS["left_knee_flexion"] == (-25.0, 150.0)
    assert PHYSIOLOGICAL_LIMITS["neck_rotation"] == (-75.0, 75.0)
    for motion, (low, high) in PHYSIOLOGICAL_LIMITS.items():
        d_low, d_high = DEFAULT_COMFORTABLE_RANGES[motion]
        assert low <= d_low < d_high <= high, motion
        base = motion.removeprefix("left_").removeprefix("right_")
        assert high >= min(AAOS_NORMAL_ROM_DEG[base][1] + GENEROUS_MARGIN_DEG, 180.0)
        assert low <= -AAOS_NORMAL_ROM_DEG[base][0]


def test_limits_match_the_angles_module():
    from feedback import angles

    assert set(angles.MOTIONS) == set(MOTIONS)


def test_check_range_refusals_name_the_limit():
    with pytest.raises(ValidationError, match=r"maximum 170 deg is beyond the physiological limit of 150 deg"):
        check_range("right_knee_flexion", 0, 170)
    with pytest.raises(ValidationError, match=r"minimum -90 deg is beyond the physiological limit of -75 deg"):
        check_range("left_shoulder_flexion", -90, 100)
    with pytest.raises(ValidationError, match=r"minimum to be below the maximum.*min 90 deg >= max 90 deg"):
        check_range("left_shoulder_flexion", 90, 90)
    with pytest.raises(ValidationError, match=r"min 100 deg >= max 20 deg"):
        check_range("left_shoulder_flexion", 100, 20)
    with pytest.raises(ValidationError, match=r"Unknown motion 'right_shoulder_flexion_deg'"):
        check_range("right_shoulder_flexion_deg", 0, 90)
    with pytest.raises(ValidationError, match=r"must be a number"):
        check_range("right_elbow_flexion", float("nan"), 90)
    check_range("right_knee_flexion", 0, 150)  # exactly at the limit is allowed


@pytest.mark.parametrize("profile, pattern", [
    (Profile(ranges={"right_hip_flexion": SafeRange(0, 200)}), "physiological limit of 135"),
    (Profile(ranges={"elbow": SafeRange(0, 90)}), "Unknown motion 'elbow'"),
    (Profile(ranges={"right_elbow_flexion": SafeRange(0, 90, caution_margin_deg=-1)}), "caution margin"),
    (Profile(neutral={"lying": {"neck_flexion": 0.0}}), "Unknown neutral posture 'lying'"),
    (Profile(neutral={"seated": {"neck_flexion": 80.0}}), "seated neutral neck_flexion"),
    (Profile(breath=BreathTarget(resting_rate_bpm=80)), "resting breath rate"),
    (Profile(breath=BreathTarget(resting_rate_bpm=12, ie_ratio=9)), "inhale:exhale ratio"),
    (Profile(height_m=17.0), "height must be between 0.5 and 2.5 m"),
])
def test_validate_profile_refuses(profile, pattern):
    with pytest.raises(ValidationError, match=pattern):
        validate_profile(profile)


def test_versions_are_immutable_and_history_keeps_who_when_why(store):
    assert load_profile(store, "P001") is None
    assert profile_history(store, "P001") == []
    first = save_profile(store, "P001", Profile(ranges={"right_shoulder_flexion": SafeRange(0, 110)}),
                         by="Dr Ada", reason="first visit")
    base = first.profile
    second = save_profile(store, "P001", base.with_range("right_shoulder_flexion", SafeRange(0, 125, 5)),
                          by="Sam PT", reason="improved after 4 weeks")
    assert (first.version, second.version) == (1, 2)
    assert base.ranges["right_shoulder_flexion"] == SafeRange(0, 110)  # with_range made a copy
    newest = load_profile(store, "P001")
    assert newest.version == 2 and newest.version_id == second.version_id
    assert newest.profile.ranges["right_shoulder_flexion"] == SafeRange(0, 125, 5)
    history = profile_history(store, "P001")
    assert [(r.version, r.created_by, r.reason) for r in history] == [
        (1, "Dr Ada", "first visit"), (2, "Sam PT", "improved after 4 weeks")]
    assert history[0].profile.ranges["right_shoulder_flexion"].max_deg == 110
    assert history[0].created_at.tzinfo is timezone.utc and history[0].created_at <= history[1].created_at
    # another patient's versions start at 1 and do not mix
    other = save_profile(store, "P002", Profile(height_m=1.6), by="Sam PT", reason="intake")
    assert other.version == 1 and len(profile_history(store, "P001")) == 2


def test_full_profile_round_trips(store):
    profile = Profile(
        ranges={"left_knee_flexion": SafeRange(2.5, 95.0, 8.0), "neck_rotation": SafeRange(-40, 35)},
        neutral={"standing": {"trunk_forward_lean": 3.2, "neck_flexion": 8.0}, "seated": {"left_knee_flexion": 88.0}},
        breath=BreathTarget(resting_rate_bpm=14.5, target_rate_bpm=5.5, ie_ratio=1.5),
        height_m=1.68, notes="Left knee replacement 2023; prefers seated work.")
    save_profile(store, "P003", profile, by="Sam PT", reason="intake")
    assert load_profile(store, "P003").profile == profile


def test_nothing_invalid_reaches_the_store(store):
    save_profile(store, "P004", Profile(height_m=1.7), by="Sam PT", reason="intake")
    bad = Profile(ranges={"right_knee_flexion": SafeRange(0, 170)})
    with pytest.raises(ValidationError, match="physiological limit"):
        save_profile(store, "P004", bad, by="Sam PT", reason="typo")
    with pytest.raises(ValidationError, match="--by NAME"):
        save_profile(store, "P004", Profile(), by="  ", reason="x")
    with pytest.raises(ValidationError, match="--reason TEXT"):
        save_profile(store, "P004", Profile(), by="Sam", reason="")
    with pytest.raises(ValidationError, match="patient code"):
        save_profile(store, "", Profile(), by="Sam", reason="x")
    with store.session() as db:
        assert db.query(ProfileVersion).count() == 1


def test_comfortable_range_falls_back_to_defaults(store):
    assert comfortable_range(None, "right_shoulder_abduction") == SafeRange(0.0, 90.0)
    record = save_profile(store, "P005", Profile(ranges={"right_shoulder_abduction": SafeRange(5, 70)}),
                          by="Sam", reason="x")
    assert comfortable_range(record, "right_shoulder_abduction") == SafeRange(5, 70)
    assert comfortable_range(record.profile, "left_shoulder_abduction") == SafeRange(0.0, 90.0)
    with pytest.raises(ValidationError, match="Unknown motion"):
        comfortable_range(record, "wings")
