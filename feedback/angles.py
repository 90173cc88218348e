"""Joint angles from a landmark series, in the clinician's convention.

Convention
----------
Degrees; flexion (and abduction, dorsiflexion, forward lean) positive; 0 at the anatomical
neutral position: standing upright, arms by the sides, palms forward, feet flat. The
numbers do not depend on where the camera is: every angle is measured in a body frame
built from the landmarks themselves, so a person facing the camera, facing left, facing
right or turned 30 degrees gets the same angles.

The body frame is :mod:`feedback.body_frame`; what each motion measures, the landmarks it
needs, its normal range and its default comfortable range, :mod:`feedback.motions` (one
registry entry per motion: :data:`ANGLE_NAMES` follows it, each sided motion left then
right, then the axial ones).

Seated at a webcam, with the hips out of frame, the trunk is assumed upright in those frames
(``assume_upright=True``, world landmarks only): the angles of
:data:`UPRIGHT_FALLBACK_ANGLE_NAMES` are then measured against the camera's up, and the
results say so (``attrs["assumed_upright"]``, ``FrameAngles.assumed_upright``).

Unknown is NaN: a landmark whose visibility is under ``visibility_threshold`` makes every
angle that uses it NaN. Runs of NaN up to ``max_gap_s`` are then linearly interpolated
(:func:`feedback.smoothing.fill_gaps`); longer runs stay NaN.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import InputError
from feedback.body_frame import build_body_frame, choose_pixels
from feedback.motions import MOTION_REGISTRY, SIDES, axial_motions, get_motion, motion_names, sided_motions
from feedback.smoothing import DEFAULT_MAX_GAP_S, fill_gaps
from sensing.landmarks import MEDIAPIPE_WORLD_UP, N_LANDMARKS, LandmarkSeries, load_csv_rows

logger = logging.getLogger(__name__)

__all__ = [
    "ANGLE_NAMES", "AXIAL_MOTIONS", "MOTIONS", "SIDED_MOTIONS", "SIDES", "UPRIGHT_FALLBACK_ANGLE_NAMES",
    "AngleSeries", "FrameAngles", "compute_frame_angles", "compute_joint_angle", "compute_joint_angles",
    "load_angles_csv", "save_angles_csv",
]

SIDED_MOTIONS: tuple[str, ...] = sided_motions()
AXIAL_MOTIONS: tuple[str, ...] = axial_motions()
MOTIONS: tuple[str, ...] = motion_names()
ANGLE_NAMES: tuple[str, ...] = tuple(f"{motion}_deg" for motion in MOTIONS)

DEFAULT_VISIBILITY_THRESHOLD = 0.5

COORDINATES_WORLD = "world_m"
COORDINATES_PIXELS = "pixel_px"

# The seated-webcam fallback (see feedback.body_frame): angles measured against the trunk
# axis ``U``, which take the series' ``up`` as ``U`` in the frames where the hips are unknown.
UPRIGHT_FALLBACK_ANGLE_NAMES: tuple[str, ...] = tuple(
    f"{name}_deg" for m in MOTION_REGISTRY.values() if m.upright_fallback for name in m.full_names())
# AngleSeries.attrs keys: a (T,) bool array, True in the frames that assumed an upright
# trunk, and the names of the angles that assumption touches.
ATTR_ASSUMED_UPRIGHT = "assumed_upright"
ATTR_ASSUMED_UPRIGHT_ANGLES = "assumed_upright_angles"
# attrs holding one value per frame, sliced along with the frames by AngleSeries.select.
PER_FRAME_ATTRS: tuple[str, ...] = (ATTR_ASSUMED_UPRIGHT,)


# --------------------------------------------------------------------------- results


def _angle_key(name: str) -> str:
    return name if name.endswith("_deg") else f"{name}_deg"


@dataclass(frozen=True)
class AngleSeries:
    """Joint angles over time: ``values_deg[:, k]`` is the column ``names[k]``; NaN = unknown."""

    t_s: np.ndarray  # (T,)
    names: tuple[str, ...]  # e.g. "right_knee_flexion_deg"
    values_deg: np.ndarray  # (T, K)
    coordinates: str = COORDINATES_WORLD  # which landmarks they came from: world_m or pixel_px
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = np.shape(self.t_s)[0] if np.ndim(self.t_s) == 1 else -1
        if np.ndim(self.t_s) != 1:
            raise InputError(f"Expected 't_s' to have 1 dimension, but got {np.ndim(self.t_s)}.")
        if np.shape(self.values_deg) != (n, len(self.names)):
            raise InputError(
                f"Expected 'values_deg' of shape ({n}, {len(self.names)}), but got "
                f"{np.shape(self.values_deg)}."
            )

    def __len__(self) -> int:
        return int(np.shape(self.t_s)[0])

    def column(self, name: str) -> np.ndarray:
        """One angle over time, by name with or without ``_deg`` (``"right_knee_flexion"``)."""
        key = _angle_key(name)
        try:
            k = self.names.index(key)
        except ValueError:
            raise InputError(
                f"Expected an angle name among {', '.join(self.names)}, but got {name!r}."
            ) from None
        return self.values_deg[:, k]

    def select(self, mask_or_slice) -> "AngleSeries":
        """A new series with only the chosen frames (per-frame attrs are cut to match)."""
        attrs = dict(self.attrs)
        for key in PER_FRAME_ATTRS:
            if key in attrs:
                attrs[key] = np.asarray(attrs[key])[mask_or_slice]
        return AngleSeries(
            t_s=np.asarray(self.t_s)[mask_or_slice],
            names=self.names,
            values_deg=np.asarray(self.values_deg)[mask_or_slice],
            coordinates=self.coordinates,
            attrs=attrs,
        )

    def assumed_upright_frames(self, name: str | None = None) -> np.ndarray:
        """(T,) bool: the frames whose trunk axis was assumed upright (hips unknown).

        With ``name``, only where that angle relied on it (always False for an angle that
        does not use the trunk axis, e.g. elbow flexion). All False when the series does
        not say (e.g. loaded from a CSV file).
        """
        flags = self.attrs.get(ATTR_ASSUMED_UPRIGHT)
        if flags is None:
            return np.zeros(len(self), dtype=bool)
        flags = np.asarray(flags, dtype=bool)
        if name is None:
            return flags.copy()
        key = _angle_key(name)
        self.column(key)  # the same clear error for an unknown name
        if key not in self.attrs.get(ATTR_ASSUMED_UPRIGHT_ANGLES, UPRIGHT_FALLBACK_ANGLE_NAMES):
            return np.zeros(len(self), dtype=bool)
        return flags.copy()


class FrameAngles(dict):
    """One frame's angles, ``{"right_knee_flexion_deg": 12.3, ...}`` (NaN = unknown), as a
    plain dict, plus ``assumed_upright``: True when the hips were unknown and the angles of
    :data:`UPRIGHT_FALLBACK_ANGLE_NAMES` took the camera's up as the trunk axis."""

    def __init__(self, values=(), /, *, assumed_upright: bool = False):
        super().__init__(values)
        self.assumed_upright = bool(assumed_upright)

    @property
    def assumed_upright_angles(self) -> tuple[str, ...]:
        """The names whose value rests on the upright assumption in this frame (may be empty)."""
        return UPRIGHT_FALLBACK_ANGLE_NAMES if self.assumed_upright else ()


