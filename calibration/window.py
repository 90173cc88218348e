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


class CalibrationWindow:
    """An OpenCV window; ``show_capture`` is an ``on_frame`` callback for :mod:`calibration.guided`."""

    def __init__(self, motions: tuple[str, ...], *, instruction: str) -> None:
        import cv2

        self._cv2 = cv2
        self.motions = motions
        self.instruction = instruction
        self.last_image: np.ndarray | None = None
        cv2.namedWindow(WINDOW_NAME, cv2.WINDOW_NORMAL)

    def show_capture(self, frame, status: CaptureStatus) -> bool:
        from feedback.render import render_pose_overlay, render_text

        shown = {f"{m}_deg": status.angles_deg.get(m, math.nan) for m in self.motions}
        live = ", ".join(f"{m} {v:.0f} deg" if math.isfinite(v) else f"{m} -" for m, v in
                         ((m, status.angles_deg.get(m, math.nan)) for m in self.motions))
        image = render_pose_overlay(frame.image_bgr, status.pose, shown, caption=self.instruction)
        image = render_text(image, f"{live}   ({status.elapsed_s:.0f} s, Enter to finish)",
                            origin_px=(16, image.shape[0] - 24))
        self.last_image = image
        self._cv2.imshow(WINDOW_NAME, image)
        key = self._cv2.waitKey(KEY_POLL_MS) & 0xFF
        return key not in FINISH_KEYS

    def ask_decision(self, text: str) -> str:
        """Show ``text`` over the last frame and wait for a, e or r."""
        from feedback.render import render_text

        base = self.last_image if self.last_image is not None else np.zeros((480, 640, 3), np.uint8)
        image = render_text(base, text + "   a accept, e edit, r reject", origin_px=(16, 64))
        while True:
            self._cv2.imshow(WINDOW_NAME, image)
            key = self._cv2.waitKey(0) & 0xFF
            if key in DECISION_KEYS:
                return DECISION_KEYS[key]

    def close(self) -> None:
        self._cv2.destroyWindow(WINDOW_NAME)
