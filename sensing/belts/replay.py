"""Replay recorded raw notifications through the same decoders as a live belt.

A notification log is the CSV :class:`~sensing.belts.stream.NotificationLogWriter` writes
(``mindmove belt record --raw-log FILE``): a header ``t_monotonic,char_uuid,hex`` then one
row per notification. Replaying it gives exactly the samples the live session saw, so
sessions, tests and demos run without hardware.
"""

from __future__ import annotations

import csv
from pathlib import Path

from core.errors import InputError
from sensing.belts.kinds import make_adapter
from sensing.belts.base import BeltEvent, BreathSample, DeviceReply
from sensing.belts.generic import load_generic_config

LOG_HEADER = ("t_monotonic", "char_uuid", "hex")


def load_notification_log(path: str | Path, /) -> list[tuple[float, str, bytes]]:
    """Rows ``(t_monotonic, char_uuid, data)`` of a notification log."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Expected a readable notification log at {path}, but reading it "
                         f"failed ({exc}): check the path.") from exc
    if not rows or tuple(c.strip() for c in rows[0]) != LOG_HEADER:
        found = rows[0] if rows else "an empty file"
        raise InputError(f"Expected a notification log starting with "
                         f"'{','.join(LOG_HEADER)}' in {path}, but found {found}: record one "
                         f"with 'mindmove belt record --raw-log FILE'.")
    out = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            t_s, uuid, hex_data = row
            out.append((float(t_s), uuid.strip().lower(), bytes.fromhex(hex_data)))
        except ValueError as exc:
            raise InputError(f"Expected 't_monotonic,char_uuid,hex' on line {line_no} of "
                             f"{path}, but found {row!r}: fix or cut that line.") from exc
    return out


def replay_notification_events(path: str | Path, kind: str, /, *,
                               config: str | Path | None = None) -> list[BeltEvent]:
    """Every event (samples, heart rate, battery) a live session would have produced."""
    adapter = make_adapter(kind, config=load_generic_config(config) if config else None)
    events: list[BeltEvent] = []
    for t_s, uuid, data in load_notification_log(path):
        events.extend(e for e in adapter.decode(uuid, data, t_s)
                      if not isinstance(e, DeviceReply))
    return events


def replay_notification_log(path: str | Path, kind: str, /, *,
                            config: str | Path | None = None) -> list[BreathSample]:
    """The breath samples of a recorded notification log, decoded by the ``kind`` adapter."""
    return [e for e in replay_notification_events(path, kind, config=config)
            if isinstance(e, BreathSample)]
