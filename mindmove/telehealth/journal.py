"""The landmark journal of a home session: what a restarted server resumes from.

A practice session's state (the One-Euro filters, the engines, the cue policy, the
repetition count, the pacer) lives in memory. Rather than serialise it, each home session
appends every frame it accepted (landmarks and times: never an image) to a journal file,
and a server that restarted rebuilds the session by replaying the journal through a fresh
pipeline: the pipeline depends on nothing but the frames and their times, so the replay
reaches exactly the state the lost process had, and the record (samples, cues,
repetitions) is rewritten from it. The journal is made durable (``fsync``) every
:data:`SYNC_INTERVAL_S` by a thread of its own; only then are the frames acknowledged to the
page, which keeps every frame not yet acknowledged (up to 60 s) and sends it again after a
reconnection.

One file per session, ``<data dir>/telehealth/journals/<session id>.jsonl`` (owner-only),
deleted when the session is finished. The first line is the header (how to rebuild the
session); each further line is one frame as received (``{"seq", "t", "p"}``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Iterator

from core.errors import StoreError

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 1.0  # the most frames a crash can lose before they are acknowledged to the page
JOURNAL_DIR = Path("telehealth") / "journals"


def journal_path(data_dir: Path, session_id: int, /) -> Path:
    return Path(data_dir) / JOURNAL_DIR / f"{int(session_id)}.jsonl"


class LandmarkJournal:
    """Append-only frames of one session; :meth:`sync` makes them durable (the host's
    :class:`JournalSyncer` calls it every :data:`SYNC_INTERVAL_S`, off the frames' path: an
    fsync can take milliseconds, which no patient's frame should wait for)."""

    def __init__(self, path: Path, /, *, header: dict | None = None) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise StoreError(f"Cannot write the session journal {self.path} ({exc.strerror}). "
                             "Check that MINDMOVE_DATA_DIR is writable.") from exc
        self._file = os.fdopen(fd, "ab")  # a buffered binary file: its own lock makes writes and flushes safe
        self._lock = threading.Lock()
        self.synced_seq = -1
        self._written_seq = -1
        if header is not None:
            self._file.write(_line({"header": header}))
            self.sync()

    def append(self, frame: dict, /) -> None:
        """One accepted frame (``seq``, ``t``, ``p`` as received)."""
        self._file.write(_line(frame))
        self._written_seq = int(frame["seq"])

    @property
    def behind(self) -> bool:
        """Frames written since the last sync."""
        return self._written_seq != self.synced_seq

    def sync(self) -> int:
        """Flush and fsync now; returns the newest durable frame's seq (-1 before any)."""
        with self._lock:
            if self._file.closed:
                return self.synced_seq
            seq = self._written_seq
            self._file.flush()
            os.fsync(self._file.fileno())
            self.synced_seq = seq
        return seq

    def close(self) -> None:
        self.sync()
        with self._lock:
            self._file.close()

    def delete(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


class JournalSyncer:
    """A thread that syncs every registered journal with new frames each ``interval_s``."""

    def __init__(self, *, interval_s: float = SYNC_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._journals: set[LandmarkJournal] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-sync", daemon=True)
        self._thread.start()

    def add(self, journal: LandmarkJournal) -> None:
        self._journals.add(journal)

    def discard(self, journal: LandmarkJournal | None) -> None:
        self._journals.discard(journal)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            for journal in list(self._journals):
                if journal.behind:
                    try:
                        journal.sync()
                    except OSError as exc:  # a full or failing disk: the frames stay unacknowledged
                        log.warning("journal %s not synced (%s); the page keeps its frames", journal.path, exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


def _line(obj: dict) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode("utf-8")


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
