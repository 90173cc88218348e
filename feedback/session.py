"""The live practice loop: capture -> pose -> angles -> engines -> cue -> render -> record.

Stages (each one small, see ``docs/practice.md``):

1. :class:`LatestFrameGrabber` reads the frame source on its own thread and keeps ONLY the
   newest frame in a one-slot mailbox (never a growing queue): when the pipeline is slower
   than the camera, older frames are overwritten and counted as dropped. A live source (a
   camera) is never paced: its frames come in real time by themselves. A video file is
   paced at its own frame rate (``pace=True``), as a camera would deliver it; with
   ``pace=False`` (tests, offline, ``--fast``) every file frame is handed over, none dropped.
2. The pose estimator (any :class:`sensing.pose.PoseEstimator`).
3. Joint angles (:func:`feedback.angles.compute_frame_angles`) plus the shoulder tilt, each
   smoothed causally with a One-Euro filter.
4. The feedback engines (:mod:`feedback.engines`) and the cue policy (:mod:`feedback.cues`).
5. Sinks (a window, a video writer): objects with ``show(image_bgr, *, t_s) -> bool`` (False
   stops the session; ``t_s`` lets a video writer keep real time when frames were dropped);
   the annotated image is drawn only when there is a sink.
6. The :class:`mindmove.store.recording.SessionRecorder` (incremental writes).
7. Optionally, breath (:class:`PracticeBreath`): a breath feed polled once per frame without
   blocking (a replay consumed in step with the session clock, or a belt that streams on its
   own thread), analysed live (:class:`feedback.breath_session.BreathRecording`), stored as channel
   ``breath``; a pacer when the exercise asks for breath coordination; each repetition
   judged against the breath (:mod:`feedback.coordination`).

The session clock: ``t_s = 0`` at the first frame. A replay's own time is the session time
(its sample at 2.0 s belongs to the frame at 2.0 s, with ``--fast`` too); a belt's samples,
stamped with ``time.monotonic()``, are mapped with the monotonic time the first frame was
captured (for a camera, the first frame's own ``t_s``), on the same origin as the frames.

Latency is measured per frame from the moment the frame was captured (a camera's own
stamp; for a paced file, the moment its frame is due) to the moment the cue for it was
decided, so time spent waiting in the mailbox counts; the figures are kept in
:class:`PracticeResult` for the benchmark.

The loop ends at the end of the input, when a sink returns False, when ``stop`` is set or
on Ctrl-C (KeyboardInterrupt): all of them finish the session cleanly.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from core.ranges import SafeRange
from feedback.breath_session import STORED_BREATH_RATE_HZ, BreathRecording
from feedback.coordination import (
    BreathCoordinationJudge, BreathCueEngine, RepetitionBreath, summarise_coordination,
)
from feedback.cues import Cue, CuePolicy
from feedback.engines import (
    POSTURE_CHECKS, FrameVisibility, PaceEngine, PostureEngine, RangeEngine, RepetitionEngine,
    VisibilityEngine, compute_shoulder_tilt_deg, compute_tracked_angle,
)
from feedback.exercises import LANDMARK_BODY_PART, MOTION_BODY_PART, Exercise
from sensing.landmarks import LANDMARK_INDEX, PoseFrame

log = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE_HZ = 15.0  # recorded angle rate (>= 10 Hz)
DEFAULT_MIN_CUTOFF_HZ = 1.0
DEFAULT_BETA = 0.05
DEFAULT_D_CUTOFF_HZ = 1.0
MAX_ACTIVE_GAP_S = 0.5  # a longer gap between known samples does not count as active time
GRAB_TIMEOUT_S = 5.0
BELT_STALE_S = 1.5  # a belt silent this long is shown as reconnecting; the silence is stored as NaN
BELT_STOPPED_NOTICE_S = 10.0  # how long the calm "belt stopped" notice stays after a belt gives up
WELCOME_S = 4.0  # "Welcome..." is on screen this long at the start, while no other cue is
FINISHED_SHOW_S = 2.0  # "Thank you for practising today" stays on screen this long at the end
FINISHED_FRAME_S = 0.1  # the closing image is re-shown at this interval (the window stays responsive)


class FrameSink(Protocol):
    def show(self, image_bgr: np.ndarray, /, *, t_s: float) -> bool:
        """Show or write one image; ``t_s``: its session time. False stops the session."""


# --- capture ------------------------------------------------------------------------------

@dataclass
class GrabbedFrame:
    frame: Any  # sensing.video.Frame
    captured_at: float  # the grabber's clock (time.monotonic()) when the frame was captured or due


class LatestFrameGrabber:
    """Reads a frame source on a thread; keeps only the newest frame (see module docstring).

    A source with ``live = True`` (a camera, stamped with ``time.monotonic()``) is never paced
    nor held back: ``pace`` only concerns files. Its frames' ``captured_at`` is their own
    ``t_s``; a paced file frame's is the moment it is due; an unpaced one's, when it was read."""

    def __init__(self, source, /, *, pace: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.live = bool(getattr(source, "live", False))
        self.pace = pace and not self.live
        self.lossless = not pace and not self.live  # hand over every frame, waiting for the consumer
        self.clock = clock
        self.frames_read = 0
        self.frames_dropped = 0
        self.error: BaseException | None = None
        self._slot: GrabbedFrame | None = None
        self._done = False
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="mindmove-capture", daemon=True)

    def start(self) -> "LatestFrameGrabber":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            start_wall: float | None = None
            first_t: float | None = None
            for frame in self.source.frames():
                if self._stop.is_set():
                    break
                if self.live:
                    captured_at = frame.t_s
                elif self.pace:
                    if start_wall is None:
                        start_wall, first_t = self.clock(), frame.t_s
                    captured_at = start_wall + (frame.t_s - first_t)  # when the frame is due
                    delay = captured_at - self.clock()
                    if delay > 0 and self._stop.wait(delay):
                        break
                else:
                    captured_at = self.clock()
                grabbed = GrabbedFrame(frame, captured_at)
                with self._cond:
                    if self.lossless:
                        while self._slot is not None and not self._stop.is_set():
                            self._cond.wait(0.1)
                    if self._slot is not None:
                        self.frames_dropped += 1
                    self._slot = grabbed
                    self.frames_read += 1
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self.error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def get(self, timeout_s: float = GRAB_TIMEOUT_S) -> GrabbedFrame | None:
        """The newest frame not yet taken; None at the end of the input."""
        with self._cond:
            deadline = time.monotonic() + timeout_s
            while self._slot is None and not self._done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    from core.errors import SourceError

                    raise SourceError(f"No frame arrived from the source for {timeout_s:g} s. "
                                      "Check the camera or video and try again.")
                self._cond.wait(remaining)
            grabbed, self._slot = self._slot, None
            self._cond.notify_all()
        if grabbed is None and self.error is not None:
            raise self.error
        return grabbed

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=2.0)


# --- statistics ---------------------------------------------------------------------------

def is_within_range(value_deg: float, safe: SafeRange, /, *, limits: str = "both") -> bool:
    """Whether ``value_deg`` is inside ``safe`` at the watched end(s) only (``limits``: upper,
    lower, both or none), as :class:`feedback.engines.RangeEngine` judges it: an arm resting
    below the lower end of a range whose upper end alone is watched is within range."""
    if limits in ("upper", "both") and value_deg > safe.max_deg:
        return False
    if limits in ("lower", "both") and value_deg < safe.min_deg:
        return False
    return True


@dataclass
class AngleStats:
    """Running min/max of one angle, and time within a range (time-weighted), judged at the
    watched end(s) ``limits`` only."""

    min_deg: float = math.inf
    max_deg: float = -math.inf
    known_s: float = 0.0
    in_range_s: float = 0.0
    exceeded: bool = False
    limits: str = "both"
    frames_known: int = 0
    frames_assumed_upright: int = 0  # known frames measured against gravity (hips out of view)
    _last_t: float | None = None

    def update(self, t_s: float, value: float, /, *, safe: SafeRange | None = None,
               assumed_upright: bool = False) -> None:
        if not math.isfinite(value):
            self._last_t = None
            return
        self.frames_known += 1
        self.frames_assumed_upright += bool(assumed_upright)
        self.min_deg, self.max_deg = min(self.min_deg, value), max(self.max_deg, value)
        inside = safe is None or is_within_range(value, safe, limits=self.limits)
        if safe is not None and not inside:
            self.exceeded = True
        if self._last_t is not None:
            dt = t_s - self._last_t
            if 0 < dt <= MAX_ACTIVE_GAP_S:
                self.known_s += dt
                self.in_range_s += dt if inside else 0.0
        self._last_t = t_s

    @property
    def seen(self) -> bool:
        return math.isfinite(self.min_deg)

    def time_in_range_pct(self) -> float | None:
        """None when nothing was known, or when no end is watched (``limits="none"``)."""
        if self.limits == "none" or self.known_s <= 0:
            return None
        return 100.0 * self.in_range_s / self.known_s


@dataclass
class PracticeResult:
    """What a session produced: the summary written to the store, and live figures."""

    summary: dict
    metrics: list[dict]
    active_s: float
    latency_s: list[float] = field(default_factory=list)
    inference_s: list[float] = field(default_factory=list)
    frames_read: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    cues: list[Cue] = field(default_factory=list)
    stopped_by: str = "end_of_input"
    breath: dict | None = None  # the BreathResult fields, when the session had breath or a pacer


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


# --- the pipeline -------------------------------------------------------------------------

def _combined_range(comfortable_range: Callable[[str], Any], motions: Sequence[str]) -> SafeRange:
    """The most conservative comfortable range over the tracked motions (both sides)."""
    ranges = [comfortable_range(m) for m in motions]
    return SafeRange(min_deg=max(r.min_deg for r in ranges), max_deg=min(r.max_deg for r in ranges),
                     caution_margin_deg=max(r.caution_margin_deg for r in ranges))


@dataclass
class PracticePipeline:
    """Per-frame processing for one exercise (no threads, no I/O): ``process`` one pose."""

    exercise: Exercise
    safe: SafeRange
    neutral_deg: Mapping[str, float] = field(default_factory=dict)  # angle name -> deg
    policy: CuePolicy = field(default_factory=CuePolicy)
    visibility_threshold: float = 0.5
    min_cutoff_hz: float = DEFAULT_MIN_CUTOFF_HZ
    beta: float = DEFAULT_BETA
    d_cutoff_hz: float = DEFAULT_D_CUTOFF_HZ

    def __post_init__(self) -> None:
        from feedback.angles import ANGLE_NAMES
        from feedback.smoothing import OneEuroFilter

        ex, tr = self.exercise, self.exercise.tracking
        self.channel = tr.channel
        self.angle_names: tuple[str, ...] = tuple(ANGLE_NAMES) + ("shoulder_tilt_deg",)
        self._filter = OneEuroFilter(min_cutoff_hz=self.min_cutoff_hz, beta=self.beta,
                                     d_cutoff_hz=self.d_cutoff_hz)
        self.range_engine = RangeEngine(self.channel, self.safe.min_deg, self.safe.max_deg,
                                        caution_margin_deg=self.safe.caution_margin_deg, limits=tr.limits)
        self.posture_engine = PostureEngine(ex.posture_checks, neutral=self.neutral_deg,
                                            max_deviation_deg=ex.posture_max_deviation_deg)
        rule = ex.repetition
        self.rep_engine = None
        if rule.enabled:
            self.rep_engine = RepetitionEngine(
                self.channel, self.safe.min_deg, self.safe.max_deg, direction=tr.direction,
                start_fraction=rule.start_fraction, top_fraction=rule.top_fraction,
                hold_s=rule.hold_s, target=rule.target)
        self.pace_engine = None
        if ex.tempo is not None:
            span = self.safe.max_deg - self.safe.min_deg
            if tr.direction == "both":
                span /= 2.0
            amplitude = span * (rule.top_fraction if rule.enabled else 1.0)
            self.pace_engine = PaceEngine(self.channel, amplitude_deg=amplitude,
                                          min_move_s=min(ex.tempo.min_up_s, ex.tempo.min_down_s),
                                          fast_factor=ex.tempo.fast_factor)
        self.visibility_engine = VisibilityEngine(
            tr.landmarks, body_part_key=f"body_part.{MOTION_BODY_PART.get(tr.motion, 'whole_body')}",
            visibility_threshold=self.visibility_threshold, channel=self.channel,
            body_parts={n: f"body_part.{LANDMARK_BODY_PART[n]}" for n in tr.landmarks if n in LANDMARK_BODY_PART})
        self.engines = [e for e in (self.visibility_engine, self.range_engine, self.posture_engine,
                                    self.pace_engine, self.rep_engine) if e is not None]
        posture_angles = [POSTURE_CHECKS[c][0] for c in ex.posture_checks]
        self.recorded_channels: tuple[str, ...] = tuple(dict.fromkeys(
            [self.channel, *tr.angle_names, *posture_angles]))
        self.stats = {name: AngleStats(limits=tr.limits if name == self.channel else "both")
                      for name in self.recorded_channels}
        self._reps_seen = 0
        self.breath_judge: BreathCoordinationJudge | None = None
        self.breath_cues: BreathCueEngine | None = None
        self.judged: list[RepetitionBreath] = []
        self.pacer_state = None  # set each frame when a pacer runs (for the renderer)
        self.assumed_upright_names: frozenset[str] = frozenset()  # this frame's, see compute_angles
        if ex.breath is not None and self.rep_engine is not None:
            rule = ex.breath
            self.breath_judge = BreathCoordinationJudge(raise_on=rule.raise_on, lower_on=rule.lower_on,
                                                        min_overlap_pct=rule.min_overlap_pct)
            self.breath_cues = BreathCueEngine(rep_state=lambda: self.rep_engine.state, raise_on=rule.raise_on,
                                               lower_on=rule.lower_on, min_overlap_pct=rule.min_overlap_pct)
            self.engines.append(self.breath_cues)

    def set_breath(self, t_s: float, /, *, measured_phase: str | None, guide_phase: str | None = None) -> None:
        """The breath at ``t_s``: the measured phase (None without a breath source) and the
        pacer's (None without a pacer). Call before :meth:`process` for the same frame."""
        if self.breath_judge is not None and measured_phase is not None:
            self.breath_judge.update_breath(t_s, measured_phase)
        if self.breath_cues is not None:
            known = measured_phase if measured_phase not in (None, "unknown") else None
            self.breath_cues.phase = known or guide_phase or "unknown"

    def judge_repetition(self, rep, /) -> RepetitionBreath | None:
        """Breath coordination of a completed repetition (None when the exercise asks for none)."""
        if self.breath_judge is None:
            return None
        judged = self.breath_judge.judge(rep.t_start_s, rep.t_end_s)
        self.judged.append(judged)
        self.breath_cues.note_repetition(judged)
        return judged

    def compute_angles(self, t_s: float, pose: PoseFrame | None, /) -> dict[str, float]:
        """Smoothed angles of one frame (NaN where unknown), plus the tracked channel."""
        from feedback.angles import compute_frame_angles

        raw = np.full(len(self.angle_names), np.nan)
        self.assumed_upright_names = frozenset()
        if pose is not None:
            angles = compute_frame_angles(pose.world_m, pose.visibility,
                                          visibility_threshold=self.visibility_threshold)
            self.assumed_upright_names = frozenset(angles.assumed_upright_angles)
            angles["shoulder_tilt_deg"] = compute_shoulder_tilt_deg(
                pose.world_m, pose.visibility, visibility_threshold=self.visibility_threshold)
            raw = np.array([angles.get(n, np.nan) for n in self.angle_names], dtype=float)
        smooth = self._filter.update(t_s, raw)
        out = dict(zip(self.angle_names, (float(v) for v in smooth)))
        if self.channel not in out:
            out[self.channel] = compute_tracked_angle(out, angle_names=self.exercise.tracking.angle_names)
        return out

    def process(self, t_s: float, pose: PoseFrame | None, /, *,
                extra_cues: Sequence[Cue] = ()) -> tuple[dict[str, float], Cue | None, list[Cue]]:
        """One frame: returns (angles, cue on screen, candidate cues). ``extra_cues`` are
        candidates from outside the engines (e.g. the belt reconnecting)."""
        angles = self.compute_angles(t_s, pose)
        if self.breath_judge is not None:
            value = angles.get(self.channel, math.nan)
            self.breath_judge.update_movement(t_s, self.rep_engine.progress(value) if math.isfinite(value)
                                              else math.nan)
        if pose is None:
            vis = FrameVisibility(person_found=False)
        else:
            vis = FrameVisibility(True, {n: float(pose.visibility[LANDMARK_INDEX[n]])
                                         for n in self.exercise.tracking.landmarks})
        candidates: list[Cue] = list(extra_cues)
        for engine in self.engines:
            candidates.extend(engine.update(t_s, angles, vis))
        shown = self.policy.update(t_s, candidates)
        assumed = self.assumed_upright_names
        for name in self.recorded_channels:
            parts = self.exercise.tracking.angle_names if name == self.channel else (name,)
            self.stats[name].update(t_s, angles.get(name, math.nan),
                                    safe=self.safe if name == self.channel else None,
                                    assumed_upright=name in assumed or any(p in assumed for p in parts))
        return angles, shown, candidates

    def assumed_upright_pct(self) -> dict[str, float]:
        """Per recorded channel that can rest on it (seated shoulder and neck angles with the
        hips out of view, see :mod:`feedback.angles`): the % of its known frames measured
        against gravity instead of the trunk."""
        from feedback.angles import UPRIGHT_FALLBACK_ANGLE_NAMES

        out = {}
        for name, stats in self.stats.items():
            parts = self.exercise.tracking.angle_names if name == self.channel else (name,)
            if stats.frames_known and any(p in UPRIGHT_FALLBACK_ANGLE_NAMES for p in parts):
                out[name] = round(100.0 * stats.frames_assumed_upright / stats.frames_known, 1)
        return out

    def new_repetitions(self) -> list:
        if self.rep_engine is None:
            return []
        new = self.rep_engine.repetitions[self._reps_seen:]
        self._reps_seen = len(self.rep_engine.repetitions)
        return new

    def metrics(self) -> list[dict]:
        rows = []
        for name, s in self.stats.items():
            if not s.seen:
                continue
            tracked = name == self.channel
            rows.append({
                "name": name, "min_deg": s.min_deg, "max_deg": s.max_deg, "rom_deg": s.max_deg - s.min_deg,
                "safe_min_deg": self.safe.min_deg if tracked else None,
                "safe_max_deg": self.safe.max_deg if tracked else None,
                "time_in_range_pct": s.time_in_range_pct() if tracked else None,
                "range_exceeded": bool(s.exceeded) if tracked else False,
            })
        return rows


