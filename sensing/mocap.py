"""Lab motion capture in: C3D, TRC and marker CSV files become a :class:`LandmarkSeries`.

A *marker map* (TOML) says which marker, or the mean of which markers, stands for each
landmark name of :data:`sensing.landmarks.LANDMARK_NAMES`::

    up = "+z"            # the lab axis that points up ("+x", "-y", ... or [0, 0, 1]); default +z
    # units = "mm"       # only when the file does not say (marker CSV); C3D/TRC carry their own
    # rate_hz = 100.0    # only when the file does not say (marker CSV)

    [landmarks]
    right_shoulder = "ACRO_tip"
    right_elbow = ["EPICl", "EPICm"]     # the mean of two markers
    right_wrist = ["STYLr", "STYLu"]

Marker labels match exactly, or after a subject prefix (``Daphnee:ACRO_tip`` matches
``ACRO_tip``), then case-insensitively. Positions are converted to metres from the file's own
unit. A landmark is known (visibility 1) in a frame only when *every* marker it averages is
present there; otherwise its position is NaN and its visibility 0. Landmarks the map does not
name are unknown throughout. Examples ship in ``sensing/marker_maps/``.

Formats:

- ``.c3d`` read with ezc3d (imported lazily); frame times ``(first_frame + i) / rate``. Foot
  contacts the lab stored in the EVENT section (:mod:`sensing.mocap_events`) come with the
  series as ``attrs["reference_events"]``.
- ``.trc`` (OpenSim / Motion Analysis text): tab-separated, ``Units`` and ``DataRate`` from
  its header, times from its ``Time`` column.
- ``.csv`` marker table with two header rows (marker, axis) and the frame index first, as
  gaitmap's ``mocap_sample.csv``: the map (or the ``units`` / ``rate_hz`` keywords) must say
  the unit and rate, which such files do not carry.
"""

from __future__ import annotations

import csv
import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from core.errors import InputError
from sensing.landmarks import LANDMARK_INDEX, LANDMARK_NAMES, N_LANDMARKS, LandmarkSeries
from sensing.mocap_events import MocapEvent, read_c3d_events

log = logging.getLogger(__name__)

MARKER_MAP_DIR = Path(__file__).resolve().parent / "marker_maps"
MOCAP_DEFAULT_UP = (0.0, 0.0, 1.0)
UNIT_TO_M: dict[str, float] = {"m": 1.0, "dm": 0.1, "cm": 0.01, "mm": 0.001}
_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class MarkerMap:
    """A parsed marker map: landmark name -> marker labels to average."""

    landmarks: Mapping[str, tuple[str, ...]]
    up: tuple[float, float, float] = MOCAP_DEFAULT_UP
    units: str | None = None
    rate_hz: float | None = None
    source: str = ""


@dataclass(frozen=True)
class MarkerTable:
    """Raw marker trajectories as a file holds them (before mapping)."""

    t_s: np.ndarray  # (T,)
    labels: tuple[str, ...]  # (M,)
    positions: np.ndarray  # (T, M, 3) in the file's unit, NaN where missing
    units: str | None
    rate_hz: float | None
    events: tuple[MocapEvent, ...] = ()  # reference foot contacts stored in the file (C3D EVENT)


def _parse_up(value, path: Path) -> tuple[float, float, float]:
    if isinstance(value, str):
        text = value.strip().lower()
        sign = -1.0 if text.startswith("-") else 1.0
        axis = text.lstrip("+-")
        if axis not in _AXES:
            raise InputError(
                f"{path}: 'up' must be one of +x, -x, +y, -y, +z, -z or a list of 3 numbers, "
                f"but got {value!r}."
            )
        vec = [0.0, 0.0, 0.0]
        vec[_AXES[axis]] = sign
        return (vec[0], vec[1], vec[2])
    if isinstance(value, list) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value):
        arr = np.asarray(value, dtype=float)
        norm = float(np.linalg.norm(arr))
        if norm == 0.0:
            raise InputError(f"{path}: 'up' must not be the zero vector; use e.g. \"+z\".")
        arr = arr / norm
        return (float(arr[0]), float(arr[1]), float(arr[2]))
    raise InputError(
        f"{path}: 'up' must be one of +x, -x, +y, -y, +z, -z or a list of 3 numbers, but got {value!r}."
    )


