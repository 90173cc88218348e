"""Feedback engines: small stateful objects fed one frame at a time.

Every engine has ``update(t_s, angles, visibility) -> list[Cue]``: ``angles`` maps angle
names (``right_knee_flexion_deg``, ``trunk_lateral_lean_deg``) to degrees (NaN or absent when
unknown), ``visibility`` is a :class:`FrameVisibility`. The cues returned are *candidates*
for this frame; :class:`feedback.cues.CuePolicy` picks what is shown. Unknown values never
produce a cue (no judgement on missing data) except from :class:`VisibilityEngine`.

All thresholds are constructor parameters with documented defaults. Pure maths: no camera,
no database, no drawing.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from feedback.cues import Cue
from sensing.landmarks import LANDMARK_INDEX

# --- shared -------------------------------------------------------------------------------

DEFAULT_RANGE_HYSTERESIS_DEG = 3.0
DEFAULT_POSTURE_HYSTERESIS_DEG = 3.0
DEFAULT_POSTURE_ONSET_S = 1.0  # a posture must hold this long before a cue (not a passing sway)
DEFAULT_PACE_WINDOW_S = 0.3
DEFAULT_PACE_ONSET_S = 0.15
DEFAULT_PACE_RELEASE_RATIO = 0.7
DEFAULT_REP_HYSTERESIS_FRACTION = 0.05
DEFAULT_VISIBILITY_THRESHOLD = 0.5
DEFAULT_ABSENT_S = 0.5

# check -> (angle name, default largest comfortable deviation from neutral in degrees, message key)
POSTURE_CHECKS: dict[str, tuple[str, float, str]] = {
    "trunk_upright": ("trunk_forward_lean_deg", 20.0, "posture.trunk_upright"),
    "trunk_lean_side": ("trunk_lateral_lean_deg", 12.0, "posture.trunk_lean_side"),
    "shoulders_level": ("shoulder_tilt_deg", 10.0, "posture.shoulders_level"),
    "head_over_shoulders": ("neck_flexion_deg", 25.0, "posture.head_over_shoulders"),
}


def _value(angles: Mapping[str, float], name: str) -> float:
    v = angles.get(name)
    return float(v) if v is not None and math.isfinite(v) else math.nan


def compute_tracked_angle(angles: Mapping[str, float], /, *, angle_names: Sequence[str]) -> float:
    """The mean of the known angles among ``angle_names`` (NaN when none is known)."""
    known = [v for v in (_value(angles, n) for n in angle_names) if math.isfinite(v)]
    return sum(known) / len(known) if known else math.nan


@dataclass(frozen=True)
class FrameVisibility:
    """Whether a person was found, and each landmark's visibility (0..1) by name."""

    person_found: bool
    landmarks: Mapping[str, float] = field(default_factory=dict)


# --- range --------------------------------------------------------------------------------

@dataclass
class RangeEngine:
    """The tracked angle against the patient's comfortable range.

    For each watched end (``limits``: ``upper``, ``lower``, ``both``, or ``none`` for an
    exercise whose ends are not limits, such as sit-to-stand's chair and standing) the angle is
    *approaching* within ``caution_margin_deg`` of the end and *beyond* past it. A zone is
    left only ``hysteresis_deg`` back inside its threshold, so a value resting on it does not
    flicker. Beyond gives ``range.beyond_limit`` ("ease back a little"), approaching gives
    ``range.approaching_limit``; both are safety cues.
    """

    channel: str
    min_deg: float
    max_deg: float
    caution_margin_deg: float = 10.0
    limits: str = "upper"
    hysteresis_deg: float = DEFAULT_RANGE_HYSTERESIS_DEG
    zone: str = field(default="inside", init=False)  # inside | approaching | beyond

    def _zone_for(self, excess_deg: float, previous: str) -> str:
        """``excess_deg``: how far past the end the angle is (negative = inside)."""
        h = self.hysteresis_deg
        if excess_deg > 0 or (previous == "beyond" and excess_deg > -h):
            return "beyond"
        if excess_deg > -self.caution_margin_deg or (
                previous in ("approaching", "beyond") and excess_deg > -self.caution_margin_deg - h):
            return "approaching"
        return "inside"

    def update(self, t_s: float, angles: Mapping[str, float], visibility: FrameVisibility | None = None,
               /) -> list[Cue]:
        v = _value(angles, self.channel)
        if not math.isfinite(v):
            return []  # unknown: keep the zone, say nothing
        order = ("inside", "approaching", "beyond")
        ends = []
        if self.limits in ("upper", "both"):
            ends.append((v - self.max_deg, self.max_deg))
        if self.limits in ("lower", "both"):
            ends.append((self.min_deg - v, self.min_deg))
        if not ends:
            return []
        zones = [(self._zone_for(excess, self.zone), limit) for excess, limit in ends]
        zone, limit = max(zones, key=lambda z: order.index(z[0]))
        self.zone = zone
        if zone == "beyond":
            return [Cue.of("safety", "range.beyond_limit", t_s=t_s, value=v, limit=limit, priority_boost=1)]
        if zone == "approaching":
            return [Cue.of("safety", "range.approaching_limit", t_s=t_s, value=v, limit=limit)]
        return []


