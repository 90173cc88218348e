"""Coordinates for gait analysis, shared signal helpers, and who is being tracked.

- **Coordinates** (:func:`compute_floor_frame`). A series with pixel coordinates (video) is
  analysed in the image: the horizontal image axis is the walking axis (side-on view);
  MediaPipe's world landmarks are not used for progression because they are centred on the
  hips. A series without pixels (motion capture) is analysed in world metres, projected on the
  floor plane (normal ``up``).
- **Identity** (:func:`detect_identity_switches`). A single-person pose model follows one
  person and silently jumps to another. A new identity starts where the mid-hip jumps by more
  than ``JUMP_TORSO_LENGTHS`` torso lengths in one frame, where the torso length changes by
  more than ``SIZE_JUMP_RATIO`` in one frame, or after nobody was found for ``GAP_S``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feedback.smoothing import compute_true_runs, fill_gaps, smooth_butterworth
from sensing.landmarks import ATTR_IDENTITY_TRACKED, LANDMARK_INDEX, LandmarkSeries

SIDES = ("left", "right")
FOOT_POINTS = ("heel", "foot_index")
MIN_VISIBILITY = 0.5  # MediaPipe's own presence threshold for drawing a landmark
LANDMARK_CUTOFF_HZ = 6.0  # light smoothing of every trajectory (human gait content < 6 Hz, Winter 2009)
LOWPASS_ORDER = 2  # every low-pass here: 2nd-order Butterworth, run forward and backward
JUMP_TORSO_LENGTHS = 1.0  # no body part moves a torso length in 1/30 s while walking
SIZE_JUMP_RATIO = 1.35  # the torso's image length cannot change by 35 % between two frames
GAP_S = 0.5  # nobody found this long: whoever comes next may be someone else
LEG_POINTS = ("knee", "ankle", "heel", "foot_index")
# A single-camera pose model mixes up the left and right leg in side views for a frame or
# two. Exchanging them is right when it at least halves how far the legs' points moved since
# the previous frame (at a crossing both choices move alike, and nothing is exchanged).
SWAP_MOVEMENT_RATIO = 0.5


def other_side(side: str) -> str:
    return "right" if side == "left" else "left"


def compute_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end inclusive) of each run of True (:func:`feedback.smoothing.compute_true_runs`)."""
    return [(start, stop - 1) for start, stop in compute_true_runs(mask)]


