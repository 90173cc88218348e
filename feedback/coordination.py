"""Movement with breath: did the arm rise on an inhale and come down on an exhale?

Pure maths, fed one frame at a time on the session clock (the same clock as the breath
samples): no camera, no belt, no database.

:class:`BreathCoordinationJudge` keeps two short histories: the breath phase
(``inhale``/``exhale``/``pause``/``unknown``, as change points) and the repetition progress of
the tracked angle (0 at the resting end of the comfortable range, 1 at the other). When the
repetition engine completes a repetition, :meth:`~BreathCoordinationJudge.judge` finds

- the **rise**: from where the progress first passes ``rise_levels[0]`` of the way from the
  resting level before the repetition to its peak, to where it first reaches
  ``rise_levels[1]`` of the way (the 10-90 % rise time of a step, so a slow start at rest and
  a wobble at the top do not count);
- the **lowering**: from the last time at or above the upper level, after the peak, to the
  moment the repetition was counted (the arm passing back below the start threshold);

and the share of each spent in the asked-for phase: ``inhale_overlap_pct`` of the rise and
``exhale_overlap_pct`` of the lowering, over the time whose phase was known. When less than
``min_known_fraction`` of a span had a known phase, the share is ``None`` (not judged: no
verdict on missing data). The repetition is ``coordinated`` when every asked-for share is at
least ``min_overlap_pct``.

:class:`BreathCueEngine` is a feedback engine (``update(t_s, angles, visibility)``) giving the
catalogue's gentle invitations at encouragement priority: ``breath.raise_on_inhale`` when an
inhale begins while the patient rests, ``breath.lower_on_exhale`` when an exhale begins at
the top. It invites before the first repetition and again only after a repetition whose
rise (or lowering) was not with the breath, at most once per ``min_interval_s``; a
coordinated repetition is simply not remarked on (the quiet count is enough), never scolded.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from feedback.cues import Cue

DEFAULT_RISE_LEVELS = (0.1, 0.9)
DEFAULT_HISTORY_S = 60.0
DEFAULT_MIN_KNOWN_FRACTION = 0.5
DEFAULT_REST_LOOKBACK_S = 6.0
DEFAULT_INVITE_WINDOW_S = 2.5
DEFAULT_INVITE_INTERVAL_S = 15.0
KNOWN_PHASES = ("inhale", "exhale", "pause")


@dataclass(frozen=True)
class RepetitionBreath:
    """How one repetition went with the breath (times on the session clock)."""

    rise_start_s: float | None
    rise_end_s: float | None
    lower_start_s: float | None
    lower_end_s: float | None
    inhale_overlap_pct: float | None  # share of the rise during inhalation
    exhale_overlap_pct: float | None  # share of the lowering during exhalation
    coordinated: bool | None  # None: not judged (phase unknown for too much of it)


@dataclass
class PhaseTimeline:
    """A step function of the breath phase over time, kept for ``history_s``."""

    history_s: float = DEFAULT_HISTORY_S
    _steps: deque = field(default_factory=deque, repr=False)  # (t_s, phase) change points

    def update(self, t_s: float, phase: str, /) -> None:
        if not self._steps or self._steps[-1][1] != phase:
            self._steps.append((float(t_s), phase))
        while len(self._steps) > 1 and self._steps[1][0] < t_s - self.history_s:
            self._steps.popleft()

    @property
    def last_t_s(self) -> float | None:
        return self._steps[-1][0] if self._steps else None

    def durations(self, t0_s: float, t1_s: float, /, *, until_s: float | None = None) -> dict[str, float]:
        """Seconds spent in each phase within [t0, t1] (time before the first step is ``unknown``)."""
        out: dict[str, float] = {}
        steps = list(self._steps)
        end = t1_s if until_s is None else min(t1_s, until_s)
        if t1_s > end:
            out["unknown"] = t1_s - max(t0_s, end)
        first = steps[0][0] if steps else math.inf
        if t0_s < first:
            out["unknown"] = out.get("unknown", 0.0) + max(0.0, min(end, first) - t0_s)
        for i, (ts, phase) in enumerate(steps):
            te = steps[i + 1][0] if i + 1 < len(steps) else math.inf
            lo, hi = max(ts, t0_s), min(te, end)
            if hi > lo:
                out[phase] = out.get(phase, 0.0) + (hi - lo)
        return out

    def share_pct(self, t0_s: float, t1_s: float, phase: str, /, *, until_s: float | None = None,
                  min_known_fraction: float = DEFAULT_MIN_KNOWN_FRACTION) -> float | None:
        """% of the known-phase time in [t0, t1] spent in ``phase``; None if too little is known."""
        if not t1_s > t0_s:
            return None
        d = self.durations(t0_s, t1_s, until_s=until_s)
        known = sum(v for k, v in d.items() if k in KNOWN_PHASES)
        if known < min_known_fraction * (t1_s - t0_s) or known <= 0:
            return None
        return 100.0 * d.get(phase, 0.0) / known


@dataclass
class BreathCoordinationJudge:
    """Judges each repetition's rise and lowering against the breath (see the module docstring)."""

    raise_on: str | None = "inhale"
    lower_on: str | None = None
    min_overlap_pct: float = 50.0
    rise_levels: tuple[float, float] = DEFAULT_RISE_LEVELS
    min_known_fraction: float = DEFAULT_MIN_KNOWN_FRACTION
    rest_lookback_s: float = DEFAULT_REST_LOOKBACK_S
    history_s: float = DEFAULT_HISTORY_S
    timeline: PhaseTimeline = field(init=False)
    _progress: deque = field(default_factory=deque, init=False, repr=False)  # (t_s, progress)
    _last_breath_t: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        lo, hi = self.rise_levels
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"Expected rise levels 0 <= low < high <= 1, but got {self.rise_levels}.")
        self.timeline = PhaseTimeline(history_s=self.history_s)

    def update_breath(self, t_s: float, phase: str, /) -> None:
        """The breath phase at ``t_s`` (call whenever it is known, e.g. every frame)."""
        self.timeline.update(t_s, phase)
        self._last_breath_t = t_s

    def update_movement(self, t_s: float, progress: float, /) -> None:
        """The repetition progress of the tracked angle at ``t_s`` (NaN when unknown)."""
        if math.isfinite(progress):
            self._progress.append((float(t_s), float(progress)))
        while self._progress and self._progress[0][0] < t_s - self.history_s:
            self._progress.popleft()

    def _segment(self, t0: float, t1: float) -> list[tuple[float, float]]:
        return [(t, p) for t, p in self._progress if t0 <= t <= t1]

    def judge(self, t_start_s: float, t_end_s: float, /) -> RepetitionBreath:
        """A completed repetition that started at ``t_start_s`` and was counted at ``t_end_s``."""
        rep = self._segment(t_start_s, t_end_s)
        before = self._segment(t_start_s - self.rest_lookback_s, t_start_s)
        if not rep:
            return RepetitionBreath(None, None, None, None, None, None, None)
        i_peak = max(range(len(rep)), key=lambda i: rep[i][1])
        t_peak, p_peak = rep[i_peak]
        # the resting level: the lowest progress in the stretch just before the repetition began
        rest_i = min(range(len(before)), key=lambda i: before[i][1]) if before else None
        rest_t, rest_p = before[rest_i] if rest_i is not None else rep[0]
        lo_level = rest_p + self.rise_levels[0] * (p_peak - rest_p)
        hi_level = rest_p + self.rise_levels[1] * (p_peak - rest_p)
        path = [s for s in before if s[0] >= rest_t] + rep[: i_peak + 1]
        rise_start = next((t for t, p in path if p >= lo_level), None)
        rise_end = next((t for t, p in path if p >= hi_level), t_peak)
        after = rep[i_peak:]
        lower_start = next((t for t, p in reversed(after) if p >= hi_level), t_peak)
        lower_end = t_end_s
        known_until = self._last_breath_t
        inhale = exhale = None
        if rise_start is not None and rise_end > rise_start:
            inhale = self.timeline.share_pct(rise_start, rise_end, "inhale", until_s=known_until,
                                             min_known_fraction=self.min_known_fraction)
        if lower_end > lower_start:
            exhale = self.timeline.share_pct(lower_start, lower_end, "exhale", until_s=known_until,
                                             min_known_fraction=self.min_known_fraction)
        asked = []
        if self.raise_on == "inhale":
            asked.append(inhale)
        if self.lower_on == "exhale":
            asked.append(exhale)
        coordinated = None
        if asked and all(v is not None for v in asked):
            coordinated = all(v >= self.min_overlap_pct for v in asked)
        return RepetitionBreath(rise_start, rise_end, lower_start, lower_end, inhale, exhale, coordinated)


