"""A person walking past a side-on camera, with known contact times (:func:`simulate_walk`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal, Mapping

import numpy as np

from core.errors import InputError, ValidationError
from feedback.motions import SIDES
from sensing.landmarks import LANDMARK_INDEX, MEDIAPIPE_WORLD_UP, N_LANDMARKS, LandmarkSeries
from synthetic.body import BodySegments, compute_head_points
from synthetic.walk_path import lay_on_path, side_view
from synthetic.walk_time import (
    Progression, TimeWarp, cadence_ramp_warp, freeze_start, freeze_warp, tremble, variability_warp,
)

# simulate_walk: a person walking past a side-on camera, with known contact times.
#
# Model. Normative curves of hip and knee angle (Winter 2009, *Biomechanics and Motor Control
# of Human Movement*, 4th ed., appendix A) cannot be played through forward kinematics at an
# arbitrary cadence and step length without the standing foot sliding, so the feet lead:
#
# - Phases of one stride (Perry & Burnfield 2010, *Gait Analysis*, 2nd ed., ch. 2), scaled to
#   the requested stance: initial contact at 0 with the foot pitched toe-up, rolling about the
#   heel to foot flat (heel rocker, ``FOOT_FLAT_OF_STANCE``), the foot flat and still on the
#   ground, heel rise (``HEEL_OFF_OF_STANCE``) and roll about the toes (forefoot rocker) to toe
#   off at ``stance_pct``; in swing the heel, its height and the foot pitch follow cubic Hermite
#   curves that join the stance motion with matching velocities, plus a clearance lift.
# - Heel strike is an impact: the heel still moves forward at ``HEEL_CONTACT_SPEED_RATIO`` of
#   the walking speed when it lands, and stops there (no slip).
# - The pelvis progresses at ``speed = step_length * cadence / 60`` with the vertical
#   (lowest in double support) and lateral (over the standing foot) oscillations of normal
#   gait; its height is the highest that lets both legs reach their ankles with the knee never
#   straighter than ``LEG_REACH`` of the full leg length.
# - Thigh and shank come from the hip and ankle by two-link inverse kinematics (the knee bends
#   forward); ankle angle from the shank and foot. The resulting sagittal angles fall in
#   Winter's normative ranges (hip about +25 to -15 deg, knee peak about 60 deg in swing,
#   ankle about +10 to -20 deg; checked in ``tests/test_simulate_walk.py``).
# - Arms swing opposite to the legs; head and trunk are upright.
# - Walking backward is forward walking played in reverse (Grasso et al. 1998, *Brain*
#   121:1023): the toe lands first and the heel leaves last; the person faces away from the
#   direction of travel.
# - A turn (``turn_at_s``) bends the walking path into a half circle of ``TURN_RADIUS_M``
#   towards +z (away from the camera): standing feet stay put, the body turns step by step.
# - Step-time asymmetry: the right step (left contact -> right contact) lasts
#   ``T/2 * (1 - asymmetry/2)`` and the left step ``T/2 * (1 + asymmetry/2)``, so the step-time
#   symmetry index |L - R| / mean(L, R) is ``asymmetry`` (x 100 %); the stride stays ``T``.
# - Stride-to-stride variability (``stride_time_cv_pct``): each stride's duration is scaled by
#   1 + cv * N(0, 1) (seeded), through a smooth monotone warp of time.

FOOT_FLAT_OF_STANCE = 0.12      # heel rocker ends at 12 % of stance (about 7 % of the cycle)
HEEL_OFF_OF_STANCE = 0.52       # heel rises at 52 % of stance (about 31 % of the cycle)
FOOT_PITCH_AT_CONTACT_DEG = 15.0  # toe-up angle of the heel -> toe line at initial contact
FOOT_PITCH_AT_TOE_OFF_DEG = 55.0  # heel-up angle at toe off
HEEL_CONTACT_SPEED_RATIO = 0.7  # heel's forward speed when it lands, as a fraction of walking speed
HEEL_CONTACT_DOWN_SPEED_M_S = 0.2
SWING_LIFT_M = 0.03             # extra heel height at mid swing (gives the knee its swing flexion)
CONTACT_AHEAD_OF_STEP = 0.45    # heel lands this fraction of a step length ahead of the pelvis
LEG_REACH = 0.999               # hip-ankle distance at most this fraction of thigh + shank
PELVIS_VERTICAL_M = 0.025       # amplitude of the pelvis rise and fall (twice per stride)
PELVIS_LATERAL_M = 0.015        # amplitude of the side-to-side sway (once per stride)
FOOT_LATERAL_M = 0.08           # each foot's distance from the line of progression
ARM_SWING_DEG = 15.0
ELBOW_FLEXION_DEG = 20.0
FIRST_CONTACT_OF_STRIDE = 0.1   # the left heel first lands 0.1 stride after the start
WALK_DIRECTIONS = ("forward", "backward")
WALK_HEADINGS = {"+x": 1.0, "-x": -1.0}


def _hermite(tau: np.ndarray, p0, p1, m0, m1) -> np.ndarray:
    """Cubic Hermite on [0, 1] from p0 (slope m0) to p1 (slope m1); arrays broadcast."""
    t2, t3 = tau * tau, tau * tau * tau
    return ((2 * t3 - 3 * t2 + 1) * p0 + (t3 - 2 * t2 + tau) * m0
            + (-2 * t3 + 3 * t2) * p1 + (t3 - t2) * m1)


@dataclass(frozen=True)
class _Gait:
    """One walk's timing and geometry in the body's own terms (forward walking)."""

    stride_s: float
    speed_m_s: float
    stance: float        # fraction of the stride
    first_contact_s: dict  # side -> time of its first initial contact (may be negative)
    contact_ahead_m: float
    segments: BodySegments
    progress: Progression  # how far the body has come at a body time (steps may shorten)
    contact_pitch_deg: float = FOOT_PITCH_AT_CONTACT_DEG
    swing_lift_m: float = SWING_LIFT_M


def _foot(g: _Gait, side: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heel position along the facing direction, heel height and foot pitch (rad, toe up +)."""
    s, T, v, L = g.stance, g.stride_s, g.speed_m_s, g.segments.foot_m
    ff, ho = FOOT_FLAT_OF_STANCE * s, HEEL_OFF_OF_STANCE * s
    p_hs, p_to = math.radians(g.contact_pitch_deg), math.radians(FOOT_PITCH_AT_TOE_OFF_DEG)
    x = (t - g.first_contact_s[side]) / T
    k = np.floor(x)
    phi = x - k
    t_contact = g.first_contact_s[side] + k * T
    # heel's landing spot: where the body is then, plus the step's share ahead of it
    contact = g.progress.distance(t_contact) + g.contact_ahead_m * g.progress.ratio(t_contact)
    along = np.array(contact, dtype=float)
    height = np.zeros_like(phi)
    pitch = np.zeros_like(phi)
    # Heel rocker: the heel stays put, the foot rolls down onto the sole.
    m = phi < ff
    pitch[m] = p_hs * (1.0 - (phi[m] / ff) ** 2)  # lands with no pitch rate, ends in a gentle slap
    # Forefoot rocker: the toes stay put, the heel rises.
    m = (phi >= ho) & (phi < s)
    u = (phi[m] - ho) / (s - ho)
    pitch[m] = -p_to * u ** 2
    along[m] = contact[m] + L - L * np.cos(pitch[m])
    height[m] = -L * np.sin(pitch[m])
    # Swing: Hermite curves joining toe off to the next contact with matching velocities.
    m = phi >= s
    tau = (phi[m] - s) / (1.0 - s)
    rate_p0 = -2.0 * p_to / (s - ho)  # per unit of stride phase at toe off
    a0 = contact[m] + L - L * math.cos(p_to)
    h0 = L * math.sin(p_to)
    da0 = L * math.sin(-p_to) * rate_p0
    dh0 = -L * math.cos(p_to) * rate_p0
    t_next = t_contact[m] + T
    a1 = g.progress.distance(t_next) + g.contact_ahead_m * g.progress.ratio(t_next)  # the next landing spot
    da1 = HEEL_CONTACT_SPEED_RATIO * v * g.progress.ratio(t_next) * T
    dh1 = -HEEL_CONTACT_DOWN_SPEED_M_S * T
    rate_p1 = 0.0
    w = 1.0 - s  # d(phase)/d(tau)
    along[m] = _hermite(tau, a0, a1, da0 * w, da1 * w)
    height[m] = _hermite(tau, h0, 0.0, dh0 * w, dh1 * w) + g.swing_lift_m * 16.0 * tau ** 2 * (1.0 - tau) ** 2
    pitch[m] = _hermite(tau, -p_to, p_hs, rate_p0 * w, rate_p1 * w)
    return along, height, pitch


