"""The motions MindMove measures: one registry entry each (:data:`MOTION_REGISTRY`).

Each :class:`Motion` holds everything about one motion in one place: how its angle is
measured in the body frame (:mod:`feedback.body_frame`), the landmarks it needs in view, the
body part a patient is asked to show ("let the camera see your arms"), its normal range of
motion (AAOS) and the conservative range used before a therapist calibrates it. The angle
names of :mod:`feedback.angles`, the exercise files' ``[tracking] motion``, the physiological
limits of :mod:`calibration.limits`, the synthetic bodies and the CLI help all read it: a new
motion is its angle function here plus one :func:`register_motion` entry.

Motions (``left_`` and ``right_`` for each limb):

- ``shoulder_flexion``: upper arm (shoulder -> elbow) from the trunk's downward axis
  ``-U``, in the sagittal plane (``A``, ``U``), forward positive. 90 arm forward at
  shoulder height, 180 straight overhead; extension negative.
- ``shoulder_abduction``: the same in the frontal plane (``R``, ``U``), away from the body
  positive. 90 in a T-pose, 180 straight overhead; adduction across the body negative.
- Which of the two applies (world landmarks), after the ISB recommendation (Wu et al.
  2005, humerus relative to the thorax): the arm's *elevation* (angle from ``-U``, 0..180)
  and *plane of elevation* (its azimuth about ``U``: 0 out to the side, 90 forward, -90
  backward, 180 across the body). Elevated up to ``SHOULDER_LOW_ELEVATION_DEG`` (35), the
  plane is ill-defined and both plane angles are given (each at most the elevation in
  size). Over ``SHOULDER_OVERHEAD_ELEVATION_DEG`` (150) both are the elevation (so overhead
  reads at most 180). In between, flexion is given only with the plane within
  ``SHOULDER_PLANE_HALF_WIDTH_DEG`` (45) of forward, or of backward with the arm below
  shoulder height (extension), and abduction only within 45 of the frontal plane (so
  scaption, 30 forward of frontal, is abduction); elsewhere NaN: an arm out to the side
  has no flexion, an arm forward no abduction, horizontal adduction neither. Without this,
  an arm raised sideways a little behind the frontal plane read ~220 "flexion".
- ``hip_flexion`` / ``hip_abduction``: the thigh (hip -> knee) the same way, against the
  trunk: standing 0, sitting upright about 90.
- ``elbow_flexion`` = 180 - angle(shoulder, elbow, wrist); ``knee_flexion`` =
  180 - angle(hip, knee, ankle): 0 straight. These need no plane.
- ``ankle_dorsiflexion`` = 90 - angle(shank, foot), shank = ankle -> knee, foot =
  heel -> foot_index: 0 foot at right angles to the shank, positive toes toward the shin.
  (MediaPipe's heel -> foot_index line is not quite the sole, so the neutral of a given
  person may sit a few degrees off 0.)
- ``trunk_forward_lean`` / ``trunk_lateral_lean``: the trunk axis ``U`` against the
  series' ``up`` (gravity), split into its sagittal part (forward positive) and its
  frontal part (positive toward the patient's RIGHT), each ``atan2(U . d, U . up)`` with
  ``d`` the body's anterior (lateral) direction made horizontal.
- ``neck_flexion``: the head axis (mid-shoulder -> mid-ear) against ``U`` in the sagittal
  plane, forward positive. The ear sits over the shoulder in an upright posture, so a
  forward head shows as flexion.
- ``neck_rotation``: yaw of the ear line (left -> right ear) against the shoulder line,
  about the head axis, positive when the patient turns to THEIR LEFT.


Normal active range of motion, in degrees, from the American Academy of Orthopaedic
Surgeons (AAOS), *Joint Motion: Method of Measuring and Recording* (1965), as tabulated
in Greene & Heckman, *The Clinical Measurement of Joint Motion*, AAOS (1994), and
reproduced in Norkin & White, *Measurement of Joint Motion: A Guide to Goniometry*,
appendix A (``normal_rom_deg``: the range in the negative direction, then the positive):

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

``default_range_deg`` is deliberately conservative (roughly two thirds of the normal range):
what a live session uses for a motion the therapist has not calibrated yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, get_args

import numpy as np

from feedback.body_frame import (
    BodyFrame, cross3, dot, only_where, plane_angle_deg, reject, segment_angle_deg, unit, wrap_plane_deg,
)

Side = Literal["left", "right"]
SIDES: tuple[str, ...] = get_args(Side)

# Shoulder: the humerus' elevation (from the trunk's downward axis, 0..180) and plane of
# elevation (its azimuth about the trunk axis: 0 frontal/abduction, 90 forward/flexion, -90
# backward, +/-180 across the body), after the ISB recommendation (Wu et al. 2005). Flexion
# is reported only with the plane within SHOULDER_PLANE_HALF_WIDTH_DEG of forward (or of
# backward below shoulder height: extension), abduction only within it of the frontal plane.
SHOULDER_FLEXION_PLANE_DEG = 90.0
SHOULDER_EXTENSION_PLANE_DEG = -90.0
SHOULDER_ABDUCTION_PLANE_DEG = 0.0
SHOULDER_PLANE_HALF_WIDTH_DEG = 45.0
# Extension is read only with the arm below shoulder height (elevation up to this).
SHOULDER_EXTENSION_MAX_ELEVATION_DEG = 90.0
# Near the trunk axis the plane of elevation is ill-defined (gimbal lock): an arm elevated
# up to SHOULDER_LOW_ELEVATION_DEG reports both plane angles (each at most the elevation in
# size), an arm elevated over SHOULDER_OVERHEAD_ELEVATION_DEG reports the elevation as both.
SHOULDER_LOW_ELEVATION_DEG = 35.0
SHOULDER_OVERHEAD_ELEVATION_DEG = 150.0


# --------------------------------------------------------------------------- angle functions


def _limb_plane(body: BodyFrame, side: str, proximal: str, distal: str, *, frontal: bool) -> np.ndarray:
    segment = body.p(f"{side}_{distal}") - body.p(f"{side}_{proximal}")
    down = -body.trunk_up
    if frontal:
        away = body.right(proximal) * (1.0 if side == "right" else -1.0)
        return only_where(body.frontal_ok(), plane_angle_deg(segment, away, down))
    return only_where(body.sagittal_ok(), plane_angle_deg(segment, body.anterior(proximal), down))


def _hinge(body: BodyFrame, side: str, a: str, b: str, c: str) -> np.ndarray:
    pa, pb, pc = (body.p(f"{side}_{n}") for n in (a, b, c))
    return 180.0 - segment_angle_deg(pa - pb, pc - pb)


def _plane_distance_deg(plane_deg: np.ndarray, centre_deg: float) -> np.ndarray:
    """Unsigned angular distance (0..180) of the plane of elevation from ``centre_deg``."""
    return np.abs((plane_deg - centre_deg + 180.0) % 360.0 - 180.0)


def _shoulder_angles(body: BodyFrame, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(flexion, abduction) of one upper arm, (T,) each; see the module docstring (Motions).

    World landmarks: elevation and plane of elevation decide which of the two plane angles
    is meaningful. Pixels (no depth, no plane of elevation): the in-image plane angles,
    gated by the view like every other plane angle.
    """
    if body.flat:
        return (_limb_plane(body, side, "shoulder", "elbow", frontal=False),
                _limb_plane(body, side, "shoulder", "elbow", frontal=True))
    return body._cached(("shoulder_angles", side), lambda: _compute_shoulder_angles(body, side))


