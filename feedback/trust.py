"""How far an angle measured from ONE camera can be trusted: which limbs the camera sees well.

One camera sees the limbs on the side of the body turned toward it; a limb on the far side
is behind the body (occluded) and MediaPipe places it by guesswork, often with a high
visibility all the same. Against a four-camera triangulation of the Pose2Sim lunge
(``benchmarks/angles_vs_multicam.py``) the far-side knee read 18-36 deg off at the median
where the near-side knee read 6-10 deg off on three of the four cameras. So, per frame and
per side of the body (``left`` / ``right``), a limb's angles are of LOW trust when:

- ``hidden``: a landmark of the limb has a visibility under ``TRUST_VISIBILITY`` (angles
  under the analysis' own visibility threshold are unknown, NaN, already); or
- ``far_side``: the body is turned side-on or obliquely to the camera (the shoulder and hip
  lines make more than ``FRONTAL_MAX_YAW_DEG`` with the image plane, from the world
  landmarks' depth) and this side's shoulder and hip are further from the camera than the
  other side's (MediaPipe's world z grows away from the camera).

Otherwise the trust is HIGH. A frontal or back view has no far side. Axial angles (trunk,
neck) have no side and are not rated. Pure numpy: :func:`compute_side_trust` for one frame
(the live path), :func:`compute_angle_trust` for a series (``angles.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedback.angles import ANGLE_NAMES, SIDES, SIDED_MOTIONS
from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries

# MediaPipe's visibility is the model's confidence that a landmark is in view and not
# occluded; the analysis drops landmarks under 0.5. Between 0.5 and this, a landmark is
# placed but the model doubts it: the angle is kept and marked low.
TRUST_VISIBILITY = 0.75
# The shoulder and hip lines within this of the image plane: a frontal (or back) view, both
# sides seen. Past it the far side hides behind the body (at 30 deg the far shoulder is
# already a quarter of a shoulder width behind the near one).
FRONTAL_MAX_YAW_DEG = 30.0
HIGH, LOW = "high", "low"
REASONS = ("ok", "hidden", "far_side")

# The landmarks each sided motion needs ("{side}" filled in).
MOTION_LANDMARKS: dict[str, tuple[str, ...]] = {
    "shoulder_flexion": ("shoulder", "elbow"), "shoulder_abduction": ("shoulder", "elbow"),
    "elbow_flexion": ("shoulder", "elbow", "wrist"), "hip_flexion": ("hip", "knee"),
    "hip_abduction": ("hip", "knee"), "knee_flexion": ("hip", "knee", "ankle"),
    "ankle_dorsiflexion": ("knee", "ankle", "heel", "foot_index"),
}
SIDED_ANGLE_NAMES: tuple[str, ...] = tuple(n for n in ANGLE_NAMES if n.split("_")[0] in SIDES)


def _idx(side: str, joints) -> list[int]:
    return [LANDMARK_INDEX[f"{side}_{j}"] for j in joints]


def compute_view_yaw_deg(world_m: np.ndarray, /) -> np.ndarray:
    """(T,) angle between the body's left-right axis (shoulders + hips) and the image plane,
    0 facing the camera (or showing the back), 90 side-on; NaN when unknown."""
    w = np.asarray(world_m, dtype=float)
    lr = (w[..., LANDMARK_INDEX["right_shoulder"], :] - w[..., LANDMARK_INDEX["left_shoulder"], :]
          + w[..., LANDMARK_INDEX["right_hip"], :] - w[..., LANDMARK_INDEX["left_hip"], :])
    return np.degrees(np.arctan2(np.abs(lr[..., 2]), np.abs(lr[..., 0])))


def compute_far_side(world_m: np.ndarray, /) -> np.ndarray:
    """(T,) ``"left"``, ``"right"`` (the side turned away from the camera) or ``""`` (a frontal
    or back view, or unknown)."""
    w = np.asarray(world_m, dtype=float)
    w = w if w.ndim == 3 else w[None]
    yaw = compute_view_yaw_deg(w)
    depth = {s: w[:, LANDMARK_INDEX[f"{s}_shoulder"], 2] + w[:, LANDMARK_INDEX[f"{s}_hip"], 2] for s in SIDES}
    right_further = depth["right"] > depth["left"]
    far = np.where(right_further, "right", "left").astype(object)
    far[~(yaw > FRONTAL_MAX_YAW_DEG)] = ""
    return far


@dataclass(frozen=True)
class AngleTrust:
    """Per frame and sided angle: ``level`` (``high`` / ``low``; ``""`` where the angle is
    unknown) and ``reason`` (``ok`` / ``hidden`` / ``far_side``), columns as ``names``."""

    names: tuple[str, ...]
    level: np.ndarray  # (T, K) object
    reason: np.ndarray  # (T, K) object

    def column(self, name: str) -> np.ndarray:
        return self.level[:, self.names.index(name if name.endswith("_deg") else f"{name}_deg")]

    def summary(self) -> dict:
        """Per angle: % of its known frames of low trust, and why (for ``summary.json``)."""
        out = {}
        for k, name in enumerate(self.names):
            known = self.level[:, k] != ""
            if not known.any():
                continue
            low = self.level[:, k] == LOW
            out[name] = {"low_trust_pct": round(100.0 * low.sum() / known.sum(), 1),
                         "far_side_pct": round(100.0 * (self.reason[:, k] == "far_side").sum() / known.sum(), 1),
                         "hidden_pct": round(100.0 * (self.reason[:, k] == "hidden").sum() / known.sum(), 1)}
        return out


def compute_angle_trust(series: LandmarkSeries, values_deg: np.ndarray, names, /) -> AngleTrust:
    """Trust of each sided angle of ``names`` (columns of ``values_deg``) in each frame."""
    names = tuple(names)
    vis = np.asarray(series.visibility, dtype=float)
    n = len(series)
    # World z is the depth from the camera only for a series seen by a camera (with pixels);
    # motion capture has no camera and no far side.
    from_camera = series.has_world and series.pixel_px is not None
    far = compute_far_side(series.world_m) if from_camera else np.full(n, "", dtype=object)
    sided = [k for k, name in enumerate(names) if name in SIDED_ANGLE_NAMES]
    level = np.full((n, len(sided)), "", dtype=object)
    reason = np.full((n, len(sided)), "", dtype=object)
    for col, k in enumerate(sided):
        name = names[k]
        side, motion = name.split("_", 1)
        motion = motion.removesuffix("_deg")
        hidden = (vis[:, _idx(side, MOTION_LANDMARKS[motion])] < TRUST_VISIBILITY).any(axis=1)
        far_side = far == side
        why = np.where(hidden, "hidden", np.where(far_side, "far_side", "ok"))
        known = np.isfinite(values_deg[:, k])
        level[:, col] = np.where(known, np.where(why == "ok", HIGH, LOW), "")
        reason[:, col] = np.where(known, why, "")
    return AngleTrust(tuple(names[k] for k in sided), level, reason)


def compute_side_trust(world_m, visibility, /, *, side: str, motion: str) -> str:
    """One frame: ``ok``, ``hidden`` or ``far_side`` for ``side``'s limb of ``motion``
    (a sided motion such as ``knee_flexion``)."""
    if motion not in MOTION_LANDMARKS:
        raise ValueError(f"Expected a sided motion among {', '.join(SIDED_MOTIONS)}, but got {motion!r}.")
    vis = np.asarray(visibility, dtype=float)
    if (vis[_idx(side, MOTION_LANDMARKS[motion])] < TRUST_VISIBILITY).any():
        return "hidden"
    far = compute_far_side(np.asarray(world_m, dtype=float))[0]
    return "far_side" if far == side else "ok"


def is_trusted(reason: str, /) -> bool:
    return reason == "ok"