def _pelvis_offsets(g: _Gait, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertical (lowest just after each contact) and lateral (over the standing foot) motion."""
    phi_left = (t - g.first_contact_s["left"]) / g.stride_s
    vertical = -PELVIS_VERTICAL_M * np.cos(4.0 * math.pi * (phi_left - 0.05))
    lateral = -PELVIS_LATERAL_M * np.cos(2.0 * math.pi * (phi_left - 0.3))  # toward the left foot
    return vertical, lateral


def _ankle(along, height, pitch, seg: BodySegments) -> tuple[np.ndarray, np.ndarray]:
    """Ankle centre from the heel point and the foot pitch."""
    c, s = np.cos(pitch), np.sin(pitch)
    return (along + seg.heel_behind_ankle_m * c - seg.heel_below_ankle_m * s,
            height + seg.heel_behind_ankle_m * s + seg.heel_below_ankle_m * c)


def _pelvis_height(g: _Gait) -> float:
    """The highest mean pelvis height at which both legs reach their ankles over a stride."""
    t = np.linspace(0.0, 2.0 * g.stride_s, 801)
    vertical, lateral = _pelvis_offsets(g, t)
    reach = LEG_REACH * (g.segments.thigh_m + g.segments.shank_m)
    best = math.inf
    for side, sign in (("left", -1.0), ("right", 1.0)):
        a, h = _ankle(*_foot(g, side, t), g.segments)
        d_along = a - g.progress.distance(t)
        d_side = sign * (FOOT_LATERAL_M - g.segments.hip_half_width_m) - lateral
        room = reach ** 2 - d_along ** 2 - d_side ** 2
        if np.any(room <= 0):
            raise ValidationError(
                "Expected a step length the legs can reach, but the simulated feet land too far "
                "from the pelvis; use a shorter step_length_m or a higher cadence."
            )
        best = min(best, float(np.min(h + np.sqrt(room) - vertical)))
    return best


def _knee(hip: np.ndarray, ankle: np.ndarray, forward: np.ndarray, thigh_m: float, shank_m: float) -> np.ndarray:
    """Two-link inverse kinematics: the knee between hip and ankle, bending toward ``forward``."""
    d = ankle - hip
    dist = np.linalg.norm(d, axis=1, keepdims=True)
    dist = np.clip(dist, 1e-6, (thigh_m + shank_m) * (1 - 1e-6))
    unit = d / dist
    bend = forward - np.sum(forward * unit, axis=1, keepdims=True) * unit
    bend /= np.linalg.norm(bend, axis=1, keepdims=True)
    cos_a = np.clip((thigh_m ** 2 + dist ** 2 - shank_m ** 2) / (2 * thigh_m * dist), -1.0, 1.0)
    return hip + thigh_m * (cos_a * unit + np.sqrt(1.0 - cos_a ** 2) * bend)


def _body_points(g: _Gait, t: np.ndarray) -> dict[str, np.ndarray]:
    """All landmarks in body coordinates (along the facing direction, toward the person's right,
    height above the ground), each (T, 3), for forward walking at body times ``t``."""
    seg = g.segments
    n = len(t)
    vertical, lateral = _pelvis_offsets(g, t)
    pelvis = np.stack([g.progress.distance(t), lateral, _pelvis_height(g) + vertical], axis=1)
    ahead, right, up = np.eye(3)
    pts: dict[str, np.ndarray] = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        hip = pelvis + sign * seg.hip_half_width_m * right
        along, height, pitch = _foot(g, side, t)
        heel = np.stack([along, np.full(n, sign * FOOT_LATERAL_M), height], axis=1)
        foot_dir = np.stack([np.cos(pitch), np.zeros(n), np.sin(pitch)], axis=1)
        a_along, a_height = _ankle(along, height, pitch, seg)
        ankle = np.stack([a_along, heel[:, 1], a_height], axis=1)
        knee = _knee(hip, ankle, np.tile(ahead, (n, 1)), seg.thigh_m, seg.shank_m)
        pts.update({f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle,
                    f"{side}_heel": heel, f"{side}_foot_index": heel + seg.foot_m * foot_dir})
    mid_shoulder = pelvis + seg.trunk_m * up
    for side, sign in (("left", -1.0), ("right", 1.0)):
        shoulder = mid_shoulder + sign * seg.shoulder_half_width_m * right
        phi = (t - g.first_contact_s[side]) / g.stride_s
        f = np.radians(-ARM_SWING_DEG * np.cos(2.0 * math.pi * phi))[:, None]  # back when the leg is forward
        arm = np.sin(f) * ahead - np.cos(f) * up
        bend = np.cos(f) * ahead + np.sin(f) * up
        e = math.radians(ELBOW_FLEXION_DEG)
        forearm = math.cos(e) * arm + math.sin(e) * bend
        elbow = shoulder + seg.upper_arm_m * arm
        wrist = elbow + seg.forearm_m * forearm
        pts.update({
            f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_wrist": wrist,
            f"{side}_pinky": wrist + seg.hand_m * forearm - 0.02 * sign * right,
            f"{side}_index": wrist + seg.hand_m * forearm + 0.02 * sign * right,
            f"{side}_thumb": wrist + 0.5 * seg.hand_m * forearm + 0.04 * sign * right,
        })
    pts.update(compute_head_points(mid_shoulder, seg, head_axis=up, face=ahead, ear_right=right))
    return pts


@dataclass(frozen=True)
class WalkSpec:
    """Everything :func:`simulate_walk` needs to know about one walk (checked when made).

    ``duration_s`` of walking sampled at ``rate_hz``; ``cadence_steps_per_min`` and
    ``step_length_m`` set the speed; ``direction`` is which way the body faces relative to its
    travel, ``heading`` which way it travels past the camera; ``stance_pct`` of the stride on
    the ground; step-time ``asymmetry`` (0.1 = a 10 % symmetry index); ``stride_time_cv_pct``
    stride-to-stride variability; ``noise_m`` Gaussian jitter (seeded by ``seed``); a half-turn
    at ``turn_at_s``; pixels when ``image_size`` is given (at ``px_per_m``, default: the walk
    fits); the body's ``segments``.

    Pathological gait (:mod:`synthetic.walk_time`): ``cadence_end_steps_per_min`` /
    ``step_length_end_m`` ramp cadence and step length linearly over the walk (festination:
    quicker and shorter steps); ``freeze_at_s`` / ``freeze_s`` stop the walker in double support
    with trembling legs (freezing of gait); ``contact_pitch_deg`` near 0 lands the foot flat and
    a small ``swing_lift_m`` drags it (shuffling).
    """

    duration_s: float
    rate_hz: float = 30.0
    cadence_steps_per_min: float = 105.0
    step_length_m: float = 0.6
    direction: Literal["forward", "backward"] = "forward"
    heading: Literal["+x", "-x"] = "+x"
    stance_pct: float = 60.0
    asymmetry: float = 0.0
    stride_time_cv_pct: float = 0.0
    noise_m: float = 0.0
    seed: int = 0
    turn_at_s: float | None = None
    image_size: tuple[int, int] | None = None
    px_per_m: float | None = None
    segments: BodySegments = BodySegments()
    cadence_end_steps_per_min: float | None = None
    step_length_end_m: float | None = None
    freeze_at_s: float | None = None
    freeze_s: float = 0.0
    contact_pitch_deg: float = FOOT_PITCH_AT_CONTACT_DEG
    swing_lift_m: float = SWING_LIFT_M

    def __post_init__(self) -> None:
        if self.direction not in WALK_DIRECTIONS:
            raise InputError(f"Expected direction 'forward' or 'backward', but got {self.direction!r}.")
        if self.heading not in WALK_HEADINGS:
            raise InputError(f"Expected heading '+x' or '-x', but got {self.heading!r}.")
        for ok, what in self._checks():
            if not ok:
                raise InputError(f"Expected {what}; change that field of the WalkSpec.")
        if self.image_size is not None:
            object.__setattr__(self, "image_size", tuple(self.image_size))

    def _checks(self) -> tuple[tuple[bool, str], ...]:
        d, r = self.duration_s, self.rate_hz
        cadence_end = self.cadence_end_steps_per_min or self.cadence_steps_per_min
        step_end = self.step_length_end_m or self.step_length_m
        return (
            (d > 0 and r > 0, f"a positive duration_s and rate_hz, but got {d} and {r}"),
            (40.0 <= self.cadence_steps_per_min <= 160.0,
             f"cadence_steps_per_min within 40-160, but got {self.cadence_steps_per_min}"),
            (40.0 <= cadence_end <= 200.0, f"cadence_end_steps_per_min within 40-200, but got {cadence_end}"),
            (0.1 <= self.step_length_m <= 1.0, f"step_length_m within 0.1-1.0, but got {self.step_length_m}"),
            (0.05 <= step_end <= self.step_length_m,
             f"step_length_end_m within 0.05-step_length_m, but got {step_end}"),
            (50.0 <= self.stance_pct <= 75.0, f"stance_pct within 50-75, but got {self.stance_pct}"),
            (0.0 <= self.asymmetry <= 0.5, f"asymmetry within 0-0.5, but got {self.asymmetry}"),
            (0.0 <= self.stride_time_cv_pct <= 10.0,
             f"stride_time_cv_pct within 0-10, but got {self.stride_time_cv_pct}"),
            (self.noise_m >= 0.0, f"noise_m >= 0, but got {self.noise_m}"),
            (self.turn_at_s is None or 0.0 < self.turn_at_s < d, f"turn_at_s inside the walk, but got {self.turn_at_s}"),
            (self.freeze_at_s is None or (0.0 < self.freeze_at_s < d and self.freeze_s >= 0.0),
             f"freeze_at_s inside the walk and freeze_s >= 0, but got {self.freeze_at_s} and {self.freeze_s}"),
            (0.0 <= self.contact_pitch_deg <= 30.0, f"contact_pitch_deg within 0-30, but got {self.contact_pitch_deg}"),
            (0.0 <= self.swing_lift_m <= 0.1, f"swing_lift_m within 0-0.1, but got {self.swing_lift_m}"),
        )

    def to_dict(self) -> dict:
        """A JSON-ready form (the demo stores it beside each simulated walk)."""
        d = asdict(self)
        d["image_size"] = None if self.image_size is None else list(self.image_size)
        return d

    @classmethod
    def from_dict(cls, data: Mapping, /) -> "WalkSpec":
        """Inverse of :meth:`to_dict`; missing fields take their defaults."""
        fields = dict(data)
        if isinstance(fields.get("segments"), Mapping):
            fields["segments"] = BodySegments(**fields["segments"])
        return cls(**fields)


def simulate_walk(spec: WalkSpec, /) -> LandmarkSeries:
    """A person walking past a side-on camera as ``spec`` says; see the comment block above.

    World metres in MediaPipe's axes (x to the image's right, y DOWN, z away from the camera,
    ``up = (0, -1, 0)``), but unlike MediaPipe's hip-centred world landmarks the body travels:
    the pelvis starts at x = 0 at mean height y = 0 (the floor is at y > 0) and walks along
    ``heading`` (``"+x"`` or ``"-x"``) at ``step_length_m * cadence_steps_per_min / 60`` m/s;
    walking ``"backward"`` it faces away from where it goes. With ``image_size`` the series also
    carries pixels: an orthographic side view at ``px_per_m`` (default: the whole walk and body
    fit the image) -- and then :func:`feedback.gait.compute_gait` analyses the pixels, as it
    would a video. ``noise_m`` adds Gaussian jitter (seeded; pixels get the same in pixels).

    ``series.attrs``: ``true_events`` (list of ``{t_s, side, kind, landmark}``; ``kind`` is
    ``heel_strike`` for initial contact and ``toe_off`` for final contact, as in gait.json,
    so walking backward the ``heel_strike`` is made by the toe), ``speed_m_s`` (at the start),
    ``stride_s``, ``step_time_left_s`` / ``step_time_right_s``, ``px_per_m``, ``freeze_s``
    (clock start and end of a freeze, or None).
    """
    if not isinstance(spec, WalkSpec):
        raise InputError(f"Expected a WalkSpec, but got {type(spec).__name__}.")
    duration_s, rate_hz, heading, direction = spec.duration_s, spec.rate_hz, spec.heading, spec.direction
    cadence_steps_per_min, step_length_m = spec.cadence_steps_per_min, spec.step_length_m
    cadence_end = spec.cadence_end_steps_per_min or cadence_steps_per_min
    step_end = spec.step_length_end_m or step_length_m
    freeze_at_s, freeze_s = spec.freeze_at_s, spec.freeze_s
    rng = np.random.default_rng(spec.seed)
    stride_s = 120.0 / cadence_steps_per_min
    speed = step_length_m * cadence_steps_per_min / 60.0
    first_left = FIRST_CONTACT_OF_STRIDE * stride_s
    right_step_s = stride_s / 2.0 * (1.0 - spec.asymmetry / 2.0)
    first = {"left": first_left, "right": first_left + right_step_s}
    warp = cadence_ramp_warp(duration_s, cadence_end / cadence_steps_per_min).then(
        variability_warp(duration_s, stride_s, spec.stride_time_cv_pct, rng))
    progress = Progression(speed, step_end / step_length_m, max(float(warp.to_body(np.asarray(duration_s))), 1e-9))
    freeze = None
    if freeze_at_s is not None and freeze_s > 0:
        contacts = np.concatenate([first[s] + np.arange(-2, int(duration_s / stride_s) + 3) * stride_s for s in SIDES])
        begin = freeze_start(freeze_at_s, contacts, stride_s, warp)
        warp, freeze = freeze_warp(begin, freeze_s).then(warp), (begin, begin + freeze_s)
    g = _Gait(stride_s, speed, spec.stance_pct / 100.0, first, CONTACT_AHEAD_OF_STEP * step_length_m, spec.segments,
              progress, spec.contact_pitch_deg, spec.swing_lift_m)
    t_s = np.arange(int(round(duration_s * rate_hz))) / rate_hz
    backward = direction == "backward"
    world = _world(g, warp.to_body(duration_s - t_s if backward else t_s), t_s, heading=heading,
                   backward=backward, turn_at_s=spec.turn_at_s)
    if freeze is not None:
        shake = tremble(duration_s - t_s if backward else t_s, freeze[0], freeze_s) * WALK_HEADINGS[heading]
        for side, sign in (("left", 1.0), ("right", -1.0)):
            for part in ("heel", "foot_index", "ankle"):
                world[:, LANDMARK_INDEX[f"{side}_{part}"], 0] += sign * shake
    world += spec.noise_m * rng.standard_normal(world.shape)
    pixel, scale = side_view(world, spec.image_size, spec.px_per_m)
    series = LandmarkSeries(t_s=t_s, world_m=world, visibility=np.ones((len(t_s), N_LANDMARKS)),
                            pixel_px=pixel, up=tuple(float(u) for u in MEDIAPIPE_WORLD_UP), image_size=spec.image_size,
                            source="simulated_walk")
    if backward and freeze is not None:
        freeze = (duration_s - freeze[1], duration_s - freeze[0])
    series.attrs.update({
        "true_events": _true_events(g, warp, duration_s, t_s[-1], backward), "speed_m_s": speed,
        "stride_s": stride_s, "step_time_right_s": right_step_s, "step_time_left_s": stride_s - right_step_s,
        "px_per_m": scale, "direction": direction, "heading": heading, "freeze_s": freeze,
    })
    return series


def _world(g: _Gait, body_t: np.ndarray, t_s: np.ndarray, *, heading: str, backward: bool,
           turn_at_s: float | None) -> np.ndarray:
    """(T, 33, 3) world metres of the body at ``body_t``, laid on the walking path."""
    pts = _body_points(g, body_t)
    height = _pelvis_height(g)
    travel = np.array([WALK_HEADINGS[heading], 0.0, 0.0])
    sign = -1.0 if backward else 1.0  # body "ahead" and "right" against travel's
    start = sign * pts["left_hip"][0, 0] / 2 + sign * pts["right_hip"][0, 0] / 2
    turn_sigma = None
    if turn_at_s is not None:
        i = int(np.searchsorted(t_s, turn_at_s))
        turn_sigma = sign * (pts["left_hip"][i, 0] + pts["right_hip"][i, 0]) / 2 - start
    up = np.asarray(MEDIAPIPE_WORLD_UP, dtype=float)
    world = np.full((len(t_s), N_LANDMARKS, 3), np.nan)
    for name, p in pts.items():
        floor = lay_on_path(sign * p[:, 0] - start, sign * p[:, 1], travel, turn_sigma)
        world[:, LANDMARK_INDEX[name]] = floor + (p[:, 2] - height)[:, None] * up
    return world


def _true_events(g: _Gait, warp: TimeWarp, duration_s: float, last_s: float, backward: bool) -> list[dict]:
    events = []
    n = int(duration_s / g.stride_s * 3) + 6  # enough strides for a walk that speeds up
    for side in SIDES:
        contacts = g.first_contact_s[side] + np.arange(-2, n) * g.stride_s
        for body_times, kind in ((contacts, "heel_strike"), (contacts + g.stance * g.stride_s, "toe_off")):
            clock = warp.to_clock(body_times)
            if backward:  # played in reverse: initial contact is the reversed toe off, by the toe
                clock = duration_s - clock
                kind = "toe_off" if kind == "heel_strike" else "heel_strike"
            part = ("foot_index" if kind == "heel_strike" else "heel") if backward else \
                ("heel" if kind == "heel_strike" else "foot_index")
            for c in clock:
                if 0.0 <= c <= last_s:
                    events.append({"t_s": float(c), "side": side, "kind": kind, "landmark": f"{side}_{part}"})
    return sorted(events, key=lambda e: (e["t_s"], e["side"], e["kind"]))
