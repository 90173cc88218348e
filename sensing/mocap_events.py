"""Reference gait events stored in a C3D file's EVENT section (read with ezc3d).

Labs mark foot contacts in the C3D itself (from force plates or by hand), under one of these
conventions, all read here:

- Vicon / Nexus: ``CONTEXTS`` = ``Left`` / ``Right``, ``LABELS`` = ``Foot Strike`` / ``Foot Off``;
- codes in ``LABELS`` (Fukuchi et al. 2018: ``LHS``, ``RTO``, and the force channel's ``LON`` /
  ``LOFF`` at the same instants) or in ``CONTEXTS`` with empty labels (Shida et al. 2023:
  ``RHS``, ``LTO``). Codes: side letter + ``HS`` / ``FS`` / ``IC`` / ``ON`` (initial contact) or
  ``TO`` / ``FO`` / ``FC`` / ``OFF`` (final contact).

``TIMES`` holds minutes (row 0) and seconds (row 1) from the start of the recording, the
clock of :func:`sensing.mocap.load_mocap`'s ``t_s``. The same event given twice (a
``HS`` and an ``ON`` within half a frame) counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

INITIAL_CONTACT = "initial_contact"
FINAL_CONTACT = "final_contact"
_SIDES = {"l": "left", "left": "left", "r": "right", "right": "right"}
_KINDS = {"hs": INITIAL_CONTACT, "fs": INITIAL_CONTACT, "ic": INITIAL_CONTACT, "on": INITIAL_CONTACT,
          "foot strike": INITIAL_CONTACT, "to": FINAL_CONTACT, "fo": FINAL_CONTACT, "fc": FINAL_CONTACT,
          "off": FINAL_CONTACT, "foot off": FINAL_CONTACT}


@dataclass(frozen=True)
class MocapEvent:
    """A reference contact: ``kind`` is ``initial_contact`` or ``final_contact``; ``label`` as stored."""

    t_s: float
    side: str
    kind: str
    label: str


def _parse(context: str, label: str) -> tuple[str, str] | None:
    """(side, kind) of one EVENT entry, or None when it is not a foot contact."""
    context, label = context.strip().lower(), label.strip().lower()
    if context in ("left", "right") and label in _KINDS:
        return _SIDES[context], _KINDS[label]
    code = label or context
    if len(code) >= 3 and code[0] in "lr" and code[1:] in _KINDS:
        return _SIDES[code[0]], _KINDS[code[1:]]
    return None


def read_c3d_events(c3d: dict, /) -> tuple[MocapEvent, ...]:
    """Foot contacts from an ``ezc3d.c3d`` object's EVENT parameters, sorted by time."""
    group = c3d["parameters"].get("EVENT", {})
    if "TIMES" not in group:
        return ()
    times = np.asarray(group["TIMES"]["value"], dtype=float).reshape(2, -1)
    n = times.shape[1]
    labels = list(group.get("LABELS", {}).get("value", [])) + [""] * n
    contexts = list(group.get("CONTEXTS", {}).get("value", [])) + [""] * n
    rate = float(c3d["header"]["points"]["frame_rate"]) or 1.0
    seen: set[tuple[str, str, int]] = set()
    out = []
    for k in range(n):
        parsed = _parse(str(contexts[k]), str(labels[k]))
        if parsed is None:
            continue
        t = float(times[0, k] * 60.0 + times[1, k])
        key = (*parsed, int(round(t * rate)))
        if key in seen:
            continue
        seen.add(key)
        out.append(MocapEvent(t, parsed[0], parsed[1], (str(labels[k]).strip() or str(contexts[k]).strip())))
    return tuple(sorted(out, key=lambda e: (e.t_s, e.side, e.kind)))


def load_c3d_events(path: Path, /) -> tuple[MocapEvent, ...]:
    """Read a C3D file and return its reference foot contacts (empty when it has none)."""
    from sensing.mocap import open_c3d  # ezc3d is imported there, only when a file is read

    return read_c3d_events(open_c3d(Path(path)))
