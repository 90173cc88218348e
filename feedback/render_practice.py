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
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from feedback.exercises import exercise_title
from feedback.render import draw_skeleton_into, style_for_image
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
CUE_LAYOUT_CACHE_SIZE = 64  # cue layouts (and drawn bands) kept, by (text, width, height)
GAUGE_LAYER_CACHE_SIZE = 16  # drawn dials kept, by range, label (with the repetition count) and image size
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
    out = image_bgr.copy()
    draw_cue_line_into(out, text)
    return out


def draw_cue_line_into(image_bgr: np.ndarray, text: str | None, /) -> None:
    """:func:`render_cue_line` onto ``image_bgr`` itself. The band (opaque) is drawn once per
    cue and image size and pasted on every frame the cue stays on screen."""
    if not text:
        return
    h, w = image_bgr.shape[:2]
    band = _cue_band(text, w, h)
    image_bgr[h - band.shape[0]:] = band


@lru_cache(maxsize=CUE_LAYOUT_CACHE_SIZE)
def _cue_band(text: str, w: int, h: int) -> np.ndarray:
    """The black band with the cue's lines, (band height, w, 3); read-only (it is shared)."""
    cv2 = _cv2()
    font = cv2.FONT_HERSHEY_DUPLEX
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
    band_h = min(len(lines) * pitch + target // 2, h)
    band = np.zeros((band_h, w, 3), np.uint8)
    top = target // 4 + (pitch - th - base) // 2
    for i, (line, tw) in enumerate(zip(lines, widths)):
        cv2.putText(band, line, ((w - tw) // 2, top + i * pitch + th), font, scale, WHITE, thickness, cv2.LINE_AA)
    band.flags.writeable = False
    return band


def _gauge_angle(value_deg: float, lo: float, hi: float) -> float:
    """Screen angle (degrees, OpenCV ellipse convention) on a 180-degree arc from left to right."""
    frac = min(max((value_deg - lo) / (hi - lo), 0.0), 1.0)
    return 180.0 + 180.0 * frac


def render_range_gauge(image_bgr: np.ndarray, value_deg: float | None, /, *, min_deg: float, max_deg: float,
                       caution_margin_deg: float, label: str = "", limits: str = "upper") -> np.ndarray:
    """A copy with a half-dial at the top right: the comfortable range, caution and beyond
    zones, and a needle at ``value_deg`` (no needle when unknown)."""
    out = image_bgr.copy()
    draw_range_gauge_into(out, value_deg, min_deg=min_deg, max_deg=max_deg, caution_margin_deg=caution_margin_deg,
                          label=label, limits=limits)
    return out


@dataclass(frozen=True)
class _GaugeGeometry:
    cx: int
    cy: int
    r: int
    thick: int
    lo: float
    hi: float


def _gauge_geometry(w: int, h: int, min_deg: float, max_deg: float) -> _GaugeGeometry:
    r = int(min(h, w) * GAUGE_RADIUS_FRACTION)
    return _GaugeGeometry(cx=w - r - r // 4, cy=r + r // 3, r=r, thick=max(6, r // 6),
                          lo=min_deg - GAUGE_PAD_DEG, hi=max_deg + GAUGE_PAD_DEG)


@dataclass(frozen=True)
class _Layer:
    """A drawn patch at (x0, y0): its pixels, where it is opaque, and its soft edge."""

    x0: int
    y0: int
    pixels: np.ndarray  # (h, w, 3) drawn on black
    opaque: np.ndarray  # (h, w) uint8, 1 where fully covered
    edge_index: tuple[np.ndarray, np.ndarray]  # pixels partly covered (anti-aliased edge)
    edge_alpha: np.ndarray  # (n, 1) their coverage, 0-1

    def paste_into(self, image_bgr: np.ndarray) -> None:
        h, w = self.pixels.shape[:2]
        roi = image_bgr[self.y0:self.y0 + h, self.x0:self.x0 + w]
        _cv2().copyTo(self.pixels, self.opaque, roi)  # in place, into the view (numpy's masked copy is 100x slower)
        under = roi[self.edge_index].astype(np.float32)
        over = self.pixels[self.edge_index].astype(np.float32)
        roi[self.edge_index] = (under + (over - under) * self.edge_alpha + 0.5).astype(np.uint8)


@lru_cache(maxsize=GAUGE_LAYER_CACHE_SIZE)
def _gauge_layer(w: int, h: int, min_deg: float, max_deg: float, caution_margin_deg: float, label: str,
                 limits: str) -> _Layer:
    """The parts of the gauge that do not move (dial, zones, label), drawn once per range,
    label and image size (the needle is drawn on every frame)."""
    cv2 = _cv2()
    g = _gauge_geometry(w, h, min_deg, max_deg)
    canvas = np.zeros((h, w, 3), np.uint8)
    cover = np.zeros((h, w), np.uint8)
    for target, colour in ((canvas, BLACK), (cover, 255)):
        cv2.ellipse(target, (g.cx, g.cy), (g.r + g.thick, g.r + g.thick), 0, 180, 360, colour, -1, cv2.LINE_AA)
    zones = [(g.lo, max_deg, OKABE_BLUISH_GREEN)]
    if limits in ("upper", "both"):
        zones += [(max_deg - caution_margin_deg, max_deg, OKABE_ORANGE), (max_deg, g.hi, OKABE_VERMILLION)]
    if limits in ("lower", "both"):
        zones += [(min_deg, min_deg + caution_margin_deg, OKABE_ORANGE), (g.lo, min_deg, OKABE_VERMILLION)]
    for a, b, colour in zones:  # the arcs' round ends reach below the dial: they are covered too
        for target, paint in ((canvas, colour), (cover, 255)):
            cv2.ellipse(target, (g.cx, g.cy), (g.r, g.r), 0, _gauge_angle(a, g.lo, g.hi),
                        _gauge_angle(b, g.lo, g.hi), paint, g.thick, cv2.LINE_AA)
    if label:
        _draw_gauge_label(canvas, cover, label, g, w)
    ys, xs = np.nonzero(cover)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pixels, alpha = canvas[y0:y1, x0:x1].copy(), cover[y0:y1, x0:x1]
    edge = np.nonzero((alpha > 0) & (alpha < 255))
    pixels.flags.writeable = False
    return _Layer(x0=int(x0), y0=int(y0), pixels=pixels, opaque=(alpha == 255).astype(np.uint8), edge_index=edge,
                  edge_alpha=(alpha[edge].astype(np.float32) / 255.0)[:, None])


def _draw_gauge_label(canvas: np.ndarray, cover: np.ndarray, label: str, g: _GaugeGeometry, w: int) -> None:
    cv2 = _cv2()
    scale = g.r / 110.0
    weight = max(1, round(scale * LABEL_STROKE_PER_SCALE))  # thin strokes blur at 2-3 m
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_DUPLEX, scale, weight)
    margin = max(4, g.r // 12)
    if tw > w - 2 * margin:  # a long (clinic's own) title on a narrow image: smaller, never cut
        scale *= (w - 2 * margin) / tw
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_DUPLEX, scale, weight)
    # Centred under the dial, but never cut by the image's right edge.
    x = max(margin, min(g.cx - tw // 2, w - tw - margin))
    y = g.cy + int(g.r * 0.75)
    box = ((x - margin // 2, y - th - margin // 2), (x + tw + margin // 2, y + base + margin // 2))
    cv2.rectangle(canvas, *box, BLACK, -1)
    cv2.rectangle(cover, *box, 255, -1)
    cv2.putText(canvas, label, (x, y), cv2.FONT_HERSHEY_DUPLEX, scale, WHITE, weight, cv2.LINE_AA)


def draw_range_gauge_into(image_bgr: np.ndarray, value_deg: float | None, /, *, min_deg: float, max_deg: float,
                          caution_margin_deg: float, label: str = "", limits: str = "upper") -> None:
    """:func:`render_range_gauge` onto ``image_bgr`` itself: the dial's still parts pasted from
    a cached layer, the needle and its number drawn."""
    cv2 = _cv2()
    h, w = image_bgr.shape[:2]
    _gauge_layer(w, h, float(min_deg), float(max_deg), float(caution_margin_deg), label, limits).paste_into(image_bgr)
    if value_deg is None or not math.isfinite(value_deg):
        return
    g = _gauge_geometry(w, h, min_deg, max_deg)
    ang = math.radians(_gauge_angle(value_deg, g.lo, g.hi))
    tip = (int(g.cx + (g.r + g.thick // 2) * math.cos(ang)), int(g.cy + (g.r + g.thick // 2) * math.sin(ang)))
    cv2.line(image_bgr, (g.cx, g.cy), tip, BLACK, max(4, g.thick // 2) + 4, cv2.LINE_AA)
    cv2.line(image_bgr, (g.cx, g.cy), tip, WHITE, max(4, g.thick // 2), cv2.LINE_AA)
    text = f"{value_deg:.0f}"
    scale = g.r / 60.0
    (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
    origin = (g.cx - tw // 2, g.cy + int(g.r * 0.45))
    cv2.putText(image_bgr, text, origin, cv2.FONT_HERSHEY_DUPLEX, scale, BLACK, 6, cv2.LINE_AA)
    cv2.putText(image_bgr, text, origin, cv2.FONT_HERSHEY_DUPLEX, scale, WHITE, 2, cv2.LINE_AA)


def render_pacer_corner(image_bgr: np.ndarray, state, /) -> np.ndarray:
    """A copy with the breathing guide (:func:`feedback.render_breath.render_pacer`) in the
    bottom-left corner, on a dark square, above the cue band."""
    out = image_bgr.copy()
    draw_pacer_corner_into(out, state)
    return out


def draw_pacer_corner_into(image_bgr: np.ndarray, state, /) -> None:
    """:func:`render_pacer_corner` onto ``image_bgr`` itself."""
    from feedback.render_breath import render_pacer

    h, w = image_bgr.shape[:2]
    side = int(min(h, w) * PACER_SIZE_FRACTION)
    pad = max(4, side // 20)
    y1 = max(side, h - int(h * PACER_BOTTOM_CLEARANCE))
    y0, x0 = y1 - side, pad
    roi = image_bgr[y0:y1, x0:x0 + side]
    backing = np.full_like(roi, 25)
    backing = (PACER_ALPHA * backing + (1 - PACER_ALPHA) * roi).astype(np.uint8)
    image_bgr[y0:y1, x0:x0 + side] = render_pacer(backing, state)


def render_practice_frame(image_bgr: np.ndarray, pose, angles: dict, cue, pipeline, /) -> np.ndarray:
    """The whole practice view for one frame (the ``render`` of :func:`feedback.session.run_practice`).
    With a pacer running (``pipeline.pacer_state``), the breathing guide sits in a corner.
    One copy of the camera image, every layer drawn onto it; the still parts (the dial, the
    cue band) come from caches, redrawn only when they change."""
    out = image_bgr.copy()
    draw_skeleton_into(out, pose, visibility_threshold=pipeline.visibility_threshold, style=style_for_image(out))
    safe = pipeline.safe
    reps = pipeline.rep_engine.count if pipeline.rep_engine is not None else None
    label = exercise_title(pipeline.exercise)
    if reps is not None:
        label += "  |  " + message("repetitions.count_label", count=reps)
    draw_range_gauge_into(out, angles.get(pipeline.channel), min_deg=safe.min_deg, max_deg=safe.max_deg,
                          caution_margin_deg=safe.caution_margin_deg, label=label,
                          limits=pipeline.exercise.tracking.limits)
    pacer_state = getattr(pipeline, "pacer_state", None)
    if pacer_state is not None:
        draw_pacer_corner_into(out, pacer_state)
    draw_cue_line_into(out, cue.text() if cue is not None else None)
    return out


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

    stage = "display"  # its time in a profile (core.timing)

    def __init__(self, title: str = WINDOW_TITLE, *, fullscreen: bool = True) -> None:
        cv2 = _cv2()
        self.title = title
        self.fullscreen = fullscreen
        self.view_px: tuple[int, int] | None = None  # (width, height) the frames are scaled to
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._shown = False
        self._canvas: np.ndarray | None = None  # the view with black bars, reused frame after frame
        self._canvas_key: tuple[int, int, int, int] | None = None

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
        top, left = (self.view_px[1] - fit_h) // 2, (self.view_px[0] - fit_w) // 2
        if top or left:  # black bars, not the toolkit's grey: scaled straight into a kept black canvas
            view_w, view_h = self.view_px
            if self._canvas_key != (view_w, view_h, fit_w, fit_h):  # new bars: a new black canvas
                self._canvas = np.zeros((view_h, view_w, 3), np.uint8)
                self._canvas_key = (view_w, view_h, fit_w, fit_h)
            cv2.resize(image_bgr, (fit_w, fit_h), dst=self._canvas[top:top + fit_h, left:left + fit_w],
                       interpolation=cv2.INTER_LINEAR)
            image_bgr = self._canvas
        elif (fit_w, fit_h) != (w, h):
            image_bgr = cv2.resize(image_bgr, (fit_w, fit_h), interpolation=cv2.INTER_LINEAR)
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
    stage = "record video"  # its time in a profile (core.timing)

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
