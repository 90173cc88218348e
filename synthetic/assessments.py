"""Simulated people doing the standard functional tests, with analytic timings.

:func:`simulate_chair_stands` (30-second chair stand, five times sit-to-stand) and
:func:`simulate_tug` (Timed Up and Go) give what a single-person pose model would: a
:class:`~sensing.landmarks.LandmarkSeries` with MediaPipe-like world landmarks (metres,
camera axes: x right, y down, z away from the lens, origin at the mid-hip, ``up`` taken as
the camera's -y because a pose model does not know the camera's pitch) and pixel
coordinates through a pinhole camera placed beside the walkway at a given height and
pitch (:class:`Camera`). ``series.attrs["truth"]`` holds the analytic event times.

Model (one spec dataclass per test, :class:`ChairStandSpec` and :class:`TugSpec`):

- **Sit-to-stand** with the feet fixed on the floor. The shank tilts forward by ``beta``
  (knee over the toes) and the thigh rises from horizontal by ``gamma``, so the knee
  flexion is ``90 - gamma + beta`` and the hip flexion ``90 - gamma + trunk lean``. A rise
  has three overlapping raised-cosine parts (Schenkman et al. 1990, *Phys Ther* 70:638,
  phases of the sit-to-stand): the trunk leans forward by ``TRUNK_LEAN_PEAK_DEG`` over the
  first ``FLEXION_PHASE`` of the rise, the hips and knees extend over the rest while the
  trunk returns upright. Sitting down is a rise played backwards. A movement begins and
  ends at rest, with speed rising linearly from zero (a raised cosine), so "movement
  onset" and "seated again" are exact instants.
- A stand that does not reach full standing extends only to ``incomplete_extension`` of
  the way (0 seated, 1 standing) and sits back.
- **Walking** (TUG) moves the pelvis along the walkway at the pace's speed (ramped up and
  down over ``WALK_RAMP_S``) with the legs swinging; turns rotate the body 180 degrees on the
  spot over the pace's ``turn_s``; the last turn is followed by sitting down.
- **A second person** (:class:`SecondPerson`) walks between the camera and the patient; a
  single-person tracker jumps to them for ``duration_s`` (the landmarks of those frames
  are theirs), which is what MediaPipe does when someone closer crosses the picture.

Paces (:data:`PACES`): ``frail``, ``typical`` and ``brisk`` older adults, chosen so that the
simulated test results span the published ranges (TUG about 8 to 22 s, 4 to 16 chair
stands in 30 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from sensing.landmarks import LANDMARK_INDEX, N_LANDMARKS, LandmarkSeries
from synthetic.body import BodySegments

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


@dataclass(frozen=True)
class SecondPerson:
    """Someone walking between the camera and the patient; the tracker follows them from
    ``start_s`` for ``duration_s``."""

    start_s: float
    duration_s: float = 1.0
    distance_from_camera_m: float = 1.8
    size: float = 0.95  # segment lengths relative to the patient's


@dataclass(frozen=True)
class ChairStandSpec:
    pace: Pace = PACES["typical"]
    stands: int = 12                      # rises attempted, one after the other
    lead_in_s: float = 2.0                # seated still before the first rise
    tail_s: float = 2.0                   # seated still after the last
    incomplete: tuple[int, ...] = ()      # which rises (0-based) stop short of standing
    incomplete_extension: float = 0.5
    camera: Camera = SEATED_HEIGHT_CAMERA
    second_person: SecondPerson | None = None
    rate_hz: float = 30.0
    noise_px: float = 0.0
    noise_m: float = 0.0
    seed: int = 0
    segments: BodySegments = BodySegments()


@dataclass(frozen=True)
class TugSpec:
    pace: Pace = PACES["typical"]
    walk_m: float = SEAT_TO_LINE_M
    lead_in_s: float = 2.0
    tail_s: float = 2.0
    camera: Camera = field(default_factory=lambda: Camera(height_m=1.0, distance_m=4.5, aim_x_m=1.5))
    second_person: SecondPerson | None = None
    rate_hz: float = 30.0
    noise_px: float = 0.0
    noise_m: float = 0.0
    seed: int = 0
    segments: BodySegments = BodySegments()


# ----------------------------------------------------------------------------- motion pieces

def _ramp(u: np.ndarray) -> np.ndarray:
    """Raised cosine from 0 (u <= 0) to 1 (u >= 1): speed rises linearly from rest."""
    u = np.clip(u, 0.0, 1.0)
    return (1.0 - np.cos(np.pi * u)) / 2.0


def _rise_shape(s: np.ndarray, extension: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thigh elevation gamma, shank tilt beta, trunk lean) in degrees at rise progress ``s``."""
    lean = TRUNK_LEAN_PEAK_DEG * np.where(s < FLEXION_PHASE, _ramp(s / FLEXION_PHASE),
                                          1.0 - _ramp((s - FLEXION_PHASE) / (1.0 - FLEXION_PHASE)))
    e = extension * _ramp((s - EXTENSION_START) / (1.0 - EXTENSION_START))
    return 90.0 * e, SHANK_TILT_PEAK_DEG * np.sin(np.pi * np.clip(e, 0.0, 1.0)), lean


