"""Drawing the breathing guide onto a frame (the renderer: the one place that draws).

A filled circle grows on the inhale and shrinks on the exhale (``PacerState.size``, already
eased), inside a faint ring showing its largest size, with the catalogue's text under it.
Colours are from the Okabe-Ito palette (safe for the common colour-vision deficiencies):
blue while breathing in, orange while breathing out, and the hold keeps the shape still.
Text is white with a dark outline, large, so it reads on any background.
"""

from __future__ import annotations

import numpy as np

from feedback.messages import message
from feedback.pacer import EXHALE, HOLD_IN, HOLD_OUT, INHALE, PacerState

# Okabe-Ito, as BGR
BLUE_BGR = (178, 114, 0)
ORANGE_BGR = (0, 159, 230)
SKY_BGR = (233, 180, 86)
WHITE_BGR = (255, 255, 255)
DARK_BGR = (20, 20, 20)
PHASE_COLOURS = {INHALE: BLUE_BGR, HOLD_IN: SKY_BGR, EXHALE: ORANGE_BGR, HOLD_OUT: SKY_BGR}
MIN_RADIUS_SHARE = 0.25  # the smallest circle, as a share of the largest
MAX_RADIUS_SHARE = 0.32  # the largest circle, as a share of the frame's shorter side
TEXT_HEIGHT_SHARE = 0.07  # text height, as a share of the frame height


def _cv2():
    import cv2  # lazily: importing this module draws nothing and loads no OpenCV

    return cv2


def render_pacer(image_bgr: np.ndarray, state: PacerState, /, *, caption_key: str | None = None) -> np.ndarray:
    """A copy of ``image_bgr`` with the pacer drawn; ``caption_key`` adds a second line (a cue)."""
    cv2 = _cv2()
    out = image_bgr.copy()
    h, w = out.shape[:2]
    centre = (w // 2, int(h * 0.42))
    r_max = int(MAX_RADIUS_SHARE * min(h, w))
    r_min = int(MIN_RADIUS_SHARE * r_max)
    radius = int(round(r_min + (r_max - r_min) * min(1.0, max(0.0, state.size))))
    thick = max(2, r_max // 40)
    overlay = out.copy()
    cv2.circle(overlay, centre, radius, PHASE_COLOURS[state.phase], -1, cv2.LINE_AA)
    cv2.addWeighted(overlay, 0.75, out, 0.25, 0, dst=out)
    cv2.circle(out, centre, r_max, WHITE_BGR, thick, cv2.LINE_AA)
    cv2.circle(out, centre, radius, WHITE_BGR, thick, cv2.LINE_AA)
    y = centre[1] + r_max + int(TEXT_HEIGHT_SHARE * h * 1.6)
    _centred_text(out, message(state.message_key), y, TEXT_HEIGHT_SHARE * h)
    if caption_key is not None:
        _centred_text(out, message(caption_key), y + int(TEXT_HEIGHT_SHARE * h * 1.5), 0.6 * TEXT_HEIGHT_SHARE * h)
    return out


def _centred_text(image: np.ndarray, text: str, baseline_y: int, height_px: float) -> None:
    cv2 = _cv2()
    font = cv2.FONT_HERSHEY_SIMPLEX
    (_, base_h), _ = cv2.getTextSize("Hg", font, 1.0, 2)
    scale = max(0.4, height_px / max(base_h, 1))
    thickness = max(1, int(round(scale * 2)))
    (tw, _), _ = cv2.getTextSize(text, font, scale, thickness)
    w = image.shape[1]
    if tw > 0.95 * w:  # keep long (translated) text inside the frame
        scale *= 0.95 * w / tw
        (tw, _), _ = cv2.getTextSize(text, font, scale, thickness)
    org = ((w - tw) // 2, int(baseline_y))
    cv2.putText(image, text, org, font, scale, DARK_BGR, thickness + 4, cv2.LINE_AA)
    cv2.putText(image, text, org, font, scale, WHITE_BGR, thickness, cv2.LINE_AA)


def render_message(image_bgr: np.ndarray, message_key: str, /) -> np.ndarray:
    """A copy of ``image_bgr`` with one catalogue message, centred (e.g. before the guide starts)."""
    out = image_bgr.copy()
    h = out.shape[0]
    _centred_text(out, message(message_key), int(h * 0.5), TEXT_HEIGHT_SHARE * h)
    return out