# --- posture ------------------------------------------------------------------------------

@dataclass
class PostureEngine:
    """Shoulders level, trunk upright, head over shoulders, relative to neutral.

    ``neutral`` maps angle names to the patient's calibrated neutral (0 when absent). A check
    fires when ``|angle - neutral|`` exceeds its limit for ``onset_s``, and releases when it
    is ``hysteresis_deg`` back below the limit. An angle that is not measured is skipped.
    """

    checks: Sequence[str]
    neutral: Mapping[str, float] = field(default_factory=dict)
    max_deviation_deg: Mapping[str, float] = field(default_factory=dict)
    hysteresis_deg: float = DEFAULT_POSTURE_HYSTERESIS_DEG
    onset_s: float = DEFAULT_POSTURE_ONSET_S
    _since: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _active: set = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = [c for c in self.checks if c not in POSTURE_CHECKS]
        if unknown:
            raise ValueError(f"Unknown posture checks {unknown}: expected names from {list(POSTURE_CHECKS)}.")

    def update(self, t_s: float, angles: Mapping[str, float], visibility: FrameVisibility | None = None,
               /) -> list[Cue]:
        cues = []
        for check in self.checks:
            angle_name, default_limit, key = POSTURE_CHECKS[check]
            v = _value(angles, angle_name)
            if not math.isfinite(v):
                self._since.pop(check, None)
                continue
            limit = float(self.max_deviation_deg.get(check, default_limit))
            deviation = abs(v - float(self.neutral.get(angle_name, 0.0)))
            threshold = limit - self.hysteresis_deg if check in self._active else limit
            if deviation > threshold:
                self._since.setdefault(check, t_s)
                if t_s - self._since[check] >= self.onset_s:
                    self._active.add(check)
                    cues.append(Cue.of("posture", key, t_s=t_s, value=deviation, limit=limit))
            else:
                self._since.pop(check, None)
                self._active.discard(check)
        return cues


# --- pace ---------------------------------------------------------------------------------

@dataclass
class PaceEngine:
    """Moving much faster than the exercise's mindful tempo.

    A smooth movement over ``amplitude_deg`` taking ``min_move_s`` peaks at
    ``pi/2 * amplitude_deg / min_move_s`` deg/s; the engine cues ``pace.slow_down`` when the
    angular speed (over the last ``window_s``) stays above ``fast_factor`` times that for
    ``onset_s``, i.e. when a movement takes less than about ``min_move_s / fast_factor``. It
    releases below ``release_ratio`` of the limit.
    """

    channel: str
    amplitude_deg: float
    min_move_s: float = 2.0
    fast_factor: float = 1.6
    window_s: float = DEFAULT_PACE_WINDOW_S
    onset_s: float = DEFAULT_PACE_ONSET_S
    release_ratio: float = DEFAULT_PACE_RELEASE_RATIO
    speed_deg_s: float = field(default=math.nan, init=False)
    _history: deque = field(default_factory=deque, init=False, repr=False)
    _fast_since: float | None = field(default=None, init=False, repr=False)
    _active: bool = field(default=False, init=False, repr=False)

    @property
    def limit_deg_s(self) -> float:
        return self.fast_factor * (math.pi / 2.0) * self.amplitude_deg / self.min_move_s

    def update(self, t_s: float, angles: Mapping[str, float], visibility: FrameVisibility | None = None,
               /) -> list[Cue]:
        v = _value(angles, self.channel)
        if not math.isfinite(v):
            self._history.clear()
            self._fast_since = None
            return []
        self._history.append((t_s, v))
        while len(self._history) > 2 and t_s - self._history[1][0] >= self.window_s:
            self._history.popleft()
        t0, v0 = self._history[0]
        if t_s - t0 < self.window_s * 0.5:
            return []
        self.speed_deg_s = abs(v - v0) / (t_s - t0)
        limit = self.limit_deg_s
        threshold = limit * self.release_ratio if self._active else limit
        if self.speed_deg_s > threshold:
            if self._fast_since is None:
                self._fast_since = t_s
            if t_s - self._fast_since >= self.onset_s:
                self._active = True
                return [Cue.of("pace", "pace.slow_down", t_s=t_s, value=self.speed_deg_s, limit=limit)]
        else:
            self._fast_since = None
            self._active = False
        return []


