"""Where the simulated walker's body is laid in the world, and how a side-on camera sees it."""

from __future__ import annotations

import math

import numpy as np

from sensing.landmarks import MEDIAPIPE_WORLD_UP
from synthetic.body import BODY_HEIGHT_M

TURN_RADIUS_M = 0.6


def lay_on_path(sigma: np.ndarray, lateral: np.ndarray, travel: np.ndarray, turn_sigma: float | None):
    """World floor position of a point ``sigma`` metres along the path and ``lateral`` to the
    right of travel: straight along ``travel``, or with a half circle from ``turn_sigma``."""
    up = np.asarray(MEDIAPIPE_WORLD_UP, dtype=float)
    right0 = np.cross(travel, up)
    if turn_sigma is None:
        return sigma[:, None] * travel + lateral[:, None] * right0
    theta = np.clip((sigma - turn_sigma) / TURN_RADIUS_M, 0.0, math.pi)[:, None]
    start = turn_sigma * travel
    centre = start - TURN_RADIUS_M * right0
    right = np.cos(theta) * right0 + np.sin(theta) * travel
    heading = np.cos(theta) * travel - np.sin(theta) * right0
    on_path = centre + TURN_RADIUS_M * right
    before = (sigma < turn_sigma)[:, None]
    after = np.clip(sigma - turn_sigma - math.pi * TURN_RADIUS_M, 0.0, None)[:, None]
    straight = np.where(before, sigma[:, None] * travel, on_path + after * heading)
    return straight + lateral[:, None] * np.where(before, right0, right)


def side_view(world: np.ndarray, image_size, px_per_m) -> tuple[np.ndarray | None, float | None]:
    """Orthographic side-view pixels (the whole walk fits the image unless ``px_per_m``)."""
    if image_size is None:
        return None, None
    width_px, height_px = image_size
    x = world[..., 0]
    x_mid = float((np.nanmax(x) + np.nanmin(x)) / 2)
    span = float(np.nanmax(x) - np.nanmin(x)) + 0.4
    scale = px_per_m if px_per_m is not None else min(0.8 * height_px / BODY_HEIGHT_M, 0.95 * width_px / span)
    y_mid = (float(np.nanmax(world[..., 1])) + float(np.nanmin(world[..., 1]))) / 2
    pixel = np.stack([width_px / 2.0 + scale * (world[..., 0] - x_mid),
                      height_px / 2.0 + scale * (world[..., 1] - y_mid)], axis=-1)
    return pixel, scale
