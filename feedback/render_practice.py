"""The practice view: camera image, skeleton, the tracked angle on a gauge, one cue line.

Readable from 2-3 m: the cue is drawn in large white text on a black band across the
bottom (contrast 21:1), sized to about 1/13 of the image height; the gauge is large and
uses the Okabe-Ito colour-blind-safe palette (bluish green = comfortable, orange = near
the limit, vermillion = beyond), with the zone also shown by the needle position, never by
colour alone. OpenCV is imported lazily; the window (:class:`PracticeWindow`) and the video
writer (:class:`VideoFileSink`) are the only things that show or write images.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache

import numpy as np

from feedback.exercises import exercise_title
from feedback.render import render_skeleton, style_for_image
from feedback.messages import message

log = logging.getLogger(__name__)

# Okabe-Ito palette, BGR.
OKABE_BLUISH_GREEN = (115, 158, 0)
OKABE_ORANGE = (0, 159, 230)
OKABE_VERMILLION = (0, 94, 213)
OKABE_SKY_BLUE = (233, 180, 86)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
CUE_TEXT_HEIGHT_FRACTION = 1 / 13  # of the image height
CUE_MAX_WIDTH_FRACTION = 0.94  # of the image width
CUE_MAX_LINES = 3  # a long cue on a portrait image wraps instead of shrinking to a thin line
CUE_MAX_BAND_FRACTION = 0.2  # of the height: a wrapped cue's band at most (the pacer sits above it)
CUE_WRAP_MIN_GAIN = 1.15  # wrap only when the letters grow by at least this much
CUE_LINE_SPACING = 1.15  # line pitch, times the text height plus descent
CUE_STROKE_DIVISOR = 12  # stroke width = letter height / this
CUE_LAYOUT_CACHE_SIZE = 64  # cue layouts kept, by (text, width, height)
GAUGE_RADIUS_FRACTION = 0.16  # of the smaller image side
LABEL_STROKE_PER_SCALE = 1.4  # the gauge label's stroke width per unit of font scale
GAUGE_PAD_DEG = 20.0  # the gauge shows the comfortable range with this much either side
QUIT_KEYS = (ord("q"), ord("Q"), 27)  # q or Esc
WINDOW_TITLE = "MindMove practice"
WINDOWED_MAX_PX = (1280, 720)  # a window (not full screen) fits any current screen
PROBE_LONG_PX, PROBE_SHORT_PX = 8192, 512  # black probes (16:1, 1:16) measuring the full-screen viewport
PROBE_POLL_MS, PROBE_MAX_POLLS = 30, 40  # up to 1.2 s for the window manager to go full screen
PROBE_STABLE_POLLS = 3  # the viewport is measured once it is the same this many polls running
PACER_SIZE_FRACTION = 0.34  # the pacer's square corner, as a share of the smaller image side
PACER_BOTTOM_CLEARANCE = CUE_MAX_BAND_FRACTION + 0.2 * CUE_TEXT_HEIGHT_FRACTION  # of the height: above the cue band
PACER_ALPHA = 0.8  # the pacer's dark backing lets the camera image show through a little


def _cv2():
    import cv2

    return cv2


def _split_lines(words: list[str], n_lines: int, width_of) -> list[str]:
    """``words`` in ``n_lines`` lines (order kept) whose widest line is as narrow as possible."""
    from itertools import combinations

    best, best_w = [" ".join(words)], math.inf
    for cuts in combinations(range(1, len(words)), n_lines - 1):
        bounds = (0, *cuts, len(words))
        lines = [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:])]
        widest = max(width_of(line) for line in lines)
        if widest < best_w:
            best, best_w = lines, widest
    return best


@lru_cache(maxsize=CUE_LAYOUT_CACHE_SIZE)
def _layout_cue(text: str, *, width_px: int, target_height_px: int, max_band_px: int) -> tuple[tuple[str, ...], float]:
    """(lines, font scale): the largest letters, up to ``target_height_px`` high, that fit
    ``width_px``; a long cue goes on up to ``CUE_MAX_LINES`` lines rather than shrinking
    (a portrait image above all), with the band of several lines within ``max_band_px``.
    Cached: the same cue stays on screen for many frames of the same size."""
    cv2 = _cv2()
    font = cv2.FONT_HERSHEY_DUPLEX

    def width_of(line: str) -> int:
        return cv2.getTextSize(line, font, 1.0, 2)[0][0]

    (_, h1), base1 = cv2.getTextSize(text, font, 1.0, 2)
    height_scale = target_height_px / max(h1, 1)
    words = text.split()
    best_lines, best_scale = [text], 0.0
    for n in range(1, min(CUE_MAX_LINES, len(words)) + 1):
        lines = _split_lines(words, n, width_of)
        scale = min(height_scale, width_px / max(max(width_of(line) for line in lines), 1))
        if n > 1:  # the band of n lines stays within max_band_px
            scale = min(scale, (max_band_px - target_height_px // 2) / (n * (h1 + base1) * CUE_LINE_SPACING))
        if scale > best_scale * CUE_WRAP_MIN_GAIN:
            best_lines, best_scale = lines, scale
    return tuple(best_lines), best_scale


def render_cue_line(image_bgr: np.ndarray, text: str | None, /) -> np.ndarray:
    """A copy with ``text`` in large white letters on a black band at the bottom (two or
    three lines when one line would make the letters much smaller)."""
    cv2 = _cv2()
    font = cv2.FONT_HERSHEY_DUPLEX
    out = image_bgr.copy()
    if not text:
        return out
    h, w = out.shape[:2]
    target = max(int(h * CUE_TEXT_HEIGHT_FRACTION), 14)
    max_w = int(w * CUE_MAX_WIDTH_FRACTION)
    lines, scale = _layout_cue(text, width_px=max_w, target_height_px=target,
                               max_band_px=int(h * CUE_MAX_BAND_FRACTION))
    (_, th), base = cv2.getTextSize(text, font, scale, 2)
    thickness = max(2, round(th / CUE_STROKE_DIVISOR))  # stroke in step with the letters' size
    widths = [cv2.getTextSize(line, font, scale, thickness)[0][0] for line in lines]
    if max(widths) > max_w:  # the bolder stroke made a line a little wider
        scale *= max_w / max(widths)
        widths = [cv2.getTextSize(line, font, scale, thickness)[0][0] for line in lines]
    (_, th), base = cv2.getTextSize(text, font, scale, thickness)
    pitch = int((th + base) * CUE_LINE_SPACING)
    band = len(lines) * pitch + target // 2
    cv2.rectangle(out, (0, h - band), (w, h), BLACK, -1)
    top = h - band + target // 4 + (pitch - th - base) // 2
    for i, (line, tw) in enumerate(zip(lines, widths)):
        cv2.putText(out, line, ((w - tw) // 2, top + i * pitch + th), font, scale, WHITE, thickness, cv2.LINE_AA)
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
        weight = max(1, round(scale * LABEL_STROKE_PER_SCALE))  # thin strokes blur at 2-3 m
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_DUPLEX, scale, weight)
        margin = max(4, r // 12)
        if tw > w - 2 * margin:  # a long (clinic's own) title on a narrow image: smaller, never cut
            scale *= (w - 2 * margin) / tw
            (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_DUPLEX, scale, weight)
        # Centred under the dial, but never cut by the image's right edge.
        x = max(margin, min(cx - tw // 2, w - tw - margin))
        y = cy + int(r * 0.75)
        cv2.rectangle(out, (x - margin // 2, y - th - margin // 2), (x + tw + margin // 2, y + base + margin // 2),
                      BLACK, -1)
        cv2.putText(out, label, (x, y), cv2.FONT_HERSHEY_DUPLEX, scale, WHITE, weight, cv2.LINE_AA)
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
    label = exercise_title(pipeline.exercise)
    if reps is not None:
        label += "  |  " + message("repetitions.count_label", count=reps)
    out = render_range_gauge(out, angles.get(pipeline.channel), min_deg=safe.min_deg, max_deg=safe.max_deg,
                             caution_margin_deg=safe.caution_margin_deg, label=label,
                             limits=pipeline.exercise.tracking.limits)
    pacer_state = getattr(pipeline, "pacer_state", None)
    if pacer_state is not None:
        out = render_pacer_corner(out, pacer_state)
    return render_cue_line(out, cue.text() if cue is not None else None)


def compute_fit_size(image_size: tuple[int, int], /, *, box_px: tuple[int, int], upscale: bool = True) -> tuple[int, int]:
    """(width, height) of an image of ``image_size`` (width, height) scaled to fit ``box_px``
    whole, aspect ratio kept (never enlarged with ``upscale=False``)."""
    w, h = image_size
    k = min(box_px[0] / w, box_px[1] / h)
    if not upscale:
        k = min(k, 1.0)
    return max(1, round(w * k)), max(1, round(h * k))


class PracticeWindow:
    """The on-screen window; ``show`` returns False on q, Esc or when the window is closed.

    Full screen by default, so the patient can read it from 2-3 m. OpenCV's window (Qt build)
    shrinks an image to its window but never enlarges one, so the window measures its own
    viewport once (it shows a very wide, then a very tall black probe and reads the shown
    size back) and every frame is scaled to fill it, aspect ratio kept, with black bars:
    a 640x480 camera fills the screen's height instead of sitting small in the middle.
    Without full screen (``fullscreen=False``, or a display without a window manager, which
    ignores the request) the window is the image fitted to ``WINDOWED_MAX_PX`` (OpenCV's own
    first size is 400x300). No toolbar or status bar: the patient has nothing to click.
    """

    def __init__(self, title: str = WINDOW_TITLE, *, fullscreen: bool = True) -> None:
        cv2 = _cv2()
        self.title = title
        self.fullscreen = fullscreen
        self.view_px: tuple[int, int] | None = None  # (width, height) the frames are scaled to
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._shown = False

    def _measure_view_px(self) -> tuple[int, int]:
        """The viewport's (width, height): each probe is shrunk to it along its long side."""
        cv2 = _cv2()
        sizes = []
        for probe in (np.zeros((PROBE_SHORT_PX, PROBE_LONG_PX), np.uint8),
                      np.zeros((PROBE_LONG_PX, PROBE_SHORT_PX), np.uint8)):
            previous, same = None, 0
            for _ in range(PROBE_MAX_POLLS):  # until the window manager has settled the size
                cv2.imshow(self.title, probe)
                cv2.waitKey(PROBE_POLL_MS)
                _, _, w, h = cv2.getWindowImageRect(self.title)
                same = same + 1 if (w, h) == previous else 0
                previous = (w, h)
                if same >= PROBE_STABLE_POLLS:
                    break
            sizes.append(previous)
        return sizes[0][0], sizes[1][1]

    def _open(self, image_size: tuple[int, int]) -> None:
        cv2 = _cv2()
        windowed = compute_fit_size(image_size, box_px=WINDOWED_MAX_PX)
        if self.fullscreen:
            cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
            view = self._measure_view_px()
            if view[0] >= windowed[0] and view[1] >= windowed[1]:
                self.view_px = view
                return
            log.info("Full screen was not granted (viewport %dx%d): showing a window instead.", *view)
        cv2.resizeWindow(self.title, *windowed)
        self.view_px = windowed

    def show(self, image_bgr: np.ndarray, /, *, t_s: float | None = None) -> bool:
        """Show one frame (``t_s``, the session time, is not needed on screen)."""
        cv2 = _cv2()
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            return False
        h, w = image_bgr.shape[:2]
        if self.view_px is None:
            self._open((w, h))
        fit_w, fit_h = compute_fit_size((w, h), box_px=self.view_px)
        if (fit_w, fit_h) != (w, h):
            image_bgr = cv2.resize(image_bgr, (fit_w, fit_h), interpolation=cv2.INTER_LINEAR)
        top, left = (self.view_px[1] - fit_h) // 2, (self.view_px[0] - fit_w) // 2
        if top or left:  # black bars, not the toolkit's grey
            image_bgr = cv2.copyMakeBorder(image_bgr, top, self.view_px[1] - fit_h - top, left,
                                           self.view_px[0] - fit_w - left, cv2.BORDER_CONSTANT, value=BLACK)
        cv2.imshow(self.title, image_bgr)
        self._shown = True
        return (cv2.waitKey(1) & 0xFF) not in QUIT_KEYS

    def close(self) -> None:
        _cv2().destroyWindow(self.title)


