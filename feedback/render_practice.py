"""The practice view: camera image, skeleton, the tracked angle on a gauge, one cue line.

Readable from 2-3 m: the cue is drawn in large white text on a black band across the
bottom (contrast 21:1), sized to about 1/13 of the image height; the gauge is large and
uses the Okabe-Ito colour-blind-safe palette (bluish green = comfortable, orange = near
the limit, vermillion = beyond), with the zone also shown by the needle position, never by
colour alone. OpenCV is imported lazily; the window (:class:`PracticeWindow`) and the video
writer (:class:`VideoFileSink`) are the only things that show or write images.
"""

from __future__ import annotations

import math

import numpy as np

from feedback.render import render_skeleton, style_for_image

# Okabe-Ito palette, BGR.
OKABE_BLUISH_GREEN = (115, 158, 0)
OKABE_ORANGE = (0, 159, 230)
OKABE_VERMILLION = (0, 94, 213)
OKABE_SKY_BLUE = (233, 180, 86)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
CUE_TEXT_HEIGHT_FRACTION = 1 / 13  # of the image height
GAUGE_RADIUS_FRACTION = 0.16  # of the smaller image side
GAUGE_PAD_DEG = 20.0  # the gauge shows the comfortable range with this much either side
QUIT_KEYS = (ord("q"), ord("Q"), 27)  # q or Esc
WINDOW_TITLE = "MindMove practice"
PACER_SIZE_FRACTION = 0.34  # the pacer's square corner, as a share of the smaller image side
PACER_BOTTOM_CLEARANCE = 2.2 * CUE_TEXT_HEIGHT_FRACTION  # of the height: keeps it above the cue band
PACER_ALPHA = 0.8  # the pacer's dark backing lets the camera image show through a little


def _cv2():
    import cv2

    return cv2


def _fit_font_scale(text: str, *, max_width_px: int, target_height_px: int, thickness: int) -> float:
    cv2 = _cv2()
    (_, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, 1.0, thickness)
    scale = target_height_px / max(h, 1)
    (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thickness)
    if w > max_width_px:
        scale *= max_width_px / w
    return scale


