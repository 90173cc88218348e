"""The live practice loop: capture -> pose -> angles -> engines -> cue -> render -> record.

Stages (each one small, see ``docs/practice.md``):

1. :class:`LatestFrameGrabber` reads the frame source on its own thread and keeps ONLY the
   newest frame in a one-slot mailbox (never a growing queue): when the pipeline is slower
   than the camera, older frames are overwritten and counted as dropped. A video file is
   paced at its own frame rate (``pace=True``), as a camera would deliver it; with
   ``pace=False`` (tests, offline) every frame is handed over, none dropped.
2. The pose estimator (any :class:`sensing.pose.PoseEstimator`).
3. Joint angles (:func:`feedback.angles.compute_frame_angles`) plus the shoulder tilt, each
   smoothed causally with a One-Euro filter.
4. The feedback engines (:mod:`feedback.engines`) and the cue policy (:mod:`feedback.cues`).
5. Sinks (a window, a video writer): objects with ``show(image_bgr) -> bool`` (False stops
   the session); the annotated image is drawn only when there is a sink.
6. The :class:`mindmove.store.recording.SessionRecorder` (incremental writes).
7. Optionally, breath (:class:`PracticeBreath`): a breath feed polled once per frame without
   blocking (a replay consumed in step with the session clock, or a belt that streams on its
   own thread), analysed live with :class:`feedback.breath.BreathAnalyzer`, stored as channel
   ``breath``; a pacer when the exercise asks for breath coordination; each repetition
   judged against the breath (:mod:`feedback.coordination`).

The session clock: ``t_s = 0`` at the first frame. A replay's own time is the session time
(its sample at 2.0 s belongs to the frame at 2.0 s, with ``--fast`` too); a belt's samples,
stamped with ``time.monotonic()``, are mapped with the monotonic time the first frame was
captured.

Latency is measured per frame from the moment the frame was captured (read from the
camera or released by the pacing clock) to the moment the cue for it was decided; the
figures are kept in :class:`PracticeResult` for the benchmark.

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

from feedback.coordination import (
    BreathCoordinationJudge, BreathCueEngine, RepetitionBreath, summarise_coordination,
)
from feedback.cues import Cue, CuePolicy
from feedback.engines import (
    POSTURE_CHECKS, FrameVisibility, PaceEngine, PostureEngine, RangeEngine, RepetitionEngine,
    VisibilityEngine, compute_shoulder_tilt_deg, compute_tracked_angle,
)
from feedback.exercises import MOTION_BODY_PART, Exercise
from sensing.landmarks import LANDMARK_INDEX, PoseFrame

log = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE_HZ = 15.0  # recorded angle rate (>= 10 Hz)
DEFAULT_MIN_CUTOFF_HZ = 1.0
DEFAULT_BETA = 0.05
DEFAULT_D_CUTOFF_HZ = 1.0
MAX_ACTIVE_GAP_S = 0.5  # a longer gap between known samples does not count as active time
GRAB_TIMEOUT_S = 5.0
STORED_BREATH_RATE_HZ = 25.0  # breath samples kept in the store (the analyzer's own rate)
BELT_STALE_S = 1.5  # a belt silent this long is shown as reconnecting; the silence is stored as NaN
MIN_FIRST_BREATH_SAMPLES = 8  # a belt of unknown rate is measured from this many samples


class FrameSink(Protocol):
    def show(self, image_bgr: np.ndarray, /) -> bool: ...


@dataclass(frozen=True)
class RangeSpec:
    """The comfortable range the session uses for the tracked angle."""

    min_deg: float
    max_deg: float
    caution_margin_deg: float


# --- capture ------------------------------------------------------------------------------

@dataclass
class GrabbedFrame:
    frame: Any  # sensing.video.Frame
    captured_at: float  # time.monotonic() when the frame became available


class LatestFrameGrabber:
    """Reads a frame source on a thread; keeps only the newest frame (see module docstring)."""

    def __init__(self, source, /, *, pace: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.pace = pace
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
                if self.pace:
                    if start_wall is None:
                        start_wall, first_t = self.clock(), frame.t_s
                    delay = start_wall + (frame.t_s - first_t) - self.clock()
                    if delay > 0 and self._stop.wait(delay):
                        break
                grabbed = GrabbedFrame(frame, self.clock())
                with self._cond:
                    if not self.pace:
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
                    from mindmove.errors import SourceError

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

@dataclass
class AngleStats:
    """Running min/max of one angle, and time within a range (time-weighted)."""

    min_deg: float = math.inf
    max_deg: float = -math.inf
    known_s: float = 0.0
    in_range_s: float = 0.0
    exceeded: bool = False
    _last_t: float | None = None

    def update(self, t_s: float, value: float, /, *, safe: RangeSpec | None = None) -> None:
        if not math.isfinite(value):
            self._last_t = None
            return
        self.min_deg, self.max_deg = min(self.min_deg, value), max(self.max_deg, value)
        inside = safe is None or safe.min_deg <= value <= safe.max_deg
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
        return 100.0 * self.in_range_s / self.known_s if self.known_s > 0 else None


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

def _combined_range(profile_record, motions: Sequence[str]) -> RangeSpec:
    """The most conservative comfortable range over the tracked motions (both sides)."""
    from calibration.profile import comfortable_range

    ranges = [comfortable_range(profile_record, m) for m in motions]
    return RangeSpec(min_deg=max(r.min_deg for r in ranges), max_deg=min(r.max_deg for r in ranges),
                     caution_margin_deg=max(r.caution_margin_deg for r in ranges))


@dataclass
class PracticePipeline:
    """Per-frame processing for one exercise (no threads, no I/O): ``process`` one pose."""

    exercise: Exercise
    safe: RangeSpec
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
            visibility_threshold=self.visibility_threshold)
        self.engines = [e for e in (self.visibility_engine, self.range_engine, self.posture_engine,
                                    self.pace_engine, self.rep_engine) if e is not None]
        posture_angles = [POSTURE_CHECKS[c][0] for c in ex.posture_checks]
        self.recorded_channels: tuple[str, ...] = tuple(dict.fromkeys(
            [self.channel, *tr.angle_names, *posture_angles]))
        self.stats = {name: AngleStats() for name in self.recorded_channels}
        self._reps_seen = 0
        self.breath_judge: BreathCoordinationJudge | None = None
        self.breath_cues: BreathCueEngine | None = None
        self.judged: list[RepetitionBreath] = []
        self.pacer_state = None  # set each frame when a pacer runs (for the renderer)
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
        if pose is not None:
            angles = compute_frame_angles(pose.world_m, pose.visibility,
                                          visibility_threshold=self.visibility_threshold)
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
        for name in self.recorded_channels:
            self.stats[name].update(t_s, angles.get(name, math.nan),
                                    safe=self.safe if name == self.channel else None)
        return angles, shown, candidates

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


def build_pipeline(exercise: Exercise, /, *, profile_record=None, policy: CuePolicy | None = None,
                   visibility_threshold: float = 0.5) -> PracticePipeline:
    """A pipeline with the patient's comfortable range and neutral posture (or the defaults)."""
    safe = _combined_range(profile_record, exercise.tracking.motions)
    neutral = {}
    if profile_record is not None:
        neutral = {f"{m}_deg": float(v)
                   for m, v in profile_record.profile.neutral.get(exercise.position, {}).items()}
    return PracticePipeline(exercise, safe, neutral_deg=neutral, policy=policy or CuePolicy(),
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
    breath stay together, whatever the wall clock does)."""

    reconnecting = False

    def __init__(self, t_s: np.ndarray, values: np.ndarray, /, *, rate_hz: float | None) -> None:
        self.t_s = np.asarray(t_s, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.rate_hz = rate_hz
        self._i = 0

    def start(self, clock_origin_s: float, /) -> None:
        self._i = 0

    def poll(self, until_t_s: float, /) -> tuple[np.ndarray, np.ndarray]:
        j = int(np.searchsorted(self.t_s, until_t_s, side="right"))
        i, self._i = self._i, max(self._i, j)
        return self.t_s[i:j], self.values[i:j]


class BeltFeed:
    """A live belt (``sensing.belts.BeltStream``, which streams on its own thread), read
    without waiting. Times (``time.monotonic()``) are mapped onto the session clock; samples
    from before the first frame are dropped. A ``Gap`` becomes a NaN sample at its start,
    so the analyzer resets instead of bridging it; a belt silent for ``stale_s`` (or not
    connected) is ``reconnecting``."""

    def __init__(self, stream, /, *, stale_s: float = BELT_STALE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.rate_hz = None
        self.stale_s = stale_s
        self._clock = clock
        self._origin: float | None = None
        self._last_sample_t: float | None = None
        self._now_t = 0.0

    def start(self, clock_origin_s: float, /) -> None:
        self._origin = clock_origin_s

    @property
    def reconnecting(self) -> bool:
        if not getattr(self.stream, "connected", True):
            return True
        return self._last_sample_t is not None and self._now_t - self._last_sample_t > self.stale_s

    def poll(self, until_t_s: float, /) -> tuple[np.ndarray, np.ndarray]:
        from sensing.belts.base import BreathSample, Gap

        origin = self._origin if self._origin is not None else self._clock()
        self._now_t = self._clock() - origin
        t, v = [], []
        for event in self.stream.read(timeout_s=0.0):
            if isinstance(event, BreathSample) and event.t_s >= origin:
                t.append(event.t_s - origin)
                v.append(event.value)
                self._last_sample_t = t[-1]
            elif isinstance(event, Gap) and event.start_s >= origin:
                t.append(event.start_s - origin)
                v.append(math.nan)
        order = np.argsort(t, kind="stable")
        return np.asarray(t, dtype=float)[order], np.asarray(v, dtype=float)[order]


@dataclass
class BreathFrame:
    """The breath at one frame."""

    measured_phase: str | None  # inhale | exhale | pause | unknown; None without a feed
    pacer_state: Any  # feedback.pacer.PacerState or None
    reconnecting: bool


@dataclass
class PracticeBreath:
    """Breath in a practice session: feed, live analysis, storage, pacer and its score.

    ``update(t_s, recorder=...)`` once per frame. Samples are stored as channel ``breath``
    at ``store_rate_hz`` (every k-th input sample; every NaN gap marker is kept), and while a
    belt is silent a NaN is stored at that rate, so the gap stays visible as NULLs.
    """

    feed: BreathFeed | None = None
    analyzer: Any = None  # feedback.breath.BreathAnalyzer (made from the feed's rate if None)
    pacer: Any = None  # feedback.pacer.Pacer
    polarity: str = "auto"
    store_rate_hz: float = STORED_BREATH_RATE_HZ
    samples_stored: int = field(default=0, init=False)
    _count: int = field(default=0, init=False, repr=False)
    _every: int = field(default=1, init=False, repr=False)
    _pending: list = field(default_factory=list, init=False, repr=False)
    _last_stored_t: float = field(default=-math.inf, init=False, repr=False)
    _scorer: Any = field(default=None, init=False, repr=False)
    last_t_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.pacer is not None and self.feed is not None:
            from feedback.pacer import PacerScorer

            self._scorer = PacerScorer()
        if self.feed is not None and self.analyzer is None and self.feed.rate_hz is not None:
            self._make_analyzer(self.feed.rate_hz)

    def _make_analyzer(self, rate_hz: float) -> None:
        from feedback.breath import BreathAnalyzer

        if self.analyzer is None:
            self.analyzer = BreathAnalyzer(rate_hz=rate_hz, polarity=self.polarity)
        self._every = max(1, int(round(rate_hz / self.store_rate_hz)))

    def start(self, clock_origin_s: float, /) -> None:
        if self.feed is not None:
            self.feed.start(clock_origin_s)

    def update(self, t_s: float, /, *, recorder=None) -> BreathFrame:
        self.last_t_s = t_s
        state = self.pacer.state(t_s) if self.pacer is not None else None
        if self.feed is None:
            return BreathFrame(None, state, False)
        t, v = self.feed.poll(t_s)
        if t.size:
            self._take(t, v, recorder)
        reconnecting = self.feed.reconnecting
        if reconnecting and recorder is not None and t_s - self._last_stored_t >= 1.0 / self.store_rate_hz:
            recorder.add_samples(t_s, {"breath": math.nan})
            self._last_stored_t = t_s
            self.samples_stored += 1
        phase = self.analyzer.phase if self.analyzer is not None else "unknown"
        if reconnecting:
            phase = "unknown"
        if self._scorer is not None and state is not None and phase != "unknown":
            a = self.analyzer
            self._scorer.update(t_s, state.phase, phase, breath_rate_bpm=a.rate_bpm(), pacer_rate_bpm=state.rate_bpm,
                                ie_ratio=a.ie_ratio(), target_ie_ratio=self.pacer.plan.ie_ratio)
        return BreathFrame(phase, state, reconnecting)

    def _take(self, t: np.ndarray, v: np.ndarray, recorder) -> None:
        if self.analyzer is None:  # a belt of unknown rate: measure it from the first samples
            self._pending.append((t, v))
            tt = np.concatenate([c[0] for c in self._pending])
            if np.isfinite(tt).sum() < MIN_FIRST_BREATH_SAMPLES:
                return
            vv = np.concatenate([c[1] for c in self._pending])
            self._pending = []
            dt = np.diff(tt[np.isfinite(vv)])
            dt = dt[dt > 0]
            self._make_analyzer(float(1.0 / np.median(dt)) if dt.size else STORED_BREATH_RATE_HZ)
            t, v = tt, vv
        self.analyzer.update(t, v)
        if recorder is not None:
            first = (-self._count) % self._every
            keep = np.zeros(t.size, dtype=bool)
            keep[first::self._every] = True
            keep |= ~np.isfinite(v)  # every gap marker is stored
            for ti, vi in zip(t[keep], v[keep]):
                recorder.add_samples(float(ti), {"breath": float(vi)})
            self.samples_stored += int(keep.sum())
            if keep.any():
                self._last_stored_t = float(t[keep][-1])
        self._count += t.size

    def result(self) -> dict:
        """The ``BreathResult`` row's fields (``detail`` holds the summary and each breath)."""
        from feedback.breath import compute_breath_summary

        target = self.pacer.plan.rate_bpm if self.pacer is not None else None
        a = self.analyzer
        if a is None:
            return {"breaths": 0, "pacer_target_bpm": target, "detail": {"samples_stored": self.samples_stored}}
        a.finish()
        summary = compute_breath_summary(a.breaths, a.events, polarity=a.polarity)
        rate = summary["rate_bpm_mean"]
        return {
            "breaths": summary["breaths"],
            "rate_bpm": rate,
            "resting_rate_bpm": None,
            "ie_ratio": summary["ie_ratio_median"],
            "pacer_target_bpm": target,
            "pacer_agreement_pct": self._scorer.agreement_pct if self._scorer is not None else None,
            "rate_difference_bpm": (rate - target) if rate is not None and target is not None else None,
            "detail": {**summary, "gaps": a.gaps, "rate_hz": a.rate_hz, "samples_stored": self.samples_stored,
                       "breath_list": [[round(b.inhale_onset_s, 3), round(b.exhale_onset_s, 3),
                                        round(b.end_s, 3) if b.end_s is not None else None] for b in a.breaths]},
        }


