"""Synthetic people with known answers, for tests, benchmarks and the demo clinic.

Nothing here is used by the analysis itself: :mod:`synthetic.body` places a stick body at
exactly the joint angles asked for, :mod:`synthetic.walk` walks it past a camera with known
contact times.
"""

from synthetic.body import BodySegments, simulate_landmark_series, simulate_pose_frame, simulate_view_up
from synthetic.walk import simulate_walk

__all__ = ["BodySegments", "simulate_landmark_series", "simulate_pose_frame", "simulate_view_up", "simulate_walk"]
