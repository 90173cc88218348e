"""Drawing on camera images: the skeleton, joint-angle labels, a line of text.

Every ``render_*`` function takes a BGR image and data, and returns a NEW image (the input
is never drawn on); a ``draw_*_into`` function draws onto the image it is given. Coordinates are pixels (``PoseFrame.pixel_px``). Landmarks below the
visibility threshold, or unknown (NaN), are not drawn. Colours are BGR tuples. This is the
one module of ``feedback/`` that uses OpenCV (imported lazily); the live practice view and
``mindmove analyze --overlay`` share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from sensing.landmarks import LANDMARK_INDEX, SKELETON_EDGES, PoseFrame


@dataclass(frozen=True)
class RenderStyle:
    """Colours (BGR) and sizes, scaled to the image by :func:`style_for_image`."""

    bone_bgr: tuple[int, int, int] = (230, 220, 200)
    joint_bgr: tuple[int, int, int] = (90, 200, 120)
    text_bgr: tuple[int, int, int] = (255, 255, 255)
    text_shadow_bgr: tuple[int, int, int] = (40, 40, 40)
    line_px: int = 2
    joint_radius_px: int = 4
    font_scale: float = 0.5


# Reference height for scaling line widths and fonts (a 720p image uses the defaults).
REFERENCE_HEIGHT_PX = 720


def style_for_image(image_bgr: np.ndarray, /, *, base: RenderStyle | None = None) -> RenderStyle:
    """``base`` (or the defaults) with sizes scaled to the image height."""
    base = base or RenderStyle()
    k = max(image_bgr.shape[0] / REFERENCE_HEIGHT_PX, 0.5)
    return RenderStyle(
        bone_bgr=base.bone_bgr, joint_bgr=base.joint_bgr, text_bgr=base.text_bgr,
        text_shadow_bgr=base.text_shadow_bgr, line_px=max(1, round(base.line_px * k)),
        joint_radius_px=max(2, round(base.joint_radius_px * k)), font_scale=base.font_scale * k,
    )


def _visible_points(pixel_px: np.ndarray | None, visibility: np.ndarray | None,
                    visibility_threshold: float) -> np.ndarray | None:
    """(33, 2) pixel array with hidden or unknown landmarks set to NaN."""
    if pixel_px is None:
        return None
    pts = np.array(pixel_px, dtype=float, copy=True)
    if visibility is not None:
        pts[np.asarray(visibility) < visibility_threshold] = np.nan
    return pts


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


def render_skeleton(image_bgr: np.ndarray, pose: PoseFrame | None, /, *,
                    visibility_threshold: float = 0.5,
                    style: RenderStyle | None = None) -> np.ndarray:
    """A copy of the image with the pose's bones and joints drawn (nothing when ``None``)."""
    out = image_bgr.copy()
    draw_skeleton_into(out, pose, visibility_threshold=visibility_threshold, style=style)
    return out


def draw_skeleton_into(image_bgr: np.ndarray, pose: PoseFrame | None, /, *,
                       visibility_threshold: float = 0.5, style: RenderStyle | None = None) -> None:
    """:func:`render_skeleton` drawn straight onto ``image_bgr`` (the live view draws every
    layer onto one copy of the camera image, not a copy per layer)."""
    import cv2

    out = image_bgr
    if pose is None:
        return
    pts = _visible_points(pose.pixel_px, pose.visibility, visibility_threshold)
    if pts is None:
        return
    style = style or style_for_image(out)
    for a, b in SKELETON_EDGES:
        pa, pb = pts[LANDMARK_INDEX[a]], pts[LANDMARK_INDEX[b]]
        if np.isfinite(pa).all() and np.isfinite(pb).all():
            cv2.line(out, _pt(pa), _pt(pb), style.bone_bgr, style.line_px, cv2.LINE_AA)
    for p in pts:
        if np.isfinite(p).all():
            cv2.circle(out, _pt(p), style.joint_radius_px, style.joint_bgr, -1, cv2.LINE_AA)


def angle_anchor(name: str, /) -> str | tuple[str, ...]:
    """The landmark (or landmarks, drawn at their mean) where an angle's label goes.

    ``"right_knee_flexion_deg"`` -> ``"right_knee"``; ``"trunk_lateral_lean_deg"`` -> the
    middle of the torso; ``"neck_flexion_deg"`` -> the shoulders.
    """
    stem = name.removesuffix("_deg")
    if stem.startswith("trunk"):
        return ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    if stem.startswith("neck"):
        return ("left_shoulder", "right_shoulder")
    side, joint = stem.split("_")[:2]
    return f"{side}_{joint}"


