"""How far each figure of a gait report can be trusted, and why (``gait.json`` ``quality``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from feedback.gait.frames import SIDES, FloorFrame, pixel_len, pixel_mid
from feedback.gait.parameters import GaitParameters, Stride
from feedback.gait.passes import GaitPass, Pelvis
from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries

FEW_STRIDES = 4
LOW_VISIBILITY = 0.6
SIDE_ON_MAX_WIDTH_RATIO = 0.5  # hip width / torso length in pixels above this: not side-on
TRUST_NOTES = ("Trust levels: high = motion capture with >= 4 strides; moderate = video with "
               ">= 4 strides or variability/symmetry from >= 8; low = fewer strides, an oblique "
               "view, low visibility, or a figure video measures poorly (stance, double support, "
               "metres from a pixel scale).")


@dataclass(frozen=True)
class GaitQuality:
    """Flags and per-figure trust of one report."""

    n_strides: int
    n_steps: int
    n_passes: int
    flags: tuple[str, ...]
    foot_visibility_mean: float
    side_on: bool | None
    pelvis_reference: str
    scale_known: bool
    trust: dict = field(default_factory=dict)
    notes: str = TRUST_NOTES
    rejected_events: dict = field(default_factory=dict)  # rule -> events it rejected
    side_swaps_corrected: int = 0  # video frames whose left and right legs were exchanged back

    def to_dict(self) -> dict:
        return {"n_strides": self.n_strides, "n_steps": self.n_steps, "n_passes": self.n_passes,
                "flags": list(self.flags), "foot_visibility_mean": self.foot_visibility_mean,
                "side_on": self.side_on, "pelvis_reference": self.pelvis_reference,
                "scale_known": self.scale_known, "rejected_events": dict(self.rejected_events),
                "side_swaps_corrected": self.side_swaps_corrected,
                "trust": dict(self.trust), "notes": self.notes}


def _side_on(series: LandmarkSeries, used: np.ndarray) -> bool | None:
    """Hip width / torso length in pixels at most ``SIDE_ON_MAX_WIDTH_RATIO`` (None = unknown)."""
    width = pixel_len(series, "left_hip", "right_hip")[used]
    torso = np.linalg.norm(pixel_mid(series, "left_shoulder", "right_shoulder")
                           - pixel_mid(series, "left_hip", "right_hip"), axis=1)[used]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = width / torso
    value = float(np.nanmedian(ratio)) if np.isfinite(ratio).any() else float("nan")
    return bool(value <= SIDE_ON_MAX_WIDTH_RATIO) if math.isfinite(value) else None


def compute_quality(series: LandmarkSeries, fr: FloorFrame, params: GaitParameters, strides: list[Stride],
                    used: np.ndarray, switches: list[int], passes: list[GaitPass], pelvis: Pelvis | None,
                    scale: float | None, *, rejected: dict | None = None,
                    treadmill_speed: float | None = None) -> GaitQuality:
    """Flags and trust of the headline figures (``params``, from ``strides``)."""
    flags = []
    n_strides = len(strides)
    if n_strides < FEW_STRIDES:
        flags.append("few_strides")
    if not passes:
        flags.append("no_walking_found")
    if switches:
        flags.append("identity_switch")
    vis_idx = [LANDMARK_INDEX[f"{s}_{p}"] for s in SIDES for p in ("heel", "foot_index", "ankle")]
    vis = float(np.mean(series.visibility[used][:, vis_idx])) if used.any() else 0.0
    if fr.pixel and vis < LOW_VISIBILITY:
        flags.append("low_visibility")
    side_on = _side_on(series, used) if fr.pixel and used.any() else None
    if side_on is False:
        flags.append("not_side_on")
    pelvis_kind = "none" if pelvis is None else pelvis.kind
    if pelvis_kind != "mid_hip":
        flags.append("pelvis_approximated_from_feet")
    if any(p.direction == "unknown" for p in passes):
        flags.append("direction_unknown")
    if any(p.direction == "backward" for p in passes):
        flags.append("backward_pass")  # its figures are under parameters_by_direction, not the headline
    if any(p.progression == "in_place" for p in passes):
        flags.append("walking_in_place")  # treadmill, or a camera following the walker
        if params.gait_speed_m_s is None:
            flags.append("speed_unknown")
    if rejected and any(rejected.values()):
        flags.append("events_rejected")
    return GaitQuality(n_strides, params.n_steps, len(passes), tuple(flags), round(vis, 3), side_on,
                       pelvis_kind, scale is not None,
                       _trust(params, n_strides, not fr.pixel, flags, treadmill_speed is not None),
                       rejected_events=dict(rejected or {}), side_swaps_corrected=fr.side_swaps)


def _trust(params: GaitParameters, n_strides: int, lab: bool, flags: list[str], belt_given: bool) -> dict:
    base = "high" if lab and n_strides >= FEW_STRIDES else ("moderate" if n_strides >= FEW_STRIDES else "low")
    if "low_visibility" in flags or "not_side_on" in flags:
        base = "low"
    many = "moderate" if n_strides >= 2 * FEW_STRIDES else "low"

    def known(value, level: str) -> str:
        return level if value is not None else "none"

    return {
        "cadence_steps_per_min": base if params.n_steps else "none",
        "stride_time_s": base if n_strides else "none",
        "step_time_s": base if params.n_steps else "none",
        "stance_pct": known(params.stance_pct, base if lab else "low"),
        "swing_pct": known(params.swing_pct, base if lab else "low"),
        "double_support_pct": known(params.double_support_pct, "moderate" if lab and base == "high" else "low"),
        "symmetry": known(params.step_time_symmetry_index_pct, many),
        "stride_time_cv_pct": known(params.stride_time_cv_pct, many),
        "gait_speed_m_s": known(params.gait_speed_m_s, "high" if lab else ("moderate" if belt_given else "low")),
        "step_length_m": known(params.step_length_m, "moderate" if lab else "low"),
    }
