"""Joint angles from a landmark series, in the clinician's convention.

Convention
----------
Degrees; flexion (and abduction, dorsiflexion, forward lean) positive; 0 at the anatomical
neutral position: standing upright, arms by the sides, palms forward, feet flat. The
numbers do not depend on where the camera is: every angle is measured in a body frame
built from the landmarks themselves, so a person facing the camera, facing left, facing
right or turned 30 degrees gets the same angles.

Body frame (per frame):

- ``U`` up the trunk: mid-hip -> mid-shoulder (or the series' ``up`` when the hips are
  unknown: see "Seated at a webcam" below).
- ``R`` to the patient's right: left -> right shoulder for the upper body (shoulders,
  neck), left -> right hip for the lower body (hips, trunk lean); made perpendicular to ``U``.
- ``A`` anterior: ``U x R``, with its sign chosen once per series so that it points where
  the nose and toes point (this also absorbs a mirrored, left-handed motion-capture frame).

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

Seated at a webcam: hips out of frame
-------------------------------------
A patient sitting at a laptop usually shows no hips (below the desk or the frame, or under
the visibility threshold). Then ``U`` cannot be measured, and in those frames, when both
shoulders are known, ``U`` is taken to be the series' ``up`` (the camera's up: MediaPipe
world ``(0, -1, 0)``), i.e. the trunk is ASSUMED UPRIGHT, and ``R`` comes from the
shoulders as usual. Shoulder flexion and abduction and neck flexion and rotation
(:data:`UPRIGHT_FALLBACK_ANGLE_NAMES`) are then measured against gravity rather than the
trunk: exact for an upright trunk and a level camera, off by the trunk's lean (or the
camera's pitch or roll) in that plane otherwise (a 15 degree forward lean reads 15 degrees
less shoulder flexion and 15 more neck flexion). Trunk lean itself stays NaN (it cannot be
measured without the hips), and so do the hip angles. :func:`compute_joint_angles` marks
those frames in ``attrs["assumed_upright"]`` ((T,) bool; see
:meth:`AngleSeries.assumed_upright_frames`) and :func:`compute_frame_angles` in the
result's ``assumed_upright`` attribute, so that feedback and summaries can say so.
``assume_upright=False`` turns the fallback off (those angles are NaN, as before). It
applies to world landmarks only: from pixels the view cannot be judged without the hips.

A hip plane angle is only as good as the segment's projection on that plane: when less
than ``MIN_PROJECTED_FRACTION`` of the segment lies in the plane (hip abduction when
seated), the angle is undefined and reported as NaN rather than a number dominated by
noise (the shoulders use the plane of elevation above instead). Plane angles are given in
[-90, 270) so that a segment past vertical does not flip between +180 and -180.

Coordinates
-----------
World landmarks (metres) are used when the series has any; otherwise image pixels
(``pixel_px``, aspect ratio kept, never normalised x, y, which a non-square frame
distorts). With pixels only, the body frame is flat: ``U`` is the image trunk axis, ``up``
is image-up ``(0, -1)`` (y grows downward; the camera is assumed level) and ``A`` and ``R``
are both the in-image perpendicular to the trunk, signed frame by frame by the nose/toes
(``A``) and the left -> right shoulders/hips (``R``). Each angle is then the angle in the
image plane, which is the true angle only when the movement is parallel to the image:
sagittal angles (flexion, dorsiflexion, forward lean, neck flexion) are given only in a
side view (shoulder and hip widths under ``SIDE_VIEW_MAX_WIDTH_RATIO`` of the trunk
length), frontal angles (abduction, lateral lean) only in a front or back view (over
``FRONT_VIEW_MIN_WIDTH_RATIO``), elbow and knee flexion always (foreshortened when the
limb points at the camera); neck rotation needs depth and is NaN, and so does the plane of
elevation: from pixels the shoulder angles are the in-image ones, gated by the view only.

Unknown is NaN: a landmark whose visibility is under ``visibility_threshold`` makes every
angle that uses it NaN. Runs of NaN up to ``max_gap_s`` are then linearly interpolated
(:func:`feedback.smoothing.fill_gaps`); longer runs stay NaN.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from feedback.smoothing import DEFAULT_MAX_GAP_S, fill_gaps
from core.errors import InputError
from sensing.landmarks import LANDMARK_INDEX, MEDIAPIPE_WORLD_UP, N_LANDMARKS, LandmarkSeries, load_csv_rows

logger = logging.getLogger(__name__)

SIDES = ("left", "right")
SIDED_MOTIONS: tuple[str, ...] = (
    "shoulder_flexion", "shoulder_abduction", "elbow_flexion",
    "hip_flexion", "hip_abduction", "knee_flexion", "ankle_dorsiflexion",
)
AXIAL_MOTIONS: tuple[str, ...] = (
    "trunk_forward_lean", "trunk_lateral_lean", "neck_flexion", "neck_rotation",
)
MOTIONS: tuple[str, ...] = tuple(
    f"{side}_{motion}" for motion in SIDED_MOTIONS for side in SIDES
) + AXIAL_MOTIONS
ANGLE_NAMES: tuple[str, ...] = tuple(f"{motion}_deg" for motion in MOTIONS)

DEFAULT_VISIBILITY_THRESHOLD = 0.5
# Below this fraction of a segment lying in the measuring plane, a plane angle is NaN
# (sin 20 deg: the segment is within 20 deg of the plane's normal).
MIN_PROJECTED_FRACTION = math.sin(math.radians(20.0))
# Plane angles are wrapped into [PLANE_ANGLE_MIN_DEG, PLANE_ANGLE_MIN_DEG + 360).
PLANE_ANGLE_MIN_DEG = -90.0
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
# Pixel-only views: (shoulder width + hip width) / 2 over trunk length, in the image.
SIDE_VIEW_MAX_WIDTH_RATIO = 0.25
FRONT_VIEW_MIN_WIDTH_RATIO = 0.45
IMAGE_UP = (0.0, -1.0)
_EPS = 1e-9

COORDINATES_WORLD = "world_m"
COORDINATES_PIXELS = "pixel_px"

# The seated-webcam fallback (see the module docstring): angles measured against the trunk
# axis ``U``, which take the series' ``up`` as ``U`` in the frames where the hips are unknown.
UPRIGHT_FALLBACK_ANGLE_NAMES: tuple[str, ...] = tuple(
    f"{side}_{motion}_deg" for motion in ("shoulder_flexion", "shoulder_abduction") for side in SIDES
) + ("neck_flexion_deg", "neck_rotation_deg")
# AngleSeries.attrs keys: a (T,) bool array, True in the frames that assumed an upright
# trunk, and the names of the angles that assumption touches.
ATTR_ASSUMED_UPRIGHT = "assumed_upright"
ATTR_ASSUMED_UPRIGHT_ANGLES = "assumed_upright_angles"
# attrs holding one value per frame, sliced along with the frames by AngleSeries.select.
PER_FRAME_ATTRS: tuple[str, ...] = (ATTR_ASSUMED_UPRIGHT,)


# --------------------------------------------------------------------------- results


def _angle_key(name: str) -> str:
    return name if name.endswith("_deg") else f"{name}_deg"


@dataclass(frozen=True)
class AngleSeries:
    """Joint angles over time: ``values_deg[:, k]`` is the column ``names[k]``; NaN = unknown."""

    t_s: np.ndarray  # (T,)
    names: tuple[str, ...]  # e.g. "right_knee_flexion_deg"
    values_deg: np.ndarray  # (T, K)
    coordinates: str = COORDINATES_WORLD  # which landmarks they came from: world_m or pixel_px
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = np.shape(self.t_s)[0] if np.ndim(self.t_s) == 1 else -1
        if np.ndim(self.t_s) != 1:
            raise InputError(f"Expected 't_s' to have 1 dimension, but got {np.ndim(self.t_s)}.")
        if np.shape(self.values_deg) != (n, len(self.names)):
            raise InputError(
                f"Expected 'values_deg' of shape ({n}, {len(self.names)}), but got "
                f"{np.shape(self.values_deg)}."
            )

    def __len__(self) -> int:
        return int(np.shape(self.t_s)[0])

    def column(self, name: str) -> np.ndarray:
        """One angle over time, by name with or without ``_deg`` (``"right_knee_flexion"``)."""
        key = _angle_key(name)
        try:
            k = self.names.index(key)
        except ValueError:
            raise InputError(
                f"Expected an angle name among {', '.join(self.names)}, but got {name!r}."
            ) from None
        return self.values_deg[:, k]

    def select(self, mask_or_slice) -> "AngleSeries":
        """A new series with only the chosen frames (per-frame attrs are cut to match)."""
        attrs = dict(self.attrs)
        for key in PER_FRAME_ATTRS:
            if key in attrs:
                attrs[key] = np.asarray(attrs[key])[mask_or_slice]
        return AngleSeries(
            t_s=np.asarray(self.t_s)[mask_or_slice],
            names=self.names,
            values_deg=np.asarray(self.values_deg)[mask_or_slice],
            coordinates=self.coordinates,
            attrs=attrs,
        )

    def assumed_upright_frames(self, name: str | None = None) -> np.ndarray:
        """(T,) bool: the frames whose trunk axis was assumed upright (hips unknown).

        With ``name``, only where that angle relied on it (always False for an angle that
        does not use the trunk axis, e.g. elbow flexion). All False when the series does
        not say (e.g. loaded from a CSV file).
        """
        flags = self.attrs.get(ATTR_ASSUMED_UPRIGHT)
        if flags is None:
            return np.zeros(len(self), dtype=bool)
        flags = np.asarray(flags, dtype=bool)
        if name is None:
            return flags.copy()
        key = _angle_key(name)
        self.column(key)  # the same clear error for an unknown name
        if key not in self.attrs.get(ATTR_ASSUMED_UPRIGHT_ANGLES, UPRIGHT_FALLBACK_ANGLE_NAMES):
            return np.zeros(len(self), dtype=bool)
        return flags.copy()


class FrameAngles(dict):
    """One frame's angles, ``{"right_knee_flexion_deg": 12.3, ...}`` (NaN = unknown), as a
    plain dict, plus ``assumed_upright``: True when the hips were unknown and the angles of
    :data:`UPRIGHT_FALLBACK_ANGLE_NAMES` took the camera's up as the trunk axis."""

    def __init__(self, values=(), /, *, assumed_upright: bool = False):
        super().__init__(values)
        self.assumed_upright = bool(assumed_upright)

    @property
    def assumed_upright_angles(self) -> tuple[str, ...]:
        """The names whose value rests on the upright assumption in this frame (may be empty)."""
        return UPRIGHT_FALLBACK_ANGLE_NAMES if self.assumed_upright else ()