# --------------------------------------------------------------------------- entry points


def _check_motion(joint: str, side: str | None) -> str:
    if joint in SIDED_MOTIONS:
        if side not in SIDES:
            raise InputError(f"Expected side 'left' or 'right' for {joint!r}, but got {side!r}.")
        return f"{side}_{joint}"
    if joint in AXIAL_MOTIONS:
        if side is not None:
            raise InputError(f"Expected side=None for the axial motion {joint!r}, but got {side!r}.")
        return joint
    raise InputError(
        f"Expected a joint motion among {', '.join(SIDED_MOTIONS + AXIAL_MOTIONS)}, but got {joint!r}."
    )


def compute_joint_angle(
    series: LandmarkSeries,
    /,
    *,
    joint: str,
    side: str | None = None,
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    use_pixels: bool | None = None,
    assume_upright: bool = True,
) -> np.ndarray:
    """One angle (T,) in degrees, e.g. ``joint="knee_flexion", side="right"``; axial motions
    (``"trunk_forward_lean"``, ``"neck_rotation"``...) take ``side=None``. Same maths and
    options as :func:`compute_joint_angles` (which also says which frames assumed an
    upright trunk)."""
    _check_motion(joint, side)
    pixels = choose_pixels(series, use_pixels)
    body = build_body_frame(series, visibility_threshold=visibility_threshold, use_pixels=pixels,
                       assume_upright=assume_upright)
    values = MOTION_REGISTRY[joint].angle(body, side)
    return fill_gaps(series.t_s, values, max_gap_s=max_gap_s)


