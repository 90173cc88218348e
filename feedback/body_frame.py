"""The body frame every joint angle is measured in, built from the landmarks themselves.

Part of :mod:`feedback.angles` (the entry points and the convention); the motions measured
in this frame are :mod:`feedback.motions`.

Body frame (per frame):

- ``U`` up the trunk: mid-hip -> mid-shoulder (or the series' ``up`` when the hips are
  unknown: see "Seated at a webcam" below).
- ``R`` to the patient's right: left -> right shoulder for the upper body (shoulders,
  neck), left -> right hip for the lower body (hips, trunk lean); made perpendicular to ``U``.
- ``A`` anterior: ``U x R``, with its sign chosen once per series so that it points where
  the nose and toes point (this also absorbs a mirrored, left-handed motion-capture frame).

Seated at a webcam: hips out of frame
-------------------------------------
A patient sitting at a laptop usually shows no hips (below the desk or the frame, or under
the visibility threshold). Then ``U`` cannot be measured, and in those frames, when both
shoulders are known, ``U`` is taken to be the series' ``up`` (the camera's up: MediaPipe
world ``(0, -1, 0)``), i.e. the trunk is ASSUMED UPRIGHT, and ``R`` comes from the
shoulders as usual. Shoulder flexion and abduction and neck flexion and rotation
(:data:`feedback.angles.UPRIGHT_FALLBACK_ANGLE_NAMES`) are then measured against gravity rather than the
trunk: exact for an upright trunk and a level camera, off by the trunk's lean (or the
camera's pitch or roll) in that plane otherwise (a 15 degree forward lean reads 15 degrees
less shoulder flexion and 15 more neck flexion). Trunk lean itself stays NaN (it cannot be
measured without the hips), and so do the hip angles. ``compute_joint_angles`` marks
those frames in ``attrs["assumed_upright"]`` ((T,) bool; see
``AngleSeries.assumed_upright_frames``) and ``compute_frame_angles`` in the
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
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Callable

import numpy as np

from core.errors import InputError
from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries

# Below this fraction of a segment lying in the measuring plane, a plane angle is NaN
# (sin 20 deg: the segment is within 20 deg of the plane's normal).
MIN_PROJECTED_FRACTION = math.sin(math.radians(20.0))
# Plane angles are wrapped into [PLANE_ANGLE_MIN_DEG, PLANE_ANGLE_MIN_DEG + 360).
PLANE_ANGLE_MIN_DEG = -90.0
# Pixel-only views: (shoulder width + hip width) / 2 over trunk length, in the image.
SIDE_VIEW_MAX_WIDTH_RATIO = 0.25
FRONT_VIEW_MIN_WIDTH_RATIO = 0.45
IMAGE_UP = (0.0, -1.0)
EPS = 1e-9


# --------------------------------------------------------------------------- vector helpers


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def norm(a: np.ndarray) -> np.ndarray:
    return np.sqrt(dot(a, a))


def unit(a: np.ndarray) -> np.ndarray:
    n = norm(a)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > EPS, a / n, np.nan)


def reject(a: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """``a`` with its component along the unit ``axis`` removed."""
    return a - dot(a, axis)[..., None] * axis


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                     a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def perp2(a: np.ndarray) -> np.ndarray:
    """``a`` (..., 2) turned by 90 degrees."""
    return np.stack([-a[..., 1], a[..., 0]], axis=-1)


def segment_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors ``a`` and ``b`` (..., D), 0..180."""
    ua, ub = unit(a), unit(b)
    if a.shape[-1] == 3:
        sin = norm(cross3(ua, ub))
    else:
        sin = np.abs(ua[..., 0] * ub[..., 1] - ua[..., 1] * ub[..., 0])
    return np.degrees(np.arctan2(sin, dot(ua, ub)))


def wrap_plane_deg(angle_deg: np.ndarray) -> np.ndarray:
    return (angle_deg - PLANE_ANGLE_MIN_DEG) % 360.0 + PLANE_ANGLE_MIN_DEG


