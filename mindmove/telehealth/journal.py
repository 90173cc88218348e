"""The landmark journal of a home session: what a restarted server resumes from.

A practice session's state (the One-Euro filters, the engines, the cue policy, the
repetition count, the pacer) lives in memory. Rather than serialise it, each home session
appends every frame it accepted (landmarks and times: never an image) to a journal file,
and a server that restarted rebuilds the session by replaying the journal through a fresh
pipeline: the pipeline depends on nothing but the frames and their times, so the replay
reaches exactly the state the lost process had, and the record (samples, cues,
repetitions) is rewritten from it. The journal is made durable (``fsync``) at most every
:data:`SYNC_INTERVAL_S`; only then are the frames acknowledged to the page, which keeps
every frame not yet acknowledged (up to 60 s) and sends it again after a reconnection.

One file per session, ``<data dir>/telehealth/journals/<session id>.jsonl`` (owner-only),
deleted when the session is finished. The first line is the header (how to rebuild the
session); each further line is one frame as received (``{"seq", "t", "p"}``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Iterator

from core.errors import StoreError

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 1.0  # the most frames a crash can lose before they are acknowledged to the page
JOURNAL_DIR = Path("telehealth") / "journals"


def journal_path(data_dir: Path, session_id: int, /) -> Path:
    return Path(data_dir) / JOURNAL_DIR / f"{int(session_id)}.jsonl"


class LandmarkJournal:
    """Append-only frames of one session; :meth:`sync` makes them durable."""

    def __init__(self, path: Path, /, *, header: dict | None = None, clock=time.monotonic) -> None:
        self.path = Path(path)
        self._clock = clock
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise StoreError(f"Cannot write the session journal {self.path} ({exc.strerror}). "
                             "Check that MINDMOVE_DATA_DIR is writable.") from exc
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self.synced_seq = -1
        self._written_seq = -1
        self._last_sync = clock()
        if header is not None:
            self._file.write(json.dumps({"header": header}, separators=(",", ":")) + "\n")
            self.sync(force=True)

    def append(self, frame: dict, /) -> None:
        """One accepted frame (``seq``, ``t``, ``p`` as received)."""
        self._file.write(json.dumps(frame, separators=(",", ":")) + "\n")
        self._written_seq = int(frame["seq"])

    def sync(self, *, force: bool = False) -> int:
        """Flush and fsync when ``SYNC_INTERVAL_S`` has passed (or ``force``); returns the
        newest durable frame's seq (-1 before any)."""
        if self._file.closed:
            return self.synced_seq
        if force or self._clock() - self._last_sync >= SYNC_INTERVAL_S:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._last_sync = self._clock()
            self.synced_seq = self._written_seq
        return self.synced_seq

    def close(self) -> None:
        if not self._file.closed:
            self.sync(force=True)
            self._file.close()

    def delete(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def read_journal(path: Path, /) -> tuple[dict, Iterator[dict]]:
    """(header, frames) of a journal; a last line cut short by a crash is left out."""
    path = Path(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise StoreError(f"The session journal {path} cannot be read ({exc.strerror}).") from exc
    if not lines:
        raise StoreError(f"The session journal {path} is empty: the session cannot be resumed.")
    header = json.loads(lines[0]).get("header")
    if not isinstance(header, dict):
        raise StoreError(f"The session journal {path} has no header: the session cannot be resumed.")

    def frames() -> Iterator[dict]:
        for k, line in enumerate(lines[1:], start=2):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                log.warning("journal %s: line %d cut short (a crash while writing); left out", path, k)
                return

    return header, frames()
