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

from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from sensing.landmarks import N_LANDMARKS, LandmarkSeries
from synthetic.body import BodySegments
from synthetic.figure import (  # noqa: F401  (the paces, cameras and projection are this module's API too)
    PACES, SEAT_TO_LINE_M, SEATED_HEIGHT_CAMERA, STANDING_HEIGHT_CAMERA, WALK_RAMP_S, Camera, Pace, Track,
    body_points, camera_axes, compute_time_to_standing_angle, hold_seated, hold_standing, pelvis_over_feet,
    project_room_points, rise, rise_shape, scaled_segments, sit, swing_legs, turn, view, walk,
)

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


def _second_person(t_s: np.ndarray, other: SecondPerson, cam: Camera, seg: BodySegments, pace: Pace):
    """The passer-by: walks across the picture closer to the camera, centred on the switch."""
    track = Track(t_s)
    seg2 = scaled_segments(seg, other.size)
    track.height[:] = pelvis_over_feet(90.0, 0.0, seg2)[1]
    mid = other.start_s + other.duration_s / 2
    speed = 1.2
    track.x[:] = cam.aim_x_m - 1.5 + speed * (t_s - mid) + 1.5
    track.yaw[:] = 0.0
    track.lean[:] = 3.0
    swing_legs(track, np.ones(len(t_s), bool), pace)
    pts = body_points(track, seg2, y_m=-cam.distance_m + other.distance_from_camera_m)
    return view(pts, cam)


def _series(track: Track, spec, *, source: str, truth: dict, x_ankle: float) -> LandmarkSeries:
    cam = spec.camera
    world, pixel, depth = view(body_points(track, spec.segments, y_m=0.0), cam)
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
    _, right, down, fwd = camera_axes(cam)
    series.attrs.update({"truth": truth, "switched_frames": np.flatnonzero(switched).tolist(),
                         "render_bodies": bodies, "camera": cam, "chair_m": _chair(x_ankle, spec.segments),
                         "true_up": (float(right[2]), float(down[2]), float(fwd[2]))})
    return series


def _chair(x_ankle: float, seg: BodySegments) -> np.ndarray:
    """Outline of a chair behind the seated person's ankles (room metres): seat, legs, back."""
    front = x_ankle - seg.thigh_m + 0.08
    seat_h = pelvis_over_feet(0.0, 0.0, seg)[1] - 0.07
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
    track = Track(_frames(duration, spec.rate_hz))
    kw = {"x_ankle": spec.camera.aim_x_m, "yaw": 0.0, "seg": seg}
    hold_seated(track, -1.0, duration + 1.0, **kw)
    for r in rises:
        ext = r["extension"]
        rise(track, r["t_start_s"], r["t_standing_s"] - r["t_start_s"], extension=ext, **kw)
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
            gamma, beta, _ = rise_shape(s)
            height = pelvis_over_feet(gamma, beta, seg)[1][0]
            lo, hi = pelvis_over_feet(0.0, 0.0, seg)[1], pelvis_over_feet(90.0, 0.0, seg)[1]
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
    track = Track(_frames(duration_guess + spec.tail_s + 1.0, spec.rate_hz))
    kw = {"x_ankle": x_ankle, "seg": seg}
    hold_seated(track, -1.0, t0, yaw=0.0, **kw)
    rise(track, t0, p.rise_s, yaw=0.0, **kw)
    turn_start = walk(track, standing, x_ankle, x_turn, p, seg=seg)
    turn_end = turn_start + p.turn_s
    turn(track, turn_start, p.turn_s, x_turn, 0.0, 180.0, p, seg=seg)
    back = walk(track, turn_end, x_turn, x_ankle, p, seg=seg)
    sit_start = back + p.turn_s
    turn(track, back, p.turn_s, x_ankle, 180.0, 360.0, p, seg=seg)
    end = sit_start + p.sit_s
    sit(track, sit_start, p.sit_s, yaw=360.0, **kw)
    hold_seated(track, end, track.t_s[-1] + 1.0, yaw=360.0, **kw)
    n = int(round((end + spec.tail_s) * spec.rate_hz))
    track = _cut(track, n)
    truth = {"start_s": t0, "standing_s": standing, "turn_start_s": turn_start, "turn_end_s": turn_end,
             "turn_to_sit_start_s": back, "sit_start_s": sit_start, "end_s": end, "total_s": end - t0,
             "phases_s": {"sit_to_stand": standing - t0, "walk_out": turn_start - standing, "turn": p.turn_s,
                          "walk_back": back - turn_end, "turn_to_sit": end - back}}
    return _series(track, spec, source=f"simulated TUG ({p.name})", truth=truth, x_ankle=x_ankle)


def _cut(track: Track, n: int) -> Track:
    out = Track(track.t_s[:n])
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
    track = Track(_frames(duration, spec.rate_hz))
    kw = {"x_ankle": 0.0, "seg": seg}
    hold_standing(track, -1.0, duration + 1.0, yaw=0.0, **kw)
    end = walk(track, spec.lead_in_s, 0.0, spec.walk_m, p, seg=seg)
    m = track.t_s >= end
    track.x[m] = spec.walk_m
    ramp = min(WALK_RAMP_S, spec.walk_m / p.walk_speed_m_s)
    truth = {"speed_m_s": p.walk_speed_m_s, "walk_start_s": spec.lead_in_s, "walk_end_s": end,
             "cruise_s": (spec.lead_in_s + ramp, end - ramp),
             "scale_m_per_px": spec.camera.distance_m / spec.camera.focal_px}
    series = _series(track, spec, source=f"simulated walk ({p.name})", truth=truth, x_ankle=0.0)
    series.attrs.pop("chair_m", None)
    return series