# --- repetitions --------------------------------------------------------------------------

@dataclass(frozen=True)
class RepetitionEvent:
    """One completed repetition (a named, timestamped event)."""

    index: int
    angle_name: str
    t_start_s: float
    t_end_s: float
    peak_deg: float
    hold_s: float


@dataclass
class RepetitionEngine:
    """Counts repetitions from thresholds set as fractions of the patient's range.

    Progress is 0 at the resting end of ``[min_deg, max_deg]`` and 1 at the other
    (``direction`` ``increase``: rest at min; ``decrease``: rest at max; ``both``: rest at the
    middle, 0 clipped into the range, and progress towards either end). A repetition starts
    when progress passes ``start_fraction``, reaches the top at ``top_fraction``, and counts
    when progress falls back below ``start_fraction`` (each crossing back needs
    ``hysteresis_fraction`` of margin). A movement that never reached the top is not counted
    and not remarked on. With ``hold_s`` the engine says "hold gently" at the top until the
    hold is done. Each completed repetition is acknowledged quietly (``repetitions.rep_done``;
    ``repetitions.well_done`` at the target), never compared with anything.
    """

    channel: str
    min_deg: float
    max_deg: float
    direction: str = "increase"
    start_fraction: float = 0.3
    top_fraction: float = 0.7
    hold_s: float = 0.0
    target: int | None = None
    hysteresis_fraction: float = DEFAULT_REP_HYSTERESIS_FRACTION
    count: int = field(default=0, init=False)
    repetitions: list = field(default_factory=list, init=False)
    state: str = field(default="rest", init=False)  # rest | moving | top
    _t_start: float = field(default=0.0, init=False, repr=False)
    _reached_top: bool = field(default=False, init=False, repr=False)
    _peak_progress: float = field(default=-math.inf, init=False, repr=False)
    _peak_deg: float = field(default=math.nan, init=False, repr=False)
    _top_since: float | None = field(default=None, init=False, repr=False)
    _hold_total_s: float = field(default=0.0, init=False, repr=False)
    _hold_announced: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.max_deg > self.min_deg:
            raise ValueError(f"Expected max_deg > min_deg, but got {self.min_deg} and {self.max_deg}.")
        if not 0.0 < self.start_fraction < self.top_fraction < 1.0:
            raise ValueError("Expected 0 < start_fraction < top_fraction < 1.")

    def progress(self, angle_deg: float, /) -> float:
        span = self.max_deg - self.min_deg
        if self.direction == "increase":
            return (angle_deg - self.min_deg) / span
        if self.direction == "decrease":
            return (self.max_deg - angle_deg) / span
        mid = min(max(0.0, self.min_deg), self.max_deg)
        if angle_deg >= mid:
            return (angle_deg - mid) / (self.max_deg - mid) if self.max_deg > mid else 0.0
        return (mid - angle_deg) / (mid - self.min_deg) if mid > self.min_deg else 0.0

    def _close_hold(self, t_s: float) -> None:
        if self._top_since is not None:
            self._hold_total_s += t_s - self._top_since
            self._top_since = None

    def update(self, t_s: float, angles: Mapping[str, float], visibility: FrameVisibility | None = None,
               /) -> list[Cue]:
        v = _value(angles, self.channel)
        if not math.isfinite(v):
            return []
        p = self.progress(v)
        h = self.hysteresis_fraction
        cues: list[Cue] = []
        if self.state != "rest" and p > self._peak_progress:
            self._peak_progress, self._peak_deg = p, v
        if self.state == "rest":
            if p >= self.start_fraction:
                self.state = "moving"
                self._t_start, self._reached_top = t_s, False
                self._peak_progress, self._peak_deg = p, v
                self._hold_total_s, self._hold_announced = 0.0, False
        if self.state == "moving" and p >= self.top_fraction:
            self.state, self._reached_top, self._top_since = "top", True, t_s
        elif self.state == "top" and p < self.top_fraction - h:
            self._close_hold(t_s)
            self.state = "moving"
        if self.state == "top" and self.hold_s > 0:
            held = self._hold_total_s + (t_s - self._top_since)
            if held < self.hold_s:
                cues.append(Cue.of("encouragement", "repetitions.hold", t_s=t_s, value=held, limit=self.hold_s,
                                   priority_boost=1))
            elif not self._hold_announced:
                self._hold_announced = True
                cues.append(Cue.of("encouragement", "repetitions.hold_done", t_s=t_s, value=held,
                                   limit=self.hold_s, priority_boost=1))
        if self.state == "moving" and p < self.start_fraction - h:
            self.state = "rest"
            if self._reached_top:
                self.count += 1
                self.repetitions.append(RepetitionEvent(
                    index=self.count, angle_name=self.channel, t_start_s=self._t_start, t_end_s=t_s,
                    peak_deg=self._peak_deg, hold_s=self._hold_total_s))
                if self.target is not None and self.count == self.target:
                    cues.append(Cue.of("encouragement", "repetitions.well_done", t_s=t_s,
                                       value=float(self.count)))
                else:
                    cues.append(Cue.of("encouragement", "repetitions.rep_done", t_s=t_s,
                                       value=float(self.count), params={"count": self.count}))
        return cues


