"""Joint angles out to OpenSim: the ``.mot`` storage format (and back, for checks).

The file OpenSim writes and reads (e.g. ``inverse_kin.mot``)::

    <name>
    version=1
    nRows=<rows>
    nColumns=<columns including time>
    inDegrees=yes
    endheader
    time<TAB>right_knee_flexion<TAB>...
    0.000000<TAB>12.345678...

Angle names lose their ``_deg`` suffix (OpenSim states the unit in ``inDegrees``). Unknown
values are written as ``NaN``, which OpenSim's Storage reader accepts.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import InputError

DEG_SUFFIX = "_deg"


def save_mot(t_s: Sequence[float], columns: dict[str, Sequence[float]], path: Path, /, *,
             name: str = "Coordinates") -> Path:
    """Write angles in degrees (``{"right_knee_flexion_deg": values}``) as an OpenSim .mot."""
    path = Path(path)
    t = np.asarray(t_s, dtype=float)
    names = list(columns)
    data = np.column_stack([t] + [np.asarray(columns[n], dtype=float) for n in names]) if names else t[:, None]
    if data.shape[0] != len(t):
        raise InputError(f"Expected every angle column to have {len(t)} values, as 't_s' has.")
    header_names = ["time"] + [n[: -len(DEG_SUFFIX)] if n.endswith(DEG_SUFFIX) else n for n in names]
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"{name}\nversion=1\nnRows={data.shape[0]}\nnColumns={data.shape[1]}\ninDegrees=yes\nendheader\n")
        fh.write("\t".join(header_names) + "\n")
        for row in data:
            fh.write("\t".join("NaN" if not math.isfinite(v) else f"{v:.6f}" for v in row) + "\n")
    return path


def save_angles_mot(angles, path: Path, /) -> Path:
    """Write a :class:`feedback.angles.AngleSeries` (``t_s``, ``names``, ``values_deg``)."""
    cols = {n: angles.values_deg[:, k] for k, n in enumerate(angles.names)}
    return save_mot(angles.t_s, cols, path)


def load_mot(path: Path, /) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, str]]:
    """Read an OpenSim .mot/.sto (tab, space or comma separated): (time, columns, header)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"OpenSim file not found: {path}. Check the path and try again.")
    lines = path.read_text(encoding="utf-8").splitlines()
    end = next((i for i, ln in enumerate(lines) if ln.strip().strip(",").lower() == "endheader"), None)
    if end is None:
        raise InputError(f"{path} is not an OpenSim .mot file: expected a line 'endheader'.")
    header = {}
    for ln in lines[:end]:
        ln = ln.strip().strip(",")
        if "=" in ln:
            k, v = ln.split("=", 1)
            header[k.strip()] = v.strip()

    def split(ln: str) -> list[str]:
        return [c for c in ln.replace(",", "\t").split() if c]

    names = split(lines[end + 1])
    if not names or names[0].lower() != "time":
        raise InputError(f"{path}: expected the column row after 'endheader' to start with 'time'.")
    rows = []
    for k, ln in enumerate(lines[end + 2:], start=end + 3):
        cells = split(ln)
        if not cells:
            continue
        try:
            rows.append([float(c) for c in cells])
        except ValueError as exc:
            raise InputError(f"{path} line {k} holds a value that is not a number ({exc}).") from exc
    data = np.array(rows, dtype=float).reshape(-1, len(names))
    return data[:, 0], {n: data[:, i] for i, n in enumerate(names) if i > 0}, header
