"""The one landmark series type every source enters the analysis through.

A :class:`LandmarkSeries` holds, for ``T`` frames and the 33 MediaPipe landmarks:

- ``t_s`` (T,): frame times in seconds (monotonic capture time, or the file's frame times);
- ``world_m`` (T, 33, 3): world coordinates in metres, NaN where unknown;
- ``pixel_px`` (T, 33, 2) or None: image coordinates in pixels (aspect ratio kept);
- ``visibility`` (T, 33): 0..1, the model's confidence the landmark is visible;
- ``up``: the unit vector that points up in the world frame (MediaPipe world: -y; most
  motion capture: +z). Angles that refer to gravity (trunk lean) use it.

CSV interchange format (written and read by :func:`save_landmarks_csv` /
:func:`load_landmarks_csv`): one row per frame, ``t_s``, then for each landmark
``<name>_x, <name>_y, <name>_z, <name>_visibility`` (world metres; empty when unknown),
plus ``<name>_px_x, <name>_px_y`` when pixel coordinates exist. A landmark's columns may
be absent altogether (a motion-capture map that has no marker for it): it is then unknown.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from core.errors import InputError

LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
LANDMARK_INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}
N_LANDMARKS = len(LANDMARK_NAMES)

# MediaPipe's skeleton, by name, for drawing.
SKELETON_EDGES: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"),
    ("left_ankle", "left_foot_index"),
    ("right_ankle", "right_heel"), ("right_heel", "right_foot_index"),
    ("right_ankle", "right_foot_index"),
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"),
)

MEDIAPIPE_WORLD_UP = (0.0, -1.0, 0.0)


@dataclass(frozen=True)
class PoseFrame:
    """One frame's landmarks from a pose estimator (any of its arrays may hold NaN)."""

    world_m: np.ndarray  # (33, 3)
    visibility: np.ndarray  # (33,)
    pixel_px: np.ndarray | None = None  # (33, 2)


# ``attrs`` key: True when every frame of the series is known to be the same person (one
# identity of the several-people tracker, sensing.people), so no analysis needs to guess
# where the pose model jumped from one person to another.
ATTR_IDENTITY_TRACKED = "identity_tracked"


@dataclass(frozen=True)
class LandmarkSeries:
    """Landmarks over time; see the module docstring for shapes and units."""

    t_s: np.ndarray
    world_m: np.ndarray
    visibility: np.ndarray
    pixel_px: np.ndarray | None = None
    up: tuple[float, float, float] = MEDIAPIPE_WORLD_UP
    image_size: tuple[int, int] | None = None  # (width, height) in pixels
    source: str = ""
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = np.asarray(self.t_s, dtype=float)
        n = t.shape[0]
        if t.ndim != 1:
            raise InputError(f"Expected 't_s' to have 1 dimension, but got {t.ndim}.")
        if self.world_m.shape != (n, N_LANDMARKS, 3):
            raise InputError(
                f"Expected 'world_m' of shape ({n}, {N_LANDMARKS}, 3), but got {self.world_m.shape}."
            )
        if self.visibility.shape != (n, N_LANDMARKS):
            raise InputError(
                f"Expected 'visibility' of shape ({n}, {N_LANDMARKS}), but got {self.visibility.shape}."
            )
        if self.pixel_px is not None and self.pixel_px.shape != (n, N_LANDMARKS, 2):
            raise InputError(
                f"Expected 'pixel_px' of shape ({n}, {N_LANDMARKS}, 2), but got {self.pixel_px.shape}."
            )

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def has_world(self) -> bool:
        return bool(np.isfinite(self.world_m).any())

    @property
    def rate_hz(self) -> float:
        if len(self) < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.t_s)))

    def frames_with_person(self) -> np.ndarray:
        """Boolean (T,): frames in which any landmark is known."""
        known = np.isfinite(self.world_m).all(axis=2)
        if self.pixel_px is not None:
            known |= np.isfinite(self.pixel_px).all(axis=2)
        return known.any(axis=1)

    def world(self, name: str) -> np.ndarray:
        """(T, 3) world metres of one landmark."""
        return self.world_m[:, LANDMARK_INDEX[name], :]

    def pixels(self, name: str) -> np.ndarray:
        if self.pixel_px is None:
            raise InputError(f"This series from {self.source or 'its source'} has no pixel coordinates.")
        return self.pixel_px[:, LANDMARK_INDEX[name], :]

    def select(self, mask_or_slice) -> "LandmarkSeries":
        """A new series with only the chosen frames."""
        px = None if self.pixel_px is None else self.pixel_px[mask_or_slice]
        return LandmarkSeries(
            t_s=self.t_s[mask_or_slice], world_m=self.world_m[mask_or_slice],
            visibility=self.visibility[mask_or_slice], pixel_px=px, up=self.up,
            image_size=self.image_size, source=self.source, attrs=dict(self.attrs),
        )

    @classmethod
    def empty(cls, n_frames: int, *, with_pixels: bool = False, **kwargs) -> "LandmarkSeries":
        """A series of ``n_frames`` with every landmark unknown (times all zero)."""
        return cls(
            t_s=np.zeros(n_frames),
            world_m=np.full((n_frames, N_LANDMARKS, 3), np.nan),
            visibility=np.zeros((n_frames, N_LANDMARKS)),
            pixel_px=np.full((n_frames, N_LANDMARKS, 2), np.nan) if with_pixels else None,
            **kwargs,
        )

    @classmethod
    def from_pose_frames(
        cls,
        t_s: Sequence[float],
        frames: Sequence[PoseFrame | None],
        *,
        image_size: tuple[int, int] | None = None,
        source: str = "",
        up: tuple[float, float, float] = MEDIAPIPE_WORLD_UP,
    ) -> "LandmarkSeries":
        """Stack per-frame estimator results; ``None`` is a frame with nobody found."""
        n = len(frames)
        world = np.full((n, N_LANDMARKS, 3), np.nan)
        vis = np.zeros((n, N_LANDMARKS))
        with_px = any(f is not None and f.pixel_px is not None for f in frames)
        px = np.full((n, N_LANDMARKS, 2), np.nan) if with_px else None
        for i, f in enumerate(frames):
            if f is None:
                continue
            world[i] = f.world_m
            vis[i] = f.visibility
            if px is not None and f.pixel_px is not None:
                px[i] = f.pixel_px
        return cls(t_s=np.asarray(t_s, dtype=float), world_m=world, visibility=vis,
                   pixel_px=px, up=up, image_size=image_size, source=source)