# --- visibility ---------------------------------------------------------------------------

@dataclass
class VisibilityEngine:
    """"Step back into view" when nobody is found, or "let the camera see your ..." when the
    landmarks the exercise needs stay below ``visibility_threshold``, for ``absent_s``.

    The body part named is that of the least visible landmark (``body_parts``: landmark ->
    ``body_part.*`` key; ``body_part_key`` for a landmark it does not name). With
    ``channel``, nothing is asked while that angle is known: the exercise is measured, so a
    landmark it could do without (a hidden ear on a turned head) is no reason to interrupt."""

    landmarks: Sequence[str]
    body_part_key: str = "body_part.whole_body"
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD
    absent_s: float = DEFAULT_ABSENT_S
    body_parts: Mapping[str, str] = field(default_factory=dict)
    channel: str | None = None
    _gone_since: float | None = field(default=None, init=False, repr=False)
    _hidden_since: float | None = field(default=None, init=False, repr=False)

    def update(self, t_s: float, angles: Mapping[str, float], visibility: FrameVisibility | None = None,
               /) -> list[Cue]:
        if visibility is None:
            return []
        if not visibility.person_found:
            self._hidden_since = None
            if self._gone_since is None:
                self._gone_since = t_s
            if t_s - self._gone_since >= self.absent_s:
                return [Cue.of("visibility", "visibility.step_into_view", t_s=t_s)]
            return []
        self._gone_since = None
        seen = [(float(visibility.landmarks.get(n, 0.0)), n) for n in self.landmarks]
        lowest, hidden = min(seen, default=(1.0, None))
        measured = self.channel is not None and math.isfinite(_value(angles, self.channel))
        if lowest < self.visibility_threshold and not measured:
            if self._hidden_since is None:
                self._hidden_since = t_s
            if t_s - self._hidden_since >= self.absent_s:
                part = self.body_parts.get(hidden, self.body_part_key)
                return [Cue.of("visibility", "visibility.show_joint", t_s=t_s, value=lowest,
                               limit=self.visibility_threshold, params={"body_part": part})]
            return []
        self._hidden_since = None
        return []


# --- helpers for angles the joint-angle module does not give -------------------------------

def compute_shoulder_tilt_deg(world_m, visibility, /, *, up=(0.0, -1.0, 0.0),
                              visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD) -> float:
    """Tilt of the shoulder line against the horizontal, degrees (positive: right shoulder
    higher); NaN when either shoulder is unknown or hidden. ``world_m`` (33, 3), metres."""
    world = np.asarray(world_m, dtype=float)
    vis = np.asarray(visibility, dtype=float)
    li, ri = LANDMARK_INDEX["left_shoulder"], LANDMARK_INDEX["right_shoulder"]
    if min(vis[li], vis[ri]) < visibility_threshold:
        return math.nan
    v = world[ri] - world[li]
    norm = float(np.linalg.norm(v))
    if not math.isfinite(norm) or norm <= 1e-9:
        return math.nan
    u = np.asarray(up, dtype=float)
    return math.degrees(math.asin(max(-1.0, min(1.0, float(np.dot(v / norm, u / np.linalg.norm(u)))))))