def summarise_coordination(judged: list[RepetitionBreath], /, *, raise_on: str | None,
                           lower_on: str | None, min_overlap_pct: float) -> dict:
    """The session summary's ``breath_coordination`` entry."""
    decided = [j for j in judged if j.coordinated is not None]

    def median(values):
        values = sorted(v for v in values if v is not None)
        if not values:
            return None
        mid = len(values) // 2
        return round(values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0, 1)

    return {
        "raise_on": raise_on,
        "lower_on": lower_on,
        "min_overlap_pct": min_overlap_pct,
        "repetitions": len(judged),
        "judged": len(decided),
        "coordinated": sum(1 for j in decided if j.coordinated),
        "coordinated_pct": round(100.0 * sum(1 for j in decided if j.coordinated) / len(decided), 1)
        if decided else None,
        "inhale_overlap_pct_median": median(j.inhale_overlap_pct for j in judged),
        "exhale_overlap_pct_median": median(j.exhale_overlap_pct for j in judged),
    }


@dataclass
class BreathCueEngine:
    """Gentle invitations to move with the breath (see the module docstring).

    ``phase`` is set by the session each frame (the measured breath phase, or the pacer's when
    there is no breath source); ``rep_state`` is a callable giving the repetition engine's
    state (``rest`` | ``moving`` | ``top``).
    """

    rep_state: object
    raise_on: str | None = "inhale"
    lower_on: str | None = None
    min_overlap_pct: float = 50.0
    invite_window_s: float = DEFAULT_INVITE_WINDOW_S
    min_interval_s: float = DEFAULT_INVITE_INTERVAL_S
    phase: str = "unknown"
    invite_raise: bool = True  # before the first repetition, and after one not with the breath
    invite_lower: bool = True
    _phase_since: float | None = field(default=None, init=False, repr=False)
    _last_phase: str | None = field(default=None, init=False, repr=False)
    _last_invite_t: dict = field(default_factory=dict, init=False, repr=False)

    def note_repetition(self, judged: RepetitionBreath, /) -> None:
        """After a repetition: invite again only where it was not with the breath."""
        if judged.inhale_overlap_pct is not None:
            self.invite_raise = judged.inhale_overlap_pct < self.min_overlap_pct
        if judged.exhale_overlap_pct is not None:
            self.invite_lower = judged.exhale_overlap_pct < self.min_overlap_pct

    def update(self, t_s: float, angles=None, visibility=None, /) -> list[Cue]:
        if self.phase != self._last_phase:
            self._last_phase, self._phase_since = self.phase, t_s
        fresh = self._phase_since is not None and t_s - self._phase_since <= self.invite_window_s
        state = self.rep_state()
        cues: list[Cue] = []
        if fresh and self.raise_on == "inhale" and self.invite_raise and self.phase == "inhale" and state == "rest":
            cues += self._invite(t_s, "breath.raise_on_inhale")
        if fresh and self.lower_on == "exhale" and self.invite_lower and self.phase == "exhale" and state == "top":
            cues += self._invite(t_s, "breath.lower_on_exhale")
        return cues

    def _invite(self, t_s: float, key: str) -> list[Cue]:
        since = self._last_invite_t.get(key)
        if since is not None and since < self._phase_since and t_s - since < self.min_interval_s:
            return []
        if since is None or since < self._phase_since:
            self._last_invite_t[key] = t_s
        return [Cue.of("encouragement", key, t_s=t_s)]
