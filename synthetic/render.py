"""Render a simulated person as a video a pose model can read (tests and benchmarks only).

:func:`render_simulated_video` draws each body of a simulated series
(``attrs["render_bodies"]`` from :mod:`synthetic.assessments`) as a simple clothed mannequin:
filled limbs in trousers and a shirt, skin-coloured forearms, neck and head with hair, eyes
and nose, the far side darker, drawn far to near, over a plain wall and floor with the chair.
MediaPipe Pose finds such a figure in every frame (see ``tests/test_assessment_cli.py``),
so a command can be tested end to end on video with the real model while the true timing
is known. This is the only module of ``synthetic`` that imports OpenCV (a renderer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import InputError
from sensing.landmarks import LANDMARK_INDEX as I

WALL_BGR = (205, 212, 216)
FLOOR_BGR = (120, 138, 150)
CHAIR_BGR = (40, 70, 110)
SKIN_BGR = (150, 182, 226)
SHIRT_BGR = (165, 92, 40)
TROUSERS_BGR = (62, 52, 50)
SHOES_BGR = (30, 30, 30)
HAIR_BGR = (40, 45, 60)
FAR_SIDE_SHADE = 0.75
# Widths in metres of the drawn body parts (rounded limbs of an average adult).
WIDTH_M = {"thigh": 0.15, "shank": 0.11, "foot": 0.07, "upper_arm": 0.09, "forearm": 0.07, "trunk": 0.32,
           "neck": 0.10, "head_w": 0.19, "head_h": 0.24}


def _cv2():
    import cv2

    return cv2


def _shade(colour, k: float):
    return tuple(int(c * k) for c in colour)


def _draw_body(img: np.ndarray, px: np.ndarray, depth: np.ndarray, focal_px: float) -> None:
    cv2 = _cv2()

    def p(name):
        return tuple(int(round(v)) for v in px[I[name]])

    def width(name_m, at: str) -> int:
        return max(2, int(round(WIDTH_M[name_m] * focal_px / max(depth[I[at]], 0.3))))

    sides = sorted(("left", "right"), key=lambda s: -depth[I[f"{s}_hip"]])  # far side first
    for s in sides:
        k = FAR_SIDE_SHADE if s == sides[0] else 1.0
        cv2.line(img, p(f"{s}_hip"), p(f"{s}_knee"), _shade(TROUSERS_BGR, k), width("thigh", f"{s}_hip"), cv2.LINE_AA)
        cv2.line(img, p(f"{s}_knee"), p(f"{s}_ankle"), _shade(TROUSERS_BGR, k), width("shank", f"{s}_knee"), cv2.LINE_AA)
        cv2.line(img, p(f"{s}_heel"), p(f"{s}_foot_index"), _shade(SHOES_BGR, k), width("foot", f"{s}_heel"), cv2.LINE_AA)
        if s == sides[0]:
            _arm(img, p, width, s, k)
    hull = np.array([p("left_shoulder"), p("right_shoulder"), p("right_hip"), p("left_hip")], np.int32)
    cv2.fillConvexPoly(img, cv2.convexHull(hull), SHIRT_BGR, cv2.LINE_AA)
    mid_sh = (np.array(p("left_shoulder")) + p("right_shoulder")) // 2
    mid_hip = (np.array(p("left_hip")) + p("right_hip")) // 2
    cv2.line(img, tuple(int(v) for v in mid_sh), tuple(int(v) for v in mid_hip), SHIRT_BGR,
             width("trunk", "left_hip"), cv2.LINE_AA)
    ear = ((px[I["left_ear"]] + px[I["right_ear"]]) / 2).astype(int)
    cv2.line(img, tuple(int(v) for v in mid_sh), tuple(ear), SKIN_BGR, width("neck", "nose"), cv2.LINE_AA)
    hw, hh = width("head_w", "nose") // 2, width("head_h", "nose") // 2
    cv2.ellipse(img, tuple(ear), (hw, hh), 0, 0, 360, SKIN_BGR, -1, cv2.LINE_AA)
    cv2.ellipse(img, (int(ear[0]), int(ear[1] - hh // 4)), (hw + 1, int(hh * 0.8)), 0, 180, 360, HAIR_BGR, -1,
                cv2.LINE_AA)
    for eye in ("left_eye", "right_eye"):
        cv2.circle(img, p(eye), max(2, hw // 8), (40, 30, 30), -1, cv2.LINE_AA)
    cv2.circle(img, p("nose"), max(2, hw // 6), (120, 150, 200), -1, cv2.LINE_AA)
    _arm(img, p, width, sides[1], 1.0)


def _arm(img, p, width, side: str, k: float) -> None:
    cv2 = _cv2()
    cv2.line(img, p(f"{side}_shoulder"), p(f"{side}_elbow"), _shade(SHIRT_BGR, k * 0.92),
             width("upper_arm", f"{side}_shoulder"), cv2.LINE_AA)
    cv2.line(img, p(f"{side}_elbow"), p(f"{side}_wrist"), _shade(SKIN_BGR, k), width("forearm", f"{side}_elbow"),
             cv2.LINE_AA)
    cv2.circle(img, p(f"{side}_index"), max(2, width("forearm", f"{side}_wrist") // 2 + 1), _shade(SKIN_BGR, k), -1,
               cv2.LINE_AA)


def render_simulated_frame(series, i: int, /) -> np.ndarray:
    """Frame ``i`` of a simulated series (``attrs["render_bodies"]``, ``attrs["camera"]``) as BGR."""
    from synthetic.assessments import project_room_points

    cv2 = _cv2()
    cam = series.attrs["camera"]
    w, h = cam.image_size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = WALL_BGR
    floor = project_room_points(np.array([[-20.0, 6.0, 0.0], [20.0, 6.0, 0.0]]), cam)
    horizon = int(np.clip(floor[:, 1].mean(), 0, h))
    img[horizon:] = FLOOR_BGR
    chair = series.attrs.get("chair_m")
    if chair is not None:
        outline = project_room_points(chair, cam).astype(np.int32)
        cv2.polylines(img, [outline[:5]], False, CHAIR_BGR, 8, cv2.LINE_AA)
        cv2.polylines(img, [outline[5:]], False, CHAIR_BGR, 8, cv2.LINE_AA)
    bodies = [b for b in series.attrs["render_bodies"] if b.get("in_view", np.ones(len(series), bool))[i]]
    for body in sorted(bodies, key=lambda b: -float(np.median(b["depth_m"][i]))):
        _draw_body(img, body["pixel_px"][i], body["depth_m"][i], cam.focal_px)
    return img


def render_simulated_video(series, path: str | Path, /, *, fps: float | None = None) -> Path:
    """Write every frame of a simulated series to ``path`` (MP4); returns the path."""
    cv2 = _cv2()
    if "render_bodies" not in series.attrs:
        raise InputError("Expected a series from synthetic.assessments (with render_bodies), but got another.")
    path = Path(path)
    fps = fps or series.rate_hz
    w, h = series.attrs["camera"].image_size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        raise InputError(f"Cannot write a video to {path}.")
    try:
        for i in range(len(series)):
            writer.write(render_simulated_frame(series, i))
    finally:
        writer.release()
    return path
