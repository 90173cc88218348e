"""The patient's screen during a functional test, and the therapist's keys.

Drawn on the camera image: the skeleton, the one instruction (or countdown, or the result)
in large letters on the black band at the bottom, as in practice (readable from 2-3 m), a big
countdown number in the middle, and a small line at the top for the therapist (the test,
the seconds since it started, the stands seen, the keys). Every patient-facing sentence comes
from the message catalogue (``[assessment]`` in ``feedback/messages.toml``); the result is
stated plainly, never compared with anyone.

Keys: space starts now (skips the wait for the start posture), s or Enter stops and
measures, q or Esc cancels (nothing is stored).
"""

from __future__ import annotations

import numpy as np

from feedback.assessments.protocol import KEY_CANCEL, KEY_START, KEY_STOP, ProtocolView
from feedback.messages import message
from feedback.render import render_skeleton, render_text
from feedback.render_practice import BLACK, WHITE, PracticeWindow, compute_fit_size, render_cue_line

WINDOW_TITLE = "MindMove assessment"
KEYS = {ord(" "): KEY_START, ord("s"): KEY_STOP, ord("S"): KEY_STOP, 13: KEY_STOP,
        ord("q"): KEY_CANCEL, ord("Q"): KEY_CANCEL, 27: KEY_CANCEL}
COUNTDOWN_HEIGHT_FRACTION = 0.35  # the countdown digit, of the image height


def _cv2():
    import cv2

    return cv2


def render_assessment_frame(image_bgr: np.ndarray, pose, view: ProtocolView, /, *, title: str, t_s: float,
                            text: str | None = None) -> np.ndarray:
    """The patient's view of one frame; ``text`` replaces the protocol's message (the result)."""
    cv2 = _cv2()
    out = render_skeleton(image_bgr, pose)
    therapist = title
    if view.t_running_s is not None and view.phase == "running":
        therapist += f"  |  {t_s - view.t_running_s:.0f} s"
        if view.stands:
            therapist += f"  |  {view.stands} stands seen"
    therapist += "  |  space start, s stop, q cancel"
    out = render_text(out, therapist)
    if view.phase == "countdown" and "count" in view.params:
        h, w = out.shape[:2]
        digit = str(view.params["count"])
        scale = h * COUNTDOWN_HEIGHT_FRACTION / 22.0
        thickness = max(4, int(scale * 2))
        (tw, th), _ = cv2.getTextSize(digit, cv2.FONT_HERSHEY_DUPLEX, scale, thickness)
        origin = ((w - tw) // 2, (h + th) // 2)
        cv2.putText(out, digit, origin, cv2.FONT_HERSHEY_DUPLEX, scale, BLACK, thickness + 8, cv2.LINE_AA)
        cv2.putText(out, digit, origin, cv2.FONT_HERSHEY_DUPLEX, scale, WHITE, thickness, cv2.LINE_AA)
    line = text if text is not None else (message(view.message_key, **view.params) if view.message_key else None)
    return render_cue_line(out, line)


class AssessmentWindow(PracticeWindow):
    """The practice window (full screen, scaled, black bars) that also reports the keys:
    after each ``show``, :attr:`last_key` is ``start``, ``stop``, ``cancel`` or None."""

    def __init__(self, *, fullscreen: bool = True) -> None:
        super().__init__(WINDOW_TITLE, fullscreen=fullscreen)
        self.last_key: str | None = None

    def show(self, image_bgr: np.ndarray, /, *, t_s: float | None = None) -> bool:
        cv2 = _cv2()
        self.last_key = None
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.last_key = KEY_CANCEL
            return False
        h, w = image_bgr.shape[:2]
        if self.view_px is None:
            self._open((w, h))
        fit_w, fit_h = compute_fit_size((w, h), box_px=self.view_px)
        if (fit_w, fit_h) != (w, h):
            image_bgr = cv2.resize(image_bgr, (fit_w, fit_h), interpolation=cv2.INTER_LINEAR)
        top, left = (self.view_px[1] - fit_h) // 2, (self.view_px[0] - fit_w) // 2
        if top or left:
            image_bgr = cv2.copyMakeBorder(image_bgr, top, self.view_px[1] - fit_h - top, left,
                                           self.view_px[0] - fit_w - left, cv2.BORDER_CONSTANT, value=BLACK)
        cv2.imshow(self.title, image_bgr)
        self._shown = True
        self.last_key = KEYS.get(cv2.waitKey(1) & 0xFF)
        return self.last_key != KEY_CANCEL

    def hold(self, image_bgr: np.ndarray, /, *, seconds: float) -> None:
        """Show ``image_bgr`` for ``seconds`` (any key ends it early)."""
        cv2 = _cv2()
        self.show(image_bgr)
        cv2.waitKey(max(1, int(seconds * 1000)))
