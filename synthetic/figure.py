"""The simulated person's body in a room, seen by a pinhole camera (for :mod:`synthetic.assessments`).

A :class:`Track` holds, frame by frame, the pelvis on the walkway, the facing direction, the
trunk lean and the thigh and knee angles; the motion pieces (seated, rising, standing,
sitting, walking, turning) fill it, :func:`body_points` turns it into the 33 MediaPipe
landmarks in room metres, and :func:`view` into what a camera beside the walkway sees: the
hip-centred world landmarks in camera axes (as MediaPipe gives them) and pixels. The model
and its sources are described in :mod:`synthetic.assessments`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sensing.landmarks import LANDMARK_INDEX
from synthetic.body import BodySegments, compute_head_points

TRUNK_LEAN_PEAK_DEG = 40.0     # forward trunk lean at its peak in a rise (Schenkman 1990: 30-45)
FLEXION_PHASE = 0.4            # share of a rise spent leaning the trunk forward
EXTENSION_START = 0.25         # hips and knees start extending at this share of the rise
SHANK_TILT_PEAK_DEG = 15.0     # the knee moves this far ahead of the ankle mid-rise
FOOT_LATERAL_M = 0.10          # each ankle's distance from the midline
WALK_RAMP_S = 0.6              # speeding up after standing, slowing before a turn
THIGH_SWING_DEG = 20.0         # thigh swing either side of vertical while walking
KNEE_SWING_DEG = 55.0          # knee flexion peak in swing
ARM_SWING_DEG = 12.0
TURN_WALK_SPEED_FRACTION = 0.0  # the body turns on the spot
SEAT_TO_LINE_M = 3.0           # the TUG walkway: chair front to the line


@dataclass(frozen=True)
class Pace:
    """How quickly one simulated person moves."""

    name: str
    rise_s: float
    sit_s: float
    stand_pause_s: float
    seated_pause_s: float
    walk_speed_m_s: float
    turn_s: float
    cadence_steps_per_min: float


PACES = {
    "frail": Pace("frail", rise_s=2.6, sit_s=2.8, stand_pause_s=0.5, seated_pause_s=0.6,
                  walk_speed_m_s=0.5, turn_s=3.0, cadence_steps_per_min=80.0),
    "typical": Pace("typical", rise_s=1.1, sit_s=1.2, stand_pause_s=0.2, seated_pause_s=0.2,
                    walk_speed_m_s=1.0, turn_s=1.6, cadence_steps_per_min=105.0),
    "brisk": Pace("brisk", rise_s=0.85, sit_s=0.9, stand_pause_s=0.1, seated_pause_s=0.1,
                  walk_speed_m_s=1.4, turn_s=1.0, cadence_steps_per_min=120.0),
}


@dataclass(frozen=True)
class Camera:
    """A pinhole camera beside the walkway (side view), ``distance_m`` from the line the
    person moves along, lens ``height_m`` above the floor, pitched down by ``pitch_deg``
    (``None``: aimed at ``aim_height_m`` on that line)."""

    height_m: float = 1.0
    distance_m: float = 3.5
    pitch_deg: float | None = None
    aim_x_m: float = 0.0
    aim_height_m: float = 0.85
    image_size: tuple[int, int] = (960, 540)
    horizontal_fov_deg: float = 70.0

    @property
    def pitch(self) -> float:
        if self.pitch_deg is not None:
            return self.pitch_deg
        return math.degrees(math.atan2(self.height_m - self.aim_height_m, self.distance_m))

    @property
    def focal_px(self) -> float:
        return self.image_size[0] / 2.0 / math.tan(math.radians(self.horizontal_fov_deg) / 2.0)


SEATED_HEIGHT_CAMERA = Camera(height_m=1.0)    # on a table, at a seated person's eye height
STANDING_HEIGHT_CAMERA = Camera(height_m=1.7)  # on a tripod at a standing person's eye height


# ----------------------------------------------------------------------------- motion pieces

def raised_cosine(u: np.ndarray) -> np.ndarray:
    """Raised cosine from 0 (u <= 0) to 1 (u >= 1): speed rises linearly from rest."""
    u = np.clip(u, 0.0, 1.0)
    return (1.0 - np.cos(np.pi * u)) / 2.0


def rise_shape(s: np.ndarray, extension: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thigh elevation gamma, shank tilt beta, trunk lean) in degrees at rise progress ``s``."""
    lean = TRUNK_LEAN_PEAK_DEG * np.where(s < FLEXION_PHASE, raised_cosine(s / FLEXION_PHASE),
                                          1.0 - raised_cosine((s - FLEXION_PHASE) / (1.0 - FLEXION_PHASE)))
    e = extension * raised_cosine((s - EXTENSION_START) / (1.0 - EXTENSION_START))
    return 90.0 * e, SHANK_TILT_PEAK_DEG * np.sin(np.pi * np.clip(e, 0.0, 1.0)), lean


