"""Standard functional tests from any landmark series: Timed Up and Go, 30-second chair stand,
five times sit-to-stand, gait and gait speed (see ``docs/assessments.md``).

Pure maths on :class:`~sensing.landmarks.LandmarkSeries` (numpy and scipy only): the same
analysis runs on a live recording, a video file, motion capture and simulated bodies. The
tests are a registry (:mod:`feedback.assessments.registry`); published norms are in
``norms.toml`` (:mod:`feedback.assessments.norms`).
"""

from feedback.assessments.registry import (
    ASSESSMENTS, Assessment, AssessmentOptions, MinimalDetectableChange, compute_assessment, compute_change,
    get_assessment,
)

__all__ = ["ASSESSMENTS", "Assessment", "AssessmentOptions", "MinimalDetectableChange",
           "compute_assessment", "compute_change", "get_assessment"]
