"""Synthetic people with known answers, for tests, benchmarks and the demo clinic.

Nothing here is used by the analysis itself: :mod:`synthetic.body` places a stick body at
exactly the joint angles asked for, seen as a :class:`BodySpec` says; :mod:`synthetic.walk`
walks it past a camera with known contact times, as a :class:`WalkSpec` says.
"""

from synthetic.body import BodySegments, BodySpec, simulate_landmark_series, simulate_pose_frame, simulate_view_up
from synthetic.walk import WalkSpec, simulate_walk

__all__ = ["BodySegments", "BodySpec", "WalkSpec", "simulate_landmark_series", "simulate_pose_frame",
           "simulate_view_up", "simulate_walk"]