class VideoFileSink:
    """Writes the annotated frames to an MP4 file (only with ``--record-video``), in real time:
    given each frame's session time ``t_s``, each frame goes to its slot at the file's ``fps``,
    the slots of frames the pipeline dropped keep the previous image (what the screen showed),
    and a frame whose slot is already filled is skipped, so the recording
    lasts as long as the session. A pause longer than ``MAX_HOLD_S`` is not filled in full.
    (The image is referenced until the next frame: the renderer draws each frame anew.)
    Without ``t_s`` every frame is written once."""

    MAX_HOLD_S = 5.0

    def __init__(self, path, /, *, fps: float, size: tuple[int, int]) -> None:
        from pathlib import Path

        from core.errors import InputError

        cv2 = _cv2()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
        if not self._writer.isOpened():
            raise InputError(f"Cannot write a video to {self.path}; give a path ending in .mp4 in a writable folder.")
        self.size = size
        self.fps = float(fps)
        self.frames_written = 0
        self._t0: float | None = None
        self._last: np.ndarray | None = None

    def show(self, image_bgr: np.ndarray, /, *, t_s: float | None = None) -> bool:
        held = 0
        if t_s is not None:
            if self._t0 is None:
                self._t0 = t_s
            slot = math.floor((t_s - self._t0) * self.fps + 0.5)  # this frame's slot (0-based)
            if slot < self.frames_written:
                return True  # its slot is filled: skip it
            if self._last is not None:  # the slots since the last frame keep the last image
                held = min(slot - self.frames_written, max(0, round(self.MAX_HOLD_S * self.fps)))
        if (image_bgr.shape[1], image_bgr.shape[0]) != self.size:
            image_bgr = _cv2().resize(image_bgr, self.size)
        for _ in range(held):
            self._writer.write(self._last)
        self._writer.write(image_bgr)
        self.frames_written += held + 1
        self._last = image_bgr if t_s is not None else None
        return True

    def close(self) -> None:
        self._writer.release()
