"""Breathing with known answers: every inhale and exhale onset is set, then the wave is drawn.

:func:`simulate_breathing` takes a list of :class:`SimBreath` (inhale, optional hold after it,
exhale, pause after it, size) and draws a volume-like wave: a half cosine up over the inhale, a
flat top over a hold, an exhale that is either a half cosine down or a passive exponential
emptying (``exhale_shape="passive"``: quick at first, then slowly into the pause, as relaxed
lungs do), a flat pause. Noise, a slow baseline drift and a cardiac ripple (the heartbeat on
an impedance trace) are added on request. The true onsets come back with the wave.

The breath lists for the situations the analysis must get right: :func:`simulate_speech`
(quick inhalations, long speaking exhalations), :func:`simulate_sighs`, :func:`simulate_holds`,
and :func:`add_artefacts` (clipping, spikes, ADC wrap-around) on any wave.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SimBreath:
    inhale_s: float
    exhale_s: float
    size: float = 1.0
    hold_s: float = 0.0  # after the inhale (end-inspiratory)
    pause_s: float = 0.0  # after the exhale (end-expiratory)


@dataclass(frozen=True)
class SimWave:
    t_s: np.ndarray
    values: np.ndarray
    inhale_onsets_s: np.ndarray  # where each inhale starts (the end of the pause before it)
    exhale_onsets_s: np.ndarray  # where each exhale starts (the end of a hold, if any)


def simulate_breathing(breaths: list[SimBreath], /, *, rate_hz: float = 25.0, lead_s: float = 1.5,
                       exhale_shape: str = "cosine", noise: float = 0.02, drift: float = 0.0,
                       cardiac: float = 0.0, heart_hz: float = 1.2, seed: int = 0) -> SimWave:
    """The wave of ``breaths``, after ``lead_s`` of rest at the exhaled level."""
    rng = np.random.default_rng(seed)
    total = lead_s + sum(b.inhale_s + b.hold_s + b.exhale_s + b.pause_s for b in breaths) + 1.0
    t = np.arange(0.0, total, 1.0 / rate_hz)
    v = np.zeros_like(t)
    t0, inhales, exhales = lead_s, [], []
    for b in breaths:
        inhales.append(t0)
        up = (t >= t0) & (t < t0 + b.inhale_s)
        v[up] = b.size * (1 - np.cos(np.pi * (t[up] - t0) / b.inhale_s)) / 2
        top = t0 + b.inhale_s
        v[(t >= top) & (t < top + b.hold_s)] = b.size
        t1 = top + b.hold_s
        exhales.append(t1)
        down = (t >= t1) & (t < t1 + b.exhale_s)
        u = (t[down] - t1) / b.exhale_s
        if exhale_shape == "passive":  # e^(-4u), rescaled to end exactly at rest
            v[down] = b.size * (np.exp(-4 * u) - np.exp(-4.0)) / (1 - np.exp(-4.0))
        else:
            v[down] = b.size * (1 + np.cos(np.pi * u)) / 2
        t0 = t1 + b.exhale_s + b.pause_s
    v = v + drift * np.sin(2 * np.pi * t / 97.0) + cardiac * np.sin(2 * np.pi * heart_hz * t)
    v = v + noise * rng.standard_normal(t.size)
    return SimWave(t, v, np.array(inhales), np.array(exhales))


def simulate_speech(n: int = 30, /, *, seed: int = 0) -> list[SimBreath]:
    """Speech: quick inhalations (0.3-0.6 s) of varying size between speaking exhalations of
    2-6 s that end below the resting level then come back (modelled as the exhale)."""
    rng = np.random.default_rng(seed)
    return [SimBreath(inhale_s=rng.uniform(0.3, 0.6), exhale_s=rng.uniform(2.0, 6.0),
                      size=rng.uniform(0.5, 1.5), pause_s=rng.uniform(0.0, 0.3)) for _ in range(n)]


def simulate_sighs(n: int = 30, /, *, every: int = 6, seed: int = 0) -> list[SimBreath]:
    """Quiet breathing at about 12/min with a sigh (3x the size, a longer inhale) every ``every``."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        sigh = k % every == every // 2
        out.append(SimBreath(inhale_s=rng.uniform(1.4, 1.8) * (1.6 if sigh else 1.0),
                             exhale_s=rng.uniform(2.4, 3.2) * (1.5 if sigh else 1.0),
                             size=3.0 if sigh else rng.uniform(0.85, 1.15), pause_s=rng.uniform(0.2, 0.6)))
    return out


def simulate_holds(n: int = 24, /, *, seed: int = 0) -> list[SimBreath]:
    """Quiet breathing with breath holds of 5-20 s, after an inhalation or after an exhalation."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        hold = rng.uniform(5.0, 20.0) if k % 5 == 2 else 0.0
        after_inhale = k % 10 == 2
        out.append(SimBreath(inhale_s=rng.uniform(1.3, 1.8), exhale_s=rng.uniform(2.2, 3.0),
                             size=rng.uniform(0.8, 1.2), hold_s=hold if after_inhale else 0.0,
                             pause_s=(0.0 if after_inhale else hold) + rng.uniform(0.2, 0.5)))
    return out


def add_artefacts(wave: SimWave, /, *, clip_at: float | None = None, spikes_s=(), spike_size: float = 8.0,
                  wrap_s: tuple[float, float] | None = None, wrap_size: float = 20.0) -> np.ndarray:
    """``wave.values`` with the top clipped at ``clip_at``, one-sample spikes at ``spikes_s``, and
    between ``wrap_s`` the signal shifted by ``wrap_size`` (an ADC that wrapped round and back)."""
    v = wave.values.copy()
    if clip_at is not None:
        v = np.minimum(v, clip_at)
    for ts in spikes_s:
        v[int(np.argmin(np.abs(wave.t_s - ts)))] += spike_size
    if wrap_s is not None:
        v[(wave.t_s >= wrap_s[0]) & (wave.t_s < wrap_s[1])] -= wrap_size
    return v
