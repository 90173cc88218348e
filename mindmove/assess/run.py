"""Capturing a functional test: frames -> pose -> the live protocol -> the window -> a series.

:func:`capture_assessment` reads a camera or a video file through the practice loop's
:class:`~feedback.session.LatestFrameGrabber` (a camera's newest frame with its capture time;
every frame of a file), runs the pose model on each, feeds the
:class:`~feedback.assessments.protocol.LiveProtocol` and shows the patient's view on the
sinks (the window, which also reports the therapist's keys). It returns the landmarks of
everything recorded, which the analysis then reads whole. With a window, the result (or a
calm "could not be measured") is shown after the analysis with :func:`show_outcome`.

Nothing here stores anything, and no image is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Sequence

import numpy as np

from feedback.assessments.protocol import KEY_CANCEL, LiveProtocol, ProtocolView
from feedback.assessments.registry import Assessment
from sensing.landmarks import LandmarkSeries

log = logging.getLogger(__name__)

OUTCOME_SHOW_S = 5.0  # the result stays on screen this long


@dataclass
class Capture:
    """What was recorded: the landmarks, when (UTC), how it ended, and the last frame shown."""

    series: LandmarkSeries
    started_at: datetime
    ended_at: datetime
    stopped_by: str                       # end_of_input | protocol | cancel_key | ctrl_c
    frames: int = 0
    last: tuple | None = field(default=None, repr=False)  # (image, pose, view, t_s)

    @property
    def cancelled(self) -> bool:
        return self.stopped_by in ("cancel_key", "ctrl_c")


def capture_assessment(source, estimator, assessment: Assessment, /, *, recorded: bool, sinks: Sequence = (),
                       protocol: LiveProtocol | None = None, source_name: str = "",
                       render=None) -> Capture:
    """Record one test (see the module docstring). ``recorded``: the source is a file (no
    instructions or countdown); ``render(image, pose, view, t_s)`` draws the sinks' image."""
    from feedback.session import LatestFrameGrabber

    protocol = protocol or LiveProtocol(assessment, recorded=recorded)
    grabber = LatestFrameGrabber(source, pace=False).start()
    times: list[float] = []
    poses: list = []
    key = None
    stopped_by = "end_of_input"
    last = None
    wall_start = datetime.now(timezone.utc)
    try:
        while True:
            grabbed = grabber.get()
            if grabbed is None:
                break
            frame = grabbed.frame
            pose = estimator.estimate(frame.image_bgr, frame.t_s)
            times.append(frame.t_s)
            poses.append(pose)
            view: ProtocolView = protocol.update(frame.t_s, pose, key)
            key = None
            if sinks and render is not None:
                image = render(frame.image_bgr, pose, view, frame.t_s)
                last = (frame.image_bgr, pose, view, frame.t_s)
                for sink in sinks:
                    sink.show(image, t_s=frame.t_s)
                    key = getattr(sink, "last_key", None) or key
            if view.phase == "cancelled" or key == KEY_CANCEL:
                stopped_by = "cancel_key"
                break
            if view.done:
                stopped_by = "protocol"  # the test is over, or the therapist's stop key
                break
    except KeyboardInterrupt:
        stopped_by = "ctrl_c"
    finally:
        grabber.stop()
    duration = float(times[-1] - times[0]) if len(times) > 1 else 0.0
    series = LandmarkSeries.from_pose_frames(np.asarray(times, float), poses, image_size=getattr(source, "size", None),
                                             source=source_name)
    series.attrs["pose_model"] = getattr(estimator, "name", "")
    return Capture(series, wall_start, wall_start + timedelta(seconds=duration), stopped_by, len(times), last)


def show_outcome(capture: Capture, sinks: Sequence, text: str, /, *, title: str, render) -> None:
    """Show ``text`` (the plain result, or the calm "could not be measured") over the last
    frame for :data:`OUTCOME_SHOW_S` on each window."""
    if capture.last is None:
        return
    image, pose, view, t_s = capture.last
    shown = render(image, pose, view, t_s, text=text)
    for sink in sinks:
        hold = getattr(sink, "hold", None)
        if hold is not None:
            hold(shown, seconds=OUTCOME_SHOW_S)