def compute_time_to_standing_angle(rise_s: float, within_deg: float, /) -> float:
    """Seconds from a rise's onset until the simulated knee and hip are both within
    ``within_deg`` of straight (the analytic time a standing-angle rule should find)."""
    s = np.linspace(0.0, 1.0, 20001)
    gamma, beta, lean = _rise_shape(s)
    ok = (90.0 - gamma + beta <= within_deg) & (90.0 - gamma + lean <= within_deg)
    return float(s[np.argmax(ok)] * rise_s)


def _sts_pelvis(gamma_deg, beta_deg, seg: BodySegments) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis (ahead of the ankles, height above the floor) with the feet fixed."""
    g, b = np.radians(gamma_deg), np.radians(beta_deg)
    ankle_h = seg.heel_below_ankle_m
    knee_a, knee_h = seg.shank_m * np.sin(b), ankle_h + seg.shank_m * np.cos(b)
    return knee_a - seg.thigh_m * np.cos(g), knee_h + seg.thigh_m * np.sin(g)


@dataclass
class _Track:
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
        gamma, beta, lean = _rise_shape(s_of_t(self.t_s[m]), extension)
        ahead, h = _sts_pelvis(gamma, beta, seg)
        sign = math.cos(math.radians(yaw))
        self.x[m], self.height[m], self.yaw[m], self.lean[m] = x_ankle + sign * ahead, h, yaw, lean
        self.thigh[m] = (90.0 - gamma)[:, None]
        self.knee[m] = (90.0 - gamma + beta)[:, None]
        self.swing[m] = 0.0


def _seated(track: _Track, a: float, b: float, *, x_ankle: float, yaw: float, seg: BodySegments) -> None:
    track.sts(a, b, lambda t: np.zeros_like(t), x_ankle=x_ankle, yaw=yaw, seg=seg)


def _standing(track: _Track, a: float, b: float, *, x_ankle: float, yaw: float, seg: BodySegments) -> None:
    track.sts(a, b, lambda t: np.ones_like(t), x_ankle=x_ankle, yaw=yaw, seg=seg)


def _rise(track, t0, dur, **kw):
    track.sts(t0, t0 + dur, lambda t: (t - t0) / dur, **kw)


def _sit(track, t0, dur, **kw):
    track.sts(t0, t0 + dur, lambda t: 1.0 - (t - t0) / dur, **kw)


def _walk_legs(track: _Track, m: np.ndarray, pace: Pace, amplitude: np.ndarray | float = 1.0) -> None:
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


def _walk(track: _Track, t0: float, x0: float, x1: float, pace: Pace, *, seg: BodySegments) -> float:
    """Walk the pelvis from ``x0`` to ``x1`` (ramped speed); returns the end time."""
    d = abs(x1 - x0)
    v = pace.walk_speed_m_s
    ramp = min(WALK_RAMP_S, d / v)
    dur = d / v + ramp  # a raised-cosine ramp at each end costs ramp/2 of full-speed time each
    m = (track.t_s >= t0) & (track.t_s < t0 + dur)
    tau = track.t_s[m] - t0
    # distance covered: speed ramps up over `ramp`, cruises, ramps down over the last `ramp`
    speed_shape = np.minimum(_ramp(tau / ramp), _ramp((dur - tau) / ramp))
    dt = np.diff(track.t_s).mean() if len(track.t_s) > 1 else 1.0
    covered = np.cumsum(speed_shape) * dt
    covered *= d / max(covered[-1], 1e-9) if len(covered) else 1.0
    direction = 1.0 if x1 >= x0 else -1.0
    track.x[m] = x0 + direction * covered
    track.yaw[m] = 0.0 if direction > 0 else 180.0
    track.height[m] = _sts_pelvis(90.0, 0.0, seg)[1]
    track.lean[m] = 3.0
    _walk_legs(track, m, pace, amplitude=speed_shape)
    return t0 + dur


def _turn(track: _Track, t0: float, dur: float, x: float, yaw0: float, yaw1: float, pace: Pace,
          *, seg: BodySegments) -> None:
    m = (track.t_s >= t0) & (track.t_s < t0 + dur)
    u = (track.t_s[m] - t0) / dur
    track.x[m] = x
    track.yaw[m] = yaw0 + (yaw1 - yaw0) * _ramp(u)
    track.height[m] = _sts_pelvis(90.0, 0.0, seg)[1]
    track.lean[m] = 3.0
    _walk_legs(track, m, pace, amplitude=0.5)


# ----------------------------------------------------------------------------- body and camera

def _body_points(track: _Track, seg: BodySegments, *, y_m: float) -> dict[str, np.ndarray]:
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
    mid_ear = mid_sh + seg.neck_m * trunk
    pts["left_ear"] = mid_ear - seg.head_half_width_m * right
    pts["right_ear"] = mid_ear + seg.head_half_width_m * right
    pts["nose"] = mid_ear + seg.nose_forward_m * trunk_ahead - 0.02 * trunk
    eyes = mid_ear + 0.8 * seg.nose_forward_m * trunk_ahead + 0.02 * trunk
    for side, sign in (("left", -1.0), ("right", 1.0)):
        for suffix, off in (("_inner", 0.015), ("", 0.032), ("_outer", 0.045)):
            pts[f"{side}_eye{suffix}"] = eyes + sign * off * right
    mouth = mid_ear + 0.8 * seg.nose_forward_m * trunk_ahead - 0.06 * trunk
    pts["mouth_left"] = mouth - 0.025 * right
    pts["mouth_right"] = mouth + 0.025 * right
    return pts


def _camera_axes(cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Camera centre and its right / down / forward unit vectors in room coordinates."""
    p = math.radians(cam.pitch)
    fwd = np.array([0.0, math.cos(p), -math.sin(p)])
    right = np.array([1.0, 0.0, 0.0])
    down = np.cross(fwd, right)
    centre = np.array([cam.aim_x_m, -cam.distance_m, cam.height_m])
    return centre, right, down, fwd


