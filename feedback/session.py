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

    def process(self, t_s: float, pose: PoseFrame | None, /) -> tuple[dict[str, float], Cue | None, list[Cue]]:
        """One frame: returns (angles, cue on screen, candidate cues)."""
        angles = self.compute_angles(t_s, pose)
        if pose is None:
            vis = FrameVisibility(person_found=False)
        else:
            vis = FrameVisibility(True, {n: float(pose.visibility[LANDMARK_INDEX[n]])
                                         for n in self.exercise.tracking.landmarks})
        candidates: list[Cue] = []
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


def run_practice(source, estimator, pipeline: PracticePipeline, /, *, recorder=None,
                 sinks: Iterable[FrameSink] = (), render: Callable | None = None, pace: bool = True,
                 stop: threading.Event | None = None, sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ,
                 max_frames: int | None = None) -> PracticeResult:
    """Run the live loop until the input ends or it is stopped (see the module docstring).

    ``recorder`` (a started :class:`~mindmove.store.recording.SessionRecorder`) receives the
    samples, cues and repetitions as they happen; the caller finishes it with the result's
    ``summary``/``metrics``/``active_s``. ``render(image, pose, angles, cue, pipeline)`` makes
    the annotated image for the ``sinks``.
    """
    sinks = list(sinks)
    grabber = LatestFrameGrabber(source, pace=pace).start()
    result_latency: list[float] = []
    result_inference: list[float] = []
    cues_shown: list[Cue] = []
    sample_interval_s = 1.0 / sample_rate_hz
    last_sample_t = -math.inf
    t0: float | None = None
    t_last = 0.0
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
            t0 = frame.t_s if t0 is None else t0
            t_s = frame.t_s - t0
            t_last = t_s
            t_inf = time.monotonic()
            pose = estimator.estimate(frame.image_bgr, frame.t_s)
            result_inference.append(time.monotonic() - t_inf)
            angles, shown, _ = pipeline.process(t_s, pose)
            result_latency.append(time.monotonic() - grabbed.captured_at)
            processed += 1
            if pipeline.policy.changed and shown is not None:
                cues_shown.append(shown)
                if recorder is not None:
                    recorder.add_cue(t_s=t_s, kind=shown.kind, message_key=shown.message_key,
                                     value=shown.value, limit=shown.limit, priority=shown.priority)
            for rep in pipeline.new_repetitions():
                if recorder is not None:
                    recorder.add_repetition(index=rep.index, angle_name=rep.angle_name, t_start_s=rep.t_start_s,
                                            t_end_s=rep.t_end_s, peak_deg=rep.peak_deg, hold_s=rep.hold_s)
            if recorder is not None and t_s - last_sample_t >= sample_interval_s * 0.999:
                recorder.add_samples(t_s, {n: angles.get(n) for n in pipeline.recorded_channels})
                last_sample_t = t_s
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
    return _result(pipeline, duration_s=t_last, latency=result_latency, inference=result_inference,
                   grabber=grabber, processed=processed, cues=cues_shown, stopped_by=stopped_by)


def _result(pipeline: PracticePipeline, *, duration_s, latency, inference, grabber, processed, cues,
            stopped_by) -> PracticeResult:
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
        "frames": {"read": grabber.frames_read, "processed": processed, "dropped": grabber.frames_dropped},
        "latency_ms": {"p50": _ms(_percentile(latency, 50)), "p95": _ms(_percentile(latency, 95))},
        "stopped_by": stopped_by,
    }
    return PracticeResult(summary=summary, metrics=pipeline.metrics(), active_s=active_s, latency_s=latency,
                          inference_s=inference, frames_read=grabber.frames_read, frames_processed=processed,
                          frames_dropped=grabber.frames_dropped, cues=cues, stopped_by=stopped_by)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 2)