# --------------------------------------------------------------------------- vector helpers


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def _norm(a: np.ndarray) -> np.ndarray:
    return np.sqrt(_dot(a, a))


def _unit(a: np.ndarray) -> np.ndarray:
    n = _norm(a)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > _EPS, a / n, np.nan)


def _reject(a: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """``a`` with its component along the unit ``axis`` removed."""
    return a - _dot(a, axis)[..., None] * axis


def _cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                     a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def _perp2(a: np.ndarray) -> np.ndarray:
    """``a`` (..., 2) turned by 90 degrees."""
    return np.stack([-a[..., 1], a[..., 0]], axis=-1)


def _segment_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors ``a`` and ``b`` (..., D), 0..180."""
    ua, ub = _unit(a), _unit(b)
    if a.shape[-1] == 3:
        sin = _norm(_cross3(ua, ub))
    else:
        sin = np.abs(ua[..., 0] * ub[..., 1] - ua[..., 1] * ub[..., 0])
    return np.degrees(np.arctan2(sin, _dot(ua, ub)))


def _wrap_plane_deg(angle_deg: np.ndarray) -> np.ndarray:
    return (angle_deg - PLANE_ANGLE_MIN_DEG) % 360.0 + PLANE_ANGLE_MIN_DEG


def _plane_angle_deg(v: np.ndarray, toward: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Angle of ``v`` from the unit ``zero`` axis, positive toward the unit ``toward`` axis,
    in their plane; NaN when too little of ``v`` lies in that plane."""
    x = _dot(v, toward)
    y = _dot(v, zero)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.hypot(x, y) / _norm(v)
    angle = _wrap_plane_deg(np.degrees(np.arctan2(x, y)))
    return np.where(fraction >= MIN_PROJECTED_FRACTION, angle, np.nan)


# --------------------------------------------------------------------------- body frame


class _Body:
    """Gated landmark positions of one series and the body frame built from them."""

    def __init__(self, points: np.ndarray, up: np.ndarray, *, assume_upright: bool = True):
        self.points = points  # (T, 33, D), NaN where unknown or not visible enough
        self.up = up  # (D,) unit
        self.dim = points.shape[2]
        self.flat = self.dim == 2
        # The upright fallback needs depth: a flat (pixel) frame cannot judge the view without hips.
        self.allow_upright_fallback = assume_upright and not self.flat
        self._cache: dict[tuple[str, str], object] = {}

    def p(self, name: str) -> np.ndarray:
        return self.points[:, LANDMARK_INDEX[name], :]

    def mid(self, a: str, b: str) -> np.ndarray:
        return 0.5 * (self.p(a) + self.p(b))

    @cached_property
    def mid_hip(self) -> np.ndarray:
        return self.mid("left_hip", "right_hip")

    @cached_property
    def mid_shoulder(self) -> np.ndarray:
        return self.mid("left_shoulder", "right_shoulder")

    @cached_property
    def measured_trunk_up(self) -> np.ndarray:
        """Unit mid-hip -> mid-shoulder (T, D); NaN where the hips or shoulders are unknown."""
        return _unit(self.mid_shoulder - self.mid_hip)

    @cached_property
    def assumed_upright(self) -> np.ndarray:
        """(T,) frames whose trunk axis is the series' ``up``: hips unknown, shoulders known."""
        if not self.allow_upright_fallback:
            return np.zeros(self.points.shape[0], dtype=bool)
        hips_unknown = ~np.isfinite(self.mid_hip).all(axis=-1)
        shoulders = self.p("right_shoulder") - self.p("left_shoulder")
        shoulders_known = np.isfinite(shoulders).all(axis=-1) & (_norm(shoulders) > _EPS)
        return hips_unknown & shoulders_known

    @cached_property
    def trunk_up(self) -> np.ndarray:
        """``U``: the measured trunk axis, or ``up`` in the frames that assume an upright trunk."""
        return np.where(self.assumed_upright[:, None], self.up, self.measured_trunk_up)

    def _anterior_evidence(self, direction: np.ndarray) -> np.ndarray:
        """How far nose and toes lie along ``direction`` (T,); NaN when none is known."""
        parts = np.stack([
            _dot(self.p("nose") - self.mid_shoulder, direction),
            _dot(self.p("left_foot_index") - self.p("left_heel"), direction),
            _dot(self.p("right_foot_index") - self.p("right_heel"), direction),
        ], axis=-1)
        known = np.isfinite(parts).any(axis=-1)
        return np.where(known, np.nansum(parts, axis=-1), np.nan)

    @cached_property
    def handedness(self) -> float:
        """+1 when ``U x R`` points where the nose and toes point (a right-handed world)."""
        evidence = self._anterior_evidence(_cross3(self.trunk_up, self._right_raw("shoulder")))
        evidence = evidence[np.isfinite(evidence)]
        if evidence.size == 0:
            return 1.0
        return -1.0 if float(np.median(np.sign(evidence))) < 0 else 1.0

    def _right_raw(self, joint: str) -> np.ndarray:
        return _unit(_reject(self.p(f"right_{joint}") - self.p(f"left_{joint}"), self.trunk_up))

    def _flat_sign(self, evidence: np.ndarray) -> np.ndarray:
        sign = np.sign(evidence)
        return np.where(np.isfinite(sign) & (sign != 0), sign, np.nan)

    @cached_property
    def _flat_perp(self) -> np.ndarray:
        return _perp2(self.trunk_up)

    def _cached(self, key: tuple[str, str], make: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def right(self, joint: str) -> np.ndarray:
        """Unit (T, D) toward the patient's right, from the ``joint`` pair ("shoulder"/"hip")."""
        return self._cached(("right", joint), lambda: self._make_right(joint))

    def anterior(self, joint: str) -> np.ndarray:
        """Unit (T, D) anterior, perpendicular to the trunk, with the frame of ``joint``."""
        return self._cached(("anterior", joint), lambda: self._make_anterior(joint))

    def _make_right(self, joint: str) -> np.ndarray:
        if not self.flat:
            return self._right_raw(joint)
        perp = self._flat_perp
        evidence = (_dot(self.p("right_shoulder") - self.p("left_shoulder"), perp)
                    + _dot(self.p("right_hip") - self.p("left_hip"), perp))
        return perp * self._flat_sign(evidence)[:, None]

    def _make_anterior(self, joint: str) -> np.ndarray:
        if not self.flat:
            return self.handedness * _cross3(self.trunk_up, self.right(joint))
        perp = self._flat_perp
        return perp * self._flat_sign(self._anterior_evidence(perp))[:, None]

    @cached_property
    def _flat_width_ratio(self) -> np.ndarray:
        perp = self._flat_perp
        width = 0.5 * (np.abs(_dot(self.p("right_shoulder") - self.p("left_shoulder"), perp))
                       + np.abs(_dot(self.p("right_hip") - self.p("left_hip"), perp)))
        with np.errstate(invalid="ignore", divide="ignore"):
            return width / _norm(self.mid_shoulder - self.mid_hip)

    def sagittal_ok(self) -> np.ndarray:
        """(T,) frames where sagittal angles are defined (always, unless pixel-only)."""
        if not self.flat:
            return np.ones(self.points.shape[0], dtype=bool)
        return self._flat_width_ratio <= SIDE_VIEW_MAX_WIDTH_RATIO

    def frontal_ok(self) -> np.ndarray:
        if not self.flat:
            return np.ones(self.points.shape[0], dtype=bool)
        return self._flat_width_ratio >= FRONT_VIEW_MIN_WIDTH_RATIO

    def horizontal_anterior(self) -> np.ndarray:
        return _unit(_reject(self.anterior("hip"), self.up))

    def horizontal_right(self) -> np.ndarray:
        if self.flat:
            return _unit(_reject(self.right("hip"), self.up))
        return self.handedness * _cross3(self.horizontal_anterior(), self.up)


def _only_where(ok: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.where(ok, values, np.nan)


# --------------------------------------------------------------------------- motions


def _limb_plane(body: _Body, side: str, proximal: str, distal: str, *, frontal: bool) -> np.ndarray:
    segment = body.p(f"{side}_{distal}") - body.p(f"{side}_{proximal}")
    down = -body.trunk_up
    if frontal:
        away = body.right(proximal) * (1.0 if side == "right" else -1.0)
        return _only_where(body.frontal_ok(), _plane_angle_deg(segment, away, down))
    return _only_where(body.sagittal_ok(), _plane_angle_deg(segment, body.anterior(proximal), down))


def _hinge(body: _Body, side: str, a: str, b: str, c: str) -> np.ndarray:
    pa, pb, pc = (body.p(f"{side}_{n}") for n in (a, b, c))
    return 180.0 - _segment_angle_deg(pa - pb, pc - pb)


def _plane_distance_deg(plane_deg: np.ndarray, centre_deg: float) -> np.ndarray:
    """Unsigned angular distance (0..180) of the plane of elevation from ``centre_deg``."""
    return np.abs((plane_deg - centre_deg + 180.0) % 360.0 - 180.0)


def _shoulder_angles(body: _Body, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(flexion, abduction) of one upper arm, (T,) each; see the module docstring.

    World landmarks: elevation and plane of elevation decide which of the two plane angles
    is meaningful. Pixels (no depth, no plane of elevation): the in-image plane angles,
    gated by the view like every other plane angle.
    """
    if body.flat:
        return (_limb_plane(body, side, "shoulder", "elbow", frontal=False),
                _limb_plane(body, side, "shoulder", "elbow", frontal=True))
    return body._cached(("shoulder_angles", side), lambda: _compute_shoulder_angles(body, side))


def _compute_shoulder_angles(body: _Body, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Flexion and abduction from the arm's elevation and plane of elevation (world landmarks)."""
    arm = body.p(f"{side}_elbow") - body.p(f"{side}_shoulder")
    away = _dot(arm, body.right("shoulder")) * (1.0 if side == "right" else -1.0)
    forward = _dot(arm, body.anterior("shoulder"))
    down = -_dot(arm, body.trunk_up)
    elevation = np.degrees(np.arctan2(np.hypot(forward, away), down))
    plane = np.degrees(np.arctan2(forward, away))
    sagittal = _wrap_plane_deg(np.degrees(np.arctan2(forward, down)))
    frontal = _wrap_plane_deg(np.degrees(np.arctan2(away, down)))
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


def _shoulder_flexion(body: _Body, side: str) -> np.ndarray:
    return _shoulder_angles(body, side)[0]


def _shoulder_abduction(body: _Body, side: str) -> np.ndarray:
    return _shoulder_angles(body, side)[1]


def _elbow_flexion(body: _Body, side: str) -> np.ndarray:
    return _hinge(body, side, "shoulder", "elbow", "wrist")


def _hip_flexion(body: _Body, side: str) -> np.ndarray:
    return _limb_plane(body, side, "hip", "knee", frontal=False)


def _hip_abduction(body: _Body, side: str) -> np.ndarray:
    return _limb_plane(body, side, "hip", "knee", frontal=True)


def _knee_flexion(body: _Body, side: str) -> np.ndarray:
    return _hinge(body, side, "hip", "knee", "ankle")


def _ankle_dorsiflexion(body: _Body, side: str) -> np.ndarray:
    shank = body.p(f"{side}_knee") - body.p(f"{side}_ankle")
    foot = body.p(f"{side}_foot_index") - body.p(f"{side}_heel")
    return _only_where(body.sagittal_ok(), 90.0 - _segment_angle_deg(shank, foot))


def _trunk_lean(body: _Body, direction: np.ndarray) -> np.ndarray:
    trunk = body.measured_trunk_up  # never the assumed axis: lean needs the hips
    return np.degrees(np.arctan2(_dot(trunk, direction), _dot(trunk, body.up)))


def _trunk_forward_lean(body: _Body, side: None) -> np.ndarray:
    return _only_where(body.sagittal_ok(), _trunk_lean(body, body.horizontal_anterior()))


def _trunk_lateral_lean(body: _Body, side: None) -> np.ndarray:
    return _only_where(body.frontal_ok(), _trunk_lean(body, body.horizontal_right()))


def _head_axis(body: _Body) -> np.ndarray:
    return body.mid("left_ear", "right_ear") - body.mid_shoulder


def _neck_flexion(body: _Body, side: None) -> np.ndarray:
    head = _head_axis(body)
    x = _dot(head, body.anterior("shoulder"))
    y = _dot(head, body.trunk_up)
    return _only_where(body.sagittal_ok(), np.degrees(np.arctan2(x, y)))


def _neck_rotation(body: _Body, side: None) -> np.ndarray:
    if body.flat:
        return np.full(body.points.shape[0], np.nan)
    head = _unit(_head_axis(body))
    right = _unit(_reject(body.right("shoulder"), head))
    anterior = body.handedness * _cross3(head, right)
    ears = body.p("right_ear") - body.p("left_ear")
    return np.degrees(np.arctan2(_dot(ears, anterior), _dot(ears, right)))


_MOTION_FUNCTIONS: dict[str, Callable[[_Body, str | None], np.ndarray]] = {
    "shoulder_flexion": _shoulder_flexion,
    "shoulder_abduction": _shoulder_abduction,
    "elbow_flexion": _elbow_flexion,
    "hip_flexion": _hip_flexion,
    "hip_abduction": _hip_abduction,
    "knee_flexion": _knee_flexion,
    "ankle_dorsiflexion": _ankle_dorsiflexion,
    "trunk_forward_lean": _trunk_forward_lean,
    "trunk_lateral_lean": _trunk_lateral_lean,
    "neck_flexion": _neck_flexion,
    "neck_rotation": _neck_rotation,
}


# --------------------------------------------------------------------------- entry points


def _choose_pixels(series: LandmarkSeries, use_pixels: bool | None) -> bool:
    if use_pixels is None:
        return not series.has_world and series.pixel_px is not None
    if use_pixels and series.pixel_px is None:
        raise InputError(
            f"Expected pixel coordinates for use_pixels=True, but the series from "
            f"{series.source or 'its source'} has none; use its world landmarks (use_pixels=None)."
        )
    return bool(use_pixels)


def _build_body(series: LandmarkSeries, *, visibility_threshold: float, use_pixels: bool,
                assume_upright: bool = True) -> _Body:
    if use_pixels:
        points = np.array(series.pixel_px, dtype=float)
        up = np.asarray(IMAGE_UP, dtype=float)
    else:
        points = np.array(series.world_m, dtype=float)
        up = np.asarray(series.up, dtype=float)
        norm = float(np.linalg.norm(up))
        if up.shape != (3,) or not norm > 0:
            raise InputError(f"Expected the series' 'up' to be a non-zero 3-vector, but got {series.up}.")
        up = up / norm
    hidden = ~(np.asarray(series.visibility, dtype=float) >= visibility_threshold)
    points[hidden] = np.nan
    return _Body(points, up, assume_upright=assume_upright)


def _check_motion(joint: str, side: str | None) -> str:
    if joint in SIDED_MOTIONS:
        if side not in SIDES:
            raise InputError(f"Expected side 'left' or 'right' for {joint!r}, but got {side!r}.")
        return f"{side}_{joint}"
    if joint in AXIAL_MOTIONS:
        if side is not None:
            raise InputError(f"Expected side=None for the axial motion {joint!r}, but got {side!r}.")
        return joint
    raise InputError(
        f"Expected a joint motion among {', '.join(SIDED_MOTIONS + AXIAL_MOTIONS)}, but got {joint!r}."
    )


def compute_joint_angle(
    series: LandmarkSeries,
    /,
    *,
    joint: str,
    side: str | None = None,
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    use_pixels: bool | None = None,
    assume_upright: bool = True,
) -> np.ndarray:
    """One angle (T,) in degrees, e.g. ``joint="knee_flexion", side="right"``; axial motions
    (``"trunk_forward_lean"``, ``"neck_rotation"``...) take ``side=None``. Same maths and
    options as :func:`compute_joint_angles` (which also says which frames assumed an
    upright trunk)."""
    _check_motion(joint, side)
    pixels = _choose_pixels(series, use_pixels)
    body = _build_body(series, visibility_threshold=visibility_threshold, use_pixels=pixels,
                       assume_upright=assume_upright)
    values = _MOTION_FUNCTIONS[joint](body, side)
    return fill_gaps(series.t_s, values, max_gap_s=max_gap_s)


def compute_joint_angles(
    series: LandmarkSeries,
    /,
    *,
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    use_pixels: bool | None = None,
    assume_upright: bool = True,
    motions: Sequence[str] | None = None,
) -> AngleSeries:
    """Every angle of :data:`ANGLE_NAMES` for every frame of ``series`` (only those of
    ``motions``, e.g. ``("right_shoulder_flexion", "trunk_forward_lean")``, when given: the
    same values, less work for a live loop that needs a few).

    World landmarks are used when the series has any, else pixels (``use_pixels`` forces
    one or the other). Landmarks under ``visibility_threshold`` are unknown; NaN runs up
    to ``max_gap_s`` are interpolated. In the frames where the hips are unknown but the
    shoulders are known (world landmarks only), the shoulder and neck angles take the
    series' ``up`` as the trunk axis unless ``assume_upright=False``; ``attrs["assumed_upright"]``
    (T,) marks those frames and ``attrs["assumed_upright_angles"]`` names the angles
    concerned (see :meth:`AngleSeries.assumed_upright_frames`). See the module docstring
    for the convention.
    """
    pixels = _choose_pixels(series, use_pixels)
    body = _build_body(series, visibility_threshold=visibility_threshold, use_pixels=pixels,
                       assume_upright=assume_upright)
    wanted = None if motions is None else set(motions)
    if wanted is not None and not wanted <= set(MOTIONS):
        raise InputError(f"Expected motions among {', '.join(MOTIONS)}, but got {sorted(wanted - set(MOTIONS))}.")
    columns, names = [], []
    for motion in SIDED_MOTIONS:
        for side in SIDES:
            if wanted is None or f"{side}_{motion}" in wanted:
                columns.append(_MOTION_FUNCTIONS[motion](body, side))
                names.append(f"{side}_{motion}_deg")
    for motion in AXIAL_MOTIONS:
        if wanted is None or motion in wanted:
            columns.append(_MOTION_FUNCTIONS[motion](body, None))
            names.append(f"{motion}_deg")
    values = np.stack(columns, axis=1) if columns else np.zeros((len(series), 0))
    values = fill_gaps(series.t_s, values, max_gap_s=max_gap_s)
    assumed = body.assumed_upright.copy()
    if assumed.any():
        logger.debug("hips unknown in %d of %d frames: shoulder and neck angles assume an "
                     "upright trunk there", int(assumed.sum()), len(assumed))
    return AngleSeries(
        t_s=np.array(series.t_s, dtype=float),
        names=ANGLE_NAMES if wanted is None else tuple(names),
        values_deg=values,
        coordinates=COORDINATES_PIXELS if pixels else COORDINATES_WORLD,
        attrs={"source": series.source, ATTR_ASSUMED_UPRIGHT: assumed,
               ATTR_ASSUMED_UPRIGHT_ANGLES: UPRIGHT_FALLBACK_ANGLE_NAMES},
    )


def compute_frame_angles(
    world_m,
    visibility,
    /,
    *,
    up=MEDIAPIPE_WORLD_UP,
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
    assume_upright: bool = True,
    motions: Sequence[str] | None = None,
) -> FrameAngles:
    """Angles of one frame of world landmarks (33, 3) with visibilities (33,), by name
    (``{"right_knee_flexion_deg": 12.3, ...}``; NaN = unknown); only ``motions`` when given.
    Same maths as :func:`compute_joint_angles` (the nose/toes decide the anterior sign from
    this frame alone).
    The result is a dict whose ``assumed_upright`` attribute is True when the hips were
    unknown and the shoulder and neck angles took ``up`` as the trunk axis."""
    world = np.asarray(world_m, dtype=float)
    vis = np.asarray(visibility, dtype=float)
    if world.shape != (N_LANDMARKS, 3) or vis.shape != (N_LANDMARKS,):
        raise InputError(
            f"Expected world_m of shape ({N_LANDMARKS}, 3) and visibility of shape ({N_LANDMARKS},), "
            f"but got {world.shape} and {vis.shape}."
        )
    series = LandmarkSeries(t_s=np.zeros(1), world_m=world[None], visibility=vis[None],
                            up=tuple(float(u) for u in up))
    angles = compute_joint_angles(series, visibility_threshold=visibility_threshold, max_gap_s=0.0,
                                  use_pixels=False, assume_upright=assume_upright, motions=motions)
    return FrameAngles({name: float(angles.values_deg[0, k]) for k, name in enumerate(angles.names)},
                       assumed_upright=bool(angles.attrs[ATTR_ASSUMED_UPRIGHT][0]))


# --------------------------------------------------------------------------- CSV


def _fmt(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else ""


def save_angles_csv(angles: AngleSeries, path: str | Path, /) -> Path:
    """Write ``t_s`` and one column per angle (degrees, empty = unknown); returns the path."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["t_s", *angles.names])
        for i in range(len(angles)):
            writer.writerow([f"{float(angles.t_s[i]):.6f}",
                             *(_fmt(float(v)) for v in angles.values_deg[i])])
    return path


def load_angles_csv(path: str | Path, /) -> AngleSeries:
    """Read a file written by :func:`save_angles_csv` (any ``*_deg`` columns after ``t_s``)."""
    path = Path(path)
    header, rows = load_csv_rows(path, what="Angle file")
    if not header or header[0].strip() != "t_s":
        raise InputError(f"{path}: expected a header row starting with 't_s', but got {header!r}.")
    names = tuple(h.strip() for h in header[1:])
    if not names or not all(n.endswith("_deg") for n in names):
        raise InputError(f"{path}: expected angle columns ending in '_deg' after 't_s', but got {names!r}.")
    width = len(header)
    try:
        table = np.array(
            [[float(c) if c.strip() not in ("", "nan", "NaN") else np.nan
              for c in (row + [""] * (width - len(row)))[:width]] for row in rows],
            dtype=float,
        ).reshape(len(rows), width)
    except ValueError as exc:
        raise InputError(f"{path} has a value that is not a number ({exc}).") from exc
    if np.isnan(table[:, 0]).any():
        raise InputError(f"{path} has rows without a time in 't_s'.")
    return AngleSeries(t_s=table[:, 0], names=names, values_deg=table[:, 1:],
                       attrs={"source": str(path)})
