"""Breath analysis, streaming and causal: the same class serves a live belt and a file.

Feed :class:`BreathAnalyzer` one chunk of ``(t_s, values)`` at a time with
:meth:`~BreathAnalyzer.update`; it returns the inhalation and exhalation onsets it confirmed in
that chunk. :func:`analyze_breath` runs it over a whole recording.

How it works (every threshold is a constructor option):

1. **Low-pass and decimate.** A 2nd-order Butterworth low-pass (``lowpass_hz``, 1.5 Hz: fast
   breathing is below 0.7 Hz) runs causally (``sosfilt`` with kept state) at the input rate,
   then every ``q``-th sample is kept so the rest runs at about ``analysis_rate_hz`` (25 Hz).
   Decimation is part of the analyzer: a 1000 Hz belt is fed as it comes.
2. **Adaptive hysteresis.** A slow running mean (time constant ``midline_cycles`` breath
   cycles, clamped to 3-15 s) follows baseline drift; a running standard deviation
   measures the session's own breath size. The signal "rises" once it goes above
   ``mean + hysteresis_sd * sd`` and "falls" once below ``mean - hysteresis_sd * sd``. A
   crossing less than ``min_phase_s`` after the previous one is ignored (no breath shorter
   than twice that).
3. **Onset timing: at the turning point.** At each confirmed crossing the onset is found
   retrospectively in the segment since the previous crossing, so an event arrives a
   fraction of a breath late but carries the onset's own time (causal: only samples up to
   the confirmation are used). The seed is the trough (or, for a fall, the peak) of the
   detection-filtered signal, tilted by ``onset_slope_fraction`` (3 %) of the rise's
   steepest slope so that, of a flat bottom, its latest point is taken. The samples within
   ``onset_band_fraction`` (20 %) of the trough-to-crossing height around it are then
   classified by their shape where they leave that band (slope x width / height: 2 for any
   parabola, about 2.2 for a cosine; above ``EDGE_FLATNESS`` = 6 for a flat stretch ending
   in an edge):

   - *rounded* (belts, volume-like waves): :func:`compute_corner_time` fits a parabola on
     each side of a common vertex, each side with its own curvature, to the same samples
     through a lighter onset filter (2nd-order Butterworth at ``onset_lowpass_hz``, 4 Hz), and
     the onset is the vertex minus that filter's group delay at the current breathing
     frequency (about 0.056 s). Lopsided troughs (a slow exhale's end, a quick inhale's start)
     are neither drawn to the slow side by noise, as the lowest sample is, nor by the
     smoothing, as the heavier filter's extremum is.
   - *edge* (capnography): the foot of the edge, walking back from the crossing until the
     slope falls below ``EDGE_FOOT_SLOPE_FRACTION`` (20 %) of its steepest; no delay is
     subtracted (the foot of a filtered step is hardly delayed).

   The former rule (the foot, on every signal) put a smooth wave's onsets a slope-threshold
   after its turning points, later after a slow phase than after a quick one: a 1:2 belt at
   6/min read as about 1:1. Onsets may be closer than ``min_phase_s``; a breath shorter than
   ``2 * min_phase_s`` is a wiggle and is not recorded (its onsets are still events).
4. **Polarity.** Inhalation is chest expansion. With ``polarity="normal"`` a rise is an
   inhalation (belt force rises on inhalation); ``"inverted"`` means a fall is an inhalation
   (nasal airflow points down on inspiration, exhaled CO2 drops at inspiration). With
   ``"auto"`` (the default) the rule is: **in normal breathing the inhalation is shorter than
   the exhalation**, so after ``polarity_breaths`` rise/fall pairs the shorter of the two
   (median) is called the inhalation. Until then, events are held back (``phase`` is
   ``"unknown"``) and released together once decided.
5. **Gaps.** A NaN value (a belt's gap marker) or a time jump longer than ``gap_s`` resets
   the filter, the crossing state and the breath in progress: no breath spans a gap and
   none is invented; the breath-size estimate is kept.

The current ``phase`` follows the slope of the filtered signal (polarity corrected): above
``phase_slope_fraction`` of the typical slope is ``"inhale"``, below minus that is
``"exhale"``, flat for ``pause_min_s`` is ``"pause"``. This suits volume-like signals (belts);
on a flow or CO2 signal the phase is not meaningful, the onsets are.

``ie_ratio`` is exhale time over inhale time, so an inhale:exhale of 1:2 is 2.0 (as the pacer).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
from scipy import signal

from core.errors import InputError, ValidationError

log = logging.getLogger(__name__)

Polarity = Literal["auto", "normal", "inverted"]  # normal: a rise is an inhalation
POLARITIES: tuple[str, ...] = get_args(Polarity)
PHASES = ("inhale", "exhale", "pause", "unknown")
MIDLINE_TAU_RANGE_S = (3.0, 15.0)
INITIAL_CYCLE_S = 5.0
SD_TAU_FACTOR = 2.0  # the breath-size estimate averages twice as long as the midline
SLOPE_TAU_S = 10.0
EDGE_FLATNESS = 6.0  # slope x width / height where a trough leaves its band: 2 for a parabola
EDGE_FOOT_SLOPE_FRACTION = 0.2  # the foot of an edge: where its slope falls below this share


@dataclass(frozen=True)
class BreathEvent:
    """An inhalation or exhalation onset; ``value`` is the filtered signal's extreme there."""

    kind: str  # "inhale_onset" | "exhale_onset"
    t_s: float
    value: float