def compute_joint_angles(
    series: LandmarkSeries,
    /,
    *,
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    use_pixels: bool | None = None,
    assume_upright: bool = True,
    motions: Sequence[str] | None = None,
) -> AngleSeries:
    """Every angle of :data:`ANGLE_NAMES` for every frame of ``series`` (only those of
    ``motions``, e.g. ``("right_shoulder_flexion", "trunk_forward_lean")``, when given: the
    same values, less work for a live loop that needs a few).

    World landmarks are used when the series has any, else pixels (``use_pixels`` forces
    one or the other). Landmarks under ``visibility_threshold`` are unknown; NaN runs up
    to ``max_gap_s`` are interpolated. In the frames where the hips are unknown but the
    shoulders are known (world landmarks only), the shoulder and neck angles take the
    series' ``up`` as the trunk axis unless ``assume_upright=False``; ``attrs["assumed_upright"]``
    (T,) marks those frames and ``attrs["assumed_upright_angles"]`` names the angles
    concerned (see :meth:`AngleSeries.assumed_upright_frames`). See the module docstring
    for the convention, :mod:`feedback.body_frame` for the frame and :mod:`feedback.motions`
    for each motion.
    """
    pixels = choose_pixels(series, use_pixels)
    body = build_body_frame(series, visibility_threshold=visibility_threshold, use_pixels=pixels,
                       assume_upright=assume_upright)
    wanted = None if motions is None else set(motions)
    if wanted is not None and not wanted <= set(MOTIONS):
        raise InputError(f"Expected motions among {', '.join(MOTIONS)}, but got {sorted(wanted - set(MOTIONS))}.")
    columns, names = [], []
    for name in MOTIONS:
        if wanted is not None and name not in wanted:
            continue
        side = next((s for s in SIDES if name.startswith(f"{s}_")), None)
        columns.append(get_motion(name).angle(body, side))
        names.append(f"{name}_deg")
    values = np.stack(columns, axis=1) if columns else np.zeros((len(series), 0))
    values = fill_gaps(series.t_s, values, max_gap_s=max_gap_s)
    assumed = body.assumed_upright.copy()
    if assumed.any():
        logger.debug("hips unknown in %d of %d frames: shoulder and neck angles assume an "
                     "upright trunk there", int(assumed.sum()), len(assumed))
    return AngleSeries(
        t_s=np.array(series.t_s, dtype=float),
        names=ANGLE_NAMES if wanted is None else tuple(names),
        values_deg=values,
        coordinates=COORDINATES_PIXELS if pixels else COORDINATES_WORLD,
        attrs={"source": series.source, ATTR_ASSUMED_UPRIGHT: assumed,
               ATTR_ASSUMED_UPRIGHT_ANGLES: UPRIGHT_FALLBACK_ANGLE_NAMES},
    )