def plane_angle_deg(v: np.ndarray, toward: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Angle of ``v`` from the unit ``zero`` axis, positive toward the unit ``toward`` axis,
    in their plane; NaN when too little of ``v`` lies in that plane."""
    x = dot(v, toward)
    y = dot(v, zero)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.hypot(x, y) / norm(v)
    angle = wrap_plane_deg(np.degrees(np.arctan2(x, y)))
    return np.where(fraction >= MIN_PROJECTED_FRACTION, angle, np.nan)


# --------------------------------------------------------------------------- body frame


class BodyFrame:
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
        return unit(self.mid_shoulder - self.mid_hip)

    @cached_property
    def assumed_upright(self) -> np.ndarray:
        """(T,) frames whose trunk axis is the series' ``up``: hips unknown, shoulders known."""
        if not self.allow_upright_fallback:
            return np.zeros(self.points.shape[0], dtype=bool)
        hips_unknown = ~np.isfinite(self.mid_hip).all(axis=-1)
        shoulders = self.p("right_shoulder") - self.p("left_shoulder")
        shoulders_known = np.isfinite(shoulders).all(axis=-1) & (norm(shoulders) > EPS)
        return hips_unknown & shoulders_known

    @cached_property
    def trunk_up(self) -> np.ndarray:
        """``U``: the measured trunk axis, or ``up`` in the frames that assume an upright trunk."""
        return np.where(self.assumed_upright[:, None], self.up, self.measured_trunk_up)

    def _anterior_evidence(self, direction: np.ndarray) -> np.ndarray:
        """How far nose and toes lie along ``direction`` (T,); NaN when none is known."""
        parts = np.stack([
            dot(self.p("nose") - self.mid_shoulder, direction),
            dot(self.p("left_foot_index") - self.p("left_heel"), direction),
            dot(self.p("right_foot_index") - self.p("right_heel"), direction),
        ], axis=-1)
        known = np.isfinite(parts).any(axis=-1)
        return np.where(known, np.nansum(parts, axis=-1), np.nan)

    @cached_property
    def handedness(self) -> float:
        """+1 when ``U x R`` points where the nose and toes point (a right-handed world)."""
        evidence = self._anterior_evidence(cross3(self.trunk_up, self._right_raw("shoulder")))
        evidence = evidence[np.isfinite(evidence)]
        if evidence.size == 0:
            return 1.0
        return -1.0 if float(np.median(np.sign(evidence))) < 0 else 1.0

    def _right_raw(self, joint: str) -> np.ndarray:
        return unit(reject(self.p(f"right_{joint}") - self.p(f"left_{joint}"), self.trunk_up))

    def _flat_sign(self, evidence: np.ndarray) -> np.ndarray:
        sign = np.sign(evidence)
        return np.where(np.isfinite(sign) & (sign != 0), sign, np.nan)

    @cached_property
    def _flat_perp(self) -> np.ndarray:
        return perp2(self.trunk_up)

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
        evidence = (dot(self.p("right_shoulder") - self.p("left_shoulder"), perp)
                    + dot(self.p("right_hip") - self.p("left_hip"), perp))
        return perp * self._flat_sign(evidence)[:, None]

    def _make_anterior(self, joint: str) -> np.ndarray:
        if not self.flat:
            return self.handedness * cross3(self.trunk_up, self.right(joint))
        perp = self._flat_perp
        return perp * self._flat_sign(self._anterior_evidence(perp))[:, None]

    @cached_property
    def _flat_width_ratio(self) -> np.ndarray:
        perp = self._flat_perp
        width = 0.5 * (np.abs(dot(self.p("right_shoulder") - self.p("left_shoulder"), perp))
                       + np.abs(dot(self.p("right_hip") - self.p("left_hip"), perp)))
        with np.errstate(invalid="ignore", divide="ignore"):
            return width / norm(self.mid_shoulder - self.mid_hip)

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
        return unit(reject(self.anterior("hip"), self.up))

    def horizontal_right(self) -> np.ndarray:
        if self.flat:
            return unit(reject(self.right("hip"), self.up))
        return self.handedness * cross3(self.horizontal_anterior(), self.up)


def only_where(ok: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.where(ok, values, np.nan)


# --------------------------------------------------------------------------- building one


def choose_pixels(series: LandmarkSeries, use_pixels: bool | None) -> bool:
    """Measure in pixels? ``use_pixels`` if given, else only when the series has no world landmarks."""
    if use_pixels is None:
        return not series.has_world and series.pixel_px is not None
    if use_pixels and series.pixel_px is None:
        raise InputError(
            f"Expected pixel coordinates for use_pixels=True, but the series from "
            f"{series.source or 'its source'} has none; use its world landmarks (use_pixels=None)."
        )
    return bool(use_pixels)


def build_body_frame(series: LandmarkSeries, *, visibility_threshold: float, use_pixels: bool,
                     assume_upright: bool = True) -> BodyFrame:
    """The gated landmarks of ``series`` (world metres, or pixels) and their body frame."""
    if use_pixels:
        points = np.array(series.pixel_px, dtype=float)
        up = np.asarray(IMAGE_UP, dtype=float)
    else:
        points = np.array(series.world_m, dtype=float)
        up = np.asarray(series.up, dtype=float)
        length = float(np.linalg.norm(up))
        if up.shape != (3,) or not length > 0:
            raise InputError(f"Expected the series' 'up' to be a non-zero 3-vector, but got {series.up}.")
        up = up / length
    hidden = ~(np.asarray(series.visibility, dtype=float) >= visibility_threshold)
    points[hidden] = np.nan
    return BodyFrame(points, up, assume_upright=assume_upright)