def load_marker_map(path: Path, /) -> MarkerMap:
    """Read a marker map TOML (format in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Marker map not found: {path}. Give a TOML file such as those in {MARKER_MAP_DIR}.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML ({exc}); fix the file and try again.") from exc
    table = data.get("landmarks")
    if not isinstance(table, dict) or not table:
        raise InputError(
            f"{path} has no [landmarks] table: expected lines like right_elbow = [\"EPICl\", \"EPICm\"]."
        )
    landmarks: dict[str, tuple[str, ...]] = {}
    for name, markers in table.items():
        if name not in LANDMARK_INDEX:
            raise InputError(
                f"{path}: {name!r} is not a landmark name; expected one of {', '.join(LANDMARK_NAMES)}."
            )
        if isinstance(markers, str):
            markers = [markers]
        if not isinstance(markers, list) or not markers or not all(isinstance(m, str) for m in markers):
            raise InputError(
                f"{path}: landmark {name!r} must map to a marker label or a list of labels, but got {markers!r}."
            )
        landmarks[name] = tuple(markers)
    units = data.get("units")
    if units is not None and units not in UNIT_TO_M:
        raise InputError(f"{path}: 'units' must be one of {', '.join(UNIT_TO_M)}, but got {units!r}.")
    rate = data.get("rate_hz")
    if rate is not None and (not isinstance(rate, (int, float)) or rate <= 0):
        raise InputError(f"{path}: 'rate_hz' must be a positive number, but got {rate!r}.")
    up = _parse_up(data.get("up", "+z"), path)
    return MarkerMap(landmarks=landmarks, up=up, units=units,
                     rate_hz=None if rate is None else float(rate), source=str(path))


def open_c3d(path: Path, /):
    """The ``ezc3d.c3d`` object of a file; :class:`InputError` when it cannot be read."""
    import ezc3d  # heavy: only when a C3D file is read

    try:
        return ezc3d.c3d(str(path))
    except (RuntimeError, ValueError, OSError) as exc:
        raise InputError(f"{path} could not be read as a C3D file ({exc}); check the file.") from exc


def _read_c3d(path: Path) -> MarkerTable:
    c3d = open_c3d(path)
    point = c3d["parameters"]["POINT"]
    labels = tuple(str(s).strip() for s in point["LABELS"]["value"])
    units = str(point["UNITS"]["value"][0]).strip().lower() if point.get("UNITS", {}).get("value") else None
    rate = float(c3d["header"]["points"]["frame_rate"])
    first = int(c3d["header"]["points"]["first_frame"])
    pts = np.asarray(c3d["data"]["points"], dtype=float)[:3]  # (3, M, T)
    positions = np.transpose(pts, (2, 1, 0)).copy()
    t = (first + np.arange(positions.shape[0])) / rate
    return MarkerTable(t_s=t, labels=labels, positions=positions, units=units, rate_hz=rate,
                       events=read_c3d_events(c3d))


def _float_or_nan(text: str) -> float:
    text = text.strip()
    if text == "" or text.lower() == "nan":
        return float("nan")
    return float(text)


def _read_trc(path: Path) -> MarkerTable:
    try:
        lines = path.read_text(encoding="utf-8", errors="strict").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not a text TRC file ({exc}).") from exc
    if len(lines) < 6 or not lines[0].startswith("PathFileType"):
        raise InputError(f"{path} is not a TRC file: expected a first line starting 'PathFileType'.")
    keys = lines[1].split("\t")
    values = lines[2].split("\t")
    header = {k.strip(): v.strip() for k, v in zip(keys, values)}
    units = header.get("Units", "").lower() or None
    try:
        rate = float(header["DataRate"]) if header.get("DataRate") else None
    except ValueError as exc:
        raise InputError(f"{path}: DataRate {header.get('DataRate')!r} is not a number.") from exc
    names = lines[3].split("\t")
    labels = tuple(n.strip() for n in names[2:] if n.strip())
    rows = []
    for k, line in enumerate(lines[5:], start=6):
        if not line.strip():
            continue
        cells = line.split("\t")
        try:
            rows.append([_float_or_nan(c) for c in cells[: 2 + 3 * len(labels)]])
        except ValueError as exc:
            raise InputError(f"{path} line {k} holds a value that is not a number ({exc}).") from exc
    width = 2 + 3 * len(labels)
    data = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        data[i, : len(r)] = r
    positions = data[:, 2:].reshape(len(rows), len(labels), 3)
    return MarkerTable(t_s=data[:, 1], labels=labels, positions=positions, units=units, rate_hz=rate)


def _read_marker_csv(path: Path, *, rate_hz: float | None) -> MarkerTable:
    if rate_hz is None:
        raise InputError(
            f"{path} is a marker CSV that does not say its frame rate: set rate_hz in the marker map."
        )
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            markers = next(reader, [])
            axes = next(reader, [])
            rows = [r for r in reader if r]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path} is not a readable CSV file ({exc}).") from exc
    columns: dict[str, dict[str, int]] = {}
    for k, (m, a) in enumerate(zip(markers, axes)):
        if k == 0 or not m.strip():
            continue
        columns.setdefault(m.strip(), {})[a.strip().lower()] = k
    labels = tuple(m for m, ax in columns.items() if set(ax) >= {"x", "y", "z"})
    if not labels:
        raise InputError(
            f"{path} has no marker columns: expected two header rows (marker name, then x/y/z)."
        )
    n = len(rows)
    positions = np.full((n, len(labels), 3), np.nan)
    try:
        for i, r in enumerate(rows):
            for j, m in enumerate(labels):
                for a, axis in enumerate("xyz"):
                    k = columns[m][axis]
                    positions[i, j, a] = _float_or_nan(r[k]) if k < len(r) else np.nan
    except ValueError as exc:
        raise InputError(f"{path} holds a value that is not a number ({exc}).") from exc
    return MarkerTable(t_s=np.arange(n) / rate_hz, labels=labels, positions=positions,
                       units=None, rate_hz=rate_hz)


def load_marker_table(path: Path, /, *, rate_hz: float | None = None) -> MarkerTable:
    """Read raw marker trajectories from a ``.c3d``, ``.trc`` or two-header-row ``.csv``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Motion capture file not found: {path}. Check the path and try again.")
    suffix = path.suffix.lower()
    if suffix == ".c3d":
        return _read_c3d(path)
    if suffix == ".trc":
        return _read_trc(path)
    if suffix == ".csv":
        return _read_marker_csv(path, rate_hz=rate_hz)
    raise InputError(f"{path}: expected a .c3d, .trc or marker .csv file, but got '{suffix}'.")


