"""The local practice loop: camera or video -> pose -> :class:`PracticeSession` -> render -> sinks.

Three threads, so the cue never waits for the screen:

- capture (:class:`~feedback.session.capture.LatestFrameGrabber`): reads the source, keeps the
  newest frame only;
- pose (``mindmove-pose``): the pose estimator (any :class:`sensing.pose.PoseEstimator`) and
  everything after the pose, the source-agnostic
  :class:`~feedback.session.practice.PracticeSession` (the same one the telehealth server
  drives with landmarks from a browser); it hands each result to the display through a
  one-slot :class:`~feedback.session.capture.Mailbox`;
- the calling thread draws the newest result and shows it on the sinks (OpenCV's window must
  stay on the thread that made it). When drawing and showing are slower than the pose thread,
  the display skips to the newest result (``frames_not_shown``) while the pose thread and the
  engines still see every frame they can. Unpaced files (tests, ``--fast``) hand every result
  over, in order. The renderer reads the pipeline (repetition count, pacer) while the pose
  thread moves on, so a drawn count may be one frame ahead of its image: nothing else is shared.

Latency is measured per frame from the moment the frame was captured (a camera's own
stamp; for a paced file, the moment its frame is due) to the moment the cue for it was
decided, so time spent waiting in the mailbox counts; and to the moment it was shown. The
figures are kept in :class:`~feedback.session.result.PracticeResult` for the benchmark.

``pose_rate_hz`` (a station's explicit choice for a slow computer, ``MINDMOVE_POSE_RATE_HZ``)
sends at most that many frames a second to the model; the others are skipped, counted, and
the rate is written into the session's summary. ``timer`` (a :class:`core.timing.StageTimer`,
off by default) receives the time of every stage and thread (see ``docs/practice.md``).

The loop ends at the end of the input, when a sink returns False, when ``stop`` is set or
on Ctrl-C (KeyboardInterrupt): all of them finish the session cleanly.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from core.timing import NO_TIMER
from feedback.cues import Cue
from feedback.session.breath_feeds import PracticeBreath
from feedback.session.capture import FrameSink, LatestFrameGrabber, Mailbox
from feedback.session.pipeline import PracticePipeline
from feedback.session.practice import DEFAULT_SAMPLE_RATE_HZ, PracticeSession
from feedback.session.result import PracticeResult

log = logging.getLogger(__name__)

FINISHED_SHOW_S = 2.0  # "Thank you for practising today" stays on screen this long at the end
FINISHED_FRAME_S = 0.1  # the closing image is re-shown at this interval (the window stays responsive)
# With a pose rate, a frame up to this early is taken: a camera's stamps jitter by a few ms,
# and a 30 fps camera at 15 Hz must give 15 Hz, not 10.
POSE_RATE_JITTER_S = 0.005
JOIN_POLL_S = 0.1  # the calling thread waits for the pose thread in steps this long (Ctrl-C stays live)


@dataclass
class _Shown:
    """One pose-thread result for the display."""

    image_bgr: np.ndarray
    pose: object
    angles: dict
    cue: Cue | None
    t_s: float
    captured_at: float


@dataclass
class _PoseLoop:
    """The pose thread's work and counts (see the module docstring)."""

    grabber: LatestFrameGrabber
    estimator: object
    session: PracticeSession
    display: Mailbox | None
    halt: threading.Event
    stop: threading.Event | None
    max_frames: int | None
    pose_rate_hz: float | None
    timer: object
    time_estimate: bool  # True: the estimator has no timer of its own, the whole call is "inference"
    latency_s: list[float] = field(default_factory=list)
    inference_s: list[float] = field(default_factory=list)
    processed: int = 0
    skipped: int = 0
    stopped_by: str = "end_of_input"
    error: BaseException | None = None
    _next_due_s: float | None = None

    def run(self) -> None:
        cpu0 = time.thread_time()
        try:
            self._run()
        except BaseException as exc:  # raised again by run_practice on the calling thread
            self.error = exc
        finally:
            self.timer.add_thread_cpu("pose", time.thread_time() - cpu0)
            if self.display is not None:
                self.display.close()

    def _due(self, t_s: float) -> bool:
        """Whether the frame at session time ``t_s`` goes to the model: on a schedule of
        ``1 / pose_rate_hz`` steps, so 30 fps at 20 Hz takes 2 frames of 3 (not 1 of 2);
        after a pause the schedule starts again from the frame taken."""
        if self.pose_rate_hz is None:
            return True
        if self._next_due_s is not None and t_s < self._next_due_s - POSE_RATE_JITTER_S:
            return False
        interval = 1.0 / self.pose_rate_hz
        next_due = (t_s if self._next_due_s is None else self._next_due_s) + interval
        self._next_due_s = next_due if next_due > t_s else t_s + interval
        return True

    def _run(self) -> None:
        timer, session = self.timer, self.session
        t0: float | None = None
        while True:
            if self.halt.is_set():
                return
            if self.stop is not None and self.stop.is_set():
                self.stopped_by = "stopped"
                return
            grabbed = self.grabber.get()
            if grabbed is None:
                return
            taken = time.monotonic()
            frame = grabbed.frame
            if t0 is None:
                t0 = frame.t_s
                session.start(grabbed.captured_at)
            t_s = frame.t_s - t0
            if not self._due(t_s):
                self.skipped += 1
                continue
            timer.add("wait", taken - grabbed.captured_at)
            started = time.monotonic()
            pose = self.estimator.estimate(frame.image_bgr, frame.t_s)
            self.inference_s.append(time.monotonic() - started)
            if self.time_estimate:
                timer.add("inference", self.inference_s[-1])
            angles, shown = session.update(t_s, pose)
            self.latency_s.append(time.monotonic() - grabbed.captured_at)
            self.processed += 1
            if self.display is not None:
                self.display.put(_Shown(frame.image_bgr, pose, angles, shown, t_s, grabbed.captured_at), halt=self.halt)
            if self.max_frames is not None and self.processed >= self.max_frames:
                self.stopped_by = "max_frames"
                return


