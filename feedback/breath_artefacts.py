"""Artefacts in a breathing signal: found, excluded with a reason, never counted as breaths.

Two stages, both streaming with kept state:

- :class:`RunTracker`, at the input rate, on the raw values: a value held for ``CLIP_MIN_S``
  at the highest or lowest value of the last ``CLIP_LOOKBACK_S`` is **clipping** (listed; the
  held top of a breath is still part of it, so it is not cut out, however long). Any other
  value repeated unchanged for ``FLAT_LINE_S`` (2 s) is a **flat line** (a living chest moves
  a sensor by at least its noise and the heartbeat within that time; a sensor off the body or
  disconnected does not): from then on its samples are a gap. A sensor that falls to its rail
  when disconnected is therefore listed as clipping, and gives no breath either.
- :class:`SlopeScreen`, at the analysis rate (after the anti-alias low-pass): a change faster
  than breathing can make is an artefact. A breath's wave has no content above about 2 Hz
  (the quickest speech inhalations take 0.3 s) and, sighs included, a peak-to-peak size up to
  about 4 local amplitudes A, so by Bernstein's inequality its slope stays below
  2 pi x 2 Hz x 2 A = 25 A per second (``SLOPE_LIMIT_PER_S``). Faster stretches, with
  ``ARTEFACT_MARGIN_S`` either side, are excluded: a **spike** (back at its level within
  ``SPIKE_MAX_S``) is bridged by a straight line so the breath under it goes on; a **jump**
  (the level moved: ADC wrap-around, a knock) or **motion** (longer) becomes a gap, so no
  breath spans it.
"""

from __future__ import annotations

import math

import numpy as np

from feedback.breath_events import ExcludedSegment

FLAT_LINE_S = 2.0  # an unchanged value for this long is not a body (see the module docstring)
CLIP_MIN_S = 0.15  # held at the extreme this long: clipping (a rounded breath top moves sooner)
CLIP_LOOKBACK_S = 5.0  # "the extreme": of the signal over the last breath or so
SLOPE_LIMIT_PER_S = 25.0  # x the local amplitude: the fastest a breath can change (Bernstein)
ARTEFACT_MARGIN_S = 0.25  # excluded either side of a too-fast stretch (the filter's smear)
SPIKE_MAX_S = 1.0  # a fast excursion back at its level within this is bridged
MAX_EXCLUSION_S = 4.0  # a "too fast" stretch this long means the amplitude was misjudged: start again
LEVEL_TOLERANCE = 0.3  # a spike's ends within this share of the amplitude: the level did not move


