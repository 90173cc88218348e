"""Sagittal joint angles over each stride, resampled to 0-100 % of the gait cycle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedback.angles import compute_joint_angles
from feedback.gait.frames import SIDES
from feedback.gait.parameters import Stride
from sensing.landmarks import LandmarkSeries

CYCLE_ANGLES = ("hip_flexion_deg", "knee_flexion_deg", "ankle_dorsiflexion_deg")
CYCLE_POINTS = 101


@dataclass(frozen=True)
class GaitCycle:
    """One stride's curves: joint name -> (``CYCLE_POINTS``,) degrees, NaN = unknown."""

    cycle: int
    side: str
    t_start_s: float
    t_end_s: float
    curves: dict


def _angle_columns(series: LandmarkSeries) -> dict[str, np.ndarray]:
    """Sagittal hip/knee/ankle angles from the shared angle code (:mod:`feedback.angles`)."""
    angles = compute_joint_angles(series)
    out = {}
    for side in SIDES:
        for joint in CYCLE_ANGLES:
            name = f"{side}_{joint}"
            if name in angles.names:
                out[name] = np.asarray(angles.column(name), dtype=float)
    return out


def compute_cycles(series: LandmarkSeries, strides: list[Stride], /) -> list[GaitCycle]:
    angles = _angle_columns(series) if strides else {}
    pct = np.linspace(0.0, 100.0, CYCLE_POINTS)
    out = []
    for k, s in enumerate(strides):
        a, b = s.frame_start, s.frame_end
        t = series.t_s[a:b + 1]
        curves = {}
        for joint in CYCLE_ANGLES:
            col = angles.get(f"{s.side}_{joint}")
            y = None if col is None else col[a:b + 1]
            ok = np.zeros(0, bool) if y is None else np.isfinite(y)
            if y is None or ok.sum() < 2:
                curves[joint] = np.full(CYCLE_POINTS, np.nan)
                continue
            tp = (t - t[0]) / (t[-1] - t[0]) * 100.0
            curves[joint] = np.interp(pct, tp[ok], y[ok])
        out.append(GaitCycle(k, s.side, s.t_start_s, s.t_end_s, curves))
    return out