def _attach_timer(timer, *parts) -> list:
    """Give each part that takes one (``.timer``) the stage timer; returns what to restore."""
    restore = []
    if timer.enabled:
        for part in parts:
            if part is not None and hasattr(part, "timer"):
                restore.append((part, part.timer))
                part.timer = timer
    return restore


def run_practice(source, estimator, pipeline: PracticePipeline, /, *, recorder=None,
                 sinks: Iterable[FrameSink] = (), render: Callable | None = None, pace: bool = True,
                 stop: threading.Event | None = None, sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ,
                 max_frames: int | None = None, breath: PracticeBreath | None = None,
                 sound=None, finished_show_s: float = FINISHED_SHOW_S, pose_rate_hz: float | None = None,
                 timer=NO_TIMER, helper_niceness: int = 0) -> PracticeResult:
    """Run the live loop until the input ends or it is stopped (see the module docstring).

    ``recorder`` (a started :class:`~mindmove.store.recording.SessionRecorder`) receives the
    samples, cues and repetitions as they happen; the caller finishes it with the result's
    ``summary``/``metrics``/``active_s`` (and writes ``result.breath`` as a ``BreathResult``).
    ``render(image, pose, angles, cue, pipeline)`` makes the annotated image for the ``sinks``.
    ``breath`` adds the breath feed, analysis, pacer; ``sound`` (a
    :class:`feedback.sound.SoundPlayer`) a tone at each pacer phase and a chime per repetition.
    Unless the window was closed or Ctrl-C pressed, the sinks show the last image with "Thank
    you for practising today" for ``finished_show_s`` (in real time when paced or live).
    ``helper_niceness`` > 0 lowers the capture thread's priority below the pose thread's.
    """
    if pose_rate_hz is not None and not pose_rate_hz > 0:
        from core.errors import InputError

        raise InputError(f"Expected a positive pose rate (frames a second to the model), but got {pose_rate_hz}.")
    sinks = list(sinks)
    show = bool(sinks) and render is not None
    session = PracticeSession(pipeline, recorder=recorder, breath=breath, sound=sound,
                              sample_rate_hz=sample_rate_hz)
    restore = _attach_timer(timer, estimator, pipeline, session, recorder)
    grabber = LatestFrameGrabber(source, pace=pace, timer=timer, niceness=helper_niceness)
    halt = threading.Event()
    display = Mailbox(lossless=grabber.lossless) if show else None
    loop = _PoseLoop(grabber, estimator, session, display, halt, stop, max_frames, pose_rate_hz, timer,
                     time_estimate=timer.enabled and not hasattr(estimator, "timer"))
    pose_thread = threading.Thread(target=loop.run, name="mindmove-pose", daemon=True)
    shown_latency: list[float] = []
    try:
        last, stopped_by = _run_threads(grabber, pose_thread, halt, timer,
                                        lambda: _display(display, sinks, render, pipeline, timer, shown_latency)
                                        if show else (None, None))
    finally:
        for part, previous in restore:
            part.timer = previous
    if loop.error is not None:
        raise loop.error
    stopped_by = stopped_by or loop.stopped_by
    if last is not None and stopped_by not in ("window", "ctrl_c"):
        _show_finished(sinks, render(last.image_bgr, last.pose, last.angles,
                                     Cue.of("encouragement", "session.finished", t_s=last.t_s), pipeline),
                       t_s=last.t_s, hold_s=finished_show_s, real_time=grabber.pace or grabber.live)
    result = session.finish(latency=loop.latency_s, inference=loop.inference_s, frames_read=grabber.frames_read,
                            processed=loop.processed, dropped=grabber.frames_dropped, stopped_by=stopped_by,
                            skipped=loop.skipped, pose_rate_hz=pose_rate_hz,
                            not_shown=display.replaced if display is not None else 0, shown_latency=shown_latency)
    result.replay_slips, result.replay_slip_s = grabber.replay_slips, grabber.replay_slip_s
    return result


