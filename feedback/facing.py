"""Practice judges only the limb the camera sees well (exercises with ``camera_view = "side"``).

An exercise whose ``[tracking]`` says ``camera_view = "side"`` tracks one limb that should
face the camera. In each frame :func:`feedback.trust.compute_side_trust` rates that limb:

- ``ok``: the pose goes on unchanged;
- ``hidden`` (a landmark of the limb under :data:`feedback.trust.TRUST_VISIBILITY`): the
  limb's landmarks are given visibility 0, so its angle is unknown and nothing is judged;
  the visibility engine asks, after its usual delay, to "let the camera see your legs";
- ``far_side`` (the limb is on the far side of a body turned side-on or obliquely): the
  limb's outer landmarks are unknown (NaN; the hip or shoulder stays, for the posture
  checks), so the range, repetition and pace engines skip it, and after ``TURN_ONSET_S``
  :class:`FacingEngine` says, calmly, ``facing.turn_toward_camera`` ("When you're ready,
  turn a little so the camera can see the leg you are moving").

Both pieces are attached from outside the live loop: :func:`attach_facing` wraps the pose
estimator (:class:`FacingEstimator`) and puts the engine in the pipeline, so
``feedback/session.py`` is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from feedback.cues import Cue
from feedback.trust import compute_side_trust
from sensing.landmarks import LANDMARK_INDEX, PoseFrame

# A limb turned away this long before the patient is asked to turn: a passing twist of the
# trunk is no reason to interrupt (the visibility engine waits 0.5 s; turning is a bigger ask).
TURN_ONSET_S = 1.0
# The landmarks of a limb that become unknown when it is on the far side (never the hip or
# shoulder, which the trunk and posture angles need), and the word for it in the catalogue.
OUTER_LANDMARKS: dict[str, tuple[str, ...]] = {
    "shoulder_flexion": ("elbow", "wrist"), "shoulder_abduction": ("elbow", "wrist"),
    "elbow_flexion": ("elbow", "wrist"), "hip_flexion": ("knee", "ankle"), "hip_abduction": ("knee", "ankle"),
    "knee_flexion": ("knee", "ankle"), "ankle_dorsiflexion": ("ankle", "heel", "foot_index"),
}
LIMB_WORD = {"shoulder_flexion": "limb.arm", "shoulder_abduction": "limb.arm", "elbow_flexion": "limb.arm",
             "hip_flexion": "limb.leg", "hip_abduction": "limb.leg", "knee_flexion": "limb.leg",
             "ankle_dorsiflexion": "limb.foot"}


@dataclass
class FacingCheck:
    """Per frame, whether the tracked limb is seen well; hides it when not (module docstring)."""

    side: str
    motion: str
    turned_away_since: float | None = field(default=None, init=False)
    last_reason: str = field(default="ok", init=False)

    def apply(self, pose: PoseFrame | None, t_s: float, /) -> PoseFrame | None:
        if pose is None:
            self.turned_away_since, self.last_reason = None, "ok"
            return None
        reason = compute_side_trust(pose.world_m, pose.visibility, side=self.side, motion=self.motion)
        self.last_reason = reason
        if reason != "far_side":
            self.turned_away_since = None
        elif self.turned_away_since is None:
            self.turned_away_since = t_s
        if reason == "ok":
            return pose
        idx = [LANDMARK_INDEX[f"{self.side}_{j}"] for j in OUTER_LANDMARKS[self.motion]]
        world, vis = np.array(pose.world_m, dtype=float), np.array(pose.visibility, dtype=float)
        if reason == "hidden":
            vis[idx] = 0.0
        else:
            world[idx] = np.nan
        return PoseFrame(world_m=world, visibility=vis, pixel_px=pose.pixel_px)


class FacingEstimator:
    """A :class:`sensing.pose.PoseEstimator` whose poses went through a :class:`FacingCheck`."""

    def __init__(self, estimator, check: FacingCheck, /) -> None:
        self.estimator, self.check = estimator, check
        self.name = getattr(estimator, "name", "pose")

    def estimate(self, image_bgr, t_s: float) -> PoseFrame | None:
        return self.check.apply(self.estimator.estimate(image_bgr, t_s), t_s)

    def close(self) -> None:
        self.estimator.close()

    def __enter__(self) -> "FacingEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class FacingEngine:
    """``facing.turn_toward_camera`` once the tracked limb has been turned away ``onset_s``."""

    check: FacingCheck
    onset_s: float = TURN_ONSET_S

    def update(self, t_s: float, angles: Mapping[str, float], visibility=None, /) -> list[Cue]:
        since = self.check.turned_away_since
        if since is None or t_s - since < self.onset_s:
            return []
        return [Cue.of("visibility", "facing.turn_toward_camera", t_s=t_s,
                       params={"limb": LIMB_WORD[self.check.motion]})]


def attach_facing(pipeline, estimator, /):
    """For an exercise with ``camera_view = "side"``: the engine goes into ``pipeline`` and
    the estimator comes back wrapped; otherwise ``estimator`` as it is."""
    side = pipeline.exercise.tracking.facing_side
    motion = pipeline.exercise.tracking.motion
    if side is None or motion not in OUTER_LANDMARKS:
        return estimator
    check = FacingCheck(side=side, motion=motion)
    pipeline.engines.insert(0, FacingEngine(check))
    return FacingEstimator(estimator, check)
