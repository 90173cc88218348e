"""The calibration window: the live angle during capture, then the proposal and its keys.

Only the command line uses this module (it opens an OpenCV window; library code never
does). Drawing reuses :mod:`feedback.render`; patient-facing text comes from the message
catalogue, therapist-facing text (the proposal and the keys) is plain.
"""

from __future__ import annotations

import math

import numpy as np

from calibration.guided import CaptureStatus

WINDOW_NAME = "MindMove calibration"
FINISH_KEYS = (13, 27, ord("q"), ord(" "))  # Enter, Esc, q, space: end the capture
DECISION_KEYS = {ord("a"): "accept", ord("e"): "edit", ord("r"): "reject"}
KEY_POLL_MS = 1


def _readable(text: str) -> str:
    """``right_shoulder_flexion`` -> ``right shoulder flexion`` for the screen."""
    return text.replace("_", " ")


class CalibrationWindow:
    """An OpenCV window; ``show_capture`` is an ``on_frame`` callback for :mod:`calibration.guided`."""

    def __init__(self, motions: tuple[str, ...], *, instruction: str) -> None:
        import cv2

        self._cv2 = cv2
        self.motions = motions
        self.instruction = instruction
        self.last_image: np.ndarray | None = None
        cv2.namedWindow(WINDOW_NAME, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._sized = False

    def _show(self, image: np.ndarray) -> None:
        if not self._sized:  # OpenCV's own first size (Qt) is 400x300, too small to read
            from feedback.render_practice import WINDOWED_MAX_PX, compute_fit_size

            h, w = image.shape[:2]
            self._cv2.resizeWindow(WINDOW_NAME, *compute_fit_size((w, h), box_px=WINDOWED_MAX_PX, upscale=False))
            self._sized = True
        self._cv2.imshow(WINDOW_NAME, image)

    def show_capture(self, frame, status: CaptureStatus) -> bool:
        from feedback.render import render_pose_overlay, render_text
        from feedback.render_practice import render_cue_line

        shown = {f"{m}_deg": status.angles_deg.get(m, math.nan) for m in self.motions}
        live = ", ".join(f"{_readable(m)} {v:.0f} deg" if math.isfinite(v) else f"{_readable(m)} -" for m, v in
                         ((m, status.angles_deg.get(m, math.nan)) for m in self.motions))
        image = render_pose_overlay(frame.image_bgr, status.pose, shown)
        # The therapist's line (live angle, time) at the top; the patient's instruction in the
        # large band at the bottom, as in practice, readable from where the patient stands.
        image = render_text(image, f"{live}   ({status.elapsed_s:.0f} s, Enter to finish)")
        image = render_cue_line(image, self.instruction)
        self.last_image = image
        self._show(image)
        key = self._cv2.waitKey(KEY_POLL_MS) & 0xFF
        return key not in FINISH_KEYS

    def ask_decision(self, text: str) -> str:
        """Show ``text`` over the last frame and wait for a, e or r."""
        from feedback.render_practice import render_cue_line

        base = self.last_image if self.last_image is not None else np.zeros((480, 640, 3), np.uint8)
        # On a black band, in large letters: the sky or a bright wall cannot swallow it.
        image = render_cue_line(base, _readable(text) + ":  a accept, e edit, r reject")
        while True:
            self._show(image)
            key = self._cv2.waitKey(0) & 0xFF
            if key in DECISION_KEYS:
                return DECISION_KEYS[key]

    def close(self) -> None:
        self._cv2.destroyWindow(WINDOW_NAME)
