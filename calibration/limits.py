"""What range of motion MindMove will ever accept, and what it assumes without a profile.

Both come from the motion registry (:mod:`feedback.motions`): each motion's normal active
range of motion from the American Academy of Orthopaedic Surgeons (AAOS) table there
(``Motion.normal_rom_deg``: the range in the negative direction, for flexion extension,
then the positive), and its conservative default (``Motion.default_range_deg``).

:data:`PHYSIOLOGICAL_LIMITS` widens each normal range by :data:`GENEROUS_MARGIN_DEG` on both
sides (angles from a camera carry some degrees of error, and some people are more mobile
than the table's average adult), and never beyond what the angle can express (at most 180
for elbow and knee flexion, which are 180 minus the angle between two segments; an arm may
go a little past vertical, so shoulder flexion and abduction may exceed 180). Angles
follow :mod:`feedback.angles`: 0 at anatomical neutral, flexion, abduction, dorsiflexion,
forward lean positive; trunk lateral lean positive to the patient's right, neck rotation
positive to the patient's left. Anything outside is a typing or capture error, never a
person's range, and is refused. :data:`DEFAULT_COMFORTABLE_RANGES` are deliberately
conservative (roughly two thirds of the normal range): what a live session uses for a
patient whose therapist has not calibrated that motion yet.
"""

from __future__ import annotations

import math

from core.errors import ValidationError
from feedback.motions import MOTION_REGISTRY, Motion, get_motion, motion_names

GENEROUS_MARGIN_DEG = 15.0
INNER_ANGLE_MAX_DEG = 180.0  # 180 - the angle between two segments cannot exceed 180

# base motion -> (normal range in the negative direction, normal range in the positive direction)
AAOS_NORMAL_ROM_DEG: dict[str, tuple[float, float]] = {m.name: m.normal_rom_deg for m in MOTION_REGISTRY.values()}


def _limit(motion: Motion) -> tuple[float, float]:
    negative, positive = motion.normal_rom_deg
    low, high = -negative - GENEROUS_MARGIN_DEG, positive + GENEROUS_MARGIN_DEG
    if motion.inner_angle:
        high = min(high, INNER_ANGLE_MAX_DEG)
    return low, high


MOTIONS: tuple[str, ...] = motion_names()
PHYSIOLOGICAL_LIMITS: dict[str, tuple[float, float]] = {m: _limit(get_motion(m)) for m in MOTIONS}
DEFAULT_COMFORTABLE_RANGES: dict[str, tuple[float, float]] = {m: get_motion(m).default_range_deg for m in MOTIONS}


def check_motion(motion: str, /) -> None:
    """Raise :class:`ValidationError` unless ``motion`` is a motion MindMove measures."""
    if motion not in PHYSIOLOGICAL_LIMITS:
        raise ValidationError(
            f"Unknown motion {motion!r}: expected one of {', '.join(MOTIONS)}. "
            "Check the spelling (angle names without '_deg')."
        )


def check_range(motion: str, min_deg: float, max_deg: float) -> None:
    """Refuse a range that is unknown, empty, or outside the physiological limits.

    The message names the limit that was crossed, e.g.
    ``right_knee_flexion maximum 170 deg is beyond the physiological limit of 150 deg ...``.
    """
    check_motion(motion)
    for label, value in (("minimum", min_deg), ("maximum", max_deg)):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValidationError(f"{motion} {label} must be a number of degrees, but got {value!r}.")
    if min_deg >= max_deg:
        raise ValidationError(
            f"{motion}: expected the minimum to be below the maximum, but got min {min_deg:g} deg "
            f">= max {max_deg:g} deg. Swap or correct the values."
        )
    low, high = PHYSIOLOGICAL_LIMITS[motion]
    if min_deg < low:
        raise ValidationError(
            f"{motion} minimum {min_deg:g} deg is beyond the physiological limit of {low:g} deg "
            f"(AAOS normal range with a {GENEROUS_MARGIN_DEG:g} deg margin). Check the value or the capture."
        )
    if max_deg > high:
        raise ValidationError(
            f"{motion} maximum {max_deg:g} deg is beyond the physiological limit of {high:g} deg "
            f"(AAOS normal range with a {GENEROUS_MARGIN_DEG:g} deg margin). Check the value or the capture."
        )