def _compute_shoulder_angles(body: BodyFrame, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Flexion and abduction from the arm's elevation and plane of elevation (world landmarks)."""
    arm = body.p(f"{side}_elbow") - body.p(f"{side}_shoulder")
    away = dot(arm, body.right("shoulder")) * (1.0 if side == "right" else -1.0)
    forward = dot(arm, body.anterior("shoulder"))
    down = -dot(arm, body.trunk_up)
    elevation = np.degrees(np.arctan2(np.hypot(forward, away), down))
    plane = np.degrees(np.arctan2(forward, away))
    sagittal = wrap_plane_deg(np.degrees(np.arctan2(forward, down)))
    frontal = wrap_plane_deg(np.degrees(np.arctan2(away, down)))
    low = elevation <= SHOULDER_LOW_ELEVATION_DEG
    overhead = elevation > SHOULDER_OVERHEAD_ELEVATION_DEG
    half = SHOULDER_PLANE_HALF_WIDTH_DEG
    flexing = ((_plane_distance_deg(plane, SHOULDER_FLEXION_PLANE_DEG) <= half)
               | ((_plane_distance_deg(plane, SHOULDER_EXTENSION_PLANE_DEG) <= half)
                  & (elevation <= SHOULDER_EXTENSION_MAX_ELEVATION_DEG)))
    abducting = _plane_distance_deg(plane, SHOULDER_ABDUCTION_PLANE_DEG) <= half
    flexion = np.where(overhead, elevation, np.where(low | flexing, sagittal, np.nan))
    abduction = np.where(overhead, elevation, np.where(low | abducting, frontal, np.nan))
    return flexion, abduction


def shoulder_flexion_deg(body: BodyFrame, side: str) -> np.ndarray:
    return _shoulder_angles(body, side)[0]


def shoulder_abduction_deg(body: BodyFrame, side: str) -> np.ndarray:
    return _shoulder_angles(body, side)[1]


def elbow_flexion_deg(body: BodyFrame, side: str) -> np.ndarray:
    return _hinge(body, side, "shoulder", "elbow", "wrist")


def hip_flexion_deg(body: BodyFrame, side: str) -> np.ndarray:
    return _limb_plane(body, side, "hip", "knee", frontal=False)


def hip_abduction_deg(body: BodyFrame, side: str) -> np.ndarray:
    return _limb_plane(body, side, "hip", "knee", frontal=True)


def knee_flexion_deg(body: BodyFrame, side: str) -> np.ndarray:
    return _hinge(body, side, "hip", "knee", "ankle")


def ankle_dorsiflexion_deg(body: BodyFrame, side: str) -> np.ndarray:
    shank = body.p(f"{side}_knee") - body.p(f"{side}_ankle")
    foot = body.p(f"{side}_foot_index") - body.p(f"{side}_heel")
    return only_where(body.sagittal_ok(), 90.0 - segment_angle_deg(shank, foot))


def _trunk_lean(body: BodyFrame, direction: np.ndarray) -> np.ndarray:
    trunk = body.measured_trunk_up  # never the assumed axis: lean needs the hips
    return np.degrees(np.arctan2(dot(trunk, direction), dot(trunk, body.up)))


def trunk_forward_lean_deg(body: BodyFrame, side: str | None = None) -> np.ndarray:
    return only_where(body.sagittal_ok(), _trunk_lean(body, body.horizontal_anterior()))


def trunk_lateral_lean_deg(body: BodyFrame, side: str | None = None) -> np.ndarray:
    return only_where(body.frontal_ok(), _trunk_lean(body, body.horizontal_right()))


def _head_axis(body: BodyFrame) -> np.ndarray:
    return body.mid("left_ear", "right_ear") - body.mid_shoulder


def neck_flexion_deg(body: BodyFrame, side: str | None = None) -> np.ndarray:
    head = _head_axis(body)
    x = dot(head, body.anterior("shoulder"))
    y = dot(head, body.trunk_up)
    return only_where(body.sagittal_ok(), np.degrees(np.arctan2(x, y)))


def neck_rotation_deg(body: BodyFrame, side: str | None = None) -> np.ndarray:
    if body.flat:
        return np.full(body.points.shape[0], np.nan)
    head = unit(_head_axis(body))
    right = unit(reject(body.right("shoulder"), head))
    anterior = body.handedness * cross3(head, right)
    ears = body.p("right_ear") - body.p("left_ear")
    return np.degrees(np.arctan2(dot(ears, anterior), dot(ears, right)))


# --------------------------------------------------------------------------- the registry


AngleFunction = Callable[[BodyFrame, "str | None"], np.ndarray]


@dataclass(frozen=True)
class Motion:
    """One motion, everything about it in one place (see the module docstring)."""

    name: str                          # "knee_flexion": without side, without "_deg"
    sided: bool                        # measured per side: left_knee_flexion, right_knee_flexion
    angle: AngleFunction               # (body frame, side or None) -> (T,) degrees
    landmarks: tuple[str, ...]         # needed in view; "{side}" filled in per side
    body_part: str                     # a [body_part] key of messages.toml: "let the camera see your ..."
    normal_rom_deg: tuple[float, float]    # AAOS normal range: (negative direction, positive direction)
    default_range_deg: tuple[float, float]  # comfortable range before any calibration
    inner_angle: bool = False          # 180 - the angle between two segments: never above 180
    upright_fallback: bool = False     # measured against the trunk axis, assumed upright without hips

    def full_names(self) -> tuple[str, ...]:
        """``("left_knee_flexion", "right_knee_flexion")``, or ``("neck_flexion",)``."""
        return tuple(f"{side}_{self.name}" for side in SIDES) if self.sided else (self.name,)


MOTION_REGISTRY: dict[str, Motion] = {}


def register_motion(motion: Motion, /) -> Motion:
    """Add ``motion`` to the registry (a name may be registered once)."""
    if motion.name in MOTION_REGISTRY:
        raise ValueError(f"motion {motion.name!r} is registered already")
    MOTION_REGISTRY[motion.name] = motion
    return motion


_ARM = ("{side}_shoulder", "{side}_elbow")
_TRUNK = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
_HEAD = ("nose", "left_ear", "right_ear", "left_shoulder", "right_shoulder")
# The hips are not among the shoulders' landmarks: with the hips below a webcam's image the
# shoulder angles are measured against gravity (the upright fallback), the seated case.
for _motion in (
    Motion("shoulder_flexion", True, shoulder_flexion_deg, _ARM, "arms", (60.0, 180.0), (0.0, 120.0),
           upright_fallback=True),
    Motion("shoulder_abduction", True, shoulder_abduction_deg, _ARM, "arms", (0.0, 180.0), (0.0, 90.0),
           upright_fallback=True),
    Motion("elbow_flexion", True, elbow_flexion_deg, ("{side}_shoulder", "{side}_elbow", "{side}_wrist"), "arms",
           (0.0, 150.0), (0.0, 130.0), inner_angle=True),
    Motion("hip_flexion", True, hip_flexion_deg, ("{side}_shoulder", "{side}_hip", "{side}_knee"), "legs",
           (30.0, 120.0), (0.0, 80.0)),
    Motion("hip_abduction", True, hip_abduction_deg, ("left_hip", "right_hip", "{side}_knee"), "legs",
           (30.0, 45.0), (0.0, 25.0)),
    Motion("knee_flexion", True, knee_flexion_deg, ("{side}_hip", "{side}_knee", "{side}_ankle"), "legs",
           (10.0, 135.0), (0.0, 90.0), inner_angle=True),
    Motion("ankle_dorsiflexion", True, ankle_dorsiflexion_deg, ("{side}_knee", "{side}_ankle", "{side}_foot_index"),
           "feet", (50.0, 20.0), (-30.0, 10.0)),
    Motion("trunk_forward_lean", False, trunk_forward_lean_deg, _TRUNK, "upper_body", (25.0, 80.0), (0.0, 30.0)),
    Motion("trunk_lateral_lean", False, trunk_lateral_lean_deg, _TRUNK, "upper_body", (35.0, 35.0), (-15.0, 15.0)),
    Motion("neck_flexion", False, neck_flexion_deg, _HEAD, "head", (45.0, 45.0), (-20.0, 30.0),
           upright_fallback=True),
    Motion("neck_rotation", False, neck_rotation_deg, _HEAD, "head", (60.0, 60.0), (-40.0, 40.0),
           upright_fallback=True),
):
    register_motion(_motion)


def get_motion(name: str, /) -> Motion:
    """The entry of a motion by its name, with or without side and ``_deg``
    (``"right_knee_flexion_deg"`` -> knee_flexion); KeyError when unknown."""
    base = name.removesuffix("_deg")
    for side in SIDES:
        base = base.removeprefix(f"{side}_")
    return MOTION_REGISTRY[base]


def sided_motions() -> tuple[str, ...]:
    return tuple(m.name for m in MOTION_REGISTRY.values() if m.sided)


def axial_motions() -> tuple[str, ...]:
    return tuple(m.name for m in MOTION_REGISTRY.values() if not m.sided)


def motion_names() -> tuple[str, ...]:
    """Every full motion name: each sided motion left then right, then the axial ones."""
    return tuple(n for m in MOTION_REGISTRY.values() if m.sided for n in m.full_names()) + axial_motions()


def motions_help() -> str:
    """The motions, as a command's help text names them."""
    return f"left_ or right_ + {', '.join(sided_motions())}; or {', '.join(axial_motions())}"