def compute_time_to_standing_angle(rise_s: float, within_deg: float, /) -> float:
    """Seconds from a rise's onset until the simulated knee and hip are both within
    ``within_deg`` of straight (the analytic time a standing-angle rule should find)."""
    s = np.linspace(0.0, 1.0, 20001)
    gamma, beta, lean = rise_shape(s)
    ok = (90.0 - gamma + beta <= within_deg) & (90.0 - gamma + lean <= within_deg)
    return float(s[np.argmax(ok)] * rise_s)


def pelvis_over_feet(gamma_deg, beta_deg, seg: BodySegments) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis (ahead of the ankles, height above the floor) with the feet fixed."""
    g, b = np.radians(gamma_deg), np.radians(beta_deg)
    ankle_h = seg.heel_below_ankle_m
    knee_a, knee_h = seg.shank_m * np.sin(b), ankle_h + seg.shank_m * np.cos(b)
    return knee_a - seg.thigh_m * np.cos(g), knee_h + seg.thigh_m * np.sin(g)


@dataclass
class Track:
    """Per-frame body state in the room (filled segment by segment)."""

    t_s: np.ndarray
    x: np.ndarray = None          # pelvis along the walkway (m)
    height: np.ndarray = None     # pelvis above the floor (m)
    yaw: np.ndarray = None        # facing, degrees (0 = +x)
    lean: np.ndarray = None       # trunk forward lean (deg)
    thigh: np.ndarray = None      # (T, 2) left, right: thigh from straight down, forward + (deg)
    knee: np.ndarray = None       # (T, 2) knee flexion (deg)
    swing: np.ndarray = None      # (T,) arm swing phase weight (0 crossed arms .. 1 walking)
    arm_phase: np.ndarray = None

    def __post_init__(self) -> None:
        n = len(self.t_s)
        self.x, self.height, self.yaw, self.lean = (np.zeros(n) for _ in range(4))
        self.thigh, self.knee = np.zeros((n, 2)), np.zeros((n, 2))
        self.swing, self.arm_phase = np.zeros(n), np.zeros(n)

    def sts(self, a: float, b: float, s_of_t, *, x_ankle: float, yaw: float, seg: BodySegments,
            extension: float = 1.0) -> None:
        m = (self.t_s >= a) & (self.t_s < b)
        gamma, beta, lean = rise_shape(s_of_t(self.t_s[m]), extension)
        ahead, h = pelvis_over_feet(gamma, beta, seg)
        sign = math.cos(math.radians(yaw))
        self.x[m], self.height[m], self.yaw[m], self.lean[m] = x_ankle + sign * ahead, h, yaw, lean
        self.thigh[m] = (90.0 - gamma)[:, None]
        self.knee[m] = (90.0 - gamma + beta)[:, None]
        self.swing[m] = 0.0


def hold_seated(track: Track, a: float, b: float, *, x_ankle: float, yaw: float, seg: BodySegments) -> None:
    track.sts(a, b, lambda t: np.zeros_like(t), x_ankle=x_ankle, yaw=yaw, seg=seg)


def hold_standing(track: Track, a: float, b: float, *, x_ankle: float, yaw: float, seg: BodySegments) -> None:
    track.sts(a, b, lambda t: np.ones_like(t), x_ankle=x_ankle, yaw=yaw, seg=seg)


def rise(track, t0, dur, **kw):
    track.sts(t0, t0 + dur, lambda t: (t - t0) / dur, **kw)


def sit(track, t0, dur, **kw):
    track.sts(t0, t0 + dur, lambda t: 1.0 - (t - t0) / dur, **kw)


def swing_legs(track: Track, m: np.ndarray, pace: Pace, amplitude: np.ndarray | float = 1.0) -> None:
    """Legs and arms swinging at the pace's cadence over the frames ``m``."""
    phase = 2.0 * math.pi * pace.cadence_steps_per_min / 120.0 * track.t_s[m]
    amp = np.broadcast_to(amplitude, phase.shape)
    for k, offset in enumerate((0.0, math.pi)):
        ph = phase + offset
        track.thigh[m, k] = amp * THIGH_SWING_DEG * np.sin(ph)
        track.knee[m, k] = amp * KNEE_SWING_DEG * np.clip(np.sin(ph + 0.9), 0.0, None) ** 2 + 5.0 * amp
    track.swing[m], track.arm_phase[m] = amp, phase
    standing_h = track.height[m]
    track.height[m] = standing_h - 0.02 * amp * (1 - np.cos(2 * phase)) / 2


