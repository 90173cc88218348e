"""Recording the breath of one session: the ONE piece `mindmove breathe` and practice share.

:class:`BreathRecording` takes chunks of ``(t_s, values)`` on the session clock (NaN values
mark gaps) with :meth:`~BreathRecording.update` and:

- analyses them live with :class:`feedback.breath.BreathAnalyzer` (when the sampling rate is
  not known, as with a live belt, the analyzer is made once ``min_first_samples`` samples
  have come, and measures the rate from them);
- keeps every k-th sample for the store (about ``store_rate_hz``, channel ``breath``), and
  every NaN gap marker; :meth:`~BreathRecording.store_silence` stores a NaN at that rate
  while a belt is silent, so the gap stays visible;
- scores the breath against a pacer once one is started (:class:`feedback.pacer.PacerScorer`);
- gives the ``BreathResult`` row's fields with :meth:`~BreathRecording.result`.

The definitions, the same for every session kind:

- ``rate_bpm``: :func:`feedback.breath.compute_breath_rate_bpm` over every complete breath
  (60 / mean breath duration; a gap lowers nothing);
- ``rate_difference_bpm``: the same rate over the paced breaths only (those starting once the
  pacer was on), minus the pacer's target (positive: faster than the guide); None without a
  pacer or a paced breath;
- ``ie_ratio``: the median exhale/inhale time of the complete breaths.

The recorder is anything with ``add_samples(t_s, {"breath": value})``
(:class:`mindmove.store.recording.SessionRecorder`); nothing here touches the database.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from feedback.breath import BreathAnalyzer, BreathEvent, compute_breath_rate_bpm, compute_breath_summary

log = logging.getLogger(__name__)

STORED_BREATH_RATE_HZ = 25.0  # breath samples kept in the store (the analyzer's own rate)
MIN_FIRST_BREATH_SAMPLES = 8  # a feed of unknown rate is measured from this many samples
BREATH_CHANNEL = "breath"


class BreathRecording:
    """Live breath analysis, thinning to the stored rate, pacer scoring and the result row."""

    def __init__(self, *, rate_hz: float | None = None, polarity: str | None = None, signal: str = "auto",
                 store_rate_hz: float = STORED_BREATH_RATE_HZ,
                 min_first_samples: int = MIN_FIRST_BREATH_SAMPLES,
                 analyzer: BreathAnalyzer | None = None) -> None:
        self.polarity = polarity
        self.signal = signal
        self.store_rate_hz = store_rate_hz
        self.min_first_samples = min_first_samples
        self.analyzer: BreathAnalyzer | None = analyzer
        self.samples_stored = 0
        self.last_stored_t_s = -math.inf
        self.pacer: Any = None  # feedback.pacer.Pacer
        self.pacer_start_s = 0.0
        self.scorer: Any = None  # feedback.pacer.PacerScorer
        self._every = 1
        self._count = 0
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        if self.analyzer is None and rate_hz is not None:
            self.analyzer = BreathAnalyzer(rate_hz=rate_hz, polarity=polarity, signal=signal)
        if self.analyzer is not None and self.analyzer.rate_hz is not None:
            self._every = self._store_every(self.analyzer.rate_hz)

    # ----------------------------------------------------------------- live
    @property
    def phase(self) -> str:
        """The breath phase now (``"unknown"`` before the analyzer has decided)."""
        return self.analyzer.phase if self.analyzer is not None else "unknown"

    def update(self, t_s: np.ndarray, values: np.ndarray, /, *, recorder=None) -> list[BreathEvent]:
        """Analyse one chunk and store its thinned samples; returns the onsets it confirmed."""
        t = np.asarray(t_s, dtype=float)
        v = np.asarray(values, dtype=float)
        if t.size == 0:
            return []
        if self.analyzer is None:  # the rate is measured from the first samples
            self._pending.append((t, v))
            if sum(int(np.isfinite(c[0]).sum()) for c in self._pending) < self.min_first_samples:
                return []
            t = np.concatenate([c[0] for c in self._pending])
            v = np.concatenate([c[1] for c in self._pending])
            self._pending = []
            self.analyzer = BreathAnalyzer(polarity=self.polarity, signal=self.signal)
            events = self.analyzer.update(t, v)
            self._every = self._store_every(self.analyzer.rate_hz)
        else:
            events = self.analyzer.update(t, v)
        if recorder is not None:
            first = (-self._count) % self._every
            keep = np.zeros(t.size, dtype=bool)
            keep[first::self._every] = True
            keep |= ~np.isfinite(v)  # every gap marker is stored
            for ti, vi in zip(t[keep], v[keep]):
                recorder.add_samples(float(ti), {BREATH_CHANNEL: float(vi)})
            self.samples_stored += int(keep.sum())
            if keep.any():
                self.last_stored_t_s = float(t[keep][-1])
        self._count += t.size
        return events

    def store_silence(self, t_s: float, /, *, recorder) -> None:
        """While the feed is silent: a NaN at the stored rate, so the gap stays visible."""
        if recorder is not None and t_s - self.last_stored_t_s >= 1.0 / self.store_rate_hz:
            recorder.add_samples(t_s, {BREATH_CHANNEL: math.nan})
            self.last_stored_t_s = t_s
            self.samples_stored += 1

    def start_pacer(self, pacer, /, *, t_s: float = 0.0) -> None:
        """Guide the breath with ``pacer`` (a :class:`feedback.pacer.Pacer`) from ``t_s`` on."""
        from feedback.pacer import PacerScorer

        self.pacer = pacer
        self.pacer_start_s = t_s
        self.scorer = PacerScorer()
        log.info("pacer started at %.1f s: %s", t_s, pacer.plan)

    def pacer_state(self, t_s: float, /):
        """The pacer's state at session time ``t_s`` (None without a pacer)."""
        return None if self.pacer is None else self.pacer.state(t_s - self.pacer_start_s)

    def score(self, t_s: float, state, /, *, phase: str | None = None):
        """Score the breath against the pacer ``state``; None when there is nothing to judge.
        ``phase``: the measured phase (default: the analyzer's; ``"unknown"`` skips)."""
        phase = self.phase if phase is None else phase
        if self.scorer is None or state is None or phase == "unknown":
            return None
        a = self.analyzer
        return self.scorer.update(t_s, state.phase, phase, breath_rate_bpm=a.rate_bpm(),
                                  pacer_rate_bpm=state.rate_bpm, ie_ratio=a.ie_ratio(),
                                  target_ie_ratio=self.pacer.plan.ie_ratio)

    # ----------------------------------------------------------------- result
    def rate_before_bpm(self, t_s: float, /, *, min_breaths: int = 1) -> float | None:
        """The rate over the breaths that ended by ``t_s`` (None with fewer than ``min_breaths``)."""
        if self.analyzer is None:
            return None
        early = [b for b in self.analyzer.breaths if b.end_s is not None and b.end_s <= t_s]
        return compute_breath_rate_bpm(early) if len(early) >= min_breaths else None

    def result(self, *, resting_rate_bpm: float | None = None, extra_detail: dict | None = None) -> dict:
        """The ``BreathResult`` row's fields (``detail``: the summary, each breath, the cues)."""
        target = self.pacer.plan.rate_bpm if self.pacer is not None else None
        a = self.analyzer
        detail = {"samples_stored": self.samples_stored, **(extra_detail or {})}
        if a is None:
            return {"breaths": 0, "rate_bpm": None, "resting_rate_bpm": resting_rate_bpm, "ie_ratio": None,
                    "pacer_target_bpm": target, "pacer_agreement_pct": None, "rate_difference_bpm": None,
                    "detail": detail}
        a.finish()
        summary = {**compute_breath_summary(a.breaths, a.events, polarity=a.polarity), **a.details()}
        paced_rate = None
        if self.pacer is not None:
            paced_rate = compute_breath_rate_bpm([b for b in a.breaths if b.inhale_onset_s >= self.pacer_start_s])
        return {
            "breaths": summary["breaths"],
            "rate_bpm": summary["rate_bpm"],
            "resting_rate_bpm": resting_rate_bpm,
            "ie_ratio": summary["ie_ratio_median"],
            "pacer_target_bpm": target,
            "pacer_agreement_pct": self.scorer.agreement_pct if self.scorer is not None else None,
            "rate_difference_bpm": (paced_rate - target) if paced_rate is not None and target is not None else None,
            "detail": {**summary, "gaps": a.gaps, "rate_hz": a.rate_hz, "paced_rate_bpm": paced_rate,
                       "pacer_start_s": self.pacer_start_s if self.pacer is not None else None,
                       "breath_list": [[round(b.inhale_onset_s, 3), round(b.exhale_onset_s, 3),
                                        round(b.end_s, 3) if b.end_s is not None else None] for b in a.breaths],
                       "cues": [[round(t, 2), k] for t, k in (self.scorer.cues if self.scorer is not None else [])],
                       **detail},
        }

    def _store_every(self, rate_hz: float) -> int:
        return max(1, int(round(rate_hz / self.store_rate_hz)))