def _view(pts: dict[str, np.ndarray], cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(world_m hip-centred in camera axes (T,33,3), pixel_px (T,33,2), depth_m (T,33))."""
    centre, right, down, fwd = _camera_axes(cam)
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


def _scaled(seg: BodySegments, k: float) -> BodySegments:
    return BodySegments(**{name: getattr(seg, name) * k for name in seg.__dataclass_fields__})


def _second_person(t_s: np.ndarray, other: SecondPerson, cam: Camera, seg: BodySegments, pace: Pace):
    """The passer-by: walks across the picture closer to the camera, centred on the switch."""
    track = _Track(t_s)
    seg2 = _scaled(seg, other.size)
    track.height[:] = _sts_pelvis(90.0, 0.0, seg2)[1]
    mid = other.start_s + other.duration_s / 2
    speed = 1.2
    track.x[:] = cam.aim_x_m - 1.5 + speed * (t_s - mid) + 1.5
    track.yaw[:] = 0.0
    track.lean[:] = 3.0
    _walk_legs(track, np.ones(len(t_s), bool), pace)
    pts = _body_points(track, seg2, y_m=-cam.distance_m + other.distance_from_camera_m)
    return _view(pts, cam)


def _series(track: _Track, spec, *, source: str, truth: dict, x_ankle: float) -> LandmarkSeries:
    cam = spec.camera
    world, pixel, depth = _view(_body_points(track, spec.segments, y_m=0.0), cam)
    bodies = [{"pixel_px": pixel.copy(), "depth_m": depth.copy()}]
    rng = np.random.default_rng(spec.seed)
    seen_world, seen_px = world.copy(), pixel.copy()
    switched = np.zeros(len(track.t_s), bool)
    if spec.second_person is not None:
        w2, p2, d2 = _second_person(track.t_s, spec.second_person, cam, spec.segments, spec.pace)
        sp = spec.second_person
        switched = (track.t_s >= sp.start_s) & (track.t_s < sp.start_s + sp.duration_s)
        seen_world[switched], seen_px[switched] = w2[switched], p2[switched]
        in_view = (p2[:, :, 0].max(axis=1) > 0) & (p2[:, :, 0].min(axis=1) < cam.image_size[0])
        bodies.append({"pixel_px": p2, "depth_m": d2, "in_view": in_view})
    seen_world = seen_world + spec.noise_m * rng.standard_normal(seen_world.shape)
    seen_px = seen_px + spec.noise_px * rng.standard_normal(seen_px.shape)
    series = LandmarkSeries(t_s=track.t_s.copy(), world_m=seen_world, visibility=np.ones((len(track.t_s), N_LANDMARKS)),
                            pixel_px=seen_px, image_size=tuple(cam.image_size), source=source)
    _, right, down, fwd = _camera_axes(cam)
    series.attrs.update({"truth": truth, "switched_frames": np.flatnonzero(switched).tolist(),
                         "render_bodies": bodies, "camera": cam, "chair_m": _chair(x_ankle, spec.segments),
                         "true_up": (float(right[2]), float(down[2]), float(fwd[2]))})
    return series


def project_room_points(points_m: np.ndarray, cam: Camera, /) -> np.ndarray:
    """Pixels (N, 2) of room points (N, 3) (x along the walkway, y away from the camera, z up)."""
    centre, right, down, fwd = _camera_axes(cam)
    rel = np.asarray(points_m, float) - centre
    z = rel @ fwd
    w, h = cam.image_size
    return np.stack([w / 2 + cam.focal_px * (rel @ right) / z, h / 2 + cam.focal_px * (rel @ down) / z], axis=-1)


def _chair(x_ankle: float, seg: BodySegments) -> np.ndarray:
    """Outline of a chair behind the seated person's ankles (room metres): seat, legs, back."""
    front = x_ankle - seg.thigh_m + 0.08
    seat_h = _sts_pelvis(0.0, 0.0, seg)[1] - 0.07
    back = front - 0.45
    return np.array([[front, 0.0, seat_h], [back, 0.0, seat_h], [back, 0.0, seat_h + 0.5],
                     [back - 0.04, 0.0, seat_h + 0.5], [back - 0.04, 0.0, 0.0], [back, 0.0, 0.0],
                     [back, 0.0, seat_h - 0.04], [front, 0.0, seat_h - 0.04], [front, 0.0, 0.0],
                     [front - 0.04, 0.0, 0.0], [front - 0.04, 0.0, seat_h - 0.04]])


def _frames(duration_s: float, rate_hz: float) -> np.ndarray:
    return np.arange(int(round(duration_s * rate_hz))) / rate_hz


# ----------------------------------------------------------------------------- chair stands

def simulate_chair_stands(spec: ChairStandSpec = ChairStandSpec(), /) -> LandmarkSeries:
    """A person rising from a chair and sitting again ``spec.stands`` times, arms crossed.

    ``attrs["truth"]``: ``start_s`` (onset of the first rise), ``rises`` (each with
    ``t_start_s``, ``t_standing_s`` (end of the rise), ``t_seated_s`` (end of the sit),
    ``full``), ``count_30s`` (CDC rule: stands completed within 30 s of ``start_s``, plus one
    when over halfway up at 30 s), ``five_times_s`` (from ``start_s`` to seated after the
    fifth full stand, when there are five), ``five_times_to_fifth_stand_s``.
    """
    if spec.stands < 1 or any(not 0 <= k < spec.stands for k in spec.incomplete):
        raise InputError(f"Expected at least one stand and incomplete indices within them, but got {spec}.")
    p, seg = spec.pace, spec.segments
    rises, t = [], spec.lead_in_s
    for k in range(spec.stands):
        full = k not in spec.incomplete
        ext = 1.0 if full else spec.incomplete_extension
        rise_s, sit_s = (p.rise_s, p.sit_s) if full else (p.rise_s * 0.8, p.sit_s * 0.8)
        rises.append({"t_start_s": t, "t_standing_s": t + rise_s, "t_sit_start_s": t + rise_s + p.stand_pause_s,
                      "t_seated_s": t + rise_s + p.stand_pause_s + sit_s, "full": full, "extension": ext})
        t = rises[-1]["t_seated_s"] + p.seated_pause_s
    duration = rises[-1]["t_seated_s"] + spec.tail_s
    track = _Track(_frames(duration, spec.rate_hz))
    kw = {"x_ankle": spec.camera.aim_x_m, "yaw": 0.0, "seg": seg}
    _seated(track, -1.0, duration + 1.0, **kw)
    for r in rises:
        ext = r["extension"]
        _rise(track, r["t_start_s"], r["t_standing_s"] - r["t_start_s"], extension=ext, **kw)
        track.sts(r["t_standing_s"], r["t_sit_start_s"], lambda tt: np.ones_like(tt), extension=ext, **kw)
        a, b = r["t_sit_start_s"], r["t_seated_s"]
        track.sts(a, b, lambda tt, a=a, b=b: 1.0 - (tt - a) / (b - a), extension=ext, **kw)
    truth = {"start_s": rises[0]["t_start_s"], "rises": rises, **_chair_truth(rises, seg)}
    return _series(track, spec, source=f"simulated chair stands ({p.name})", truth=truth, x_ankle=kw["x_ankle"])


def _chair_truth(rises: list[dict], seg: BodySegments) -> dict:
    start = rises[0]["t_start_s"]
    end30 = start + 30.0
    count = sum(1 for r in rises if r["full"] and r["t_standing_s"] <= end30)
    for r in rises:  # over halfway up at 30 s counts (CDC STEADI)
        if r["full"] and r["t_start_s"] < end30 < r["t_standing_s"]:
            s = np.array([(end30 - r["t_start_s"]) / (r["t_standing_s"] - r["t_start_s"])])
            gamma, beta, _ = _rise_shape(s)
            height = _sts_pelvis(gamma, beta, seg)[1][0]
            lo, hi = _sts_pelvis(0.0, 0.0, seg)[1], _sts_pelvis(90.0, 0.0, seg)[1]
            count += int((height - lo) / (hi - lo) > 0.5)
    full = [r for r in rises if r["full"]]
    out = {"count_30s": count, "incomplete": [i for i, r in enumerate(rises) if not r["full"]]}
    if len(full) >= 5:
        out["five_times_s"] = full[4]["t_seated_s"] - start
        out["five_times_to_fifth_stand_s"] = full[4]["t_standing_s"] - start
    return out


# ----------------------------------------------------------------------------- Timed Up and Go

def simulate_tug(spec: TugSpec = TugSpec(), /) -> LandmarkSeries:
    """A person doing the Timed Up and Go: rise, walk ``walk_m``, turn, walk back, turn, sit.

    ``attrs["truth"]``: ``start_s``, ``standing_s``, ``turn_start_s``, ``turn_end_s``,
    ``turn_to_sit_start_s``, ``end_s`` and ``total_s`` (= end - start), and the phases.
    """
    p, seg = spec.pace, spec.segments
    x_ankle = 0.0
    t0 = spec.lead_in_s
    standing = t0 + p.rise_s
    x_turn = x_ankle + spec.walk_m - 0.25  # the body turns with its feet at the line
    duration_guess = t0 + p.rise_s + 2 * (spec.walk_m / p.walk_speed_m_s + WALK_RAMP_S) + 2 * p.turn_s + p.sit_s
    track = _Track(_frames(duration_guess + spec.tail_s + 1.0, spec.rate_hz))
    kw = {"x_ankle": x_ankle, "seg": seg}
    _seated(track, -1.0, t0, yaw=0.0, **kw)
    _rise(track, t0, p.rise_s, yaw=0.0, **kw)
    turn_start = _walk(track, standing, x_ankle, x_turn, p, seg=seg)
    turn_end = turn_start + p.turn_s
    _turn(track, turn_start, p.turn_s, x_turn, 0.0, 180.0, p, seg=seg)
    back = _walk(track, turn_end, x_turn, x_ankle, p, seg=seg)
    sit_start = back + p.turn_s
    _turn(track, back, p.turn_s, x_ankle, 180.0, 360.0, p, seg=seg)
    end = sit_start + p.sit_s
    _sit(track, sit_start, p.sit_s, yaw=360.0, **kw)
    _seated(track, end, track.t_s[-1] + 1.0, yaw=360.0, **kw)
    n = int(round((end + spec.tail_s) * spec.rate_hz))
    track = _cut(track, n)
    truth = {"start_s": t0, "standing_s": standing, "turn_start_s": turn_start, "turn_end_s": turn_end,
             "turn_to_sit_start_s": back, "sit_start_s": sit_start, "end_s": end, "total_s": end - t0,
             "phases_s": {"sit_to_stand": standing - t0, "walk_out": turn_start - standing, "turn": p.turn_s,
                          "walk_back": back - turn_end, "turn_to_sit": end - back}}
    return _series(track, spec, source=f"simulated TUG ({p.name})", truth=truth, x_ankle=x_ankle)


def _cut(track: _Track, n: int) -> _Track:
    out = _Track(track.t_s[:n])
    for name in ("x", "height", "yaw", "lean", "thigh", "knee", "swing", "arm_phase"):
        setattr(out, name, getattr(track, name)[:n].copy())
    return out


# ----------------------------------------------------------------------------- walking past

@dataclass(frozen=True)
class WalkwaySpec:
    """A person walking once past a side-on camera along a straight walkway."""

    pace: Pace = PACES["typical"]
    walk_m: float = 7.0
    lead_in_s: float = 0.5
    tail_s: float = 0.5
    camera: Camera = field(default_factory=lambda: Camera(height_m=1.0, distance_m=5.0, aim_x_m=3.5,
                                                          horizontal_fov_deg=80.0))
    rate_hz: float = 30.0
    noise_px: float = 0.0
    noise_m: float = 0.0
    seed: int = 0
    segments: BodySegments = BodySegments()
    second_person: SecondPerson | None = None


def simulate_walkway(spec: WalkwaySpec = WalkwaySpec(), /) -> LandmarkSeries:
    """Standing still, then walking ``walk_m`` along the walkway (speed ramped up and down),
    then standing. ``attrs["truth"]``: ``speed_m_s`` (the steady speed), ``cruise_s`` (the
    times of steady speed), ``walk_start_s``/``walk_end_s``, and ``scale_m_per_px`` of the
    walking plane (the camera's distance over its focal length in pixels)."""
    p, seg = spec.pace, spec.segments
    duration = spec.lead_in_s + spec.walk_m / p.walk_speed_m_s + WALK_RAMP_S + spec.tail_s
    track = _Track(_frames(duration, spec.rate_hz))
    kw = {"x_ankle": 0.0, "seg": seg}
    _standing(track, -1.0, duration + 1.0, yaw=0.0, **kw)
    end = _walk(track, spec.lead_in_s, 0.0, spec.walk_m, p, seg=seg)
    m = track.t_s >= end
    track.x[m] = spec.walk_m
    ramp = min(WALK_RAMP_S, spec.walk_m / p.walk_speed_m_s)
    truth = {"speed_m_s": p.walk_speed_m_s, "walk_start_s": spec.lead_in_s, "walk_end_s": end,
             "cruise_s": (spec.lead_in_s + ramp, end - ramp),
             "scale_m_per_px": spec.camera.distance_m / spec.camera.focal_px}
    series = _series(track, spec, source=f"simulated walk ({p.name})", truth=truth, x_ankle=0.0)
    series.attrs.pop("chair_m", None)
    return series