@dataclass(frozen=True)
class Breath:
    """One breath: inhalation onset, exhalation onset, and the next inhalation onset."""

    inhale_onset_s: float
    exhale_onset_s: float
    end_s: float | None
    amplitude: float  # peak minus trough of the filtered signal, in the input's units

    @property
    def inhale_s(self) -> float:
        return self.exhale_onset_s - self.inhale_onset_s

    @property
    def exhale_s(self) -> float | None:
        return None if self.end_s is None else self.end_s - self.exhale_onset_s

    @property
    def duration_s(self) -> float | None:
        return None if self.end_s is None else self.end_s - self.inhale_onset_s


@dataclass(frozen=True)
class BreathAnalysis:
    """The offline result: every complete breath, every onset, and a summary."""

    breaths: list[Breath]
    events: list[BreathEvent]
    summary: dict
    polarity: str


class BreathAnalyzer:
    """Streaming, causal breath analysis (see the module docstring)."""

    def __init__(self, *, rate_hz: float | None = None, polarity: str = "auto",
                 lowpass_hz: float = 1.5, analysis_rate_hz: float = 25.0,
                 hysteresis_sd: float = 0.15, min_phase_s: float = 0.8,
                 onset_slope_fraction: float = 0.03, onset_lowpass_hz: float = 4.0,
                 onset_band_fraction: float = 0.2, midline_cycles: float = 1.5,
                 warmup_s: float = 2.0, polarity_breaths: int = 4, gap_s: float = 1.0,
                 phase_slope_fraction: float = 0.15, pause_min_s: float = 0.6) -> None:
        if polarity not in POLARITIES:
            raise ValidationError(f"Breath polarity is one of {', '.join(POLARITIES)}, but got {polarity!r}.")
        if rate_hz is not None and not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise ValidationError(f"A breath sampling rate is a positive number of Hz, but got {rate_hz!r}.")
        self.polarity_requested = polarity
        self.rate_hz = rate_hz
        self.lowpass_hz = lowpass_hz
        self.analysis_rate_hz = analysis_rate_hz
        self.hysteresis_sd = hysteresis_sd
        self.min_phase_s = min_phase_s
        self.onset_slope_fraction = onset_slope_fraction
        self.onset_lowpass_hz = onset_lowpass_hz
        self.onset_band_fraction = onset_band_fraction
        self.midline_cycles = midline_cycles
        self.warmup_s = warmup_s
        self.polarity_breaths = polarity_breaths
        self.gap_s = gap_s
        self.phase_slope_fraction = phase_slope_fraction
        self.pause_min_s = pause_min_s

        self._sign: int | None = {"normal": 1, "inverted": -1}.get(polarity)
        self._sos = None
        self._sos_onset = None
        self._q = 1
        self._zi = None
        self._keep_count = 0
        # statistics kept across gaps
        self._mid: float | None = None
        self._var = 0.0
        self._slope_typ = 0.0
        self._cycles: list[float] = []
        # per-run state (reset at gaps)
        self._reset_run()
        self._last_t: float | None = None
        # onsets found before the polarity is known: ("rise" | "fall", t_s, value)
        self._raw: list[tuple[str, float, float]] = []
        self.events: list[BreathEvent] = []
        self.breaths: list[Breath] = []
        self._current: dict | None = None
        self.phase = "unknown"
        self._phase_raw = "unknown"
        self._still_s = 0.0
        self.gaps = 0

    # ----------------------------------------------------------------- public API
    @property
    def polarity(self) -> str:
        """The polarity in use: ``"normal"``, ``"inverted"`` or ``"undecided"``."""
        return {1: "normal", -1: "inverted", None: "undecided"}[self._sign]

    def update(self, t_s: np.ndarray, values: np.ndarray, /) -> list[BreathEvent]:
        """Analyse one chunk; returns the onsets confirmed by it (times may be earlier)."""
        t = np.asarray(t_s, dtype=float).ravel()
        x = np.asarray(values, dtype=float).ravel()
        if t.shape != x.shape:
            raise InputError(f"Breath times and values must have the same length, but got {t.size} and {x.size}.")
        if t.size == 0:
            return []
        if self.rate_hz is None:
            self._guess_rate(t)
        self._ensure_filter()
        n_before = len(self.events)
        bad = ~np.isfinite(x) | ~np.isfinite(t)
        start = 0
        while start < t.size:
            if bad[start]:
                self._gap(t[start])
                start += 1
                continue
            stop = start
            while stop < t.size and not bad[stop]:
                stop += 1
            self._run(t[start:stop], x[start:stop])
            start = stop
        return self.events[n_before:]

    def finish(self) -> list[BreathEvent]:
        """End of the stream: decide the polarity with what was seen and release held onsets."""
        n_before = len(self.events)
        if self._sign is None:
            self._decide_polarity(force=True)
        return self.events[n_before:]

    def rate_bpm(self, last_n: int = 5) -> float:
        """Breaths per minute over the last ``last_n`` complete breaths (NaN before one), by
        :func:`compute_breath_rate_bpm`."""
        rate = compute_breath_rate_bpm(self.breaths[-last_n:])
        return math.nan if rate is None else rate

    def ie_ratio(self, last_n: int = 5) -> float:
        """Median exhale/inhale time over the last ``last_n`` breaths (NaN before one)."""
        ratios = [b.exhale_s / b.inhale_s for b in self.breaths[-last_n:] if b.inhale_s > 0]
        return float(np.median(ratios)) if ratios else math.nan

    @property
    def amplitude_rel(self) -> float:
        """The last breath's size as a fraction (0..1) of the largest breath this session."""
        if not self.breaths:
            return math.nan
        largest = max(b.amplitude for b in self.breaths)
        return float(self.breaths[-1].amplitude / largest) if largest > 0 else math.nan

    # ----------------------------------------------------------------- internals
    def _guess_rate(self, t: np.ndarray) -> None:
        dt = np.diff(t[np.isfinite(t)])
        dt = dt[dt > 0]
        if dt.size < 2:
            raise InputError("The breath analyzer needs rate_hz, or a first chunk of at least 3 timed samples "
                             f"to measure it, but got {t.size}. Pass rate_hz.")
        self.rate_hz = float(1.0 / np.median(dt))
        log.info("breath sampling rate measured from the first samples: %.2f Hz", self.rate_hz)

    def _ensure_filter(self) -> None:
        if self._sos is not None:
            return
        nyquist = self.rate_hz / 2.0
        cutoff = min(self.lowpass_hz, 0.8 * nyquist)
        self._sos = signal.butter(2, cutoff, btype="low", fs=self.rate_hz, output="sos")
        self._sos_onset = signal.butter(2, min(self.onset_lowpass_hz, 0.8 * nyquist), btype="low",
                                        fs=self.rate_hz, output="sos")
        self._q = max(1, int(round(self.rate_hz / self.analysis_rate_hz)))

    def _reset_run(self) -> None:
        self._zi = None
        self._zi_onset = None
        self._run_start_t: float | None = None
        self._direction: str | None = None  # "up" | "down" after a confirmed crossing
        self._last_cross_t = -math.inf
        self._seg_t: list[float] = []
        self._seg_x: list[float] = []
        self._seg_f: list[float] = []  # the same samples through the onset filter
        self._prev: tuple[float, float] | None = None

    def _gap(self, t_gap: float) -> None:
        if self._run_start_t is not None or self._current is not None:
            self.gaps += 1
            log.debug("breath gap at %.2f s: detector reset", t_gap)
        self._reset_run()
        self._current = None
        self.phase = "unknown"
        self._phase_raw = "unknown"
        # onsets held for the polarity decision stay valid, but a pair may not span the gap
        if self._raw:
            self._raw.append(("gap", t_gap, math.nan))

    def _run(self, t: np.ndarray, x: np.ndarray) -> None:
        """A contiguous run of valid samples: filter, decimate, step the detector."""
        if self._last_t is not None and t[0] - self._last_t > self.gap_s and self._run_start_t is not None:
            self._gap(self._last_t)
        jumps = np.flatnonzero(np.diff(t) > self.gap_s)
        if jumps.size:
            cut = jumps[0] + 1
            self._run(t[:cut], x[:cut])
            self._gap(t[cut - 1])
            self._run(t[cut:], x[cut:])
            return
        self._last_t = float(t[-1])
        if self._zi is None:
            self._zi = signal.sosfilt_zi(self._sos) * x[0]
            self._zi_onset = signal.sosfilt_zi(self._sos_onset) * x[0]
            self._keep_count = 0
        y, self._zi = signal.sosfilt(self._sos, x, zi=self._zi)
        y_onset, self._zi_onset = signal.sosfilt(self._sos_onset, x, zi=self._zi_onset)
        first = (-self._keep_count) % self._q
        kept = np.arange(first, y.size, self._q)
        self._keep_count = (self._keep_count + y.size) % self._q
        for i in kept:
            self._step(float(t[i]), float(y[i]), float(y_onset[i]))

    def _midline_tau_s(self) -> float:
        cycle = float(np.median(self._cycles[-5:])) if self._cycles else INITIAL_CYCLE_S
        lo, hi = MIDLINE_TAU_RANGE_S
        return min(hi, max(lo, self.midline_cycles * cycle))

    def _step(self, t: float, y: float, y_onset: float) -> None:
        if self._run_start_t is None:
            self._run_start_t = t
            self._mid = y  # after a gap the baseline may have moved; the breath size is kept
        dt = 1.0 / (self.rate_hz / self._q)
        tau = self._midline_tau_s()
        a_mid = dt / tau
        a_var = dt / (SD_TAU_FACTOR * tau)
        self._mid += a_mid * (y - self._mid)
        self._var += a_var * ((y - self._mid) ** 2 - self._var)
        slope = 0.0
        if self._prev is not None and t > self._prev[0]:
            slope = (y - self._prev[1]) / (t - self._prev[0])
            self._slope_typ += (dt / SLOPE_TAU_S) * (abs(slope) - self._slope_typ)
        self._prev = (t, y)
        self._seg_t.append(t)
        self._seg_x.append(y)
        self._seg_f.append(y_onset)
        self._update_phase(slope, dt)

        if t - self._run_start_t < self.warmup_s:
            return
        band = self.hysteresis_sd * math.sqrt(self._var)
        if band <= 0:
            return
        if self._direction != "up" and y > self._mid + band:
            self._cross("up", t)
        elif self._direction != "down" and y < self._mid - band:
            self._cross("down", t)

    def _cross(self, direction: str, t: float) -> None:
        if t - self._last_cross_t < self.min_phase_s:
            return
        first = self._direction is None
        self._direction = direction
        self._last_cross_t = t
        seg_t = np.asarray(self._seg_t)
        seg_x = np.asarray(self._seg_x)
        seg_f = np.asarray(self._seg_f)
        self._seg_t, self._seg_x, self._seg_f = [t], [seg_x[-1]], [seg_f[-1]]
        if first:
            return  # the segment before the first crossing may have started mid-breath
        sign = 1.0 if direction == "up" else -1.0
        i_ext = int(np.argmin(sign * seg_x))
        onset_t = self._onset_time(seg_t, sign * seg_x, sign * seg_f, i_ext)
        kind = "rise" if direction == "up" else "fall"
        self._raw_onset(kind, onset_t, float(seg_x[i_ext]))

    def _onset_time(self, seg_t: np.ndarray, z: np.ndarray, z_onset: np.ndarray, i_ext: int) -> float:
        """The time of the trough of a segment that ends in a confirmed rise (``z`` through
        the detection filter, ``z_onset`` the same samples through the onset filter; a fall
        is passed negated). See the module docstring, step 3."""
        n = seg_t.size
        if n - i_ext < 3:
            return float(seg_t[i_ext])
        slopes = np.diff(z[i_ext:]) / np.diff(seg_t[i_ext:])
        steepest = float(slopes.max())
        if steepest <= 0:
            return float(seg_t[i_ext])
        # the trough's surroundings: the samples within a band above it
        i0 = int(np.argmin(z - self.onset_slope_fraction * steepest * (seg_t - seg_t[0])))
        band = self.onset_band_fraction * (z[-1] - z[i_ext])
        lo = hi = i0
        while lo > 0 and z[lo - 1] <= z[i0] + band:
            lo -= 1
        while hi < n - 1 and z[hi + 1] <= z[i0] + band:
            hi += 1
        if self._is_edge(seg_t, z, lo, i0, hi, band):
            # a sharp edge after a flat stretch (capnography): the foot of the edge, where the
            # slope falls below a fraction of its steepest walking back from the crossing
            flat = np.flatnonzero(slopes < EDGE_FOOT_SLOPE_FRACTION * steepest)
            return float(seg_t[i_ext + int(flat[-1])] if flat.size else seg_t[i_ext])
        delay_s, onset_delay_s = self._group_delays_s()
        lead = int(round((delay_s - onset_delay_s) * self.rate_hz / self._q))  # the onset filter leads
        lo, hi = max(0, lo - lead), max(0, hi - lead)
        if hi - lo < 3:
            return float(seg_t[max(0, i0 - lead)]) - onset_delay_s
        return compute_corner_time(seg_t[lo:hi + 1], z_onset[lo:hi + 1]) - onset_delay_s

    @staticmethod
    def _is_edge(seg_t: np.ndarray, z: np.ndarray, lo: int, i0: int, hi: int, band: float) -> bool:
        """Whether the band around a trough is flat-bottomed (left through steep sides) rather
        than rounded. A parabola leaves its band with slope x width / band height = 2 on either
        side, whatever its curvature (a cosine about 2.2); a flat stretch ending in an edge, far
        more."""
        if band <= 0:
            return False
        n = seg_t.size
        flatness = 0.0
        for end, out in ((lo, lo - 1), (hi, hi + 1)):
            if not 0 <= out < n:
                continue
            slope = abs(z[out] - z[end]) / (seg_t[max(out, end)] - seg_t[min(out, end)])
            flatness = max(flatness, slope * abs(seg_t[end] - seg_t[i0]) / band)
        return flatness > EDGE_FLATNESS

    def _group_delays_s(self) -> tuple[float, float]:
        """The detection and onset filters' group delays (s) at the current breathing frequency."""
        cycle = float(np.median(self._cycles[-5:])) if self._cycles else INITIAL_CYCLE_S
        delays = []
        for sos in (self._sos, self._sos_onset):
            _, gd = signal.group_delay(signal.sos2tf(sos), w=[1.0 / cycle], fs=self.rate_hz)
            delays.append(float(gd[0]) / self.rate_hz)
        return delays[0], delays[1]

    def _raw_onset(self, kind: str, t_s: float, value: float) -> None:
        if self._sign is not None:
            self._emit(kind, t_s, value)
            return
        self._raw.append((kind, t_s, value))
        self._decide_polarity(force=False)

    def _decide_polarity(self, *, force: bool) -> None:
        rise_s, fall_s = [], []
        for (k0, t0, _), (k1, t1, _) in zip(self._raw, self._raw[1:]):
            if k0 == "rise" and k1 == "fall":
                rise_s.append(t1 - t0)
            elif k0 == "fall" and k1 == "rise":
                fall_s.append(t1 - t0)
        enough = min(len(rise_s), len(fall_s)) >= self.polarity_breaths
        if not enough and not force:
            return
        if rise_s and fall_s:
            self._sign = 1 if np.median(rise_s) <= np.median(fall_s) else -1
        else:
            self._sign = 1
            log.info("too few breaths to check polarity; assuming normal (a rise is an inhalation)")
        log.info("breath polarity: %s (median rise %.2f s, fall %.2f s)", self.polarity,
                 np.median(rise_s) if rise_s else math.nan, np.median(fall_s) if fall_s else math.nan)
        held, self._raw = self._raw, []
        for kind, t_s, value in held:
            if kind == "gap":
                self._current = None
            else:
                self._emit(kind, t_s, value)

    def _emit(self, kind: str, t_s: float, value: float) -> None:
        inhale = (kind == "rise") == (self._sign == 1)
        if inhale:
            self.events.append(BreathEvent("inhale_onset", t_s, value))
            cur = self._current
            # crossings are min_phase_s apart, but onsets timed at the turning points may be
            # closer: a breath shorter than two phases is a wiggle, not a breath
            if cur is not None and cur.get("exhale_s") is not None and t_s - cur["inhale_s"] >= 2 * self.min_phase_s:
                duration = t_s - cur["inhale_s"]
                self.breaths.append(Breath(cur["inhale_s"], cur["exhale_s"], t_s,
                                           abs(cur["peak"] - cur["trough"])))
                self._cycles.append(duration)
            self._current = {"inhale_s": t_s, "trough": value, "exhale_s": None, "peak": None}
        else:
            self.events.append(BreathEvent("exhale_onset", t_s, value))
            cur = self._current
            if cur is not None and cur["exhale_s"] is None:
                cur["exhale_s"], cur["peak"] = t_s, value

    def _update_phase(self, slope: float, dt: float) -> None:
        if self._sign is None or self._direction is None:
            self.phase = "unknown"
            return
        threshold = self.phase_slope_fraction * self._slope_typ
        s = self._sign * slope
        if s > threshold:
            self._phase_raw, self._still_s = "inhale", 0.0
        elif s < -threshold:
            self._phase_raw, self._still_s = "exhale", 0.0
        else:
            self._still_s += dt
            if self._still_s >= self.pause_min_s:
                self._phase_raw = "pause"
        self.phase = self._phase_raw


