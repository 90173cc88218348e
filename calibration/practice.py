"""What a practice session takes from a patient's calibration: the comfortable ranges of the
tracked motions and the neutral posture, resolved here and handed to
:func:`feedback.session.build_pipeline` (feedback never imports calibration: the arrows point
from calibration-aware sessions to the feedback maths, see docs/style).

Without a calibrated profile the conservative defaults of
:data:`calibration.limits.DEFAULT_COMFORTABLE_RANGES` are used, as for any motion the profile
does not hold.
"""

from __future__ import annotations

from functools import partial

from calibration.profile import comfortable_range


def compute_neutral_deg(profile_record, position: str, /) -> dict[str, float]:
    """The patient's calibrated neutral angles for ``position`` (``seated``/``standing``), by
    angle name (``trunk_forward_lean_deg``); empty without a profile or that posture."""
    if profile_record is None:
        return {}
    return {f"{m}_deg": float(v) for m, v in profile_record.profile.neutral.get(position, {}).items()}


def build_practice_pipeline(exercise, /, *, profile_record=None, policy=None, visibility_threshold: float = 0.5):
    """A :class:`feedback.session.PracticePipeline` for ``exercise`` with the patient's
    comfortable ranges and neutral posture (``profile_record`` None: the defaults)."""
    from feedback.session import build_pipeline

    return build_pipeline(exercise, comfortable_range=partial(comfortable_range, profile_record),
                          neutral_deg=compute_neutral_deg(profile_record, exercise.position),
                          policy=policy, visibility_threshold=visibility_threshold)
