"""The message catalogue: every sentence shown to a patient, by ``section.key``.

Library code never holds patient-facing text; it refers to a key (``"range.approaching_limit"``)
and the renderer looks it up here. ``MINDMOVE_MESSAGES`` may point at a clinic's own
reworded or translated copy of ``messages.toml``; keys it lacks fall back to the shipped text.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from mindmove.errors import InputError


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = str(value)
    return out


def _read(path_text: str, origin: str) -> dict[str, str]:
    try:
        return _flatten(tomllib.loads(path_text))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The message catalogue {origin} is not valid TOML: {exc}.") from exc


@lru_cache(maxsize=4)
def load_catalogue(override: str | None = None) -> dict[str, str]:
    """All messages by key; ``override`` (or ``MINDMOVE_MESSAGES``) replaces shipped ones."""
    shipped = _read(resources.files("feedback").joinpath("messages.toml").read_text("utf-8"), "shipped with MindMove")
    override = override or os.environ.get("MINDMOVE_MESSAGES")
    if override:
        path = Path(override)
        if not path.is_file():
            raise InputError(f"MINDMOVE_MESSAGES points at {path}, which does not exist.")
        shipped.update(_read(path.read_text("utf-8"), str(path)))
    return shipped


def message(key: str, /, **values: object) -> str:
    """The text for ``key`` with ``{placeholders}`` filled in."""
    catalogue = load_catalogue()
    try:
        text = catalogue[key]
    except KeyError as exc:
        raise KeyError(f"No message {key!r} in the catalogue (feedback/messages.toml).") from exc
    return text.format(**values) if values else text