def compute_corner_time(t_s: np.ndarray, z: np.ndarray, /, *, steps_per_sample: int = 4) -> float:
    """The time of the bottom of a trough, by least squares: ``z`` is fitted with a parabola
    on each side of a common vertex, each side with its own curvature, and the vertex time
    with the smallest squared error (searched between samples) is returned.

    A smooth breath's trough is lopsided (an exhale's slow end, an inhale's quick start) and a
    capnogram's is a flat baseline ending in a sharp edge; both fit this shape. Unlike the
    lowest sample, the answer is not drawn to the slow, flat side by noise.
    """
    t = np.asarray(t_s, dtype=float)
    y = np.asarray(z, dtype=float)
    candidates = np.linspace(t[0], t[-1], steps_per_sample * (t.size - 1) + 1)
    d = t[None, :] - candidates[:, None]
    design = np.stack([np.ones_like(d), np.minimum(d, 0.0) ** 2, np.maximum(d, 0.0) ** 2], axis=-1)
    coef = np.einsum("kjn,n->kj", np.linalg.pinv(design), y)
    sse = np.sum((np.einsum("knj,kj->kn", design, coef) - y) ** 2, axis=1)
    return float(candidates[int(np.argmin(sse))])


def compute_breath_rate_bpm(breaths: list[Breath], /) -> float | None:
    """THE breathing rate, wherever one is stored or shown: 60 / the mean duration of the
    complete ``breaths`` (None without one).

    That is the number of breaths over the time spent in them. A breath never spans a gap
    (the analyzer resets there), so time with no signal (a belt dropout) counts for nothing:
    a 60 s dropout in 12 breaths/min leaves 12/min, where breaths over the span from the
    first to the last onset would give far too few.
    """
    durations = [b.duration_s for b in breaths if b.duration_s is not None and b.duration_s > 0]
    return 60.0 / float(np.mean(durations)) if durations else None