def walk(track: Track, t0: float, x0: float, x1: float, pace: Pace, *, seg: BodySegments) -> float:
    """Walk the pelvis from ``x0`` to ``x1`` (ramped speed); returns the end time."""
    d = abs(x1 - x0)
    v = pace.walk_speed_m_s
    ramp = min(WALK_RAMP_S, d / v)
    dur = d / v + ramp  # a raised-cosine ramp at each end costs ramp/2 of full-speed time each
    m = (track.t_s >= t0) & (track.t_s < t0 + dur)
    tau = track.t_s[m] - t0
    # distance covered: speed ramps up over `ramp`, cruises, ramps down over the last `ramp`
    speed_shape = np.minimum(raised_cosine(tau / ramp), raised_cosine((dur - tau) / ramp))
    dt = np.diff(track.t_s).mean() if len(track.t_s) > 1 else 1.0
    covered = np.cumsum(speed_shape) * dt
    covered *= d / max(covered[-1], 1e-9) if len(covered) else 1.0
    direction = 1.0 if x1 >= x0 else -1.0
    track.x[m] = x0 + direction * covered
    track.yaw[m] = 0.0 if direction > 0 else 180.0
    track.height[m] = pelvis_over_feet(90.0, 0.0, seg)[1]
    track.lean[m] = 3.0
    swing_legs(track, m, pace, amplitude=speed_shape)
    return t0 + dur


def turn(track: Track, t0: float, dur: float, x: float, yaw0: float, yaw1: float, pace: Pace,
          *, seg: BodySegments) -> None:
    m = (track.t_s >= t0) & (track.t_s < t0 + dur)
    u = (track.t_s[m] - t0) / dur
    track.x[m] = x
    track.yaw[m] = yaw0 + (yaw1 - yaw0) * raised_cosine(u)
    track.height[m] = pelvis_over_feet(90.0, 0.0, seg)[1]
    track.lean[m] = 3.0
    swing_legs(track, m, pace, amplitude=0.5)


# ----------------------------------------------------------------------------- body and camera

