"""Walking tests: the gait analysis as an assessment, and gait speed over a marked distance.

- **Gait**: :func:`feedback.gait.compute_gait` on the whole recording (every pass the room
  allows), kept as :meth:`GaitReport.to_dict` gives it (the fields of ``gait.json``), with
  its quality flags and the passes used. The headline value is the gait speed when a
  distance scale is known (metres per pixel of the walking plane, or motion capture in
  metres), else None, with cadence, step and stride times, symmetry and variability among
  the fields.
- **Gait speed** over ``distance_m`` (4 m by default, the NIH Toolbox / SPPB distance):
  the time the pelvis (mid-hip, low-passed at ``PELVIS_CUTOFF_HZ`` to take out the sway of
  each step) takes to cover the middle ``distance_m`` of the longest straight pass in view,
  so that the acceleration at the start and the slowing at the end are left out (as the
  timed part of a walk test is). Distances come from the camera set-up's scale
  (:mod:`calibration.scale`), which holds on the plane the person walks in, side-on to the
  camera. When the pass in view is shorter than ``distance_m``, the gait analysis's speed
  over the passes is given instead, and the result says so.
"""

from __future__ import annotations

import math

import numpy as np

from core.errors import ValidationError
from feedback.assessments.person import blank_frames, select_patient_frames
from feedback.assessments.registry import DEFAULT_DISTANCE_M
from feedback.assessments.result import AssessmentResult, rounded
from feedback.smoothing import compute_true_runs, fill_gaps, smooth_butterworth
from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries

PELVIS_CUTOFF_HZ = 0.5        # below the step frequency (about 1.5-2 Hz): the body's progression
MIN_WALK_SPEED_M_S = 0.2      # slower than this is not walking (as feedback.gait)
MAX_HIDDEN_S = 1.0            # unseen frames bridged inside a pass
GAIT_FIELDS = ("cadence_steps_per_min", "gait_speed_m_s", "step_time_s", "stride_time_s", "step_length_m",
               "stride_length_m", "stance_pct", "double_support_pct", "step_time_symmetry_index_pct",
               "stride_time_cv_pct", "n_strides", "n_steps")


def _gait_report(series: LandmarkSeries, *, scale_m_per_px: float | None, roi=None):
    from feedback.gait import compute_gait

    report = compute_gait(series, roi=roi, scale_m_per_px=scale_m_per_px)
    if not report.passes or not report.parameters.n_steps:
        raise ValidationError(f"No walking was found in {series.source or 'the recording'}, so there is no gait to "
                              "measure and nothing was stored. Walk past the camera side-on, whole body in view.")
    return report


def compute_gait_assessment(series: LandmarkSeries, /, *, scale_m_per_px: float | None = None,
                            roi=None) -> AssessmentResult:
    """The gait analysis of ``series`` as an assessment result (see the module docstring)."""
    report = _gait_report(series, scale_m_per_px=scale_m_per_px, roi=roi)
    return gait_assessment_from_report(report.to_dict())


def gait_assessment_from_report(data: dict, /, *, source: str = "") -> AssessmentResult:
    """The gait assessment of a stored gait report (``GaitReport.to_dict()``, i.e. ``gait.json``)."""
    params = data.get("parameters", {})
    if not data.get("passes") or not params.get("n_steps"):
        raise ValidationError(f"No walking was found in {source or 'the recording'}, so there is no gait to "
                              "measure and nothing was stored. Walk past the camera side-on, whole body in view.")
    quality = data.get("quality", {})
    fields = {name: params.get(name) for name in GAIT_FIELDS}
    fields.update({"passes": len(data["passes"]), "direction": data["direction"]})
    notes = []
    if params.get("gait_speed_m_s") is None:
        notes.append("No distance scale was given, so gait speed and lengths are not measured "
                     "(measure the camera set-up with 'mindmove scale set').")
    events = tuple({"t_s": e["t_s"], "kind": e["kind"], "side": e["side"], "pass": e["pass"]} for e in data["events"])
    return AssessmentResult("gait", params.get("gait_speed_m_s"), "m/s", fields, events,
                            tuple(quality.get("flags", [])), tuple(notes), {"gait": data})


