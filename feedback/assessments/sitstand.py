"""Sitting, standing and the movements between them, frame by frame, from any landmark series.

The chair tests and the Timed Up and Go all rest on one per-frame reading of the body
(:func:`compute_sit_stand_trace`) and on the rises found in it (:func:`detect_rises`).

Signals (world landmarks when the series has them, else pixels with the image's up):

- ``knee_deg`` and ``hip_deg``: knee and hip flexion (:mod:`feedback.angles`; mean of the
  sides that are known). Both are measured against the body itself, so the camera's height
  and pitch do not change them.
- ``hip_height``: the mid-hip's height above the mid-ankle along the vertical, divided by
  the leg length (thigh + shank, median over the recording): about 1 standing and about
  0.55 on a standard 43-46 cm chair. A pose model's world frame follows the camera, not
  gravity, so the vertical is measured from the person: the mean ankle-to-shoulder axis in
  the frames where hips and knees are straight (within ``upright_for_vertical_deg``), which
  in quiet standing is within a few degrees of plumb. Without such frames the camera's up is
  used (and the trace says so).
- ``progress``: hip height from the seated level (0) to the standing level (1), each the
  median over the frames in that state (a nominal standing level when nobody stood).
- ``speed_deg_s``: how fast the posture changes, the root sum of squares of the rates of
  knee flexion, hip flexion and trunk lean, after a zero-lag low-pass at ``lowpass_hz``
  (movements of rising and sitting have their energy below 2-3 Hz; the pose model's jitter
  lies above).

States: ``standing`` when the knees and hips are within ``standing_max_*_flexion_deg`` of
straight and the hips are at least ``standing_min_hip_height`` high; ``seated`` when the
hips are at most ``seated_max_hip_height`` high and the knees bent at least
``seated_min_knee_flexion_deg``; ``between`` otherwise; ``unknown`` without landmarks.

The standing angle: in quiet standing the hips and knees are within 0-10 degrees of
straight (Perry & Burnfield 2010, *Gait Analysis*, 2nd ed.); the CDC's chair stand counts a
stand when the person "comes to a full standing position". 20 degrees accepts a full stand
measured with the few degrees of error a single camera's pose model makes at the knee and
hip (up to about 10 degrees in side views), while a half rise (knees at 40-60 degrees) is
plainly short of it. The hip-height thresholds sit midway between the seated (0.5-0.65) and
standing (0.95-1.0) levels with room for the same error.

A rise (:class:`Rise`) runs from the movement's onset in the chair to the moment the person
is seated and still again. Onset and end come from the posture speed
(:func:`~feedback.assessments.edges.compute_edge_time`): rest is where it stays below
``rest_noise_factor`` times the pose model's jitter at rest (at least ``REST_FLOOR_DEG_S``)
for ``min_rest_s``; from the rest, the first frame at ``onset_fraction`` of the movement's
peak speed is extrapolated along its slope to zero, so a movement that starts gently is timed
from where it starts, not from where it became fast, and the wobble of a pose model's
estimate as the body settles in the chair (up to about 15% of the peak) does not stretch it.

A stand hidden at its top (someone walking in front, see :mod:`feedback.assessments.person`)
counts when the hip height's tangents into and out of the gap meet at ``hidden_peak_progress``
or higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feedback.angles import compute_joint_angles
from feedback.assessments.edges import compute_edge_time, compute_runs
from feedback.assessments.facing import compute_facing_deg, compute_facing_image_x
from feedback.assessments.person import PatientFrames, blank_frames, select_patient_frames
from feedback.smoothing import fill_gaps, smooth_butterworth
from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries

SEATED, STANDING, BETWEEN, UNKNOWN = "seated", "standing", "between", "unknown"
STANDING_NOMINAL_HIP_HEIGHT = 0.97   # hip above ankle / leg length, standing upright
MIN_UPRIGHT_FRAMES = 5               # frames needed to measure the vertical from the person
FACING_LOWPASS_HZ = 1.0              # turning the whole body takes well over half a second
LOWPASS_ORDER = 2
HIDDEN_TANGENT_S = 0.2              # hip height's slope into and out of a hidden stretch, over this long
REST_FLOOR_DEG_S = 3.0               # a posture changing by less than 1 deg in a third of a second is still


@dataclass(frozen=True)
class SitStandRules:
    """Every threshold of the sit/stand reading (see the module docstring for the reasons)."""

    standing_max_knee_flexion_deg: float = 20.0
    standing_max_hip_flexion_deg: float = 20.0
    standing_min_hip_height: float = 0.85
    seated_max_hip_height: float = 0.70
    seated_min_knee_flexion_deg: float = 45.0
    attempt_min_progress: float = 0.3     # a rise that gets less than this far up is a shift in the seat
    over_halfway_progress: float = 0.5    # "over halfway to a standing position" (CDC STEADI)
    lowpass_hz: float = 4.0
    speed_lowpass_hz: float = 2.0         # the posture speed: a rise or a sit lasts about 1-3 s
    onset_fraction: float = 0.2           # of the movement's peak speed: above the wobble of a pose model's
                                          # estimate as the body settles in the chair (up to ~15% seen)
    rest_noise_factor: float = 3.0
    min_rest_s: float = 0.3               # below the threshold this long is rest (the dip between
                                          # leaning forward and rising is shorter)
    max_hidden_s: float = 1.5             # frames of another person or unseen, bridged by interpolation
    hidden_peak_progress: float = 0.9     # a rise hidden at its top counts when its hip height, carried
                                          # along its slopes into the gap, reaches this far up
    upright_for_vertical_deg: float = 10.0


@dataclass(frozen=True)
class SitStandTrace:
    """The per-frame reading (arrays of length T); see the module docstring."""

    t_s: np.ndarray
    knee_deg: np.ndarray
    hip_deg: np.ndarray
    lean_deg: np.ndarray
    hip_height: np.ndarray
    progress: np.ndarray
    progress_seen: np.ndarray    # progress from the unfiltered hip height, NaN where not seen
    speed_deg_s: np.ndarray
    state: np.ndarray
    facing_deg: np.ndarray
    facing_image_x: np.ndarray   # how much the body faces along the image's x axis (-1..1), from pixels
    visible: np.ndarray          # the patient was seen (not another person, not missing)
    rules: SitStandRules
    vertical_from: str           # "standing frames" or "camera"
    coordinates: str             # "world_m" or "pixel_px"
    patient: PatientFrames

    def at(self, t_s: float, values: np.ndarray) -> float:
        """``values`` linearly interpolated at time ``t_s``."""
        ok = np.isfinite(values)
        return float(np.interp(t_s, self.t_s[ok], values[ok])) if ok.any() else math.nan


@dataclass(frozen=True)
class Rise:
    """One excursion out of the chair (times in seconds; None where it did not happen)."""

    index: int
    t_onset_s: float
    t_leave_s: float
    t_standing_s: float | None
    t_return_s: float | None
    t_end_s: float | None
    peak_progress: float
    knee_at_peak_deg: float
    hip_at_peak_deg: float
    full: bool
    seen_through_gap: bool = False

    def to_dict(self) -> dict:
        def r(v, nd=3):
            return None if v is None or not math.isfinite(v) else round(float(v), nd)

        return {"index": self.index, "t_onset_s": r(self.t_onset_s), "t_leave_s": r(self.t_leave_s),
                "t_standing_s": r(self.t_standing_s), "t_return_s": r(self.t_return_s), "t_end_s": r(self.t_end_s),
                "peak_progress": r(self.peak_progress), "knee_at_peak_deg": r(self.knee_at_peak_deg, 1),
                "hip_at_peak_deg": r(self.hip_at_peak_deg, 1), "full": self.full,
                "seen_through_gap": self.seen_through_gap}


# ----------------------------------------------------------------------------- signals

def _side_mean(*arrays: np.ndarray) -> np.ndarray:
    """Mean of the known values of each element across ``arrays`` (NaN where none is known)."""
    both = np.stack(arrays)
    known = np.isfinite(both)
    total = np.where(known, both, 0.0).sum(axis=0)
    count = known.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _points(series: LandmarkSeries) -> tuple[np.ndarray, np.ndarray, str]:
    """(T, 33, 3) coordinates, the default up vector, and which coordinates they are."""
    if series.has_world:
        pts = np.where((series.visibility >= 0.5)[..., None], series.world_m, np.nan)
        return pts, np.asarray(series.up, float) / np.linalg.norm(series.up), "world_m"
    px = np.where((series.visibility >= 0.5)[..., None], series.pixel_px, np.nan)
    pts = np.stack([px[..., 0], px[..., 1], np.zeros(px.shape[:2])], axis=-1)
    return pts, np.array([0.0, -1.0, 0.0]), "pixel_px"


def _mid(pts: np.ndarray, name: str) -> np.ndarray:
    return _side_mean_points(pts[:, LANDMARK_INDEX[f"left_{name}"]], pts[:, LANDMARK_INDEX[f"right_{name}"]])


def _side_mean_points(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack([_side_mean(a[:, k], b[:, k]) for k in range(3)], axis=1)


def _leg_length(pts: np.ndarray) -> float:
    legs = []
    for side in ("left", "right"):
        hip, knee, ankle = (pts[:, LANDMARK_INDEX[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
        legs.append(np.linalg.norm(knee - hip, axis=1) + np.linalg.norm(ankle - knee, axis=1))
    length = _side_mean(*legs)
    length = length[np.isfinite(length)]
    return float(np.median(length)) if length.size else math.nan


def _vertical(pts, knee, hip, default_up, rules: SitStandRules) -> tuple[np.ndarray, str]:
    upright = (knee <= rules.upright_for_vertical_deg) & (hip <= rules.upright_for_vertical_deg)
    axis = _mid(pts, "shoulder") - _mid(pts, "ankle")
    axis = axis[upright & np.isfinite(axis).all(axis=1)]
    if len(axis) < MIN_UPRIGHT_FRAMES:
        return default_up, "camera"
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    mean = axis.mean(axis=0)
    return mean / np.linalg.norm(mean), "standing frames"


def _smooth(t: np.ndarray, x: np.ndarray, cutoff_hz: float, max_gap_s: float) -> np.ndarray:
    filled = fill_gaps(t, np.array(x, float), max_gap_s=max_gap_s)
    if len(t) < 2 or cutoff_hz >= 0.5 / float(np.median(np.diff(t))):
        return filled
    return smooth_butterworth(t, filled, cutoff_hz=cutoff_hz, order=LOWPASS_ORDER)


def compute_sit_stand_trace(series: LandmarkSeries, /, *, rules: SitStandRules = SitStandRules()) -> SitStandTrace:
    """The per-frame sit/stand reading of ``series`` (see the module docstring)."""
    patient = select_patient_frames(series)
    seen = blank_frames(series, patient.mask) if patient.others else series
    t = np.asarray(seen.t_s, float)
    angles = compute_joint_angles(seen)
    knee_raw = _side_mean(angles.column("left_knee_flexion"), angles.column("right_knee_flexion"))
    hip_raw = _side_mean(angles.column("left_hip_flexion"), angles.column("right_hip_flexion"))
    lean_raw = angles.column("trunk_forward_lean")
    pts, default_up, coordinates = _points(seen)
    up, vertical_from = _vertical(pts, knee_raw, hip_raw, default_up, rules)
    height_raw = ((_mid(pts, "hip") - _mid(pts, "ankle")) @ up) / _leg_length(pts)
    smooth = {name: _smooth(t, x, rules.lowpass_hz, rules.max_hidden_s)
              for name, x in (("knee", knee_raw), ("hip", hip_raw), ("lean", lean_raw), ("height", height_raw))}
    knee, hip, lean, height = smooth["knee"], smooth["hip"], smooth["lean"], smooth["height"]
    slow = [_smooth(t, x, rules.speed_lowpass_hz, rules.max_hidden_s) for x in (knee_raw, hip_raw, lean_raw)]
    rates = [np.gradient(x, t) if len(t) > 1 else np.zeros_like(x) for x in (slow[0], slow[1], np.nan_to_num(slow[2]))]
    speed = np.sqrt(sum(r ** 2 for r in rates))
    state = _states(knee, hip, height, rules)
    seated_level = np.nanmedian(height[state == SEATED]) if (state == SEATED).any() else math.nan
    standing_level = (np.nanmedian(height[state == STANDING]) if (state == STANDING).any()
                      else STANDING_NOMINAL_HIP_HEIGHT)
    with np.errstate(invalid="ignore", divide="ignore"):
        progress = (height - seated_level) / (standing_level - seated_level)
        progress_seen = (np.where(patient.mask, height_raw, np.nan) - seated_level) / (standing_level - seated_level)
    facing = _smooth(t, compute_facing_deg(pts, up, coordinates), FACING_LOWPASS_HZ, rules.max_hidden_s)
    with np.errstate(all="ignore"):
        facing_x = _smooth(t, compute_facing_image_x(seen), FACING_LOWPASS_HZ, rules.max_hidden_s)
    visible = patient.mask & np.isfinite(knee_raw)
    return SitStandTrace(t, knee, hip, lean, height, progress, progress_seen, speed, state, facing, facing_x, visible,
                         rules,
                         vertical_from, coordinates, patient)


def _states(knee, hip, height, rules: SitStandRules) -> np.ndarray:
    state = np.full(len(knee), BETWEEN, dtype=object)
    hip_ok = ~(hip > rules.standing_max_hip_flexion_deg)  # an unknown hip does not veto standing
    standing = (knee <= rules.standing_max_knee_flexion_deg) & hip_ok & (height >= rules.standing_min_hip_height)
    seated = (height <= rules.seated_max_hip_height) & (knee >= rules.seated_min_knee_flexion_deg)
    state[standing] = STANDING
    state[seated] = SEATED
    state[~np.isfinite(knee) | ~np.isfinite(height)] = UNKNOWN
    return state


# ----------------------------------------------------------------------------- rises

def _rest_threshold(trace: SitStandTrace, rest: slice) -> float:
    """Speed below which the posture is still: ``rest_noise_factor`` times the median speed
    over the seated stretch (the pose model's jitter), at least ``REST_FLOOR_DEG_S``."""
    speeds = trace.speed_deg_s[rest]
    noise = float(np.nanmedian(speeds)) if np.isfinite(speeds).any() else 0.0
    return max(REST_FLOOR_DEG_S, trace.rules.rest_noise_factor * noise)


def _threshold(trace: SitStandTrace, moving: slice, rest_threshold: float) -> float:
    peak = np.nanmax(trace.speed_deg_s[moving]) if trace.speed_deg_s[moving].size else math.nan
    return max(trace.rules.onset_fraction * peak, rest_threshold)


def _movement_onset(trace: SitStandTrace, i_leave: int, lo: int, i_peak: int) -> float:
    """Onset of the movement that left the chair at ``i_leave`` (seated from ``lo``)."""
    rest = _rest_threshold(trace, slice(lo, i_leave))
    thr = _threshold(trace, slice(lo, i_peak + 1), rest)
    if not math.isfinite(thr):
        return float(trace.t_s[i_leave])
    onset = compute_edge_time(trace.t_s, trace.speed_deg_s, i_leave, lo, thr, step=-1, rest_threshold=rest,
                              min_rest_s=trace.rules.min_rest_s)
    return float(trace.t_s[lo]) if onset is None else max(float(trace.t_s[lo]), onset)


def _movement_end(trace: SitStandTrace, i_return: int, hi: int, i_peak: int) -> float | None:
    """End of the movement that reached the chair at ``i_return`` (seated until ``hi``)."""
    rest = _rest_threshold(trace, slice(i_return, hi))
    thr = _threshold(trace, slice(i_peak, i_return + 1), rest)
    if not math.isfinite(thr):
        return None
    end = compute_edge_time(trace.t_s, trace.speed_deg_s, i_return, hi - 1, thr, step=1, rest_threshold=rest,
                            min_rest_s=trace.rules.min_rest_s)
    return None if end is None else min(float(trace.t_s[hi - 1]), end)


def _slope(t: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(t[ok], y[ok], 1)[0])


def _hidden_top(trace: SitStandTrace, a: int, b: int, lo: int, hi: int) -> bool:
    """A rise whose top was hidden (another person in front, or unseen): the hip height's
    tangents into and out of the gap (fitted over ``HIDDEN_TANGENT_S`` each side) meet at or
    above ``hidden_peak_progress`` of the way up, i.e. the person was still rising steeply
    enough going in, and coming down from high enough coming out, to have stood up."""
    t, p = trace.t_s, trace.progress_seen
    for s, e in compute_runs(~trace.visible[lo:hi]):  # a gap may begin while still (read as) seated
        s, e = lo + s, lo + e
        if e <= a or s >= b or s <= lo or e >= hi or t[e] - t[s - 1] > trace.rules.max_hidden_s:
            continue
        before = (t >= t[s - 1] - HIDDEN_TANGENT_S) & (t <= t[s - 1])
        after = (t >= t[e]) & (t <= t[e] + HIDDEN_TANGENT_S)
        up, down = _slope(t[before], p[before]), _slope(t[after], p[after])
        if not (up > 0 > down):
            continue
        # rising line from (t1, p1) meets falling line into (t2, p2)
        t1, p1, t2, p2 = t[s - 1], p[s - 1], t[e], p[e]
        t_meet = (p2 - p1 + up * t1 - down * t2) / (up - down)
        peak = p1 + up * (min(max(t_meet, t1), t2) - t1)
        if peak >= trace.rules.hidden_peak_progress:
            return True
    return False


def detect_rises(trace: SitStandTrace, /) -> list[Rise]:
    """Every excursion out of the chair that got at least ``attempt_min_progress`` of the way up."""
    rules = trace.rules
    seated = trace.state == SEATED
    seated_runs = compute_runs(seated)
    rises: list[Rise] = []
    n = len(trace.t_s)
    for k, (s0, s1) in enumerate(seated_runs):
        i0 = s1  # first frame out of the chair
        if i0 >= n:
            break
        i1 = seated_runs[k + 1][0] if k + 1 < len(seated_runs) else n  # back in the chair (or never)
        p = trace.progress[i0:i1]
        if not np.isfinite(p).any() or np.nanmax(p) < rules.attempt_min_progress:
            continue
        i_top = i0 + int(np.nanargmax(p))
        standing = np.flatnonzero(trace.state[i0:i1] == STANDING)
        i_stand = i0 + int(standing[0]) if standing.size else None
        hidden = i_stand is None and _hidden_top(trace, i0, i1, s0, seated_runs[k + 1][1] if k + 1 < len(seated_runs) else n)
        onset = _movement_onset(trace, i0, s0, i_stand if i_stand is not None else i_top)
        t_return = float(trace.t_s[i1]) if i1 < n else None
        end = None
        if i1 < n:
            last_top = i0 + int(np.flatnonzero(trace.state[i0:i1] == STANDING)[-1]) if standing.size else i_top
            hi = seated_runs[k + 1][1]
            end = _movement_end(trace, i1, hi, last_top)
        rises.append(Rise(len(rises), onset, float(trace.t_s[i0]),
                          float(trace.t_s[i_stand]) if i_stand is not None else None, t_return, end,
                          float(np.nanmax(p)), float(trace.knee_deg[i_top]), float(trace.hip_deg[i_top]),
                          i_stand is not None or hidden, hidden))
    return rises


def describe_short_rise(rise: Rise, rules: SitStandRules, /) -> str:
    """Why a rise was not a full stand, in one clinician-facing sentence."""
    return (f"The rise at {rise.t_leave_s:.1f} s did not reach full standing: at its highest the knees were at "
            f"{rise.knee_at_peak_deg:.0f} deg and the hips at {rise.hip_at_peak_deg:.0f} deg of flexion "
            f"({rise.peak_progress:.0%} of the way up); a full stand needs both within "
            f"{rules.standing_max_knee_flexion_deg:.0f} deg of straight.")


def classify_pose(pose, /, *, rules: SitStandRules = SitStandRules()) -> str:
    """``seated`` / ``standing`` / ``between`` / ``unknown`` for one frame (a
    :class:`~sensing.landmarks.PoseFrame` or None), with the camera's up as the vertical:
    the live view's quick reading; the analysis reads the whole recording instead."""
    if pose is None:
        return UNKNOWN
    px = None if pose.pixel_px is None else np.asarray(pose.pixel_px, float)[None]
    one = LandmarkSeries(t_s=np.zeros(1), world_m=np.asarray(pose.world_m, float)[None],
                         visibility=np.asarray(pose.visibility, float)[None], pixel_px=px)
    angles = compute_joint_angles(one, max_gap_s=0.0)
    knee = _side_mean(angles.column("left_knee_flexion"), angles.column("right_knee_flexion"))
    hip = _side_mean(angles.column("left_hip_flexion"), angles.column("right_hip_flexion"))
    pts, up, _ = _points(one)
    height = ((_mid(pts, "hip") - _mid(pts, "ankle")) @ up) / _leg_length(pts)
    return str(_states(knee, hip, height, rules)[0])
