"""Gap filling and filters checked against their definitions."""

import math

import numpy as np
import pytest
from scipy.signal import find_peaks

from feedback.smoothing import (
    FilterSettings, OneEuroFilter, compute_one_euro_alpha, fill_gaps, smooth, smooth_butterworth,
    smooth_one_euro,
)
from core.errors import InputError, ValidationError

RATE_HZ = 30.0


def _t(n, rate_hz=RATE_HZ):
    return np.arange(n) / rate_hz


# --------------------------------------------------------------------------- fill_gaps


def test_fill_gaps_fills_short_and_keeps_long():
    t = _t(100)
    truth = 3.0 * t + 1.0
    v = truth.copy()
    v[20:23] = np.nan  # 0.1 s
    v[50:65] = np.nan  # 0.5 s
    out = fill_gaps(t, v, max_gap_s=0.2)
    np.testing.assert_allclose(out[20:23], truth[20:23], atol=1e-12)
    assert np.isnan(out[50:65]).all()
    assert np.isnan(v[20:23]).all()  # input untouched


def test_fill_gaps_boundary_and_edges():
    t = _t(60)
    v = np.ones(60)
    v[10:16] = np.nan  # 6 frames = 0.2 s: filled
    v[30:37] = np.nan  # 7 frames = 0.233 s: kept
    v[:3] = np.nan  # leading: nothing before it
    v[-2:] = np.nan  # trailing
    out = fill_gaps(t, v, max_gap_s=0.2)
    assert np.isfinite(out[10:16]).all()
    assert np.isnan(out[30:37]).all()
    assert np.isnan(out[:3]).all() and np.isnan(out[-2:]).all()


def test_fill_gaps_columns_independently():
    t = _t(40)
    v = np.stack([np.arange(40.0), -np.arange(40.0)], axis=1)
    v[5:8, 0] = np.nan
    v[5:30, 1] = np.nan
    out = fill_gaps(t, v)
    np.testing.assert_allclose(out[5:8, 0], [5, 6, 7])
    assert np.isnan(out[5:30, 1]).all()


def test_fill_gaps_rejects_mismatched_or_unsorted_times():
    with pytest.raises(InputError):
        fill_gaps(_t(5), np.ones(4))
    v = np.array([1.0, np.nan, 3.0, 4.0])
    with pytest.raises(InputError, match="increase"):
        fill_gaps(np.array([0.0, 0.2, 0.1, 0.3]), v)


# --------------------------------------------------------------------------- One-Euro


def test_alpha_formula():
    dt, fc = 1 / 60, 2.5
    tau = 1 / (2 * math.pi * fc)
    assert compute_one_euro_alpha(fc, dt) == pytest.approx(1 / (1 + tau / dt), rel=1e-12)
    # A unit step seen by the filter (beta = 0, fixed cutoff): the second output IS alpha.
    flt = OneEuroFilter(min_cutoff_hz=fc, beta=0.0)
    assert flt.update(0.0, 0.0) == 0.0
    assert flt.update(dt, 1.0) == pytest.approx(1 / (1 + tau / dt), rel=1e-12)


def test_constant_in_constant_out():
    t = _t(300, 100.0)
    out = smooth_one_euro(t, np.full(300, 42.5), min_cutoff_hz=0.5, beta=0.3)
    np.testing.assert_allclose(out, 42.5, rtol=0, atol=1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.05, 0.5])
def test_ramp_lag_matches_first_order_filter(beta):
    """On a ramp of slope v, the speed estimate settles at v, the cutoff at
    fc = min_cutoff + beta * v, and a first-order low-pass lags by v * tau, tau = 1 / (2 pi fc)."""
    rate_hz, slope, min_cutoff_hz = 100.0, 20.0, 1.0
    t = _t(2000, rate_hz)
    out = smooth_one_euro(t, slope * t, min_cutoff_hz=min_cutoff_hz, beta=beta, d_cutoff_hz=1.0)
    fc = min_cutoff_hz + beta * slope
    expected_lag = slope / (2 * math.pi * fc)
    assert slope * t[-1] - out[-1] == pytest.approx(expected_lag, rel=1e-3)


def test_nan_gives_nan_and_resets():
    flt = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    flt.update(0.0, 0.0)
    flt.update(0.1, 0.0)
    assert math.isnan(flt.update(0.2, float("nan")))
    assert flt.update(0.3, 7.0) == 7.0  # restarts: the first sample passes through
    flt.reset()
    assert flt.update(0.0, -3.0) == -3.0


def test_array_elements_are_filtered_independently():
    t = _t(50)
    rng = np.random.default_rng(1)
    values = rng.normal(size=(50, 3)).cumsum(axis=0)
    values[20, 1] = np.nan
    together = smooth_one_euro(t, values, min_cutoff_hz=1.5, beta=0.1)
    for k in range(3):
        alone = smooth_one_euro(t, values[:, k], min_cutoff_hz=1.5, beta=0.1)
        np.testing.assert_allclose(together[:, k], alone, atol=1e-12, equal_nan=True)
    assert np.isnan(together[20, 1]) and together[21, 1] == values[21, 1]


