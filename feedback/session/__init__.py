"""The live practice session: capture -> pose -> angles -> engines -> cue -> render -> record.

The modules, each one small (see ``docs/practice.md``):

- :mod:`~feedback.session.pipeline`: :class:`PracticePipeline`, one pose at a time to
  smoothed angles, engine cues and statistics; no threads, no I/O, no idea where the pose
  came from (a local camera, or landmarks sent by the patient's browser).
- :mod:`~feedback.session.practice`: :class:`PracticeSession`, everything after the pose for
  one frame (breath and pacer, the pipeline, the cue on screen, repetitions, the recorder).
- :mod:`~feedback.session.breath_feeds`: breath feeds (a replay, a belt) and
  :class:`PracticeBreath` (analysis, storage, pacer).
- :mod:`~feedback.session.capture`: the capture thread (:class:`LatestFrameGrabber`) and the
  :class:`FrameSink` protocol of the local loop.
- :mod:`~feedback.session.loop`: :func:`run_practice`, the local camera/video loop.
- :mod:`~feedback.session.result` and :mod:`~feedback.session.stats`: the session's result
  and summary, running angle statistics.

The names below are the package's public surface (``from feedback.session import ...``).
"""

from feedback.session.breath_feeds import (
    BELT_STALE_S, BELT_STOPPED_NOTICE_S, BeltFeed, BreathFeed, BreathFrame, PracticeBreath, ReplayFeed,
)
from feedback.session.capture import GRAB_TIMEOUT_S, FrameSink, GrabbedFrame, LatestFrameGrabber
from feedback.session.loop import FINISHED_FRAME_S, FINISHED_SHOW_S, run_practice
from feedback.session.pipeline import (
    DEFAULT_BETA, DEFAULT_D_CUTOFF_HZ, DEFAULT_MIN_CUTOFF_HZ, PracticePipeline, build_pipeline,
)
from feedback.session.practice import DEFAULT_SAMPLE_RATE_HZ, WELCOME_S, PracticeSession
from feedback.session.result import PracticeResult, compute_practice_result
from feedback.session.stats import MAX_ACTIVE_GAP_S, AngleStats, compute_percentile, is_within_range

__all__ = [
    "AngleStats", "BELT_STALE_S", "BELT_STOPPED_NOTICE_S", "BeltFeed", "BreathFeed", "BreathFrame",
    "DEFAULT_BETA", "DEFAULT_D_CUTOFF_HZ", "DEFAULT_MIN_CUTOFF_HZ", "DEFAULT_SAMPLE_RATE_HZ", "FINISHED_FRAME_S",
    "FINISHED_SHOW_S", "FrameSink", "GRAB_TIMEOUT_S", "GrabbedFrame", "LatestFrameGrabber", "MAX_ACTIVE_GAP_S",
    "PracticeBreath", "PracticePipeline", "PracticeResult", "PracticeSession", "ReplayFeed", "WELCOME_S",
    "build_pipeline", "compute_percentile", "compute_practice_result", "is_within_range", "run_practice",
]
