"""Feedback as data, and the policy that decides which single cue is on screen.

A :class:`Cue` is what an engine wants to say: its ``kind`` (``safety``, ``posture``,
``visibility``, ``pace``, ``encouragement``), the catalogue key of the sentence
(``feedback/messages.toml``), the measured ``value`` and the ``limit`` it was compared with
(both in degrees or degrees per second, for the record), a ``priority`` and the time.

:class:`CuePolicy` is fed every frame's candidate cues (``update(t_s, candidates)``) and
keeps at most ONE on screen:

- the highest priority wins (safety > posture > visibility > pace > encouragement);
- a cue, once shown, stays at least ``min_display_s`` (1.5 s), even if a more urgent one
  arrives: a patient cannot read a sentence that flickers away;
- a cue whose condition has gone is cleared only after ``min_display_s`` and after the
  condition has been absent for ``clear_after_s`` (so a value resting on a threshold does not
  make the line blink: the engines add value hysteresis, the policy adds time hysteresis);
- the same sentence is not put up again within ``repeat_interval_s`` of being taken down,
  and at most ``max_new_per_min`` new cues appear per minute (a rate limit); safety cues are
  exempt from both, so an approaching limit is never silenced.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Mapping

# Priorities by kind: higher wins.
PRIORITY_SAFETY = 50
PRIORITY_POSTURE = 40
PRIORITY_VISIBILITY = 30
PRIORITY_PACE = 20
PRIORITY_ENCOURAGEMENT = 10

KIND_PRIORITY: dict[str, int] = {
    "safety": PRIORITY_SAFETY,
    "posture": PRIORITY_POSTURE,
    "visibility": PRIORITY_VISIBILITY,
    "pace": PRIORITY_PACE,
    "encouragement": PRIORITY_ENCOURAGEMENT,
}

DEFAULT_MIN_DISPLAY_S = 1.5
DEFAULT_CLEAR_AFTER_S = 0.5
DEFAULT_REPEAT_INTERVAL_S = 6.0
DEFAULT_MAX_NEW_PER_MIN = 12


@dataclass(frozen=True)
class Cue:
    """One thing to tell the patient (see the module docstring)."""

    kind: str
    message_key: str
    value: float | None = None
    limit: float | None = None
    priority: int = 0
    t_s: float = 0.0
    params: tuple[tuple[str, object], ...] = ()  # placeholders of the sentence, e.g. count

    @classmethod
    def of(cls, kind: str, message_key: str, /, *, t_s: float, value: float | None = None,
           limit: float | None = None, priority_boost: int = 0,
           params: Mapping[str, object] | None = None) -> "Cue":
        """A cue whose priority comes from its kind (``priority_boost`` orders within a kind)."""
        if kind not in KIND_PRIORITY:
            raise ValueError(f"Unknown cue kind {kind!r}: expected one of {', '.join(KIND_PRIORITY)}.")
        return cls(kind=kind, message_key=message_key, value=value, limit=limit,
                   priority=KIND_PRIORITY[kind] + priority_boost, t_s=float(t_s),
                   params=tuple(sorted((params or {}).items())))

    @property
    def fields(self) -> dict[str, object]:
        return dict(self.params)

    def text(self) -> str:
        """The sentence from the catalogue, placeholders filled."""
        from feedback.messages import load_catalogue, message

        catalogue = load_catalogue()
        # A placeholder whose value is itself a key ("body_part.legs") is translated too.
        values = {k: (catalogue[v] if isinstance(v, str) and v in catalogue else v)
                  for k, v in self.params}
        return message(self.message_key, **values)


@dataclass
class CuePolicy:
    """At most one cue on screen; see the module docstring for the rules."""

    min_display_s: float = DEFAULT_MIN_DISPLAY_S
    clear_after_s: float = DEFAULT_CLEAR_AFTER_S
    repeat_interval_s: float = DEFAULT_REPEAT_INTERVAL_S
    max_new_per_min: int = DEFAULT_MAX_NEW_PER_MIN
    rate_limit_exempt: tuple[str, ...] = ("safety",)
    current: Cue | None = field(default=None, init=False)
    shown_since_s: float = field(default=float("-inf"), init=False)
    changed: bool = field(default=False, init=False)  # True when update() put up a new cue
    _last_seen_s: float = field(default=float("-inf"), init=False, repr=False)
    _cleared_at: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _shown_times: deque = field(default_factory=deque, init=False, repr=False)

    def _allowed(self, cue: Cue, t_s: float) -> bool:
        if cue.kind in self.rate_limit_exempt:
            return True
        last = self._cleared_at.get(cue.message_key)
        if last is not None and t_s - last < self.repeat_interval_s:
            return False
        while self._shown_times and t_s - self._shown_times[0] >= 60.0:
            self._shown_times.popleft()
        return len(self._shown_times) < self.max_new_per_min

    def _take_down(self, t_s: float) -> None:
        if self.current is not None:
            self._cleared_at[self.current.message_key] = t_s
        self.current = None

    def _put_up(self, cue: Cue, t_s: float) -> None:
        self._take_down(t_s)
        self.current = cue
        self.shown_since_s = t_s
        self._last_seen_s = t_s
        self.changed = True
        if cue.kind not in self.rate_limit_exempt:
            self._shown_times.append(t_s)

    def update(self, t_s: float, candidates: Iterable[Cue], /) -> Cue | None:
        """Feed one frame's candidate cues; returns the cue on screen now (or None)."""
        self.changed = False
        ranked = sorted(candidates, key=lambda c: -c.priority)
        cur = self.current
        if cur is not None:
            same = next((c for c in ranked if c.message_key == cur.message_key), None)
            if same is not None:
                self._last_seen_s = t_s
            if t_s - self.shown_since_s < self.min_display_s:
                return cur  # every cue stays at least min_display_s
            for cue in ranked:
                if cue.message_key == cur.message_key:
                    break  # nothing more urgent than what is shown
                if cue.priority > cur.priority and self._allowed(cue, t_s):
                    self._put_up(cue, t_s)
                    return self.current
            if same is not None:
                return cur
            if t_s - self._last_seen_s < self.clear_after_s:
                return cur  # condition gone only briefly: keep the line steady
            self._take_down(t_s)
        for cue in ranked:
            if self._allowed(cue, t_s):
                self._put_up(cue, t_s)
                return self.current
        return None
