"""Synthetic bodies with known joint angles, for tests, demos and benchmarks.

:func:`simulate_pose_frame` places all 33 MediaPipe landmarks of a stick body whose joint
angles are exactly the ones asked for, in the convention of :mod:`feedback.angles` (so
``compute_frame_angles`` gives them back), seen by a camera from any direction:

How the camera sees the body is a :class:`BodySpec`:

- world metres with MediaPipe's axes: x to the image's right, y DOWN, z away from the
  camera; origin at the mid-hip (as MediaPipe's world landmarks);
- ``yaw_deg`` turns the person about the vertical: 0 faces the camera, +90 faces the
  image's right (+x), -90 the image's left, 180 shows the back;
- ``view_pitch_deg`` / ``view_roll_deg`` tilt the camera (rotations of the whole scene
  about x, then z); gravity then no longer points along -y, and
  :func:`simulate_view_up` gives the ``up`` vector to pass on (the series built by
  :func:`simulate_landmark_series` carries it);
- with ``image_size=(width, height)`` it also gives pixel coordinates, an orthographic
  view of the (tilted) world x, y at ``px_per_m`` pixels per metre about the image centre;
- ``hidden`` landmarks (names, e.g. hips and knees below a webcam's frame) keep their
  positions but get visibility 0, as MediaPipe reports a guess it does not trust.

Angles are given by motion name, with or without ``_deg`` (``{"right_knee_flexion": 30}``);
unnamed ones are 0 (anatomical neutral). Shoulder and hip flexion and abduction are the
two plane projections of one segment, so they must be compatible: both under 90 or both
over 90 (a segment cannot be 90 in both planes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from feedback.motions import SIDES, motion_names
from core.errors import InputError, ValidationError
from sensing.landmarks import LANDMARK_INDEX, MEDIAPIPE_WORLD_UP, N_LANDMARKS, LandmarkSeries, PoseFrame

_EPS = 1e-9
BODY_HEIGHT_M = 1.75  # for the default pixel scale


@dataclass(frozen=True)
class BodySegments:
    """Segment lengths of the synthetic body, in metres (an average adult)."""

    trunk_m: float = 0.50  # mid-hip to mid-shoulder
    shoulder_half_width_m: float = 0.19
    hip_half_width_m: float = 0.10
    upper_arm_m: float = 0.30
    forearm_m: float = 0.26
    hand_m: float = 0.08
    thigh_m: float = 0.43
    shank_m: float = 0.42
    foot_m: float = 0.22  # heel to toes
    heel_below_ankle_m: float = 0.06
    heel_behind_ankle_m: float = 0.05
    neck_m: float = 0.20  # mid-shoulder to mid-ear
    head_half_width_m: float = 0.075  # mid-ear to ear
    nose_forward_m: float = 0.10  # ahead of the mid-ear


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if n < _EPS:
        raise ValidationError("Expected a body pose with every segment of non-zero length, but one vanished.")
    return v / n


def _reject(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    return v - float(np.dot(v, axis)) * axis


def _bend_direction(segment: np.ndarray, preferred: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Unit vector perpendicular to ``segment``, toward ``preferred`` (else ``fallback``)."""
    p = _reject(preferred, segment)
    if np.linalg.norm(p) < 1e-6:
        p = _reject(fallback, segment)
    return _unit(p)


