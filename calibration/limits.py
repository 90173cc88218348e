"""What range of motion MindMove will ever accept, and what it assumes without a profile.

Normal active range of motion, in degrees, from the American Academy of Orthopaedic
Surgeons (AAOS), *Joint Motion: Method of Measuring and Recording* (1965), as tabulated
in Greene & Heckman, *The Clinical Measurement of Joint Motion*, AAOS (1994), and
reproduced in Norkin & White, *Measurement of Joint Motion: A Guide to Goniometry*,
appendix A. Each motion is measured from anatomical zero (standing upright, arms at the
sides, palms facing the body, looking ahead); the motion in the opposite direction (for
flexion, extension) is a negative angle.

=========================  ==========================  ============================
motion                     AAOS normal                 opposite direction (negative)
=========================  ==========================  ============================
shoulder_flexion           0 to 180                    extension 60
shoulder_abduction         0 to 180                    adduction 0 (arm meets body)
elbow_flexion              0 to 150                    hyperextension 0
hip_flexion                0 to 120                    extension 30
hip_abduction              0 to 45                     adduction 30
knee_flexion               0 to 135                    hyperextension 10
ankle_dorsiflexion         0 to 20                     plantar flexion 50
trunk_forward_lean         thoracolumbar flexion 80    extension 25
trunk_lateral_lean         lateral flexion 35          to the other side 35
neck_flexion               cervical flexion 45         extension 45
neck_rotation              rotation 60                 to the other side 60
=========================  ==========================  ============================

:data:`PHYSIOLOGICAL_LIMITS` widens each of these by :data:`GENEROUS_MARGIN_DEG` on both
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

GENEROUS_MARGIN_DEG = 15.0

# motion -> (normal range in the negative direction, normal range in the positive direction)
AAOS_NORMAL_ROM_DEG: dict[str, tuple[float, float]] = {
    "shoulder_flexion": (60.0, 180.0),
    "shoulder_abduction": (0.0, 180.0),
    "elbow_flexion": (0.0, 150.0),
    "hip_flexion": (30.0, 120.0),
    "hip_abduction": (30.0, 45.0),
    "knee_flexion": (10.0, 135.0),
    "ankle_dorsiflexion": (50.0, 20.0),
    "trunk_forward_lean": (25.0, 80.0),
    "trunk_lateral_lean": (35.0, 35.0),
    "neck_flexion": (45.0, 45.0),
    "neck_rotation": (60.0, 60.0),
}

# Conservative ranges for a motion nobody has calibrated yet.
_DEFAULT_BY_MOTION: dict[str, tuple[float, float]] = {
    "shoulder_flexion": (0.0, 120.0),
    "shoulder_abduction": (0.0, 90.0),
    "elbow_flexion": (0.0, 130.0),
    "hip_flexion": (0.0, 80.0),
    "hip_abduction": (0.0, 25.0),
    "knee_flexion": (0.0, 90.0),
    "ankle_dorsiflexion": (-30.0, 10.0),
    "trunk_forward_lean": (0.0, 30.0),
    "trunk_lateral_lean": (-15.0, 15.0),
    "neck_flexion": (-20.0, 30.0),
    "neck_rotation": (-40.0, 40.0),
}

_SIDED = ("shoulder_flexion", "shoulder_abduction", "elbow_flexion", "hip_flexion",
          "hip_abduction", "knee_flexion", "ankle_dorsiflexion")
_BETWEEN_SEGMENTS = ("elbow_flexion", "knee_flexion")  # an inner angle: 0..180 at most


def _motions() -> tuple[str, ...]:
    sided = tuple(f"{side}_{m}" for m in _SIDED for side in ("left", "right"))
    return sided + ("trunk_forward_lean", "trunk_lateral_lean", "neck_flexion", "neck_rotation")


def _base(motion: str) -> str:
    return motion.removeprefix("left_").removeprefix("right_")


def _limit(base: str) -> tuple[float, float]:
    negative, positive = AAOS_NORMAL_ROM_DEG[base]
    low, high = -negative - GENEROUS_MARGIN_DEG, positive + GENEROUS_MARGIN_DEG
    if base in _BETWEEN_SEGMENTS:  # 180 - the angle between two segments: never above 180
        high = min(high, 180.0)
    return low, high


MOTIONS: tuple[str, ...] = _motions()
PHYSIOLOGICAL_LIMITS: dict[str, tuple[float, float]] = {m: _limit(_base(m)) for m in MOTIONS}
DEFAULT_COMFORTABLE_RANGES: dict[str, tuple[float, float]] = {m: _DEFAULT_BY_MOTION[_base(m)] for m in MOTIONS}


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
