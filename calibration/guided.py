"""Guided capture from frames: pose -> angles -> :mod:`calibration.capture` stages.

Frames (anything with ``image_bgr`` and ``t_s``, as :func:`sensing.video.open_source`
yields) go through a :class:`~sensing.pose.PoseEstimator`; each frame's joint angles
(:func:`feedback.angles.compute_frame_angles`, NaN when unseen) feed the capture stages.
An ``on_frame`` callback (the window, in the command line) sees every frame and may stop
the capture early by returning False. Nothing here draws or prints.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Protocol

import numpy as np

from calibration.capture import NEUTRAL_MOTIONS, NEUTRAL_REQUIRED, NeutralCapture, RangeCapture
from sensing.landmarks import PoseFrame

log = logging.getLogger(__name__)


class _Frame(Protocol):
    image_bgr: np.ndarray
    t_s: float


@dataclass(frozen=True)
class CaptureStatus:
    """What the window shows for one frame."""

    t_s: float
    elapsed_s: float
    pose: PoseFrame | None
    angles_deg: Mapping[str, float]  # motion (no "_deg") -> degrees, NaN unknown


OnFrame = Callable[[_Frame, CaptureStatus], bool]


def compute_pose_angles(pose: PoseFrame | None, /) -> dict[str, float]:
    """Motion name (no ``_deg``) -> degrees for one estimator result; all NaN when nobody is seen."""
    from feedback.angles import MOTIONS, compute_frame_angles

    if pose is None or not np.isfinite(pose.world_m).any():
        return {m: math.nan for m in MOTIONS}
    angles = compute_frame_angles(pose.world_m, pose.visibility)
    return {name.removesuffix("_deg"): value for name, value in angles.items()}


def _run(frames: Iterable[_Frame], estimator, feed: Callable[[float, Mapping[str, float]], None], *,
         max_duration_s: float | None, on_frame: OnFrame | None) -> int:
    t0 = None
    n = 0
    for frame in frames:
        t0 = frame.t_s if t0 is None else t0
        elapsed = frame.t_s - t0
        if max_duration_s is not None and elapsed > max_duration_s + 1e-9:
            break
        pose = estimator.estimate(frame.image_bgr, frame.t_s)
        angles = compute_pose_angles(pose)
        feed(frame.t_s, angles)
        n += 1
        if on_frame is not None and on_frame(frame, CaptureStatus(frame.t_s, elapsed, pose, angles)) is False:
            break
    return n


def run_range_capture(frames: Iterable[_Frame], estimator, motions: Iterable[str], /, *,
                      max_duration_s: float | None = None, on_frame: OnFrame | None = None,
                      **capture_options) -> dict[str, RangeCapture]:
    """One :class:`RangeCapture` per motion, fed from the same frames."""
    captures = {m: RangeCapture(motion=m, **capture_options) for m in motions}

    def feed(t_s: float, angles: Mapping[str, float]) -> None:
        for motion, capture in captures.items():
            capture.update(t_s, angles.get(motion, math.nan))

    n = _run(frames, estimator, feed, max_duration_s=max_duration_s, on_frame=on_frame)
    log.info("Range capture: %d frames for %s", n, ", ".join(captures))
    return captures


def run_neutral_capture(frames: Iterable[_Frame], estimator, /, *, duration_s: float,
                        motions: Iterable[str] = NEUTRAL_MOTIONS, required: Iterable[str] = NEUTRAL_REQUIRED,
                        on_frame: OnFrame | None = None, **capture_options) -> NeutralCapture:
    """A :class:`NeutralCapture` of ``motions`` fed with the first ``duration_s`` seconds of frames;
    the ``required`` ones must be visible."""
    capture = NeutralCapture(duration_s=duration_s, required=tuple(required), **capture_options)
    wanted = tuple(motions)

    def feed(t_s: float, angles: Mapping[str, float]) -> None:
        capture.update(t_s, {m: angles.get(m, math.nan) for m in wanted})

    n = _run(frames, estimator, feed, max_duration_s=duration_s, on_frame=on_frame)
    log.info("Neutral capture: %d frames over %.1f s", n, capture.elapsed_s)
    return capture
