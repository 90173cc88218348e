"""Breath analysis, streaming and causal: the same class serves a live belt and a file.

Feed :class:`BreathAnalyzer` one chunk of ``(t_s, values)`` at a time with
:meth:`~BreathAnalyzer.update`; it returns the inhalation and exhalation onsets it confirmed in
that chunk (each carrying its own, earlier time). :func:`analyze_breath` runs the same class
over a whole recording, so live practice, ``breathe`` and ``breath analyze`` find the same
breaths. ``docs/breath.md`` has the figures; the parts:

1. **Signal kind** (:mod:`feedback.breath_signals`): belt, impedance, airflow, co2, thermistor,
   accelerometer or auto. It fixes the polarity from the physics and the way onsets are timed;
   flow is integrated to a volume-like wave first.
2. **Front** (input rate): a value unchanged for 2 s is a flat line and becomes a gap; NaN
   values and time jumps over ``gap_s`` are gaps; an anti-alias low-pass and decimation to
   about ``analysis_rate_hz`` (a 1000 Hz belt is fed as it comes).
3. **Artefacts** (:mod:`feedback.breath_artefacts`): changes faster than breathing can make
   are excluded (spikes bridged; jumps and motion become gaps), each listed with its reason.
4. **Breaths relative to their neighbours** (:mod:`feedback.breath_detect`): a rise and a fall
   each at least 0.3 of the local amplitude, on the wave low-passed at ``lowpass_hz`` (1.2 Hz:
   breathing up to 60/min has its fundamental at or below 1 Hz and a rise of any speed keeps
   its height through a low-pass, while the heartbeat at rest, 1-1.7 Hz, is attenuated, so it
   cannot shrink the local amplitude); turning points timed zero-phase on the stretch already
   seen (the inhale onset at the end of the end-expiratory pause).
5. **Polarity** (:mod:`feedback.breath_polarity`): from the signal kind; ``auto`` decides from
   the waveform's shape after ``polarity_breaths`` cycles (onsets are held until then) and
   reports its confidence; a low confidence is a warning, never a silent flip.
6. **Gaps.** No breath spans a gap, an excluded artefact or a flat line; the amplitude is kept.

The live ``phase`` follows the slope of the 1.2 Hz wave (before the screen's lag; ``pause``
when flat for ``pause_min_s``). ``ie_ratio`` is exhale over inhale time (1:2 is 2.0).
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy import signal as sps

from core.errors import InputError
from core.signals import check_sampling_rate_hz
from feedback.breath_artefacts import RunTracker, SlopeScreen, split_runs
from feedback.breath_detect import SWING_FRACTION, SwingDetector, compute_corner_time, step_biquad
from feedback.breath_events import Breath, BreathAnalysis, BreathEvent, ExcludedSegment
from feedback.breath_polarity import PolarityDecision, decide_polarity
from feedback.breath_report import compute_analysis_details, compute_start_amplitude
from feedback.breath_signals import POLARITIES, SIGNALS, Polarity, resolve_polarity, signal_kind
from feedback.breath_summary import compute_breath_rate_bpm, compute_breath_summary, save_breath_outputs

__all__ = ["BreathAnalyzer", "BreathAnalysis", "Breath", "BreathEvent", "ExcludedSegment", "POLARITIES", "Polarity", "SIGNALS",
           "analyze_breath", "compute_breath_rate_bpm", "compute_breath_summary", "compute_corner_time",
           "save_breath_outputs"]

log = logging.getLogger(__name__)

PHASES = ("inhale", "exhale", "pause", "unknown")
BOOT_S = 8.0  # the first amplitude is measured over this much signal (two breaths at 15/min)
BOOT_WINDOW_S = 4.0  # ...as the median range of windows this long (one breath or more)
POLARITY_MAX_BREATHS = 20  # auto decides by then even with a low confidence (and says so)
FLOW_TAU_S = 120.0  # flow: leaky integration time constant (many breaths long, so drift-free)
FLOW_BASELINE_S = 60.0  # flow: the zero-flow level is the median flow of the last minute
FLOW_BASELINE_EVERY_S = 1.0
SLOPE_TAU_S = 10.0


class BreathAnalyzer:
    """Streaming, causal breath analysis (see the module docstring)."""

    def __init__(self, *, rate_hz: float | None = None, signal: str = "auto", polarity: str | None = None,
                 lowpass_hz: float = 1.2, analysis_rate_hz: float = 25.0, swing_fraction: float = SWING_FRACTION,
                 polarity_breaths: int = 6, gap_s: float = 1.0, boot_s: float = BOOT_S,
                 phase_slope_fraction: float = 0.15, pause_min_s: float = 0.6) -> None:
        self.kind = signal_kind(signal)
        self.polarity_requested = resolve_polarity(self.kind, polarity)
        if rate_hz is not None:
            check_rate_hz(rate_hz)
        self.rate_hz = None if rate_hz is None else float(rate_hz)
        self.lowpass_hz, self.analysis_rate_hz = lowpass_hz, analysis_rate_hz
        self.swing_fraction, self.polarity_breaths = swing_fraction, polarity_breaths
        self.gap_s, self.boot_s = gap_s, boot_s
        self.phase_slope_fraction, self.pause_min_s = phase_slope_fraction, pause_min_s
        self._sign: int | None = {"normal": 1, "inverted": -1}.get(self.polarity_requested)
        self.decision: PolarityDecision | None = None
        self._q = 0
        self._runs = RunTracker()
        self._boot: list[tuple[float, float]] | None = []
        self.detector: SwingDetector | None = None
        self.screen: SlopeScreen | None = None
        self.swings, self.events, self.breaths = [], [], []  # Swing, BreathEvent, Breath
        self._held: list[tuple[int, float, float]] = []  # turning points before the polarity is known
        self._current: dict | None = None
        self.gaps, self._last_t = 0, None
        self.phase, self._phase_raw, self._still_s, self._slope_typ = "unknown", "unknown", 0.0, 0.0
        self._reset_front()
        self._reset_detection()

    # ----------------------------------------------------------------- public API
    @property
    def polarity(self) -> str:
        """The polarity in use: ``"normal"``, ``"inverted"`` or ``"undecided"``."""
        return {1: "normal", -1: "inverted", None: "undecided"}[self._sign]

    @property
    def excluded(self) -> list[ExcludedSegment]:
        segments = self._runs.segments + (self.screen.segments if self.screen else [])
        return sorted(segments, key=lambda s: s.start_s)

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
        n_before = len(self.events)
        bad = ~np.isfinite(x) | ~np.isfinite(t)
        for start, stop, is_bad in split_runs(bad):
            if is_bad:
                self._gap(float(t[start]))
            else:
                self._run(t[start:stop], x[start:stop])
        return self.events[n_before:]

    def finish(self) -> list[BreathEvent]:
        """End of the stream: flush what is held and decide the polarity with what was seen."""
        n_before = len(self.events)
        if self._boot is not None:
            self._start_detection()
        if self.screen is not None:
            self._feed(self.screen.flush())
        self._runs.finish()
        self._decide_polarity(force=True)
        return self.events[n_before:]

    def rate_bpm(self, last_n: int = 5) -> float:
        """Breaths per minute over the last ``last_n`` complete breaths (NaN before one)."""
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

    def details(self) -> dict:
        """Signal kind, how the polarity was decided and how sure, excluded stretches, warnings."""
        return compute_analysis_details(self)

    # ----------------------------------------------------------------- front (input rate)
    def _guess_rate(self, t: np.ndarray) -> None:
        dt = np.diff(t[np.isfinite(t)])
        dt = dt[dt > 0]
        if dt.size < 2:
            raise InputError("The breath analyzer needs rate_hz, or a first chunk of at least 3 timed samples "
                             f"to measure it, but got {t.size}. Pass rate_hz.")
        self.rate_hz = check_rate_hz(float(1.0 / np.median(dt)))
        log.info("breath sampling rate measured from the first samples: %.2f Hz", self.rate_hz)

    def _reset_front(self) -> None:
        self._aa_zi = self._phase_zi = self._prev_y = None
        self.phase = self._phase_raw = "unknown"
        self._keep_count = 0
        self._run_start_t: float | None = None

    def _ensure_front(self) -> None:
        if self._q:
            return
        self._q = max(1, int(round(self.rate_hz / self.analysis_rate_hz)))
        self.analysis_hz = self.rate_hz / self._q
        self._aa_sos, self._front_delay_s = None, 0.0
        if self._q > 1:  # anti-alias below the new Nyquist; its delay is taken off event times
            cutoff = 0.4 * self.analysis_hz
            self._aa_sos = sps.butter(2, cutoff, fs=self.rate_hz, output="sos")
            self._front_delay_s = math.sqrt(2.0) / (2.0 * math.pi * cutoff)  # 2nd-order Butterworth at DC
        self._det_sos = sps.butter(2, min(self.lowpass_hz, 0.4 * self.analysis_hz), fs=self.analysis_hz, output="sos")

    def _run(self, t: np.ndarray, x: np.ndarray) -> None:
        """A run of finite samples: time jumps and flat lines split it into gaps."""
        self._ensure_front()
        if self._last_t is not None and t[0] - self._last_t > self.gap_s:
            self._gap(self._last_t)
        self._last_t = float(t[-1])
        cut = np.flatnonzero(np.diff(t) > self.gap_s) + 1  # a time jump: a gap before these
        jumps = set(int(i) for i in cut)
        flat = self._runs.update(t, x)
        for start, stop, is_flat in split_runs(flat, splits=cut):
            if start in jumps:
                self._gap(float(t[start - 1]))
            if is_flat:
                self._gap(float(t[start]))
            else:
                self._front(t[start:stop], x[start:stop])

    def _front(self, t: np.ndarray, x: np.ndarray) -> None:
        if self._aa_sos is not None:
            if self._aa_zi is None:
                self._aa_zi = sps.sosfilt_zi(self._aa_sos) * x[0]
            x, self._aa_zi = sps.sosfilt(self._aa_sos, x, zi=self._aa_zi)
        first = (-self._keep_count) % self._q
        self._keep_count = (self._keep_count + t.size) % self._q
        for ti, vi in zip(t[first::self._q], x[first::self._q]):
            self._analysis_sample(float(ti), float(vi))

    def _gap(self, t_gap: float) -> None:
        if self._run_start_t is not None or self._current is not None:
            self.gaps += 1
            log.debug("breath gap at %.2f s: detector reset", t_gap)
        self._runs.gap()
        self._reset_front()
        if self._boot is not None:
            self._boot.append((t_gap, math.nan))
        elif self.screen is not None:
            self._feed(self.screen.flush())
            self._detection_gap(t_gap)

    # ----------------------------------------------------------------- analysis rate
    def _analysis_sample(self, t: float, v: float) -> None:
        if self._run_start_t is None:
            self._run_start_t = t
        self._update_phase(t, v)
        if self._boot is not None:
            self._boot.append((t, v))
            finite = [s[0] for s in self._boot if not math.isnan(s[1])]
            if finite and finite[-1] - finite[0] >= self.boot_s:
                self._start_detection()
            return
        self._screen_sample(t, v)

    def _screen_sample(self, t: float, v: float) -> None:
        out, new_amplitude = self.screen.update(t, v, self.detector.amplitude)
        if new_amplitude:
            self.detector.heights.clear()
            self.detector.initial_amplitude = new_amplitude
        self._feed(out)

    def _start_detection(self) -> None:
        """The start-up window is full (or the stream ended): measure the first amplitude,
        then run everything held through the screen and the detector."""
        held, self._boot = self._boot, None
        if not self._q:
            self._ensure_front()
        amplitude, flow_base = compute_start_amplitude(held, rate_hz=self.analysis_hz, sos=self._det_sos,
                                                       window_s=BOOT_WINDOW_S, flow=self.kind.shape == "flow")
        self._flow_base0 = flow_base
        if not amplitude > 0:  # nothing moved yet: keep measuring
            self._boot = []
            return
        self.detector = SwingDetector(rate_hz=self.analysis_hz, shape=self.kind.shape, amplitude=amplitude,
                                      swing_fraction=self.swing_fraction)
        self.screen = SlopeScreen(rate_hz=self.analysis_hz)
        self._reset_detection()
        for t, v in held:  # their phase was already followed
            if math.isnan(v):
                self._feed(self.screen.flush())
                self._detection_gap(t)
            else:
                self._screen_sample(t, v)

    def _feed(self, samples) -> None:
        for t, v in samples:
            if math.isnan(v):
                self._detection_gap(t)
            else:
                self._detect_step(t, v)

    def _reset_detection(self) -> None:
        self._det_zi = None
        self._flow_base = getattr(self, "_flow_base0", None)
        self._flow_base_t, self._flow_recent = -math.inf, []
        self._volume = 0.0
        if self.detector is not None:
            self.detector.reset()

    def _detection_gap(self, t: float) -> None:
        self._reset_detection()
        self._current = None
        if self._sign is None:
            self._held.append((0, t, math.nan))

    def _detect_step(self, t: float, v: float) -> None:
        dt = 1.0 / self.analysis_hz
        if self.kind.shape == "flow":
            v = self._integrate_flow(t, v, dt)
        y, self._det_zi = step_biquad(self._det_sos, v, self._det_zi)
        swing = self.detector.update(t, y, v)
        if swing is None:
            return
        if swing.t1_s > swing.t0_s:
            self.swings.append(swing)
        self._turning_point(1 if swing.direction > 0 else -1, swing.t1_s - self._front_delay_s, swing.v1)

    def _integrate_flow(self, t: float, v: float, dt: float) -> float:
        """Flow to a volume-like wave: minus the zero-flow level (the median flow of the last
        minute: pauses sit at zero flow, and a nasal-pressure signal is not symmetric, so its
        mean is not zero), integrated with a slow leak so no offset drifts away."""
        self._flow_recent.append(v)
        if self._flow_base is None or t - self._flow_base_t >= FLOW_BASELINE_EVERY_S:
            keep = int(FLOW_BASELINE_S * self.analysis_hz)
            self._flow_recent = self._flow_recent[-keep:]
            if self._flow_base is None or len(self._flow_recent) >= 2 * self.analysis_hz:
                self._flow_base = float(np.median(self._flow_recent))
            self._flow_base_t = t
        self._volume += (v - self._flow_base) * dt - self._volume * dt / FLOW_TAU_S
        return self._volume

    # ----------------------------------------------------------------- polarity, breaths
    def _turning_point(self, kind: int, t_s: float, level: float) -> None:
        """``kind`` +1: a peak (the end of a rise), -1: a trough."""
        if self._sign is not None:
            self._emit(kind, t_s, level)
            return
        self._held.append((kind, t_s, level))
        self._decide_polarity(force=False)

    def _decide_polarity(self, *, force: bool) -> None:
        decision = decide_polarity(self.swings)
        if self._sign is not None:
            self.decision = decision  # a known polarity: the shape is only checked against it
            return
        enough = decision.cycles >= self.polarity_breaths and not decision.low
        if not (enough or decision.cycles >= POLARITY_MAX_BREATHS or force):
            return
        self.decision = decision
        self._sign = 1 if decision.polarity == "normal" else -1
        log.info("breath polarity from the waveform: %s (%d cycles, %.0f%% agree)", self.polarity,
                 decision.cycles, 100 * decision.confidence if decision.cycles else 0)
        held, self._held = self._held, []
        for kind, t_s, level in held:
            if kind == 0:
                self._current = None
            else:
                self._emit(kind, t_s, level)

    def _emit(self, kind: int, t_s: float, level: float) -> None:
        inhale = (kind == -1) == (self._sign == 1)
        cur = self._current
        if inhale:
            self.events.append(BreathEvent("inhale_onset", t_s, level))
            if cur is not None and cur["exhale_s"] is not None and t_s > cur["exhale_s"]:
                self.breaths.append(Breath(cur["inhale_s"], cur["exhale_s"], t_s, abs(cur["peak"] - cur["trough"])))
            self._current = {"inhale_s": t_s, "trough": level, "exhale_s": None, "peak": None}
        else:
            self.events.append(BreathEvent("exhale_onset", t_s, level))
            if cur is not None and cur["exhale_s"] is None and t_s > cur["inhale_s"]:
                cur["exhale_s"], cur["peak"] = t_s, level

    def _update_phase(self, t: float, v: float) -> None:
        """The live phase, on the wave before the artefact screen's lag: from the slope of a
        volume-like wave, from the flow's direction (about its zero level) for flow."""
        y, self._phase_zi = step_biquad(self._det_sos, v, self._phase_zi)
        dt = 1.0 / self.analysis_hz
        if self.kind.shape == "flow":
            base = self._flow_base if self._flow_base is not None else getattr(self, "_flow_base0", None)
            slope = 0.0 if base is None else y - base
        else:
            slope = 0.0 if self._prev_y is None else (y - self._prev_y[1]) / (t - self._prev_y[0])
        if self._prev_y is not None:
            self._slope_typ += (dt / SLOPE_TAU_S) * (abs(slope) - self._slope_typ)
        self._prev_y = (t, y)
        if self._sign is None:
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


def check_rate_hz(rate_hz: float, /) -> float:
    """``rate_hz`` if it is a plausible sampling rate of a breathing recording (1 Hz to 10 kHz)."""
    return check_sampling_rate_hz(rate_hz, what="a breath sampling rate")


def analyze_breath(t_s, values, /, **options) -> BreathAnalysis:
    """Run :class:`BreathAnalyzer` (``options`` are its keywords) over a whole recording."""
    analyzer = BreathAnalyzer(**options)
    analyzer.update(np.asarray(t_s, dtype=float), np.asarray(values, dtype=float))
    analyzer.finish()
    summary = compute_breath_summary(analyzer.breaths, analyzer.events, polarity=analyzer.polarity)
    summary.update({"polarity_requested": analyzer.polarity_requested, "rate_hz": analyzer.rate_hz,
                    "gaps": analyzer.gaps, **analyzer.details()})
    return BreathAnalysis(breaths=list(analyzer.breaths), events=list(analyzer.events), summary=summary,
                          polarity=analyzer.polarity, excluded=analyzer.excluded)
