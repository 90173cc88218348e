"""Breath in a practice session: feeds polled once per frame, and the per-frame breath state.

A feed is a replay consumed in step with the session clock (:class:`ReplayFeed`) or a belt
that streams on its own thread (:class:`BeltFeed`); :class:`PracticeBreath` analyses it live
(:class:`feedback.breath_session.BreathRecording`), stores it as channel ``breath`` and runs
the pacer when the exercise asks for breath coordination. Without a feed (at home, no belt)
the pacer alone guides the breath.

The session clock: ``t_s = 0`` at the first frame. A replay's own time is the session time
(its sample at 2.0 s belongs to the frame at 2.0 s, with ``--fast`` too); a belt's samples,
stamped with ``time.monotonic()``, are mapped with the monotonic time the first frame was
captured, on the same origin as the frames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from feedback.breath_session import STORED_BREATH_RATE_HZ, BreathRecording

BELT_STALE_S = 1.5  # a belt silent this long is shown as reconnecting; the silence is stored as NaN
BELT_STOPPED_NOTICE_S = 10.0  # how long the calm "belt stopped" notice stays after a belt gives up


class BreathFeed(Protocol):
    """Breath samples on the session clock, polled once per frame; never blocks."""

    rate_hz: float | None

    def start(self, clock_origin_s: float, /) -> None:
        """``clock_origin_s``: the ``time.monotonic()`` at which the session clock is 0."""

    def poll(self, until_t_s: float, /) -> tuple[np.ndarray, np.ndarray]:
        """Samples up to session time ``until_t_s`` not yet returned (NaN values mark gaps)."""

    @property
    def reconnecting(self) -> bool: ...


class ReplayFeed:
    """A breath recording replayed in step with the session clock: at session time ``t`` every
    sample up to the recording's own ``t`` has been handed over (so ``--fast`` video and
    breath stay together, whatever the wall clock does). Wraps
    :class:`sensing.breath_source.ReplayBreathSource` (the replay ``breathe`` uses too)."""

    reconnecting = False
    stopped = False

    def __init__(self, t_s: np.ndarray, values: np.ndarray, /, *, rate_hz: float | None) -> None:
        from sensing.breath_source import ReplayBreathSource

        self.source = ReplayBreathSource(t_s, values, rate_hz=rate_hz, realtime=False)
        self.rate_hz = rate_hz

    def start(self, clock_origin_s: float, /) -> None:
        self.source.rewind()

    def poll(self, until_t_s: float, /) -> tuple[np.ndarray, np.ndarray]:
        return self.source.take_until(until_t_s)


class BeltFeed:
    """A live belt (``sensing.belts.BeltStream``, which streams on its own thread), read
    without waiting through :class:`sensing.breath_source.BeltBreathSource` (the reader
    ``breathe`` uses too), its clock's zero set to the session's: times
    (``time.monotonic()``) are on the session clock, samples from before the first frame are
    dropped, a ``Gap`` is a NaN sample at its start. A belt silent for ``stale_s`` (or not
    connected) is ``reconnecting``; a belt that gave up (``SourceError``, an unexpected
    failure in its thread included) is ``stopped``, with the reason in ``error``."""

    def __init__(self, stream, /, *, stale_s: float = BELT_STALE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from sensing.breath_source import BeltBreathSource

        self.stream = stream
        self.source = BeltBreathSource(stream)
        self.rate_hz = None
        self.stale_s = stale_s
        self._clock = clock
        self._now_t = 0.0

    def start(self, clock_origin_s: float, /) -> None:
        self.source.converter.origin_s = clock_origin_s

    @property
    def stopped(self) -> bool:
        return self.source.ended

    @property
    def error(self):
        return self.source.error

    @property
    def reconnecting(self) -> bool:
        if self.stopped:
            return False
        if not getattr(self.stream, "connected", True):
            return True
        last = self.source.converter.last_sample_t_s
        return last is not None and self._now_t - last > self.stale_s

    def poll(self, until_t_s: float, /) -> tuple[np.ndarray, np.ndarray]:
        converter = self.source.converter
        if converter.origin_s is None:  # not started: the session clock starts now
            converter.origin_s = self._clock()
        self._now_t = self._clock() - converter.origin_s
        return self.source.poll()


@dataclass
class BreathFrame:
    """The breath at one frame."""

    measured_phase: str | None  # inhale | exhale | pause | unknown; None without a feed
    pacer_state: Any  # feedback.pacer.PacerState or None
    reconnecting: bool
    belt_stopped: bool = False  # the belt gave up a moment ago (shown for BELT_STOPPED_NOTICE_S)


@dataclass
class PracticeBreath:
    """Breath in a practice session: a feed polled once per frame, recorded and scored by the
    shared :class:`feedback.breath_session.BreathRecording` (the one ``breathe`` uses).

    ``update(t_s, recorder=...)`` once per frame. Samples are stored as channel ``breath``
    at ``store_rate_hz`` (every k-th input sample; every NaN gap marker is kept), and while a
    belt is silent a NaN is stored at that rate, so the gap stays visible as NULLs. A belt
    that stops for good leaves one NaN and a calm notice; the movement session goes on.
    """

    feed: BreathFeed | None = None
    analyzer: Any = None  # feedback.breath.BreathAnalyzer (made from the feed's rate if None)
    pacer: Any = None  # feedback.pacer.Pacer
    polarity: str | None = None  # None: the signal kind's own
    signal: str = "auto"  # what the feed measures (feedback.breath_signals)
    store_rate_hz: float = STORED_BREATH_RATE_HZ
    recording: BreathRecording = field(init=False, repr=False)
    last_t_s: float = field(default=0.0, init=False)
    _stopped_at: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        rate_hz = self.feed.rate_hz if self.feed is not None else None
        self.recording = BreathRecording(rate_hz=rate_hz, polarity=self.polarity, signal=self.signal,
                                         store_rate_hz=self.store_rate_hz,
                                         analyzer=self.analyzer)
        if self.pacer is not None:
            self.recording.start_pacer(self.pacer, t_s=0.0)

    @property
    def samples_stored(self) -> int:
        return self.recording.samples_stored

    def start(self, clock_origin_s: float, /) -> None:
        if self.feed is not None:
            self.feed.start(clock_origin_s)

    def update(self, t_s: float, /, *, recorder=None) -> BreathFrame:
        self.last_t_s = t_s
        rec = self.recording
        state = rec.pacer_state(t_s)
        if self.feed is None:
            return BreathFrame(None, state, False)
        t, v = self.feed.poll(t_s)
        if t.size:
            rec.update(t, v, recorder=recorder)
        self.analyzer = rec.analyzer
        reconnecting = self.feed.reconnecting
        stopped = getattr(self.feed, "stopped", False)
        if reconnecting:
            rec.store_silence(t_s, recorder=recorder)
        if stopped and self._stopped_at is None:
            self._stopped_at = t_s
            rec.store_silence(t_s, recorder=recorder)  # the breath is unknown from here on
        phase = "unknown" if reconnecting or stopped else rec.phase
        rec.score(t_s, state, phase=phase)
        notice = stopped and t_s - self._stopped_at < BELT_STOPPED_NOTICE_S
        return BreathFrame(phase, state, reconnecting, belt_stopped=notice)

    def result(self) -> dict:
        """The ``BreathResult`` row's fields (``detail`` holds the summary and each breath)."""
        error = getattr(self.feed, "error", None)
        return self.recording.result(extra_detail={"belt_error": str(error)} if error is not None else None)

