"""When exactly a foot point lands or lifts, from its trajectory around a Zeni extreme.

Zeni's extreme (the point furthest ahead of, or behind, the body) is where the point moves at
the body's speed: a little before it lands on the ground, a little after it leaves it. Around
an initial contact the point decelerates, then moves with the ground: it stands still over a
floor seen by a fixed camera, and moves backward at the belt's (or the panning camera's) speed
when the person walks in place. :func:`compute_landing` fits a quadratic approach joined to
that stance motion -- a constant level when the ground is still, a straight line of unknown
slope when it moves -- over ``CONTACT_FIT_S`` either side, for landings from the extreme to
``CONTACT_SEARCH_S`` after it, and returns the best-fitting landing (sub-frame). A final
contact is the same in reverse time: the point moves with the ground until it lifts, then
accelerates away (:func:`compute_lift`).
"""

from __future__ import annotations

import math

import numpy as np

CONTACT_FIT_S = 0.1  # the trajectory is fitted this long either side of the landing
# The foot decelerates from the body's speed to the ground's in terminal swing, the last ~10 %
# of the gait cycle (Perry & Burnfield 2010): at most about 0.1 s at the slowest walking strides
CONTACT_SEARCH_S = 0.1
CONTACT_STEP_FRAMES = 0.05  # resolution of that search, in frames


def compute_landing(along: np.ndarray, peak: int, rate_hz: float, *, ground_moves: bool = False,
                    search_s: float = CONTACT_SEARCH_S) -> float:
    """Sub-frame index where a point moving along ``along`` lands, searched from ``peak`` on.

    ``ground_moves``: the stance motion is a line of unknown slope (treadmill, panning
    camera), else a constant level (still ground in the data's frame).
    """
    fit = max(2, int(round(CONTACT_FIT_S * rate_hz)))
    search = max(1.0, search_s * rate_hz)
    a, b = max(0, peak - fit), min(len(along), peak + int(math.ceil(search)) + fit + 1)
    x = np.arange(a, b, dtype=float)
    y = along[a:b]
    if len(x) < 5 or not np.isfinite(y).all():
        return float(peak)
    best_res, best = math.inf, float(peak)
    for land in np.arange(peak, min(peak + search, b - 2) + 1e-9, CONTACT_STEP_FRAMES):
        before = np.minimum(x - land, 0.0)
        columns = [np.ones_like(x), before, before ** 2]
        if ground_moves:
            columns.append(np.maximum(x - land, 0.0))
        design = np.stack(columns, axis=1)
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        res = float(np.sum((design @ coef - y) ** 2))
        if res < best_res:
            best_res, best = res, float(land)
    return best


def compute_lift(along: np.ndarray, trough: int, rate_hz: float, *, ground_moves: bool = False,
                 search_s: float = CONTACT_SEARCH_S) -> float:
    """Sub-frame index where a point lifts off, searched from ``trough`` back (reverse-time landing)."""
    n = len(along)
    reversed_index = compute_landing(-along[::-1], n - 1 - trough, rate_hz, ground_moves=ground_moves,
                                     search_s=search_s)
    return float(n - 1 - reversed_index)