# --- the loop -----------------------------------------------------------------------------

class PracticeSession:
    """One frame at a time, everything after the pose: breath, engines, cue, recording, sound.

    :func:`run_practice` drives it from a camera or video; a test can drive it with simulated
    poses on any clock. ``update(t_s, pose)`` returns ``(angles, cue on screen)``;
    :meth:`finish` the :class:`PracticeResult`.
    """

    def __init__(self, pipeline: PracticePipeline, /, *, recorder=None, breath: PracticeBreath | None = None,
                 sound=None, sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ) -> None:
        self.pipeline = pipeline
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
                 sound=None) -> PracticeResult:
    """Run the live loop until the input ends or it is stopped (see the module docstring).

    ``recorder`` (a started :class:`~mindmove.store.recording.SessionRecorder`) receives the
    samples, cues and repetitions as they happen; the caller finishes it with the result's
    ``summary``/``metrics``/``active_s`` (and writes ``result.breath`` as a ``BreathResult``).
    ``render(image, pose, angles, cue, pipeline)`` makes the annotated image for the ``sinks``.
    ``breath`` adds the breath feed, analysis, pacer; ``sound`` (a
    :class:`feedback.sound.SoundPlayer`) a tone at each pacer phase and a chime per repetition.
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
                if not all([sink.show(image) for sink in sinks]):
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
    return session.finish(latency=result_latency, inference=result_inference, frames_read=grabber.frames_read,
                          processed=processed, dropped=grabber.frames_dropped, stopped_by=stopped_by)


def _result(pipeline: PracticePipeline, *, duration_s, latency, inference, frames_read, processed, dropped, cues,
            stopped_by, breath: dict | None = None) -> PracticeResult:
    tracked = pipeline.stats[pipeline.channel]
    active_s = tracked.known_s
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
                               "range_deg": round(m["rom_deg"], 2)} for m in pipeline.metrics()},
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