def _find_label(labels: tuple[str, ...], wanted: str) -> int | None:
    for i, label in enumerate(labels):
        if label == wanted:
            return i
    for i, label in enumerate(labels):
        if label.split(":")[-1] == wanted:
            return i
    low = wanted.lower()
    for i, label in enumerate(labels):
        if label.split(":")[-1].lower() == low:
            return i
    return None


def map_markers(table: MarkerTable, marker_map: MarkerMap, /, *, source: str = "") -> LandmarkSeries:
    """Build a landmark series (metres) from raw markers and a map."""
    units = table.units or marker_map.units
    if units is None:
        raise InputError(
            f"{source or 'The file'} does not say its unit: set units = \"mm\" (or m, cm) in the marker map."
        )
    units = units.strip().lower()
    if units not in UNIT_TO_M:
        raise InputError(
            f"{source or 'The file'} uses the unit {units!r}; expected one of {', '.join(UNIT_TO_M)}."
        )
    scale = UNIT_TO_M[units]
    n = table.positions.shape[0]
    world = np.full((n, N_LANDMARKS, 3), np.nan)
    vis = np.zeros((n, N_LANDMARKS))
    missing: list[str] = []
    for name, markers in marker_map.landmarks.items():
        idx = [_find_label(table.labels, m) for m in markers]
        absent = [m for m, i in zip(markers, idx) if i is None]
        if absent:
            missing += absent
            continue
        stack = table.positions[:, idx, :] * scale  # (T, k, 3)
        present = np.isfinite(stack).all(axis=(1, 2))
        mean = stack.mean(axis=1)
        mean[~present] = np.nan
        world[:, LANDMARK_INDEX[name], :] = mean
        vis[:, LANDMARK_INDEX[name]] = present.astype(float)
    if missing:
        raise InputError(
            f"{source or 'The file'} has no marker named {', '.join(sorted(set(missing)))}; "
            f"it has {', '.join(table.labels[:12])}{' ...' if len(table.labels) > 12 else ''}. Fix the marker map."
        )
    return LandmarkSeries(
        t_s=np.asarray(table.t_s, dtype=float), world_m=world, visibility=vis, pixel_px=None,
        up=marker_map.up, image_size=None, source=source,
        attrs={"kind": "mocap", "units_in_file": units, "marker_map": marker_map.source,
               "rate_hz": table.rate_hz, "reference_events": table.events},
    )


def load_mocap(path: Path, /, *, marker_map: Path) -> LandmarkSeries:
    """Read a ``.c3d`` / ``.trc`` / marker ``.csv`` file through a marker map, in metres."""
    mmap = load_marker_map(Path(marker_map))
    table = load_marker_table(Path(path), rate_hz=mmap.rate_hz)
    series = map_markers(table, mmap, source=str(path))
    log.info("loaded %d frames of %d markers from %s", len(series), len(table.labels), path)
    return series


def load_gaitmap_mocap(path: Path, /, *, marker_map: Path | None = None) -> LandmarkSeries:
    """Read gaitmap's marker CSV (two header rows, mm, z up, 100 Hz) with the shipped foot map."""
    return load_mocap(path, marker_map=marker_map or MARKER_MAP_DIR / "gaitmap_foot.toml")


def save_trc(table: MarkerTable, path: Path, /) -> Path:
    """Write raw markers as a TRC file (tab-separated; used to hand data to OpenSim)."""
    path = Path(path)
    n, m, _ = table.positions.shape
    rate = table.rate_hz or (1.0 / float(np.median(np.diff(table.t_s))) if n > 1 else 1.0)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(f"PathFileType\t4\t(X/Y/Z)\t{path.name}\n")
        fh.write("DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n")
        fh.write(f"{rate:g}\t{rate:g}\t{n}\t{m}\t{table.units or 'm'}\t{rate:g}\t1\t{n}\n")
        fh.write("Frame#\tTime\t" + "\t\t\t".join(table.labels) + "\t\t\n")
        fh.write("\t\t" + "\t".join(f"X{k + 1}\tY{k + 1}\tZ{k + 1}" for k in range(m)) + "\n")
        for i in range(n):
            cells = ["" if not np.isfinite(v) else f"{v:.6f}" for v in table.positions[i].ravel()]
            fh.write(f"{i + 1}\t{table.t_s[i]:.6f}\t" + "\t".join(cells) + "\n")
    return path