def _rotation_x(angle_deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rotation_z(angle_deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _view_rotation(view_pitch_deg: float, view_roll_deg: float) -> np.ndarray:
    return _rotation_z(view_roll_deg) @ _rotation_x(view_pitch_deg)


def simulate_view_up(*, view_pitch_deg: float = 0.0, view_roll_deg: float = 0.0) -> tuple[float, float, float]:
    """The world ``up`` vector seen by a camera tilted by ``view_pitch_deg`` / ``view_roll_deg``."""
    up = _view_rotation(view_pitch_deg, view_roll_deg) @ np.asarray(MEDIAPIPE_WORLD_UP, dtype=float)
    return tuple(float(u) for u in up)


def _read_angles(angles_deg: Mapping[str, float] | None) -> dict[str, float]:
    out = {motion: 0.0 for motion in motion_names()}
    for key, value in (angles_deg or {}).items():
        name = key[:-4] if key.endswith("_deg") else key
        if name not in out:
            raise InputError(f"Expected angle names among {', '.join(motion_names())}, but got {key!r}.")
        out[name] = float(value)
    return out


def _visibility(hidden: Iterable[str]) -> np.ndarray:
    """(33,) visibility: 1, and 0 for the ``hidden`` landmark names."""
    visibility = np.ones(N_LANDMARKS)
    for name in ([hidden] if isinstance(hidden, str) else hidden):
        if name not in LANDMARK_INDEX:
            raise InputError(f"Expected landmark names to hide (e.g. 'left_hip'), but got {name!r}.")
        visibility[LANDMARK_INDEX[name]] = 0.0
    return visibility


def _limb_direction(flexion_deg: float, abduction_deg: float, side_sign: float,
                    anterior: np.ndarray, up: np.ndarray, right: np.ndarray, what: str) -> np.ndarray:
    """Unit segment whose sagittal / frontal projections make the two given angles."""
    f, a = math.radians(flexion_deg), math.radians(abduction_deg)
    if math.cos(f) * math.cos(a) < -1e-9:
        raise ValidationError(
            f"Expected {what} flexion and abduction both under 90 or both over 90 degrees, "
            f"but got {flexion_deg} and {abduction_deg}."
        )
    d = (math.sin(f) * abs(math.cos(a)) * anterior
         - math.cos(f) * abs(math.cos(a)) * up
         + side_sign * math.sin(a) * abs(math.cos(f)) * right)
    if np.linalg.norm(d) < 1e-6:
        raise ValidationError(
            f"Expected a {what} pose that exists, but flexion {flexion_deg} with abduction "
            f"{abduction_deg} leaves the segment in neither plane."
        )
    return _unit(d)


@dataclass(frozen=True)
class BodySpec:
    """Who is simulated and how the camera sees them (see the module docstring).

    ``segments`` the body's proportions; ``yaw_deg`` the person's turn about the vertical;
    ``view_pitch_deg`` / ``view_roll_deg`` the camera's tilt; ``image_size=(width, height)``
    adds pixels at ``px_per_m`` (default: the body fills 80 % of the height); ``hidden``
    landmark names get visibility 0.
    """

    segments: BodySegments = BodySegments()
    yaw_deg: float = 0.0
    view_pitch_deg: float = 0.0
    view_roll_deg: float = 0.0
    image_size: tuple[int, int] | None = None
    px_per_m: float | None = None
    hidden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        hidden = (self.hidden,) if isinstance(self.hidden, str) else tuple(self.hidden)
        object.__setattr__(self, "hidden", hidden)
        if self.image_size is not None:
            object.__setattr__(self, "image_size", tuple(self.image_size))

    @property
    def up(self) -> tuple[float, float, float]:
        """The world ``up`` vector as this camera sees it."""
        return simulate_view_up(view_pitch_deg=self.view_pitch_deg, view_roll_deg=self.view_roll_deg)


def _trunk_axes(ang: Mapping[str, float], yaw_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(anterior, up, right) unit axes of the trunk, in MediaPipe world axes before the camera tilt."""
    for lean in ("trunk_forward_lean", "trunk_lateral_lean"):
        if not -90.0 < ang[lean] < 90.0:
            raise ValidationError(f"Expected {lean} between -90 and 90 degrees, but got {ang[lean]}.")
    psi = math.radians(yaw_deg)
    gravity_up = np.asarray(MEDIAPIPE_WORLD_UP, dtype=float)
    heading = np.array([math.sin(psi), 0.0, -math.cos(psi)])
    heading_right = np.cross(heading, gravity_up)
    # Trunk orientation from the leans (see feedback.angles: atan2(U.d, U.up)).
    tf = math.tan(math.radians(ang["trunk_forward_lean"]))
    tl = math.tan(math.radians(ang["trunk_lateral_lean"]))
    up = _unit(tf * heading + gravity_up + tl * heading_right)
    anterior = _unit(heading - tf * gravity_up)
    return anterior, up, np.cross(anterior, up)


def _arm_points(side: str, shoulder: np.ndarray, ang, s: BodySegments, anterior, up, right) -> dict:
    sign = 1.0 if side == "right" else -1.0
    arm = _limb_direction(ang[f"{side}_shoulder_flexion"], ang[f"{side}_shoulder_abduction"],
                          sign, anterior, up, right, f"{side} shoulder")
    elbow = shoulder + s.upper_arm_m * arm
    bend = _bend_direction(arm, anterior, up)
    e = math.radians(ang[f"{side}_elbow_flexion"])
    forearm = math.cos(e) * arm + math.sin(e) * bend
    wrist = elbow + s.forearm_m * forearm
    thumb_side = _bend_direction(forearm, sign * right, anterior)
    return {
        f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_wrist": wrist,
        f"{side}_pinky": wrist + s.hand_m * forearm - 0.02 * thumb_side,
        f"{side}_index": wrist + s.hand_m * forearm + 0.02 * thumb_side,
        f"{side}_thumb": wrist + 0.5 * s.hand_m * forearm + 0.04 * thumb_side,
    }


def _leg_points(side: str, hip: np.ndarray, ang, s: BodySegments, anterior, up, right) -> dict:
    sign = 1.0 if side == "right" else -1.0
    thigh = _limb_direction(ang[f"{side}_hip_flexion"], ang[f"{side}_hip_abduction"],
                            sign, anterior, up, right, f"{side} hip")
    knee = hip + s.thigh_m * thigh
    back = _bend_direction(thigh, -anterior, -up)
    k = math.radians(ang[f"{side}_knee_flexion"])
    shank = math.cos(k) * thigh + math.sin(k) * back
    ankle = knee + s.shank_m * shank
    shank_up = -shank
    forward = _bend_direction(shank_up, anterior, up)
    d = math.radians(ang[f"{side}_ankle_dorsiflexion"])
    foot = math.cos(d) * forward + math.sin(d) * shank_up
    heel = ankle - s.heel_below_ankle_m * shank_up - s.heel_behind_ankle_m * foot
    return {
        f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle,
        f"{side}_heel": heel, f"{side}_foot_index": heel + s.foot_m * foot,
    }


def _head_points(mid_shoulder: np.ndarray, ang, s: BodySegments, anterior, up, right) -> dict:
    """Head: flexion tilts the head axis forward; rotation turns the face about it (left +)."""
    nf = math.radians(ang["neck_flexion"])
    rho = math.radians(ang["neck_rotation"])
    head_axis = math.cos(nf) * up + math.sin(nf) * anterior
    head_anterior = math.cos(nf) * anterior - math.sin(nf) * up
    ear_right = math.cos(rho) * right + math.sin(rho) * head_anterior
    face = math.cos(rho) * head_anterior - math.sin(rho) * right
    return compute_head_points(mid_shoulder, s, head_axis=head_axis, face=face, ear_right=ear_right)


def compute_head_points(mid_shoulder: np.ndarray, s: BodySegments, /, *, head_axis, face, ear_right) -> dict:
    """Ears, nose, eyes and mouth above ``mid_shoulder`` (one point or one per frame) for a head
    whose axis, facing direction and ear-to-ear direction (towards the right ear) are given."""
    mid_ear = mid_shoulder + s.neck_m * head_axis
    hw = s.head_half_width_m
    pts = {"left_ear": mid_ear - hw * ear_right, "right_ear": mid_ear + hw * ear_right,
           "nose": mid_ear + s.nose_forward_m * face - 0.02 * head_axis}
    eye_centre = mid_ear + 0.8 * s.nose_forward_m * face + 0.02 * head_axis
    for side in SIDES:
        sign = 1.0 if side == "right" else -1.0
        for suffix, offset_m in (("_inner", 0.015), ("", 0.032), ("_outer", 0.045)):
            pts[f"{side}_eye{suffix}"] = eye_centre + sign * offset_m * ear_right
    mouth_centre = mid_ear + 0.8 * s.nose_forward_m * face - 0.06 * head_axis
    pts["mouth_left"] = mouth_centre - 0.025 * ear_right
    pts["mouth_right"] = mouth_centre + 0.025 * ear_right
    return pts


def simulate_pose_frame(angles_deg: Mapping[str, float] | None = None, spec: BodySpec = BodySpec(), /) -> PoseFrame:
    """All 33 landmarks of a body holding ``angles_deg``, seen as ``spec`` says; see the module docstring."""
    ang = _read_angles(angles_deg)
    visibility = _visibility(spec.hidden)
    s = spec.segments
    anterior, up, right = _trunk_axes(ang, spec.yaw_deg)
    pts: dict[str, np.ndarray] = {}
    mid_hip = np.zeros(3)
    mid_shoulder = mid_hip + s.trunk_m * up
    for side in SIDES:
        sign = 1.0 if side == "right" else -1.0
        pts.update(_arm_points(side, mid_shoulder + sign * s.shoulder_half_width_m * right, ang, s, anterior, up, right))
        pts.update(_leg_points(side, mid_hip + sign * s.hip_half_width_m * right, ang, s, anterior, up, right))
    pts.update(_head_points(mid_shoulder, ang, s, anterior, up, right))
    world = np.full((N_LANDMARKS, 3), np.nan)
    for name, position in pts.items():
        world[LANDMARK_INDEX[name]] = position
    world = world @ _view_rotation(spec.view_pitch_deg, spec.view_roll_deg).T
    pixel = None
    if spec.image_size is not None:
        width_px, height_px = spec.image_size
        scale = spec.px_per_m if spec.px_per_m is not None else 0.8 * height_px / BODY_HEIGHT_M
        pixel = np.array([width_px / 2.0, height_px / 2.0]) + scale * world[:, :2]
    return PoseFrame(world_m=world, visibility=visibility, pixel_px=pixel)


def simulate_landmark_series(
    t_s: Sequence[float],
    angles_fn: Callable[[float], Mapping[str, float]] | Mapping[str, float] | None = None,
    spec: BodySpec = BodySpec(),
    /,
    *,
    pixels_only: bool = False,
) -> LandmarkSeries:
    """A series of :func:`simulate_pose_frame` bodies; ``angles_fn(t_s)`` gives each frame's
    angles (or pass one mapping for a still pose). ``pixels_only`` drops the world landmarks
    (NaN), as a 2-D pose model would give; ``spec.hidden`` landmarks have visibility 0 throughout."""
    times = np.asarray(t_s, dtype=float)
    frames = [simulate_pose_frame(angles_fn(float(t)) if callable(angles_fn) else angles_fn, spec) for t in times]
    series = LandmarkSeries.from_pose_frames(times, frames, image_size=spec.image_size, source="simulated",
                                             up=spec.up)
    if pixels_only:
        if series.pixel_px is None:
            raise InputError("Expected image_size with pixels_only=True, but got none; give BodySpec(image_size=(w, h)).")
        series = LandmarkSeries(t_s=series.t_s, world_m=np.full_like(series.world_m, np.nan),
                                visibility=series.visibility, pixel_px=series.pixel_px,
                                up=series.up, image_size=spec.image_size, source="simulated")
    return series
