"""Keep only the tested person's frames when a single-person tracker jumped to someone else.

A pose model that follows one person (MediaPipe) silently jumps to whoever is more visible,
e.g. someone walking between the camera and the patient. The jumps are found with the gait
analysis's identity-switch rule (:func:`feedback.gait.detect_identity_switches`: the mid-hip
jumping by more than a torso length in one frame, the torso changing size by more than
``SIZE_JUMP_RATIO``, or nobody for ``GAP_S``), which splits the series into stretches. The
patient's are the longest stretch and every stretch like it: a torso of about the same size
(within ``SIZE_MATCH_RATIO``) that starts within reach of where the patient was last seen
(``REACH_TORSO_LENGTHS`` plus ``MAX_SPEED_TORSO_PER_S`` per second apart). Frames of other
stretches are blanked (unknown), and the analyses interpolate across them when the gap is
short (``MAX_HIDDEN_S`` in each analysis).

Only pixel series can be checked (world landmarks are centred on the hips). A multi-person
tracker that locks on to the patient (``sensing``, being built) makes this a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries

SIZE_MATCH_RATIO = 1.35      # the same person's torso changes less than this between stretches
REACH_TORSO_LENGTHS = 1.0    # ... and reappears within this of where it was last seen
MAX_SPEED_TORSO_PER_S = 4.0  # plus this much per second away (about 2 m/s: a brisk walk)


@dataclass(frozen=True)
class PatientFrames:
    """Which frames are the patient's (``mask``), and the stretches of others (frame ranges)."""

    mask: np.ndarray
    others: tuple[tuple[int, int], ...]
    switches: tuple[int, ...]

    @property
    def other_frames(self) -> int:
        return int(sum(b - a + 1 for a, b in self.others))


def _mid(px: np.ndarray, a: str, b: str) -> np.ndarray:
    return (px[:, LANDMARK_INDEX[a]] + px[:, LANDMARK_INDEX[b]]) / 2


def _torso_px(series: LandmarkSeries) -> tuple[np.ndarray, np.ndarray]:
    px = series.pixel_px
    hip = _mid(px, "left_hip", "right_hip")
    return hip, np.linalg.norm(_mid(px, "left_shoulder", "right_shoulder") - hip, axis=1)


def select_patient_frames(series: LandmarkSeries, /) -> PatientFrames:
    """The patient's frames; see the module docstring. Every frame is the patient's when the
    series has no pixel coordinates or no identity switch."""
    n = len(series)
    present = series.frames_with_person()
    if series.pixel_px is None or n == 0:
        return PatientFrames(present.copy(), (), ())
    from feedback.gait import detect_identity_switches

    switches = detect_identity_switches(series)
    if not switches:
        return PatientFrames(present.copy(), (), ())
    bounds = [0, *sorted(switches), n]
    stretches = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = np.flatnonzero(present[a:b])
        if idx.size:
            stretches.append((a + int(idx[0]), a + int(idx[-1])))
    hip, torso = _torso_px(series)
    size = [float(np.nanmedian(torso[a:b + 1])) for a, b in stretches]
    anchor = max(range(len(stretches)), key=lambda k: stretches[k][1] - stretches[k][0])
    keep = {anchor}
    for direction in (1, -1):  # walk away from the anchor, each stretch judged against the last kept
        last = anchor
        k = anchor + direction
        while 0 <= k < len(stretches):
            (a0, b0), (a1, b1) = stretches[last], stretches[k]
            end, start = (b0, a1) if direction > 0 else (a0, b1)
            gap_s = abs(series.t_s[start] - series.t_s[end])
            ratio = max(size[k], size[last]) / max(min(size[k], size[last]), 1e-9)
            reach = (REACH_TORSO_LENGTHS + MAX_SPEED_TORSO_PER_S * gap_s) * size[last]
            if ratio <= SIZE_MATCH_RATIO and np.linalg.norm(hip[start] - hip[end]) <= reach:
                keep.add(k)
                last = k
            k += direction
    mask = np.zeros(n, bool)
    others = []
    for k, (a, b) in enumerate(stretches):
        if k in keep:
            mask[a:b + 1] = present[a:b + 1]
        else:
            others.append((a, b))
    return PatientFrames(mask, tuple(others), tuple(int(s) for s in switches))


def blank_frames(series: LandmarkSeries, keep: np.ndarray, /) -> LandmarkSeries:
    """A copy of ``series`` with the frames outside ``keep`` unknown (NaN, visibility 0)."""
    world = series.world_m.copy()
    vis = series.visibility.copy()
    px = None if series.pixel_px is None else series.pixel_px.copy()
    world[~keep] = np.nan
    vis[~keep] = 0.0
    if px is not None:
        px[~keep] = np.nan
    return LandmarkSeries(t_s=series.t_s, world_m=world, visibility=vis, pixel_px=px, up=series.up,
                          image_size=series.image_size, source=series.source, attrs=dict(series.attrs))