class RunTracker:
    """Repeated raw values: flat lines (returned as a mask, to become gaps) and clipping."""

    def __init__(self) -> None:
        self.segments: list[ExcludedSegment] = []
        self._value = math.nan
        self._start_t = math.nan
        self._last_t = math.nan
        self._hi = -math.inf
        self._lo = math.inf
        self._rail = False
        self._recent_t: np.ndarray = np.empty(0)
        self._recent_x: np.ndarray = np.empty(0)

    def _at_rail(self, t_start: float, value: float, t: np.ndarray, x: np.ndarray, a: int) -> bool:
        """Whether ``value`` is the highest or lowest of the signal over the look-back before
        ``t_start`` (this chunk's samples before index ``a`` and the kept history)."""
        keep = self._recent_t >= t_start - CLIP_LOOKBACK_S
        first = int(np.searchsorted(t, t_start - CLIP_LOOKBACK_S))
        before = np.concatenate([self._recent_x[keep], x[min(first, a):a]])
        before = before[before != value]
        return before.size == 0 or value > before.max() or value < before.min()

    def update(self, t: np.ndarray, x: np.ndarray, /) -> np.ndarray:
        """The samples of ``(t, x)`` (finite values) inside a flat line (True: make them gaps)."""
        flat = np.zeros(t.size, dtype=bool)
        if t.size == 0:
            return flat
        starts = np.concatenate([[0], np.flatnonzero(np.diff(x) != 0) + 1])
        ends = np.concatenate([starts[1:], [t.size]])
        run_t0 = t[starts].astype(float)
        if x[0] == self._value:
            run_t0[0] = self._start_t  # the run goes on from the last chunk
        elif not math.isnan(self._value):
            self._close(self._last_t, self._hi, self._lo)
        hi = np.maximum(np.maximum.accumulate(x), self._hi)
        lo = np.minimum(np.minimum.accumulate(x), self._lo)
        long = np.flatnonzero(t[ends - 1] - run_t0 >= CLIP_MIN_S)  # few: only these can matter
        for k in long:
            a, b = int(starts[k]), int(ends[k])
            carried = k == 0 and x[0] == self._value
            rail = self._rail if carried else self._at_rail(float(run_t0[k]), float(x[a]), t, x, a)
            flat[a:b] = (t[a:b] - run_t0[k] >= FLAT_LINE_S) & (not rail)
            self._rail = rail
            if b < t.size:  # ended inside this chunk
                self._value, self._start_t = float(x[a]), float(run_t0[k])
                self._close(float(t[b - 1]), float(hi[b - 1]), float(lo[b - 1]))
        if not (len(long) and long[-1] == starts.size - 1) and not (starts.size == 1 and x[0] == self._value):
            self._rail = False
        step = max(1, t.size // 200)
        keep = self._recent_t >= t[-1] - CLIP_LOOKBACK_S
        self._recent_t = np.concatenate([self._recent_t[keep], t[::step]])
        self._recent_x = np.concatenate([self._recent_x[keep], x[::step]])
        self._value, self._start_t = float(x[-1]), float(run_t0[-1])
        self._last_t = float(t[-1])
        self._hi, self._lo = float(hi[-1]), float(lo[-1])
        return flat

    def finish(self) -> None:
        if not math.isnan(self._value):
            self._close(self._last_t, self._hi, self._lo)
        self._value = math.nan

    def gap(self) -> None:
        """A gap (NaN or missing time) ends the current run."""
        self.finish()

    def _close(self, end_t: float, hi: float, lo: float) -> None:
        duration = end_t - self._start_t
        if not duration >= CLIP_MIN_S:
            return
        if self._rail:
            self.segments.append(ExcludedSegment(self._start_t, end_t, "clipping"))
        elif duration >= FLAT_LINE_S:
            self.segments.append(ExcludedSegment(self._start_t, end_t, "flat_line"))


class SlopeScreen:
    """The too-fast test of the module docstring, one analysis-rate sample at a time.

    ``update(t_s, value, amplitude)`` returns the samples released ``ARTEFACT_MARGIN_S``
    later: ``(t, value)`` pairs, bridged values for a spike, or ``(t, nan)`` for a gap. The
    second value, when not None, is a new amplitude to use (after ``MAX_EXCLUSION_S``).
    """

    def __init__(self, *, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.segments: list[ExcludedSegment] = []
        self._lag = max(1, int(round(ARTEFACT_MARGIN_S * rate_hz)))
        self.reset()

    def reset(self) -> None:
        self._queue: list[tuple[float, float]] = []
        self._prev: float | None = None
        self._before: tuple[float, float] | None = None  # last sample released
        self._seg: list[tuple[float, float]] | None = None
        self._seg_start = self._last_fast = math.nan
        self._slope_before = math.nan
        self._recent: list[tuple[float, float]] = []
        self._amplitude = 0.0

    def flush(self) -> list[tuple[float, float]]:
        """Everything held (at a gap or the end); an open artefact ends as a gap."""
        out = self._end_segment(force_gap=True)[0] if self._seg is not None else []
        out += self._queue
        self.reset()
        return out

    def update(self, t_s: float, v: float, amplitude: float) -> tuple[list[tuple[float, float]], float | None]:
        self._amplitude = amplitude
        fast = self._prev is not None and amplitude > 0 and \
            abs(v - self._prev) * self.rate_hz > SLOPE_LIMIT_PER_S * amplitude
        self._prev = v
        if self._seg is None:
            if not fast:
                self._queue.append((t_s, v))
                out = self._queue[:-self._lag] if len(self._queue) > self._lag else []
                self._queue = self._queue[len(out):]
                if out:
                    self._note_released(out)
                return out, None
            self._seg_start = t_s - ARTEFACT_MARGIN_S
            held = [s for s in self._queue if s[0] < self._seg_start]
            self._seg = [s for s in self._queue if s[0] >= self._seg_start]
            self._queue = []
            if held:
                self._note_released(held)
            self._last_fast = t_s
            self._seg.append((t_s, v))
            return held, None
        self._seg.append((t_s, v))
        if fast:
            self._last_fast = t_s
        if t_s - self._seg_start > MAX_EXCLUSION_S:
            out, _ = self._end_segment(force_gap=True, reason="motion")
            values = np.array([s[1] for s in self._seg_values])
            return out, float(np.ptp(values)) if values.size else None
        if t_s - self._last_fast >= ARTEFACT_MARGIN_S:
            return self._end_segment(force_gap=False)
        return [], None

    def _note_released(self, samples: list[tuple[float, float]]) -> None:
        """Remember the last sample released and the wave's slope over the margin before it."""
        self._recent = (self._recent + samples)[-self._lag:]
        self._before = samples[-1]
        (t0, v0), (t1, v1) = self._recent[0], self._recent[-1]
        self._slope_before = (v1 - v0) / (t1 - t0) if t1 > t0 else math.nan

    def _end_segment(self, *, force_gap: bool, reason: str | None = None):
        seg, self._seg = self._seg, None
        self._seg_values = seg
        end_t, end_v = seg[-1]
        before = self._before
        duration = end_t - self._seg_start
        # how far the level moved beyond where the breath was heading (its slope before)
        slope = self._slope_before if math.isfinite(self._slope_before) else 0.0
        moved = abs(end_v - before[1] - slope * (end_t - before[0])) if before is not None else math.inf
        level_kept = moved <= LEVEL_TOLERANCE * self._amplitude and duration <= SPIKE_MAX_S
        if reason is None:
            reason = "spike" if level_kept else ("jump" if duration <= SPIKE_MAX_S else "motion")
        self.segments.append(ExcludedSegment(self._seg_start, end_t, reason))
        self._queue = []
        if level_kept and not force_gap:
            (t0, v0), out = before, []
            for t, _ in seg[:-1]:
                out.append((t, v0 + (end_v - v0) * (t - t0) / (end_t - t0)))
            out.append((end_t, end_v))
            self._before = out[-1]
            return out, None
        self._before = None
        return [(seg[0][0], math.nan), (end_t, end_v)], None


def split_runs(mask: np.ndarray, *, splits=()) -> list[tuple[int, int, bool]]:
    """``(start, stop, value)`` of the runs of equal values in ``mask``, also split at ``splits``."""
    edges = set(int(i) for i in np.flatnonzero(np.diff(mask.astype(np.int8))) + 1) | set(int(i) for i in splits)
    bounds = [0, *sorted(e for e in edges if 0 < e < mask.size), mask.size]
    return [(a, b, bool(mask[a])) for a, b in zip(bounds, bounds[1:]) if b > a]
