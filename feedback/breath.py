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
3. **Onset timing.** At each confirmed crossing, the onset is found retrospectively: from the
   crossing, walk back along the rise (or fall) until the slope drops below
   ``onset_slope_fraction`` of that rise's steepest slope (never past the trough or peak).
   This is the foot of a sharp capnography edge and just past the trough of a smooth belt
   wave. Events therefore arrive with a latency of a fraction of a breath; their times are
   the onsets, not the confirmations. On a smooth wave the onset lands a little after the
   trough: the slope criterion (0.25 s at 6 breaths/min) plus the filter's group delay
   (sqrt(2) / (2 pi fc) = 0.15 s at 1.5 Hz), about 0.35 s at 6/min and 0.2 s at 20/min.
   No delay is subtracted: on capnography's sharp edges that would put onsets early.
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

import numpy as np
from scipy import signal

from mindmove.errors import InputError, ValidationError

log = logging.getLogger(__name__)

POLARITIES = ("auto", "normal", "inverted")
PHASES = ("inhale", "exhale", "pause", "unknown")
MIDLINE_TAU_RANGE_S = (3.0, 15.0)
INITIAL_CYCLE_S = 5.0
SD_TAU_FACTOR = 2.0  # the breath-size estimate averages twice as long as the midline
SLOPE_TAU_S = 10.0


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
                 onset_slope_fraction: float = 0.2, midline_cycles: float = 1.5,
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
        self.midline_cycles = midline_cycles
        self.warmup_s = warmup_s
        self.polarity_breaths = polarity_breaths
        self.gap_s = gap_s
        self.phase_slope_fraction = phase_slope_fraction
        self.pause_min_s = pause_min_s

        self._sign: int | None = {"normal": 1, "inverted": -1}.get(polarity)
        self._sos = None
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
        """Breaths per minute over the last ``last_n`` complete breaths (NaN before one)."""
        durations = [b.duration_s for b in self.breaths[-last_n:]]
        return 60.0 / float(np.mean(durations)) if durations else math.nan

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

    def _ensure_filter(self) -> None:
        if self._sos is not None:
            return
        nyquist = self.rate_hz / 2.0
        cutoff = min(self.lowpass_hz, 0.8 * nyquist)
        self._sos = signal.butter(2, cutoff, btype="low", fs=self.rate_hz, output="sos")
        self._q = max(1, int(round(self.rate_hz / self.analysis_rate_hz)))

    def _reset_run(self) -> None:
        self._zi = None
        self._run_start_t: float | None = None
        self._direction: str | None = None  # "up" | "down" after a confirmed crossing
        self._last_cross_t = -math.inf
        self._seg_t: list[float] = []
        self._seg_x: list[float] = []
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
            self._keep_count = 0
        y, self._zi = signal.sosfilt(self._sos, x, zi=self._zi)
        first = (-self._keep_count) % self._q
        kept = np.arange(first, y.size, self._q)
        self._keep_count = (self._keep_count + y.size) % self._q
        for i in kept:
            self._step(float(t[i]), float(y[i]))

    def _midline_tau_s(self) -> float:
        cycle = float(np.median(self._cycles[-5:])) if self._cycles else INITIAL_CYCLE_S
        lo, hi = MIDLINE_TAU_RANGE_S
        return min(hi, max(lo, self.midline_cycles * cycle))

    def _step(self, t: float, y: float) -> None:
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
        self._seg_t, self._seg_x = [t], [seg_x[-1]]
        if first:
            return  # the segment before the first crossing may have started mid-breath
        sign = 1.0 if direction == "up" else -1.0
        z = sign * seg_x
        i_ext = int(np.argmin(z))
        onset_i = i_ext
        if seg_t.size - i_ext >= 3:
            slopes = np.diff(z[i_ext:]) / np.diff(seg_t[i_ext:])
            steepest = float(slopes.max())
            if steepest > 0:
                flat = np.flatnonzero(slopes < self.onset_slope_fraction * steepest)
                if flat.size:
                    onset_i = i_ext + int(flat[-1])
        kind = "rise" if direction == "up" else "fall"
        self._raw_onset(kind, float(seg_t[onset_i]), float(seg_x[i_ext]))

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
            if cur is not None and cur.get("exhale_s") is not None:
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


def compute_breath_summary(breaths: list[Breath], events: list[BreathEvent], /, *,
                           polarity: str) -> dict:
    """Counts, median and mean rate, median exhale/inhale ratio and size of ``breaths``."""
    durations = np.array([b.duration_s for b in breaths], dtype=float)
    ratios = np.array([b.exhale_s / b.inhale_s for b in breaths if b.inhale_s > 0], dtype=float)
    onsets = np.array([e.t_s for e in events if e.kind == "inhale_onset"], dtype=float)
    mean_rate = (60.0 * (onsets.size - 1) / (onsets[-1] - onsets[0])) if onsets.size >= 2 else None
    return {
        "breaths": int(len(breaths)),
        "inhale_onsets": int(onsets.size),
        "rate_bpm_median": float(np.median(60.0 / durations)) if durations.size else None,
        "rate_bpm_mean": float(mean_rate) if mean_rate is not None else None,
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