def _run_threads(grabber: LatestFrameGrabber, pose_thread: threading.Thread, halt: threading.Event, timer,
                 display: Callable[[], tuple]) -> tuple:
    """Start the capture and pose threads, run ``display`` on this thread, and wait for the
    pose thread: ``(last image shown, stopped by)``. Whatever happens here (Ctrl-C included),
    the pose thread is done with the estimator when this returns."""
    stopped_by: str | None = None
    last = None
    cpu0 = time.thread_time()
    grabber.start()
    pose_thread.start()
    try:
        last, stopped_by = display()
        if stopped_by is not None:  # the window was closed: the pose thread stops after its frame
            halt.set()
            grabber.stop()
        while pose_thread.is_alive():
            pose_thread.join(JOIN_POLL_S)
    except KeyboardInterrupt:
        stopped_by = "ctrl_c"
        log.info("practice stopped with Ctrl-C; finishing the session")
    finally:
        halt.set()
        grabber.stop()
        pose_thread.join()
        timer.add_thread_cpu("display (calling thread)", time.thread_time() - cpu0)
    return last, stopped_by


def _display(display: Mailbox, sinks: Sequence[FrameSink], render: Callable, pipeline, timer,
             shown_latency: list[float]) -> tuple[_Shown | None, str | None]:
    """Draw and show each result the pose thread hands over, until it ends or a sink says
    stop; returns (the last result shown, "window" or None). Ctrl-C propagates."""
    last = None
    while (item := display.get()) is not None:
        started = timer.start()
        image = render(item.image_bgr, item.pose, item.angles, item.cue, pipeline)
        timer.stop("draw", started)
        ok = True
        for sink in sinks:
            started = timer.start()
            ok = sink.show(image, t_s=item.t_s) and ok
            timer.stop(getattr(sink, "stage", "display"), started)
        shown_latency.append(time.monotonic() - item.captured_at)
        last = item
        if not ok:
            return last, "window"
    return last, None


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
