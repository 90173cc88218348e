"""When a movement starts and stops, from a speed signal (used for rises, sits and turns)."""

from __future__ import annotations

import math

import numpy as np


def compute_runs(mask: np.ndarray, /) -> list[tuple[int, int]]:
    """(start, stop) of each run of True (stop exclusive)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _crossing(t, speed, i: int, level: float, step: int) -> float:
    """Time where ``speed`` crosses ``level`` between frame ``i`` and ``i + step``."""
    j = i + step
    a, b = speed[i], speed[j]
    if not (math.isfinite(a) and math.isfinite(b)) or a == b:
        return float(t[i])
    return float(t[i] + (level - a) / (b - a) * (t[j] - t[i]))


def compute_edge_time(t_s: np.ndarray, speed: np.ndarray, i_from: int, stop: int, threshold: float, /, *,
                      step: int, rest_threshold: float, min_rest_s: float = 0.0) -> float | None:
    """Where a movement began (``step=-1``) or ended (``step=+1``), searching from frame
    ``i_from`` inside it towards ``stop``.

    1. Rest: the nearest stretch where ``speed`` stays below ``rest_threshold`` (the noise of
       the pose model at rest) for ``min_rest_s``; a dip between two parts of one movement,
       or the wobble of a pose model's estimate as the body settles, is not rest.
    2. From the rest back towards the movement, the first frame at ``threshold`` (a share of
       the movement's peak speed); the edge is that crossing extrapolated to zero speed along
       the slope between ``threshold`` and twice it, never beyond the rest. So a movement whose
       speed rises gently from rest is timed from where it starts, not from where it became
       fast, and a small wobble after it does not stretch it.

    Without a rest before ``stop``, the slowest moment of the searched stretch is returned;
    None when the stretch holds no known speed.
    """
    t, v = t_s, speed
    order = np.arange(i_from, stop + step, step)
    if order.size == 0 or not np.isfinite(v[order]).any():
        return None
    rest_at = None
    for a, e in compute_runs(v[order] < rest_threshold):
        if abs(t[order[e - 1]] - t[order[a]]) >= min_rest_s or e == order.size:
            rest_at = a
            break
    if rest_at is None:
        return float(t[order[int(np.nanargmin(v[order]))]])
    rest_t = float(t[order[rest_at]])
    moving = np.flatnonzero(v[order[:rest_at]] >= threshold)
    if moving.size == 0:
        return rest_t
    k = int(moving[-1])  # the last frame at the threshold before the rest
    t1 = _crossing(t, v, int(order[k]), threshold, step)
    j = k
    while j > 0 and v[order[j]] < 2 * threshold:
        j -= 1
    t2 = _crossing(t, v, int(order[j]), 2 * threshold, step) if v[order[j]] >= 2 * threshold else t1
    edge = t1 + step * abs(t1 - t2)
    return min(edge, rest_t) if step > 0 else max(edge, rest_t)