def build_pipeline(exercise: Exercise, /, *, comfortable_range: Callable[[str], Any],
                   neutral_deg: Mapping[str, float] | None = None, policy: CuePolicy | None = None,
                   visibility_threshold: float = 0.5) -> PracticePipeline:
    """A pipeline with the patient's comfortable ranges and neutral posture.

    ``comfortable_range(motion)`` gives the range of a full motion name (``right_knee_flexion``)
    as an object with ``min_deg``, ``max_deg`` and ``caution_margin_deg``; ``neutral_deg`` the
    calibrated neutral angles by angle name. :func:`calibration.practice.build_practice_pipeline`
    resolves both from a patient's profile (feedback never imports calibration)."""
    safe = _combined_range(comfortable_range, exercise.tracking.motions)
    return PracticePipeline(exercise, safe, neutral_deg=dict(neutral_deg or {}), policy=policy or CuePolicy(),
                            visibility_threshold=visibility_threshold)


# --- breath -------------------------------------------------------------------------------

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


# --- the loop -----------------------------------------------------------------------------

class PracticeSession:
    """One frame at a time, everything after the pose: breath, engines, cue, recording, sound.

    :func:`run_practice` drives it from a camera or video; a test can drive it with simulated
    poses on any clock. ``update(t_s, pose)`` returns ``(angles, cue on screen)`` (for the
    first ``welcome_s`` seconds, while the engines have nothing to say, the welcome line,
    which is shown but not recorded); :meth:`finish` the :class:`PracticeResult`.
    """

    def __init__(self, pipeline: PracticePipeline, /, *, recorder=None, breath: PracticeBreath | None = None,
                 sound=None, sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ, welcome_s: float = WELCOME_S) -> None:
        self.pipeline = pipeline
        self.welcome_s = welcome_s
        self.recorder = recorder
        self.breath = breath
        self.sound = sound
        self.sample_interval_s = 1.0 / sample_rate_hz
        self.cues_shown: list[Cue] = []
        self.last_t_s = 0.0
        self._last_sample_t = -math.inf
        self._last_pacer_phase: str | None = None

    def start(self, clock_origin_s: float, /) -> None:
        """The ``time.monotonic()`` at session time 0 (maps a belt's clock onto the session's)."""
        if self.breath is not None:
            self.breath.start(clock_origin_s)

    def update(self, t_s: float, pose: PoseFrame | None, /) -> tuple[dict[str, float], Cue | None]:
        pipeline, recorder = self.pipeline, self.recorder
        self.last_t_s = t_s
        extra: list[Cue] = []
        if self.breath is not None:
            frame = self.breath.update(t_s, recorder=recorder)
            pipeline.pacer_state = frame.pacer_state
            pipeline.set_breath(t_s, measured_phase=frame.measured_phase,
                                guide_phase=frame.pacer_state.breath_phase if frame.pacer_state else None)
            if frame.reconnecting:
                extra.append(Cue.of("visibility", "breath.belt_reconnecting", t_s=t_s))
            elif frame.belt_stopped:
                extra.append(Cue.of("visibility", "breath.belt_stopped", t_s=t_s))
            if self.sound is not None and frame.pacer_state is not None:
                if frame.pacer_state.phase != self._last_pacer_phase:
                    self.sound.phase_change(frame.pacer_state.phase)
                self._last_pacer_phase = frame.pacer_state.phase
        angles, shown, _ = pipeline.process(t_s, pose, extra_cues=extra)
        if pipeline.policy.changed and shown is not None:
            self.cues_shown.append(shown)
            if recorder is not None:
                recorder.add_cue(t_s=t_s, kind=shown.kind, message_key=shown.message_key,
                                 value=shown.value, limit=shown.limit, priority=shown.priority)
        for rep in pipeline.new_repetitions():
            judged = pipeline.judge_repetition(rep)
            if self.sound is not None:
                self.sound.chime()
            if recorder is not None:
                extra_cols = {}
                if judged is not None:
                    extra_cols = {"breath_coordinated": judged.coordinated,
                                  "inhale_overlap_pct": _round(judged.inhale_overlap_pct),
                                  "exhale_overlap_pct": _round(judged.exhale_overlap_pct)}
                recorder.add_repetition(index=rep.index, angle_name=rep.angle_name, t_start_s=rep.t_start_s,
                                        t_end_s=rep.t_end_s, peak_deg=rep.peak_deg, hold_s=rep.hold_s, **extra_cols)
        if recorder is not None and t_s - self._last_sample_t >= self.sample_interval_s * 0.999:
            recorder.add_samples(t_s, {n: angles.get(n) for n in pipeline.recorded_channels})
            self._last_sample_t = t_s
        if shown is None and t_s < self.welcome_s:  # on screen only: not a cue to record
            shown = Cue.of("encouragement", "session.welcome", t_s=t_s)
        return angles, shown

    def finish(self, *, latency=(), inference=(), frames_read: int | None = None, processed: int | None = None,
               dropped: int = 0, stopped_by: str = "end_of_input") -> PracticeResult:
        breath = self.breath.result() if self.breath is not None and (
            self.breath.feed is not None or self.breath.pacer is not None) else None
        return _result(self.pipeline, duration_s=self.last_t_s, latency=list(latency), inference=list(inference),
                       frames_read=frames_read if frames_read is not None else processed or 0,
                       processed=processed or 0, dropped=dropped, cues=self.cues_shown, stopped_by=stopped_by,
                       breath=breath)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def run_practice(source, estimator, pipeline: PracticePipeline, /, *, recorder=None,
                 sinks: Iterable[FrameSink] = (), render: Callable | None = None, pace: bool = True,
                 stop: threading.Event | None = None, sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ,
                 max_frames: int | None = None, breath: PracticeBreath | None = None,
                 sound=None, finished_show_s: float = FINISHED_SHOW_S) -> PracticeResult:
    """Run the live loop until the input ends or it is stopped (see the module docstring).

    ``recorder`` (a started :class:`~mindmove.store.recording.SessionRecorder`) receives the
    samples, cues and repetitions as they happen; the caller finishes it with the result's
    ``summary``/``metrics``/``active_s`` (and writes ``result.breath`` as a ``BreathResult``).
    ``render(image, pose, angles, cue, pipeline)`` makes the annotated image for the ``sinks``.
    ``breath`` adds the breath feed, analysis, pacer; ``sound`` (a
    :class:`feedback.sound.SoundPlayer`) a tone at each pacer phase and a chime per repetition.
    Unless the window was closed or Ctrl-C pressed, the sinks show the last image with "Thank
    you for practising today" for ``finished_show_s`` (in real time when paced or live).
    """
    sinks = list(sinks)
    session = PracticeSession(pipeline, recorder=recorder, breath=breath, sound=sound,
                              sample_rate_hz=sample_rate_hz)
    grabber = LatestFrameGrabber(source, pace=pace).start()
    result_latency: list[float] = []
    result_inference: list[float] = []
    t0: float | None = None
    processed = 0
    stopped_by = "end_of_input"
    last = None  # (image, pose, angles, t_s) of the last frame shown
    try:
        while True:
            if stop is not None and stop.is_set():
                stopped_by = "stopped"
                break
            grabbed = grabber.get()
            if grabbed is None:
                break
            frame = grabbed.frame
            if t0 is None:
                t0 = frame.t_s
                session.start(grabbed.captured_at)
            t_s = frame.t_s - t0
            t_inf = time.monotonic()
            pose = estimator.estimate(frame.image_bgr, frame.t_s)
            result_inference.append(time.monotonic() - t_inf)
            angles, shown = session.update(t_s, pose)
            result_latency.append(time.monotonic() - grabbed.captured_at)
            processed += 1
            if sinks and render is not None:
                image = render(frame.image_bgr, pose, angles, shown, pipeline)
                last = (frame.image_bgr, pose, angles, t_s)
                if not all([sink.show(image, t_s=t_s) for sink in sinks]):
                    stopped_by = "window"
                    break
            if max_frames is not None and processed >= max_frames:
                stopped_by = "max_frames"
                break
    except KeyboardInterrupt:
        stopped_by = "ctrl_c"
        log.info("practice stopped with Ctrl-C; finishing the session")
    finally:
        grabber.stop()
    if last is not None and stopped_by not in ("window", "ctrl_c"):
        _show_finished(sinks, render(last[0], last[1], last[2], Cue.of("encouragement", "session.finished",
                                                                       t_s=last[3]), pipeline),
                       t_s=last[3], hold_s=finished_show_s, real_time=grabber.pace or grabber.live)
    return session.finish(latency=result_latency, inference=result_inference, frames_read=grabber.frames_read,
                          processed=processed, dropped=grabber.frames_dropped, stopped_by=stopped_by)


