"""Which way the body faces about the vertical: from world landmarks (any view) and from
pixels (a side view), for the turns of the Timed Up and Go."""

from __future__ import annotations

import numpy as np

from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries


def compute_facing_deg(pts: np.ndarray, up: np.ndarray, coordinates: str) -> np.ndarray:
    """Facing direction about the vertical (deg, unwrapped); NaN from pixels."""
    if coordinates != "world_m":
        return np.full(len(pts), np.nan)
    idx = LANDMARK_INDEX
    right = (pts[:, idx["right_hip"]] - pts[:, idx["left_hip"]]) + (pts[:, idx["right_shoulder"]] - pts[:, idx["left_shoulder"]])
    ahead = np.cross(np.broadcast_to(up, right.shape), right)
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    e1 = np.cross(up, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    yaw = np.arctan2(ahead @ e2, ahead @ e1)
    out = np.full(len(yaw), np.nan)
    ok = np.isfinite(yaw)
    out[ok] = np.degrees(np.unwrap(yaw[ok]))
    return out


def compute_facing_image_x(series: LandmarkSeries) -> np.ndarray:
    """How far the body faces along the image's x axis, -1 (left) .. 1 (right): the feet's
    heel-to-toe and the face's ear-to-nose vectors in pixels, each divided by its own length
    when seen side-on (the 90th percentile over the recording), averaged. In a side view this
    is the cosine of the body's heading relative to the image plane; NaN without pixels."""
    if series.pixel_px is None:
        return np.full(len(series), np.nan)
    px = np.where((series.visibility >= 0.5)[..., None], series.pixel_px, np.nan)
    idx = LANDMARK_INDEX
    vectors = [px[:, idx[f"{s}_foot_index"]] - px[:, idx[f"{s}_heel"]] for s in ("left", "right")]
    vectors.append(px[:, idx["nose"]] - (px[:, idx["left_ear"]] + px[:, idx["right_ear"]]) / 2)
    parts = []
    for v in vectors:
        length = np.linalg.norm(v, axis=1)
        if not np.isfinite(length).any():
            continue
        side_on = float(np.nanpercentile(length, 90))
        if side_on > 0:
            parts.append(np.clip(v[:, 0] / side_on, -1.0, 1.0))
    return _mean_known(parts) if parts else np.full(len(series), np.nan)


def _mean_known(arrays: list[np.ndarray]) -> np.ndarray:
    stack = np.stack(arrays)
    known = np.isfinite(stack)
    count = known.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(known, stack, 0.0).sum(axis=0) / count, np.nan)