def body_points(track: Track, seg: BodySegments, *, y_m: float) -> dict[str, np.ndarray]:
    """All 33 landmarks in room coordinates (x along the walkway, y away from the camera,
    z up), each (T, 3)."""
    n = len(track.t_s)
    psi = np.radians(track.yaw)
    ahead = np.stack([np.cos(psi), np.sin(psi), np.zeros(n)], axis=1)
    up = np.tile([0.0, 0.0, 1.0], (n, 1))
    right = np.cross(ahead, up)
    pelvis = np.stack([track.x, np.full(n, y_m), track.height], axis=1)
    lean = np.radians(track.lean)[:, None]
    trunk = np.sin(lean) * ahead + np.cos(lean) * up
    trunk_ahead = np.cos(lean) * ahead - np.sin(lean) * up
    pts: dict[str, np.ndarray] = {}
    mid_sh = pelvis + seg.trunk_m * trunk
    for k, (side, sign) in enumerate((("left", -1.0), ("right", 1.0))):
        hip = pelvis + sign * seg.hip_half_width_m * right
        th = np.radians(track.thigh[:, k])[:, None]
        knee = hip + seg.thigh_m * (np.sin(th) * ahead - np.cos(th) * up)
        sh = np.radians(track.thigh[:, k] - track.knee[:, k])[:, None]
        ankle = knee + seg.shank_m * (np.sin(sh) * ahead - np.cos(sh) * up)
        ankle = ankle + (sign * FOOT_LATERAL_M - sign * seg.hip_half_width_m) * right
        heel = ankle - seg.heel_below_ankle_m * up - seg.heel_behind_ankle_m * ahead
        pts.update({f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle, f"{side}_heel": heel,
                    f"{side}_foot_index": heel + seg.foot_m * ahead})
        shoulder = mid_sh + sign * seg.shoulder_half_width_m * right
        # arms crossed over the chest (chair tests) blend into a gentle swing (walking)
        swing = np.radians(ARM_SWING_DEG * np.sin(track.arm_phase + (math.pi if sign > 0 else 0.0)))[:, None]
        w = track.swing[:, None]
        hang = np.sin(swing) * trunk_ahead - np.cos(swing) * trunk
        fold = 0.55 * trunk_ahead - 0.8 * trunk - 0.3 * sign * right
        upper = w * hang + (1 - w) * fold
        upper /= np.linalg.norm(upper, axis=1, keepdims=True)
        elbow = shoulder + seg.upper_arm_m * upper
        across = mid_sh - sign * seg.shoulder_half_width_m * right + 0.08 * trunk_ahead - 0.05 * trunk
        fore_fold = across - elbow
        fore_hang = 0.3 * trunk_ahead - trunk
        fore = w * fore_hang / np.linalg.norm(fore_hang, axis=1, keepdims=True) \
            + (1 - w) * fore_fold / np.linalg.norm(fore_fold, axis=1, keepdims=True)
        fore /= np.linalg.norm(fore, axis=1, keepdims=True)
        wrist = elbow + seg.forearm_m * fore
        pts.update({f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_wrist": wrist,
                    f"{side}_pinky": wrist + seg.hand_m * fore - 0.02 * sign * right,
                    f"{side}_index": wrist + seg.hand_m * fore + 0.02 * sign * right,
                    f"{side}_thumb": wrist + 0.5 * seg.hand_m * fore + 0.04 * sign * right})
    pts.update(compute_head_points(mid_sh, seg, head_axis=trunk, face=trunk_ahead, ear_right=right))
    return pts


def camera_axes(cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Camera centre and its right / down / forward unit vectors in room coordinates."""
    p = math.radians(cam.pitch)
    fwd = np.array([0.0, math.cos(p), -math.sin(p)])
    right = np.array([1.0, 0.0, 0.0])
    down = np.cross(fwd, right)
    centre = np.array([cam.aim_x_m, -cam.distance_m, cam.height_m])
    return centre, right, down, fwd


def view(pts: dict[str, np.ndarray], cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(world_m hip-centred in camera axes (T,33,3), pixel_px (T,33,2), depth_m (T,33))."""
    centre, right, down, fwd = camera_axes(cam)
    room = np.stack([pts[name] for name in sorted(LANDMARK_INDEX, key=LANDMARK_INDEX.get)], axis=1)
    rel = room - centre
    cam_xyz = np.stack([rel @ right, rel @ down, rel @ fwd], axis=-1)
    mid_hip = (cam_xyz[:, LANDMARK_INDEX["left_hip"]] + cam_xyz[:, LANDMARK_INDEX["right_hip"]]) / 2
    world = cam_xyz - mid_hip[:, None, :]
    w, h = cam.image_size
    f = cam.focal_px
    pixel = np.stack([w / 2 + f * cam_xyz[..., 0] / cam_xyz[..., 2], h / 2 + f * cam_xyz[..., 1] / cam_xyz[..., 2]],
                     axis=-1)
    return world, pixel, cam_xyz[..., 2]


def scaled_segments(seg: BodySegments, k: float) -> BodySegments:
    return BodySegments(**{name: getattr(seg, name) * k for name in seg.__dataclass_fields__})


def project_room_points(points_m: np.ndarray, cam: Camera, /) -> np.ndarray:
    """Pixels (N, 2) of room points (N, 3) (x along the walkway, y away from the camera, z up)."""
    centre, right, down, fwd = camera_axes(cam)
    rel = np.asarray(points_m, float) - centre
    z = rel @ fwd
    w, h = cam.image_size
    return np.stack([w / 2 + cam.focal_px * (rel @ right) / z, h / 2 + cam.focal_px * (rel @ down) / z], axis=-1)