def render_cue_line(image_bgr: np.ndarray, text: str | None, /) -> np.ndarray:
    """A copy with ``text`` in large white letters on a black band at the bottom."""
    cv2 = _cv2()
    out = image_bgr.copy()
    if not text:
        return out
    h, w = out.shape[:2]
    target = max(int(h * CUE_TEXT_HEIGHT_FRACTION), 14)
    thickness = max(2, target // 12)
    scale = _fit_font_scale(text, max_width_px=int(w * 0.94), target_height_px=target, thickness=thickness)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thickness)
    band = th + base + target // 2
    cv2.rectangle(out, (0, h - band), (w, h), BLACK, -1)
    cv2.putText(out, text, ((w - tw) // 2, h - band // 2 + th // 2), cv2.FONT_HERSHEY_DUPLEX, scale,
                WHITE, thickness, cv2.LINE_AA)
    return out


def _gauge_angle(value_deg: float, lo: float, hi: float) -> float:
    """Screen angle (degrees, OpenCV ellipse convention) on a 180-degree arc from left to right."""
    frac = min(max((value_deg - lo) / (hi - lo), 0.0), 1.0)
    return 180.0 + 180.0 * frac


def render_range_gauge(image_bgr: np.ndarray, value_deg: float | None, /, *, min_deg: float, max_deg: float,
                       caution_margin_deg: float, label: str = "", limits: str = "upper") -> np.ndarray:
    """A copy with a half-dial at the top right: the comfortable range, caution and beyond
    zones, and a needle at ``value_deg`` (no needle when unknown)."""
    cv2 = _cv2()
    out = image_bgr.copy()
    h, w = out.shape[:2]
    r = int(min(h, w) * GAUGE_RADIUS_FRACTION)
    cx, cy = w - r - r // 4, r + r // 3
    lo, hi = min_deg - GAUGE_PAD_DEG, max_deg + GAUGE_PAD_DEG
    thick = max(6, r // 6)
    cv2.ellipse(out, (cx, cy), (r + thick, r + thick), 0, 180, 360, BLACK, -1, cv2.LINE_AA)
    zones = [(lo, max_deg, OKABE_BLUISH_GREEN)]
    if limits in ("upper", "both"):
        zones += [(max_deg - caution_margin_deg, max_deg, OKABE_ORANGE), (max_deg, hi, OKABE_VERMILLION)]
    if limits in ("lower", "both"):
        zones += [(min_deg, min_deg + caution_margin_deg, OKABE_ORANGE), (lo, min_deg, OKABE_VERMILLION)]
    for a, b, colour in zones:
        cv2.ellipse(out, (cx, cy), (r, r), 0, _gauge_angle(a, lo, hi), _gauge_angle(b, lo, hi), colour,
                    thick, cv2.LINE_AA)
    if value_deg is not None and math.isfinite(value_deg):
        ang = math.radians(_gauge_angle(value_deg, lo, hi))
        tip = (int(cx + (r + thick // 2) * math.cos(ang)), int(cy + (r + thick // 2) * math.sin(ang)))
        cv2.line(out, (cx, cy), tip, BLACK, max(4, thick // 2) + 4, cv2.LINE_AA)
        cv2.line(out, (cx, cy), tip, WHITE, max(4, thick // 2), cv2.LINE_AA)
        text = f"{value_deg:.0f}"
        scale = r / 60.0
        (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
        cv2.putText(out, text, (cx - tw // 2, cy + int(r * 0.45)), cv2.FONT_HERSHEY_DUPLEX, scale, BLACK, 6,
                    cv2.LINE_AA)
        cv2.putText(out, text, (cx - tw // 2, cy + int(r * 0.45)), cv2.FONT_HERSHEY_DUPLEX, scale, WHITE, 2,
                    cv2.LINE_AA)
    if label:
        scale = r / 110.0
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_DUPLEX, scale, 1)
        margin = max(4, r // 12)
        # Centred under the dial, but never cut by the image's right edge.
        x = max(margin, min(cx - tw // 2, w - tw - margin))
        y = cy + int(r * 0.75)
        cv2.rectangle(out, (x - margin // 2, y - th - margin // 2), (x + tw + margin // 2, y + base + margin // 2),
                      BLACK, -1)
        cv2.putText(out, label, (x, y), cv2.FONT_HERSHEY_DUPLEX, scale, WHITE, 1, cv2.LINE_AA)
    return out


def render_pacer_corner(image_bgr: np.ndarray, state, /) -> np.ndarray:
    """A copy with the breathing guide (:func:`feedback.render_breath.render_pacer`) in the
    bottom-left corner, on a dark square, above the cue band."""
    from feedback.render_breath import render_pacer

    out = image_bgr.copy()
    h, w = out.shape[:2]
    side = int(min(h, w) * PACER_SIZE_FRACTION)
    pad = max(4, side // 20)
    y1 = max(side, h - int(h * PACER_BOTTOM_CLEARANCE))
    y0, x0 = y1 - side, pad
    roi = out[y0:y1, x0:x0 + side]
    backing = np.full_like(roi, 25)
    backing = (PACER_ALPHA * backing + (1 - PACER_ALPHA) * roi).astype(np.uint8)
    out[y0:y1, x0:x0 + side] = render_pacer(backing, state)
    return out


def render_practice_frame(image_bgr: np.ndarray, pose, angles: dict, cue, pipeline, /) -> np.ndarray:
    """The whole practice view for one frame (the ``render`` of :func:`feedback.session.run_practice`).
    With a pacer running (``pipeline.pacer_state``), the breathing guide sits in a corner."""
    style = style_for_image(image_bgr)
    out = render_skeleton(image_bgr, pose, visibility_threshold=pipeline.visibility_threshold, style=style)
    safe = pipeline.safe
    reps = pipeline.rep_engine.count if pipeline.rep_engine is not None else None
    label = pipeline.exercise.title + (f"  |  {reps}" if reps is not None else "")
    out = render_range_gauge(out, angles.get(pipeline.channel), min_deg=safe.min_deg, max_deg=safe.max_deg,
                             caution_margin_deg=safe.caution_margin_deg, label=label,
                             limits=pipeline.exercise.tracking.limits)
    pacer_state = getattr(pipeline, "pacer_state", None)
    if pacer_state is not None:
        out = render_pacer_corner(out, pacer_state)
    return render_cue_line(out, cue.text() if cue is not None else None)


class PracticeWindow:
    """The on-screen window; ``show`` returns False on q, Esc or when the window is closed."""

    def __init__(self, title: str = WINDOW_TITLE) -> None:
        cv2 = _cv2()
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        self._shown = False

    def show(self, image_bgr: np.ndarray, /) -> bool:
        cv2 = _cv2()
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            return False
        cv2.imshow(self.title, image_bgr)
        self._shown = True
        return (cv2.waitKey(1) & 0xFF) not in QUIT_KEYS

    def close(self) -> None:
        _cv2().destroyWindow(self.title)


class VideoFileSink:
    """Writes the annotated frames to an MP4 file (only with ``--record-video``)."""

    def __init__(self, path, /, *, fps: float, size: tuple[int, int]) -> None:
        from pathlib import Path

        from mindmove.errors import InputError

        cv2 = _cv2()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
        if not self._writer.isOpened():
            raise InputError(f"Cannot write a video to {self.path}; give a path ending in .mp4 in a writable folder.")
        self.size = size

    def show(self, image_bgr: np.ndarray, /) -> bool:
        if (image_bgr.shape[1], image_bgr.shape[0]) != self.size:
            image_bgr = _cv2().resize(image_bgr, self.size)
        self._writer.write(image_bgr)
        return True

    def close(self) -> None:
        self._writer.release()