def _show_finished(sinks: Sequence[FrameSink], image: np.ndarray, /, *, t_s: float, hold_s: float,
                   real_time: bool) -> None:
    """The closing image, held ``hold_s`` after session time ``t_s`` (a key or closing the
    window ends it early); the session is already over, so Ctrl-C here only cuts it short."""
    try:
        for k in range(1, int(round(hold_s / FINISHED_FRAME_S)) + 1):
            if not all([sink.show(image, t_s=t_s + k * FINISHED_FRAME_S) for sink in sinks]):
                return
            if real_time:
                time.sleep(FINISHED_FRAME_S)
    except KeyboardInterrupt:
        log.info("closing image cut short with Ctrl-C")


def _result(pipeline: PracticePipeline, *, duration_s, latency, inference, frames_read, processed, dropped, cues,
            stopped_by, breath: dict | None = None) -> PracticeResult:
    tracked = pipeline.stats[pipeline.channel]
    active_s = tracked.known_s
    upright = pipeline.assumed_upright_pct()
    reps = pipeline.rep_engine.repetitions if pipeline.rep_engine else []
    summary = {
        "exercise": pipeline.exercise.name,
        "tracked_angle": pipeline.channel,
        "duration_s": round(duration_s, 3),
        "active_s": round(active_s, 3),
        "active_min": round(active_s / 60.0, 2),
        "repetitions": len(reps),
        "repetition_peaks_deg": [round(r.peak_deg, 1) for r in reps],
        "safe_range_deg": [pipeline.safe.min_deg, pipeline.safe.max_deg],
        "time_in_range_pct": tracked.time_in_range_pct(),
        "range_exceeded": tracked.exceeded,
        "angles": {m["name"]: {"max_deg": round(m["max_deg"], 2), "min_deg": round(m["min_deg"], 2),
                               "range_deg": round(m["rom_deg"], 2),
                               **({"assumed_upright_pct": upright[m["name"]]} if m["name"] in upright else {})}
                   for m in pipeline.metrics()},
        # % of each channel's known frames measured against gravity (hips out of view): a
        # seated shoulder angle is then off by the trunk's lean.
        "assumed_upright_pct": upright,
        "cues_shown": len(cues),
        "frames": {"read": frames_read, "processed": processed, "dropped": dropped},
        "latency_ms": {"p50": _ms(_percentile(latency, 50)), "p95": _ms(_percentile(latency, 95))},
        "stopped_by": stopped_by,
    }
    if breath is not None:
        summary["breath"] = {k: v for k, v in breath.items() if k != "detail"}
    rule = pipeline.exercise.breath
    if rule is not None and pipeline.breath_judge is not None:
        summary["breath_coordination"] = summarise_coordination(
            pipeline.judged, raise_on=rule.raise_on, lower_on=rule.lower_on, min_overlap_pct=rule.min_overlap_pct)
    return PracticeResult(summary=summary, metrics=pipeline.metrics(), active_s=active_s, latency_s=latency,
                          inference_s=inference, frames_read=frames_read, frames_processed=processed,
                          frames_dropped=dropped, cues=cues, stopped_by=stopped_by, breath=breath)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 2)