def compute_breath_summary(breaths: list[Breath], events: list[BreathEvent], /, *,
                           polarity: str) -> dict:
    """Counts, the rate (:func:`compute_breath_rate_bpm`), the median breath-by-breath rate
    (a description of the spread, not the stored rate), median exhale/inhale ratio and size."""
    durations = np.array([b.duration_s for b in breaths], dtype=float)
    ratios = np.array([b.exhale_s / b.inhale_s for b in breaths if b.inhale_s > 0], dtype=float)
    onsets = np.array([e.t_s for e in events if e.kind == "inhale_onset"], dtype=float)
    return {
        "breaths": int(len(breaths)),
        "inhale_onsets": int(onsets.size),
        "rate_bpm": compute_breath_rate_bpm(breaths),
        "rate_bpm_median": float(np.median(60.0 / durations)) if durations.size else None,
        "ie_ratio_median": float(np.median(ratios)) if ratios.size else None,
        "inhale_s_median": float(np.median([b.inhale_s for b in breaths])) if breaths else None,
        "duration_s_median": float(np.median(durations)) if durations.size else None,
        "amplitude_median": float(np.median([b.amplitude for b in breaths])) if breaths else None,
        "polarity": polarity,
    }


def analyze_breath(t_s, values, /, **options) -> BreathAnalysis:
    """Run :class:`BreathAnalyzer` (``options`` are its keywords) over a whole recording."""
    analyzer = BreathAnalyzer(**options)
    analyzer.update(np.asarray(t_s, dtype=float), np.asarray(values, dtype=float))
    analyzer.finish()
    summary = compute_breath_summary(analyzer.breaths, analyzer.events, polarity=analyzer.polarity)
    summary.update({"polarity_requested": analyzer.polarity_requested, "rate_hz": analyzer.rate_hz,
                    "gaps": analyzer.gaps})
    return BreathAnalysis(breaths=list(analyzer.breaths), events=list(analyzer.events),
                          summary=summary, polarity=analyzer.polarity)


def save_breath_outputs(analysis: BreathAnalysis, out_dir, /) -> tuple:
    """Write ``breaths.csv`` and ``breath_summary.json`` into ``out_dir``; returns both paths."""
    import csv
    import json
    from pathlib import Path

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Expected a folder that can be written for breath outputs, but {out} cannot be created: {exc}.") from exc
    csv_path = out / "breaths.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["inhale_onset_s", "exhale_onset_s", "duration_s"])
        for b in analysis.breaths:
            writer.writerow([f"{b.inhale_onset_s:.3f}", f"{b.exhale_onset_s:.3f}", f"{b.duration_s:.3f}"])
    json_path = out / "breath_summary.json"
    json_path.write_text(json.dumps(analysis.summary, indent=2) + "\n")
    return csv_path, json_path