def compute_frame_angles(
    world_m,
    visibility,
    /,
    *,
    up=MEDIAPIPE_WORLD_UP,
    visibility_threshold: float = DEFAULT_VISIBILITY_THRESHOLD,
    assume_upright: bool = True,
    motions: Sequence[str] | None = None,
) -> FrameAngles:
    """Angles of one frame of world landmarks (33, 3) with visibilities (33,), by name
    (``{"right_knee_flexion_deg": 12.3, ...}``; NaN = unknown); only ``motions`` when given.
    Same maths as :func:`compute_joint_angles` (the nose/toes decide the anterior sign from
    this frame alone).
    The result is a dict whose ``assumed_upright`` attribute is True when the hips were
    unknown and the shoulder and neck angles took ``up`` as the trunk axis."""
    world = np.asarray(world_m, dtype=float)
    vis = np.asarray(visibility, dtype=float)
    if world.shape != (N_LANDMARKS, 3) or vis.shape != (N_LANDMARKS,):
        raise InputError(
            f"Expected world_m of shape ({N_LANDMARKS}, 3) and visibility of shape ({N_LANDMARKS},), "
            f"but got {world.shape} and {vis.shape}."
        )
    series = LandmarkSeries(t_s=np.zeros(1), world_m=world[None], visibility=vis[None],
                            up=tuple(float(u) for u in up))
    angles = compute_joint_angles(series, visibility_threshold=visibility_threshold, max_gap_s=0.0,
                                  use_pixels=False, assume_upright=assume_upright, motions=motions)
    return FrameAngles({name: float(angles.values_deg[0, k]) for k, name in enumerate(angles.names)},
                       assumed_upright=bool(angles.attrs[ATTR_ASSUMED_UPRIGHT][0]))


# --------------------------------------------------------------------------- CSV


def _fmt(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else ""


def save_angles_csv(angles: AngleSeries, path: str | Path, /, *, trust=None) -> Path:
    """Write ``t_s`` and one column per angle (degrees, empty = unknown); with ``trust`` (a
    :class:`feedback.trust.AngleTrust`) also a ``<angle>_trust`` column (``high`` / ``low``,
    empty when the angle is unknown) per sided angle, after the angles. Returns the path."""
    path = Path(path)
    trust_names = tuple(trust.names) if trust is not None else ()
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["t_s", *angles.names, *(f"{n.removesuffix('_deg')}_trust" for n in trust_names)])
        for i in range(len(angles)):
            writer.writerow([f"{float(angles.t_s[i]):.6f}",
                             *(_fmt(float(v)) for v in angles.values_deg[i]),
                             *(trust.level[i] if trust is not None else ())])
    return path


def load_angles_csv(path: str | Path, /) -> AngleSeries:
    """Read a file written by :func:`save_angles_csv` (any ``*_deg`` columns after ``t_s``;
    ``*_trust`` columns, written after them, are skipped)."""
    path = Path(path)
    header, rows = load_csv_rows(path, what="Angle file")
    if not header or header[0].strip() != "t_s":
        raise InputError(f"{path}: expected a header row starting with 't_s', but got {header!r}.")
    header = [h.strip() for h in header if not h.strip().endswith("_trust")]  # trust columns come last
    names = tuple(header[1:])
    if not names or not all(n.endswith("_deg") for n in names):
        raise InputError(f"{path}: expected angle columns ending in '_deg' after 't_s', but got {names!r}.")
    width = len(header)
    try:
        table = np.array(
            [[float(c) if c.strip() not in ("", "nan", "NaN") else np.nan
              for c in (row + [""] * (width - len(row)))[:width]] for row in rows],
            dtype=float,
        ).reshape(len(rows), width)
    except ValueError as exc:
        raise InputError(f"{path} has a value that is not a number ({exc}).") from exc
    if np.isnan(table[:, 0]).any():
        raise InputError(f"{path} has rows without a time in 't_s'.")
    return AngleSeries(t_s=table[:, 0], names=names, values_deg=table[:, 1:],
                       attrs={"source": str(path)})