def lowpass(t_s: np.ndarray, values: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth (:func:`feedback.smoothing.smooth_butterworth`), each
    finite run on its own; unchanged when ``cutoff_hz`` is not below the Nyquist frequency."""
    t = np.asarray(t_s, dtype=float)
    if t.size < 2:
        return np.array(values, dtype=float)
    rate_hz = 1.0 / float(np.median(np.diff(t)))
    if not math.isfinite(rate_hz) or cutoff_hz >= rate_hz / 2:
        return np.array(values, dtype=float)
    return smooth_butterworth(t, values, cutoff_hz=cutoff_hz, order=LOWPASS_ORDER)


def fill(t_s: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Every interior NaN run interpolated (:func:`feedback.smoothing.fill_gaps`, no length
    limit); leading and trailing NaN stay unknown."""
    return fill_gaps(t_s, values, max_gap_s=math.inf)


def unwrap(angle_rad: np.ndarray) -> np.ndarray:
    """``np.unwrap`` over the known samples (a NaN would poison every angle after it)."""
    out = np.full(len(angle_rad), np.nan)
    ok = np.isfinite(angle_rad)
    out[ok] = np.unwrap(angle_rad[ok])
    return out


def bridge(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Close runs of False no longer than ``max_gap`` that have True on both sides."""
    out = np.array(mask, bool)
    for s, e in compute_runs(~out):
        if s > 0 and e < len(out) - 1 and e - s + 1 <= max_gap:
            out[s:e + 1] = True
    return out


@dataclass(frozen=True)
class FloorFrame:
    """Floor-plane coordinates for the analysis (2-D; image x and 0 on video)."""

    pos: dict  # landmark name -> (T, 2)
    height: dict  # landmark name -> (T,) along up
    known: dict  # name -> (T,) bool
    pixel: bool
    rate_hz: float
    t_s: np.ndarray  # (T,) the series' times
    side_swaps: int = 0  # frames whose left and right legs were exchanged back (video)

    def mid(self, a: str, b: str) -> np.ndarray:
        return (self.pos[a] + self.pos[b]) / 2


def compute_floor_frame(series: LandmarkSeries, /) -> FloorFrame:
    """Image x (video) or world floor-plane coordinates (motion capture) of every landmark."""
    if series.pixel_px is not None and bool(np.isfinite(series.pixel_px).any()):
        return _pixel_frame(series)
    up = np.asarray(series.up, float)
    up = up / np.linalg.norm(up)
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(up, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    pos, height, known = {}, {}, {}
    for name, j in LANDMARK_INDEX.items():
        w = series.world_m[:, j, :]
        ok = np.isfinite(w).all(axis=1) & (series.visibility[:, j] >= MIN_VISIBILITY)
        w = np.where(ok[:, None], w, np.nan)
        pos[name] = np.stack([w @ e1, w @ e2], axis=1)
        height[name] = w @ up
        known[name] = ok
    return FloorFrame(pos, height, known, False, series.rate_hz, series.t_s)


def correct_side_swaps(pixel_px: np.ndarray, visibility: np.ndarray, /) -> tuple[np.ndarray, np.ndarray, int]:
    """Pixels and visibility with the left and right legs exchanged back in frames where the
    model swapped them (see ``SWAP_MOVEMENT_RATIO``), and how many frames that was."""
    px, vis = pixel_px.copy(), visibility.copy()
    left = [LANDMARK_INDEX[f"left_{p}"] for p in LEG_POINTS]
    right = [LANDMARK_INDEX[f"right_{p}"] for p in LEG_POINTS]
    swaps, last = 0, None
    for i in range(len(px)):
        if not np.isfinite(px[i, left + right]).all():
            continue
        if last is not None:
            keep = np.linalg.norm(px[i, left] - px[last, left], axis=1).sum() + \
                np.linalg.norm(px[i, right] - px[last, right], axis=1).sum()
            swap = np.linalg.norm(px[i, right] - px[last, left], axis=1).sum() + \
                np.linalg.norm(px[i, left] - px[last, right], axis=1).sum()
            if swap < SWAP_MOVEMENT_RATIO * keep:
                px[i, left + right] = px[i, right + left]
                vis[i, left + right] = vis[i, right + left]
                swaps += 1
        last = i
    return px, vis, swaps


def _pixel_frame(series: LandmarkSeries) -> FloorFrame:
    pos, height, known = {}, {}, {}
    pixels, visibility, swaps = correct_side_swaps(series.pixel_px, series.visibility)
    for name, j in LANDMARK_INDEX.items():
        p = pixels[:, j, :]
        ok = np.isfinite(p).all(axis=1) & (visibility[:, j] >= MIN_VISIBILITY)
        if series.image_size is not None:
            w, h = series.image_size
            ok &= (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
        p = np.where(ok[:, None], p, np.nan)
        pos[name] = np.stack([p[:, 0], np.zeros(len(p))], axis=1)
        pos[name][~ok] = np.nan
        height[name] = -p[:, 1]
        known[name] = ok
    return FloorFrame(pos, height, known, True, series.rate_hz, series.t_s, swaps)


def pixel_mid(series: LandmarkSeries, a: str, b: str) -> np.ndarray:
    return (series.pixel_px[:, LANDMARK_INDEX[a]] + series.pixel_px[:, LANDMARK_INDEX[b]]) / 2


def pixel_len(series: LandmarkSeries, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(series.pixel_px[:, LANDMARK_INDEX[a]] - series.pixel_px[:, LANDMARK_INDEX[b]], axis=1)


def pixel_torso(series: LandmarkSeries) -> np.ndarray:
    """(T,) mid-shoulder to mid-hip length in pixels."""
    return np.linalg.norm(pixel_mid(series, "left_shoulder", "right_shoulder")
                          - pixel_mid(series, "left_hip", "right_hip"), axis=1)


def compute_body_size(series: LandmarkSeries, fr: FloorFrame, sl: slice) -> float:
    """Torso length in the analysis unit over the stretch (pixel mode), else 1."""
    if not fr.pixel:
        return 1.0
    t = pixel_torso(series)[sl]
    t = t[np.isfinite(t)]
    return float(np.median(t)) if t.size else float("nan")


# ----------------------------------------------------------------------------- identity

def detect_identity_switches(series: LandmarkSeries, /) -> list[int]:
    """Frames where the tracked person changes (video, pixel coordinates); [] without pixels.

    A switch is a one-frame jump of the mid-hip by more than ``JUMP_TORSO_LENGTHS`` torso
    lengths, or of the torso length by more than ``SIZE_JUMP_RATIO`` (a limb length alone
    changes with foreshortening); nobody found for longer than ``GAP_S`` also starts a new
    stretch (reported the same way). A series of one identity of the several-people tracker
    (``attrs[ATTR_IDENTITY_TRACKED]``) has none: the tracker matched each frame to the person
    by position, size and body proportions, and a fast step or a noisy pose is no switch.
    """
    if series.pixel_px is None or series.attrs.get(ATTR_IDENTITY_TRACKED):
        return []
    hip = pixel_mid(series, "left_hip", "right_hip")
    torso = pixel_torso(series)
    present = np.isfinite(hip).all(axis=1) & np.isfinite(torso) & (torso > 0)
    switches: list[int] = []
    last = None
    for i in np.flatnonzero(present):
        if last is not None and _is_switch(series, hip, torso, last, i):
            switches.append(int(i))
        last = i
    return switches


def _is_switch(series: LandmarkSeries, hip: np.ndarray, torso: np.ndarray, last: int, i: int) -> bool:
    gap_s = series.t_s[i] - series.t_s[last]
    jump = np.linalg.norm(hip[i] - hip[last]) / max(torso[last], torso[i])
    size_jump = max(torso[last], torso[i]) / min(torso[last], torso[i]) > SIZE_JUMP_RATIO
    frames = max(1, round(gap_s * series.rate_hz))
    return bool(gap_s > GAP_S or jump > JUMP_TORSO_LENGTHS * frames or size_jump)


def compute_stretches(series: LandmarkSeries, switches: list[int], /) -> list[tuple[int, int]]:
    """(first, last) frame with a person of each stretch between identity switches."""
    present = series.frames_with_person()
    bounds = [0] + sorted(switches) + [len(series)]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = np.flatnonzero(present[a:b])
        if idx.size:
            out.append((a + int(idx[0]), a + int(idx[-1])))
    return out
