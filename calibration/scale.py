"""Distance scale (metres per pixel) for a camera set-up, so gait is reported in metres.

Two ways to find it:

- from the patient's height: in a standing frame, the image distance from the middle of
  the eyes to the middle of the heels spans a known fraction of body height. Eye height
  is 0.936 of stature (Drillis & Contini 1966, as tabulated in Winter, *Biomechanics and
  Motor Control of Human Movement*, 4th ed., fig. 4.1); MediaPipe's heel landmark sits at
  the back of the heel, about 0.015 of stature above the floor (half the heel pad height).
  So eyes-to-heels spans :data:`EYE_TO_HEEL_FRACTION` of stature. The scale holds at the
  distance the person stood from the camera (the walking plane);
- from a known length in the scene: two image points and the distance between them.

A set-up's scale is stored by name in ``camera_setups`` (one row per name, replaced when
measured again) by :mod:`mindmove.store.camera_setups`; :func:`validate_camera_setup` here is
the check it applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from calibration.profile import HEIGHT_LIMITS_M
from core.errors import InputError, ValidationError
from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries, PoseFrame

EYE_HEIGHT_FRACTION = 0.936
HEEL_LANDMARK_HEIGHT_FRACTION = 0.015
EYE_TO_HEEL_FRACTION = EYE_HEIGHT_FRACTION - HEEL_LANDMARK_HEIGHT_FRACTION
MIN_LANDMARK_VISIBILITY = 0.5
SCALE_METHODS = ("height", "known_length")

_EYES = ("left_eye", "right_eye")
_HEELS = ("left_heel", "right_heel")


@dataclass(frozen=True)
class CameraSetupRecord:
    name: str
    metres_per_pixel: float
    method: str
    detail: dict = field(default_factory=dict)
    created_by: str = ""
    created_at: datetime | None = None


def _eye_heel_px(pixel_px: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """(T,) image distance eyes-midpoint to heels-midpoint; NaN where any is unseen."""
    idx = [LANDMARK_INDEX[n] for n in _EYES + _HEELS]
    pts = pixel_px[:, idx, :].astype(float)
    seen = (visibility[:, idx] >= MIN_LANDMARK_VISIBILITY) & np.isfinite(pts).all(axis=2)
    pts[~seen] = np.nan
    eyes = pts[:, :2].mean(axis=1)
    heels = pts[:, 2:].mean(axis=1)
    return np.linalg.norm(eyes - heels, axis=1)


def compute_scale_from_height(series_or_frame: LandmarkSeries | PoseFrame, height_m: float) -> float:
    """Metres per pixel from a standing person of known height (median over the frames)."""
    if not isinstance(height_m, (int, float)) or not HEIGHT_LIMITS_M[0] <= height_m <= HEIGHT_LIMITS_M[1]:
        raise ValidationError(
            f"Height must be between {HEIGHT_LIMITS_M[0]:g} and {HEIGHT_LIMITS_M[1]:g} m, but got {height_m!r}."
        )
    if isinstance(series_or_frame, PoseFrame):
        px, vis = series_or_frame.pixel_px, series_or_frame.visibility
        px = None if px is None else px[None]
        vis = vis[None]
    else:
        px, vis = series_or_frame.pixel_px, series_or_frame.visibility
    if px is None:
        raise InputError("Expected landmarks with image (pixel) coordinates to measure the scale, but these have none.")
    span_px = _eye_heel_px(px, vis)
    span_px = span_px[np.isfinite(span_px)]
    if span_px.size == 0:
        raise ValidationError(
            "Expected the eyes and heels to be visible in a standing frame, but they were not. "
            "Stand fully in view, facing the camera, and measure again."
        )
    body_px = float(np.median(span_px)) / EYE_TO_HEEL_FRACTION
    if body_px <= 0:
        raise ValidationError("The standing figure has no height in the image. Measure again.")
    return height_m / body_px


def compute_scale_from_known_length(p1_px, p2_px, length_m: float) -> float:
    """Metres per pixel from two image points ``length_m`` apart in the walking plane."""
    p1, p2 = np.asarray(p1_px, dtype=float), np.asarray(p2_px, dtype=float)
    if p1.shape != (2,) or p2.shape != (2,) or not (np.isfinite(p1).all() and np.isfinite(p2).all()):
        raise ValidationError(f"Expected two image points (x, y) in pixels, but got {p1_px!r} and {p2_px!r}.")
    if not isinstance(length_m, (int, float)) or not math.isfinite(length_m) or length_m <= 0:
        raise ValidationError(f"Expected a known length above 0 m, but got {length_m!r}.")
    dist_px = float(np.linalg.norm(p2 - p1))
    if dist_px < 1.0:
        raise ValidationError(f"The two points are {dist_px:.1f} px apart; pick points further apart and measure again.")
    return float(length_m) / dist_px


def validate_camera_setup(name: str, metres_per_pixel: float, /, *, method: str, by: str) -> str:
    """The set-up's name, stripped; a :class:`ValidationError` unless the scale may be stored."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError(f"Expected a camera set-up name of 1 to 120 characters, but got {name!r}.")
    if method not in SCALE_METHODS:
        raise ValidationError(f"Unknown scale method {method!r}: expected one of {', '.join(SCALE_METHODS)}.")
    if not isinstance(metres_per_pixel, (int, float)) or not math.isfinite(metres_per_pixel) or not 0 < metres_per_pixel < 1:
        raise ValidationError(f"Expected a scale between 0 and 1 m per pixel, but got {metres_per_pixel!r}.")
    if not (by or "").strip():
        raise ValidationError("Expected the name of the person measuring the scale (--by NAME), but got nothing.")
    return name