def _anchor_point(pts: np.ndarray, anchor: str | tuple[str, ...]) -> np.ndarray:
    if isinstance(anchor, tuple):
        return pts[[LANDMARK_INDEX[a] for a in anchor]].mean(axis=0)
    return pts[LANDMARK_INDEX[anchor]]


def short_angle_label(name: str, value_deg: float, /) -> str:
    """``("right_knee_flexion_deg", 42.3)`` -> ``"knee flex 42"`` (label text on images)."""
    words = name.removesuffix("_deg").split("_")
    if words[0] in ("left", "right"):
        words = words[1:]
    abbrev = {"flexion": "flex", "abduction": "abd", "dorsiflexion": "dflex",
              "forward": "fwd", "lateral": "lat", "rotation": "rot"}
    return " ".join(abbrev.get(w, w) for w in words) + f" {value_deg:.0f}"


def render_angles(image_bgr: np.ndarray, pose: PoseFrame | None,
                  angles_deg: Mapping[str, float], /, *,
                  visibility_threshold: float = 0.5,
                  style: RenderStyle | None = None) -> np.ndarray:
    """A copy of the image with each finite angle written beside its joint.

    Several angles of one joint are stacked; labels of the patient's left side go to the
    right of the joint on the image and vice versa (for a person facing the camera), neck
    angles above the shoulders' midpoint and trunk angles at the middle of the torso.
    """
    import cv2

    out = image_bgr.copy()
    if pose is None or pose.pixel_px is None:
        return out
    pts = _visible_points(pose.pixel_px, pose.visibility, visibility_threshold)
    style = style or style_for_image(out)
    line_h = int(round(22 * style.font_scale / 0.5))
    stacked: dict[str, int] = {}
    for name, value in angles_deg.items():
        if value is None or not np.isfinite(value):
            continue
        anchor = angle_anchor(name)
        p = _anchor_point(pts, anchor)
        if not np.isfinite(p).all():
            continue
        key = str(anchor)
        row = stacked.get(key, 0)
        stacked[key] = row + 1
        text = short_angle_label(name, float(value))
        (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, style.font_scale, 1)
        dx = 2 * style.joint_radius_px
        if name.startswith("left"):
            x, y = int(p[0]) + dx, int(p[1]) + row * line_h
        elif name.startswith("right"):
            x, y = int(p[0]) - dx - w, int(p[1]) + row * line_h
        elif name.startswith("neck"):  # centred, stacked upward from the shoulder line
            x, y = int(p[0]) - w // 2, int(p[1]) - (row + 1) * line_h
        else:  # trunk: centred, stacked downward from the middle of the torso
            x, y = int(p[0]) - w // 2, int(p[1]) + row * line_h
        out = _put_text(out, text, (x, y), style)
    return out


def _put_text(image_bgr: np.ndarray, text: str, origin: tuple[int, int],
              style: RenderStyle) -> np.ndarray:
    import cv2

    thick = max(1, style.line_px // 2)
    cv2.putText(image_bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, style.font_scale,
                style.text_shadow_bgr, thick + 2, cv2.LINE_AA)
    cv2.putText(image_bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, style.font_scale,
                style.text_bgr, thick, cv2.LINE_AA)
    return image_bgr


def render_text(image_bgr: np.ndarray, text: str, /, *, origin_px: tuple[int, int] = (16, 32),
                style: RenderStyle | None = None) -> np.ndarray:
    """A copy of the image with one line of text (e.g. the time) at ``origin_px``, on a dark
    box so it stays readable over a bright sky or wall."""
    import cv2

    out = image_bgr.copy()
    style = style or style_for_image(out)
    thick = max(1, style.line_px // 2)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, style.font_scale, thick + 2)
    pad = max(4, th // 3)
    x, y = origin_px
    cv2.rectangle(out, (x - pad, y - th - pad), (x + tw + pad, y + base + pad), style.text_shadow_bgr, -1)
    return _put_text(out, text, origin_px, style)


def render_pose_overlay(image_bgr: np.ndarray, pose: PoseFrame | None,
                        angles_deg: Mapping[str, float] | None = None, /, *,
                        caption: str | None = None, visibility_threshold: float = 0.5,
                        style: RenderStyle | None = None) -> np.ndarray:
    """Skeleton, angle labels and an optional caption: one frame of an annotated video."""
    style = style or style_for_image(image_bgr)
    out = render_skeleton(image_bgr, pose, visibility_threshold=visibility_threshold, style=style)
    if angles_deg:
        out = render_angles(out, pose, angles_deg, visibility_threshold=visibility_threshold,
                            style=style)
    if caption:
        out = render_text(out, caption, style=style)
    return out