def _pelvis_m(series: LandmarkSeries, scale_m_per_px: float | None) -> tuple[np.ndarray, str]:
    """(T, 2) pelvis position on the floor in metres (image x for video), and the method."""
    t = series.t_s
    if series.pixel_px is not None and np.isfinite(series.pixel_px).any():
        if scale_m_per_px is None:
            raise ValidationError("Gait speed from video needs a distance scale: measure the camera set-up with "
                                  "'mindmove scale set --setup NAME ...' and give --setup NAME.")
        hip = (series.pixel_px[:, LANDMARK_INDEX["left_hip"]] + series.pixel_px[:, LANDMARK_INDEX["right_hip"]]) / 2
        pos = np.stack([hip[:, 0] * scale_m_per_px, np.zeros(len(t))], axis=1)
        method = "video, side-on, distance scale of the camera set-up"
    else:
        up = np.asarray(series.up, float) / np.linalg.norm(series.up)
        hip = (series.world(("left_hip")) + series.world("right_hip")) / 2
        flat = hip - (hip @ up)[:, None] * up
        helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        e1 = np.cross(up, helper)
        e1 /= np.linalg.norm(e1)
        pos = np.stack([flat @ e1, flat @ np.cross(up, e1)], axis=1)
        method = "motion capture, metres"
    pos = fill_gaps(t, pos, max_gap_s=MAX_HIDDEN_S)
    if len(t) > 2 and PELVIS_CUTOFF_HZ < 0.5 / float(np.median(np.diff(t))):
        pos = smooth_butterworth(t, pos, cutoff_hz=PELVIS_CUTOFF_HZ, order=2)
    return pos, method


def _timed_stretch(t: np.ndarray, pos: np.ndarray, distance_m: float) -> tuple[float, float, float] | None:
    """(start s, end s, longest straight distance m) of the middle ``distance_m`` of the
    longest pass, or (nan, nan, longest) when no pass is that long; None without walking."""
    vel = np.gradient(pos, t, axis=0)
    speed = np.linalg.norm(vel, axis=1)
    walking = speed >= MIN_WALK_SPEED_M_S
    best = None
    for a, b in compute_true_runs(walking):
        if b - a < 3:
            continue
        heading = pos[b - 1] - pos[a]
        length = float(np.linalg.norm(heading))
        if best is None or length > best[2]:
            best = (a, b, length, heading / max(length, 1e-9))
    if best is None:
        return None
    a, b, length, heading = best
    if length < distance_m:
        return math.nan, math.nan, length
    along = (pos[a:b] - pos[a]) @ heading
    along = np.maximum.accumulate(along)  # progression along a straight pass does not go back
    mid = along[-1] / 2
    lo, hi = mid - distance_m / 2, mid + distance_m / 2
    return float(np.interp(lo, along, t[a:b])), float(np.interp(hi, along, t[a:b])), length


def compute_gait_speed(series: LandmarkSeries, /, *, scale_m_per_px: float | None = None,
                       distance_m: float = DEFAULT_DISTANCE_M, roi=None) -> AssessmentResult:
    """Gait speed (m/s) over the middle ``distance_m`` of the longest pass (module docstring)."""
    if not distance_m > 0:
        raise ValidationError(f"Expected a positive walking distance in metres, but got {distance_m}.")
    patient = select_patient_frames(series)
    seen = blank_frames(series, patient.mask) if patient.others else series
    pos, method = _pelvis_m(seen, scale_m_per_px)
    stretch = _timed_stretch(seen.t_s, pos, distance_m)
    if stretch is None:
        raise ValidationError(f"No walking was found in {series.source or 'the recording'}, so there is no gait "
                              "speed to measure and nothing was stored. Walk past the camera side-on.")
    start, end, longest = stretch
    flags, notes = [], []
    if patient.others:
        flags.append("other_person_in_view")
        notes.append(f"Another person was followed in {patient.other_frames} frames; they were left out.")
    fields = {"distance_m": distance_m, "longest_pass_m": rounded(longest, 2)}
    if math.isfinite(start):
        speed = distance_m / (end - start)
        fields.update({"gait_speed_m_s": rounded(speed), "time_s": rounded(end - start), "start_s": rounded(start),
                       "end_s": rounded(end), "method": f"timed over {distance_m:g} m ({method})"})
        events = ({"t_s": round(start, 3), "kind": "distance_start"}, {"t_s": round(end, 3), "kind": "distance_end"})
        return AssessmentResult("gait-speed", speed, "m/s", fields, events, tuple(flags), tuple(notes),
                                {"method": "timed_distance"})
    report = _gait_report(series, scale_m_per_px=scale_m_per_px, roi=roi)
    speed = report.parameters.gait_speed_m_s
    if speed is None:
        raise ValidationError("The gait analysis found no gait speed (no distance scale); nothing was stored.")
    flags.append("distance_not_in_view")
    notes.append(f"Only {longest:.1f} m of straight walking was in view ({distance_m:g} m needed): the speed is the "
                 "gait analysis's mean over the passes.")
    fields.update({"gait_speed_m_s": rounded(speed), "method": "gait analysis over the passes"})
    return AssessmentResult("gait-speed", speed, "m/s", fields, (), tuple(flags + list(report.quality.flags)),
                            tuple(notes), {"method": "gait_analysis", "gait": report.to_dict()})