def _fmt(v: float) -> str:
    return "" if not math.isfinite(v) else f"{v:.6g}"


def save_landmarks_csv(series: LandmarkSeries, path: str | Path, /) -> Path:
    """Write ``series`` in the interchange format; returns the path written."""
    path = Path(path)
    header = ["t_s"]
    with_px = series.pixel_px is not None
    for name in LANDMARK_NAMES:
        header += [f"{name}_x", f"{name}_y", f"{name}_z", f"{name}_visibility"]
        if with_px:
            header += [f"{name}_px_x", f"{name}_px_y"]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in range(len(series)):
            row = [f"{series.t_s[i]:.6f}"]
            for j in range(N_LANDMARKS):
                row += [_fmt(v) for v in series.world_m[i, j]]
                row.append(_fmt(series.visibility[i, j]))
                if with_px:
                    row += [_fmt(v) for v in series.pixel_px[i, j]]
            writer.writerow(row)
    return path


def _column(data: dict[str, list[str]], name: str, n: int) -> np.ndarray:
    values = data.get(name)
    if values is None:
        return np.full(n, np.nan)
    return np.array([float(v) if v not in ("", "nan", "NaN") else np.nan for v in values])


def load_csv_rows(path: str | Path, /, *, what: str = "CSV") -> tuple[list[str], list[list[str]]]:
    """The header and the non-empty rows of a CSV file; one clear error when it cannot be read.

    ``what`` names the file in the message when it is missing ("Landmark file", ...).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}. Check the path and try again.")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None) or []
            rows = [row for row in reader if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path} is not a readable CSV file ({exc}).") from exc
    return header, rows


def load_landmarks_csv(path: str | Path, /, *, up: Iterable[float] = MEDIAPIPE_WORLD_UP) -> LandmarkSeries:
    """Read a landmark CSV in the interchange format.

    Needs ``t_s`` and, for at least one landmark, either ``_x, _y, _z`` or
    ``_px_x, _px_y``; a landmark whose columns are absent is unknown.
    """
    path = Path(path)
    header, rows = load_csv_rows(path, what="Landmark file")
    if not header:
        raise InputError(f"{path} is empty: expected a header row starting with 't_s'.")
    header = [h.strip() for h in header]
    if "t_s" not in header:
        raise InputError(f"{path} is missing the required column 't_s' (time in seconds).")
    known = set(header)
    has_world = [all(f"{n}_{a}" in known for a in "xyz") for n in LANDMARK_NAMES]
    has_px = [f"{n}_px_x" in known and f"{n}_px_y" in known for n in LANDMARK_NAMES]
    if not any(has_world) and not any(has_px):
        raise InputError(
            f"{path} has no landmark columns: expected e.g. 'left_knee_x', 'left_knee_y', "
            f"'left_knee_z' (world metres) or 'left_knee_px_x', 'left_knee_px_y' (pixels)."
        )
    partial = [n for n in LANDMARK_NAMES
               if any(f"{n}_{a}" in known for a in "xyz") and not has_world[LANDMARK_INDEX[n]]]
    if partial:
        missing = [f"{n}_{a}" for n in partial for a in "xyz" if f"{n}_{a}" not in known]
        raise InputError(f"{path} is missing the required columns: {', '.join(missing)}.")
    n = len(rows)
    cols = {h: [r[k] if k < len(r) else "" for r in rows] for k, h in enumerate(header)}
    try:
        t = _column(cols, "t_s", n)
        world = np.full((n, N_LANDMARKS, 3), np.nan)
        vis = np.zeros((n, N_LANDMARKS))
        px = np.full((n, N_LANDMARKS, 2), np.nan) if any(has_px) else None
        for j, name in enumerate(LANDMARK_NAMES):
            if has_world[j]:
                for a, axis in enumerate("xyz"):
                    world[:, j, a] = _column(cols, f"{name}_{axis}", n)
            if px is not None and has_px[j]:
                px[:, j, 0] = _column(cols, f"{name}_px_x", n)
                px[:, j, 1] = _column(cols, f"{name}_px_y", n)
            if f"{name}_visibility" in known:
                vis[:, j] = np.nan_to_num(_column(cols, f"{name}_visibility", n), nan=0.0)
            elif has_world[j] or has_px[j]:
                vis[:, j] = 1.0
    except ValueError as exc:
        raise InputError(f"{path} has a value that is not a number ({exc}).") from exc
    if np.isnan(t).any():
        raise InputError(f"{path} has rows without a time in 't_s'.")
    return LandmarkSeries(t_s=t, world_m=world, visibility=vis, pixel_px=px,
                          up=tuple(float(u) for u in up), source=str(path))