def test_one_euro_is_causal():
    t = _t(100)
    rng = np.random.default_rng(2)
    a = rng.normal(size=100)
    b = a.copy()
    b[60:] += 10.0
    np.testing.assert_array_equal(smooth_one_euro(t, a)[:60], smooth_one_euro(t, b)[:60])


def test_one_euro_rejects_bad_parameters_and_time():
    with pytest.raises(ValidationError):
        OneEuroFilter(min_cutoff_hz=0.0)
    flt = OneEuroFilter()
    flt.update(1.0, 0.0)
    with pytest.raises(InputError, match="increasing"):
        flt.update(1.0, 1.0)


# --------------------------------------------------------------------------- Butterworth


def _sine(freq_hz, rate_hz=100.0, duration_s=20.0, phase=0.0):
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    return t, np.sin(2 * math.pi * freq_hz * t + phase)


def _amplitude_and_phase(t, x, freq_hz):
    """Least-squares amplitude and phase of a sine at ``freq_hz``."""
    s, c = np.sin(2 * math.pi * freq_hz * t), np.cos(2 * math.pi * freq_hz * t)
    a, b = np.linalg.lstsq(np.stack([s, c], axis=1), x, rcond=None)[0]
    return math.hypot(a, b), math.atan2(b, a)


def _middle(n):
    return slice(n // 4, 3 * n // 4)  # away from the edge transients


def test_gain_at_cutoff_is_half_for_forward_backward():
    cutoff_hz = 6.0
    t, x = _sine(cutoff_hz)
    y = smooth_butterworth(t, x, cutoff_hz=cutoff_hz, order=4)
    mid = _middle(len(t))
    gain, _ = _amplitude_and_phase(t[mid], y[mid], cutoff_hz)
    assert gain == pytest.approx(0.5, abs=0.01)  # (1/sqrt(2)) ** 2: -3 dB per pass


def test_zero_phase_below_cutoff():
    t, x = _sine(1.0, phase=0.3)
    y = smooth_butterworth(t, x, cutoff_hz=6.0)
    mid = _middle(len(t))
    _, phase_in = _amplitude_and_phase(t[mid], x[mid], 1.0)
    gain, phase_out = _amplitude_and_phase(t[mid], y[mid], 1.0)
    assert abs(phase_out - phase_in) < math.radians(0.1)
    assert gain == pytest.approx(1.0, abs=0.01)
    peaks_in, _ = find_peaks(x[mid])
    peaks_out, _ = find_peaks(y[mid])
    np.testing.assert_array_equal(peaks_in, peaks_out)  # same sample: no lag


def test_twenty_hertz_is_removed():
    t, x = _sine(20.0)
    y = smooth_butterworth(t, x, cutoff_hz=6.0)
    mid = _middle(len(t))
    gain, _ = _amplitude_and_phase(t[mid], y[mid], 20.0)
    assert gain < 1e-3


def test_finite_runs_filtered_separately_and_short_runs_kept():
    t, x = _sine(1.0, duration_s=10.0)
    noisy = x + 0.2 * np.sin(2 * math.pi * 25.0 * t)
    noisy[400:410] = np.nan
    noisy[480:495] = np.nan
    noisy[500:505] = np.nan  # samples 495..499: a run too short to filter
    y = smooth_butterworth(t, noisy, cutoff_hz=6.0)
    assert np.isnan(y[400:410]).all() and np.isnan(y[480:495]).all() and np.isnan(y[500:505]).all()
    np.testing.assert_array_equal(y[495:500], noisy[495:500])
    long_run = slice(100, 350)
    assert np.max(np.abs(y[long_run] - x[long_run])) < 0.01


def test_butterworth_rejects_cutoff_above_nyquist():
    t, x = _sine(1.0, rate_hz=30.0, duration_s=2.0)
    with pytest.raises(ValidationError, match="Nyquist"):
        smooth_butterworth(t, x, cutoff_hz=20.0)


def test_butterworth_two_dimensional_and_not_mutating():
    t, x = _sine(1.0, duration_s=5.0)
    values = np.stack([x, 2 * x], axis=1)
    before = values.copy()
    y = smooth_butterworth(t, values)
    assert y.shape == values.shape
    np.testing.assert_array_equal(values, before)
    np.testing.assert_allclose(y[:, 1], 2 * y[:, 0], atol=1e-12)


# --------------------------------------------------------------------------- settings


def test_filter_settings_describe_and_dispatch():
    settings = FilterSettings("butterworth", {"order": 2, "cutoff_hz": 4.0})
    assert settings.describe() == {"filter": "butterworth", "cutoff_hz": 4.0, "order": 2}
    t, x = _sine(20.0, duration_s=5.0)
    np.testing.assert_allclose(smooth(t, x, settings=settings),
                               smooth_butterworth(t, x, cutoff_hz=4.0, order=2))
    np.testing.assert_array_equal(smooth(t, x, settings=FilterSettings()), x)
    one_euro = FilterSettings("one_euro", {"min_cutoff_hz": 2.0})
    np.testing.assert_allclose(smooth(t, x, settings=one_euro), smooth_one_euro(t, x, min_cutoff_hz=2.0))
    with pytest.raises(ValidationError, match="butterworth"):
        FilterSettings("kalman")
