"""Gait events and parameters from any landmark series (video or motion capture).

One person's :class:`sensing.landmarks.LandmarkSeries` in, a :class:`GaitReport` out
(:func:`compute_gait`), written as ``gait.json`` and ``gait_cycles.csv`` by
:func:`save_gait_outputs`. Method, rules and validation: ``docs/gait.md``.

Modules: :mod:`.frames` (coordinates, identity switches), :mod:`.passes` (body reference,
direction, passes), :mod:`.events` (initial and final contacts), :mod:`.parameters`,
:mod:`.quality`, :mod:`.cycles`, :mod:`.outputs`, :mod:`.analysis` (the pipeline).

Only numpy and scipy: no OpenCV, MediaPipe or database here.
"""

from feedback.gait.analysis import GaitReport, compute_gait, detect_walking
from feedback.gait.cycles import CYCLE_ANGLES, GaitCycle
from feedback.gait.events import FINAL_CONTACT, INITIAL_CONTACT, GaitEvent
from feedback.gait.frames import detect_identity_switches
from feedback.gait.outputs import EVENT_NAMES, save_gait_outputs
from feedback.gait.parameters import GaitParameters
from feedback.gait.passes import GaitPass
from feedback.gait.quality import GaitQuality

__all__ = [
    "CYCLE_ANGLES", "EVENT_NAMES", "FINAL_CONTACT", "INITIAL_CONTACT", "GaitCycle", "GaitEvent",
    "GaitParameters", "GaitPass", "GaitQuality", "GaitReport", "compute_gait", "detect_identity_switches",
    "detect_walking", "save_gait_outputs",
]
