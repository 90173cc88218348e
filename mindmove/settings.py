"""Where MindMove keeps its files, and which database it uses.

- ``MINDMOVE_DATA_DIR``: the data directory (default: the user's data directory,
  e.g. ``~/.local/share/mindmove`` on Linux).
- ``MINDMOVE_DB_URL``: an SQLAlchemy URL (default: ``sqlite:///<data dir>/mindmove.db``).
  A clinic with several stations points every station at one PostgreSQL server:
  ``postgresql+psycopg://user:password@host/mindmove``.
- ``MINDMOVE_EXERCISES_DIR``: a clinic's own exercise files, added to the shipped ones.
- ``MINDMOVE_HOME_URL``: the address patients' browsers reach ``mindmove serve`` at, put in
  their invitation links (default ``http://localhost:8600``; a clinic gives its HTTPS name,
  e.g. ``https://mindmove.clinic.example:8443``).
- ``MINDMOVE_POSE_RATE_HZ``, ``MINDMOVE_POSE_INPUT_PX``: a slow practice station's explicit
  choices (unset: every frame, the image as the camera gives it): at most that many frames a
  second to the pose model, and the model's input shrunk to that many pixels on its long
  side. Their measured accuracy cost is in ``docs/practice.md``; a session using them says so
  in its summary.

Reading settings creates nothing; :func:`ensure_data_dir` does, when a command needs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


DEFAULT_HOME_URL = "http://localhost:8600"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str
    exercises_dir: Path | None
    home_url: str = DEFAULT_HOME_URL
    pose_rate_hz: float | None = None
    pose_input_px: int | None = None


def _positive(name: str, kind: type, what: str):
    text = (os.environ.get(name) or "").strip()
    if not text:
        return None
    from core.errors import InputError

    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise InputError(f"Expected {name} to be {what}, but got {text!r}; fix or unset it.")
    return value


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("MINDMOVE_DATA_DIR") or platformdirs.user_data_dir("mindmove", appauthor=False))
    db_url = os.environ.get("MINDMOVE_DB_URL") or f"sqlite:///{data_dir / 'mindmove.db'}"
    ex = os.environ.get("MINDMOVE_EXERCISES_DIR")
    home_url = (os.environ.get("MINDMOVE_HOME_URL") or DEFAULT_HOME_URL).rstrip("/")
    return Settings(data_dir=data_dir, db_url=db_url, exercises_dir=Path(ex) if ex else None, home_url=home_url,
                    pose_rate_hz=_positive("MINDMOVE_POSE_RATE_HZ", float, "frames a second above 0 (e.g. 15)"),
                    pose_input_px=_positive("MINDMOVE_POSE_INPUT_PX", int, "a whole number of pixels (e.g. 960)"))


def ensure_data_dir(settings: Settings | None = None) -> Path:
    """Create the data directory if needed; a path that cannot be a directory is a StoreError."""
    from core.errors import StoreError

    settings = settings or load_settings()
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Expected a data directory MindMove can create at {settings.data_dir}, but got "
                         f"{exc.strerror or exc.__class__.__name__}. Set MINDMOVE_DATA_DIR to a writable folder.") from exc
    return settings.data_dir


def hide_password(url: str, /) -> str:
    """``url`` fit to print or log: the password of a database URL replaced by ``***``.

    A URL SQLAlchemy cannot parse (or with an unescaped ``@`` in its password) is shown
    without anything between its scheme and its last ``@``.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = str(url)
    if text.count("@") <= 1:  # more than one: an unescaped '@' in the password would confuse the parser
        try:
            return make_url(text).render_as_string(hide_password=True)
        except (ArgumentError, ValueError, TypeError):
            pass
    if "@" not in text:
        return text
    scheme, sep, _ = text.partition("://")
    return f"{scheme}://***@{text.rsplit('@', 1)[1]}" if sep else "***@" + text.rsplit("@", 1)[1]
