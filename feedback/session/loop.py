"""The local practice loop: camera or video -> pose -> :class:`PracticeSession` -> render -> sinks.

The frame source is read on its own thread (:class:`~feedback.session.capture.LatestFrameGrabber`,
newest frame only); the pose estimator (any :class:`sensing.pose.PoseEstimator`) runs here;
everything after the pose is the source-agnostic :class:`~feedback.session.practice.PracticeSession`,
the same one the telehealth server drives with landmarks from a browser.

Latency is measured per frame from the moment the frame was captured (a camera's own
stamp; for a paced file, the moment its frame is due) to the moment the cue for it was
decided, so time spent waiting in the mailbox counts; the figures are kept in
:class:`~feedback.session.result.PracticeResult` for the benchmark.

The loop ends at the end of the input, when a sink returns False, when ``stop`` is set or
on Ctrl-C (KeyboardInterrupt): all of them finish the session cleanly.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterable, Sequence

import numpy as np

from feedback.cues import Cue
from feedback.session.breath_feeds import PracticeBreath
from feedback.session.capture import FrameSink, LatestFrameGrabber
from feedback.session.pipeline import PracticePipeline
from feedback.session.practice import DEFAULT_SAMPLE_RATE_HZ, PracticeSession
from feedback.session.result import PracticeResult

log = logging.getLogger(__name__)

FINISHED_SHOW_S = 2.0  # "Thank you for practising today" stays on screen this long at the end
FINISHED_FRAME_S = 0.1  # the closing image is re-shown at this interval (the window stays responsive)


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

