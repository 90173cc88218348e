"""Gait internals the public reports depend on: facing turn rate and the shared smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.gait import frames, passes
from sensing.landmarks import LANDMARK_INDEX, N_LANDMARKS, LandmarkSeries

RATE_HZ = 100.0


def spinning_feet(duration_s: float, turn_deg_s: float, *, unknown_after_s: float) -> LandmarkSeries:
    """Feet turning on the spot at ``turn_deg_s``; foot markers unknown after ``unknown_after_s``."""
    t = np.arange(0.0, duration_s, 1 / RATE_HZ)
    world = np.full((t.size, N_LANDMARKS, 3), np.nan)
    angle = np.radians(turn_deg_s * t)
    direction = np.stack([np.cos(angle), np.sin(angle), np.zeros_like(t)], axis=1)
    for side, lat in (("left", 0.1), ("right", -0.1)):
        heel = np.stack([-lat * np.sin(angle), lat * np.cos(angle), np.zeros_like(t)], axis=1)
        world[:, LANDMARK_INDEX[f"{side}_heel"]] = heel
        world[:, LANDMARK_INDEX[f"{side}_foot_index"]] = heel + 0.2 * direction
    world[t > unknown_after_s, :, :] = np.nan
    return LandmarkSeries(t_s=t, world_m=world, visibility=np.where(np.isfinite(world[..., 0]), 1.0, 0.0),
                          up=(0.0, 0.0, 1.0))


def test_facing_turn_rate_is_measured_and_unknown_where_the_feet_are():
    series = spinning_feet(6.0, 60.0, unknown_after_s=4.0)
    fr = frames.compute_floor_frame(series)
    rate = passes.compute_facing_turn_rate(fr, slice(0, len(series)))
    known = series.t_s <= 4.0
    assert np.nanmedian(rate[(series.t_s > 0.5) & (series.t_s < 3.5)]) == pytest.approx(60.0, rel=0.02)
    # unknown facing is unknown (NaN), never "not turning" (0)
    assert np.isnan(rate[series.t_s > 4.1]).all()
    assert np.isfinite(rate[known][:-2]).all()


def test_no_feet_at_all_is_unknown_not_zero():
    series = spinning_feet(2.0, 60.0, unknown_after_s=-1.0)
    fr = frames.compute_floor_frame(series)
    assert np.isnan(passes.compute_facing_turn_rate(fr, slice(0, len(series)))).all()


def test_lowpass_is_the_shared_butterworth_and_leaves_edges_unknown():
    from feedback.smoothing import smooth_butterworth

    t = np.arange(0.0, 5.0, 1 / RATE_HZ)
    x = np.sin(2 * np.pi * 1.0 * t) + 0.1 * np.sin(2 * np.pi * 30.0 * t)
    x[:20] = np.nan
    x[200:210] = np.nan  # an interior gap is interpolated first
    filled = frames.fill(t, x)
    assert np.isnan(filled[:20]).all() and np.isfinite(filled[20:]).all()  # no invented edges
    out = frames.lowpass(t, filled, 6.0)
    assert np.array_equal(out, smooth_butterworth(t, filled, cutoff_hz=6.0, order=frames.LOWPASS_ORDER),
                          equal_nan=True)
    clean = np.r_[40:180, 230:460]  # away from the edges and the interpolated gap
    assert np.max(np.abs(out[clean] - np.sin(2 * np.pi * t[clean]))) < 0.02  # 30 Hz gone
    assert frames.lowpass(t, filled, 60.0) is not filled  # above Nyquist: a copy, unfiltered
    assert np.array_equal(frames.lowpass(t, filled, 60.0), filled, equal_nan=True)
