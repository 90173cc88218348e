"""The message catalogue: every sentence shown to a patient, by ``section.key``.

Library code never holds patient-facing text; it refers to a key (``"range.approaching_limit"``)
and the renderer looks it up here. ``MINDMOVE_MESSAGES`` may point at a clinic's own
reworded or translated copy of ``messages.toml``; keys it lacks fall back to the shipped text.
The copy is checked when it is loaded (``mindmove practice`` loads it before the camera
opens): it must be UTF-8 TOML, and a reworded message may use only the ``{placeholders}`` of
the shipped one (``{count}`` stays ``{count}`` in a translation), so a wrong one stops the
start with one line instead of failing in the middle of a session.
"""

from __future__ import annotations

import os
import string
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from core.errors import InputError


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


def compute_placeholders(text: str, /) -> set[str]:
    """The ``{placeholder}`` names in ``text`` (ValueError when its braces do not pair up)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text)
            if name is not None}


def _check_override(override: dict[str, str], shipped: dict[str, str], origin: str) -> None:
    """Each reworded message uses only its shipped message's placeholders."""
    for key, text in override.items():
        try:
            names = compute_placeholders(text)
        except ValueError as exc:
            raise InputError(f"The message catalogue {origin}: {key} has unpaired braces ({exc}); "
                             f"write a placeholder as {{name}} and a brace as {{{{ or }}}}.") from exc
        if key in shipped:
            unknown = names - compute_placeholders(shipped[key])
            if unknown:
                allowed = ", ".join(f"{{{n}}}" for n in sorted(compute_placeholders(shipped[key]))) or "none"
                raise InputError(f"The message catalogue {origin}: {key} uses "
                                 f"{', '.join(f'{{{n}}}' for n in sorted(unknown))}, but it may only use "
                                 f"{allowed} (keep the placeholders in English).")


def load_catalogue(override: str | None = None) -> dict[str, str]:
    """All messages by key; ``override`` (or ``MINDMOVE_MESSAGES``) replaces shipped ones."""
    return _load_catalogue(override or os.environ.get("MINDMOVE_MESSAGES") or None)


@lru_cache(maxsize=4)
def _load_catalogue(override: str | None) -> dict[str, str]:
    """Cached by the override actually in force, so a changed ``MINDMOVE_MESSAGES`` is seen."""
    shipped = _read(resources.files("feedback").joinpath("messages.toml").read_text("utf-8"), "shipped with MindMove")
    if override:
        path = Path(override)
        if not path.is_file():
            raise InputError(f"MINDMOVE_MESSAGES points at {path}, which does not exist.")
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"The message catalogue {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                             f"save it as UTF-8 and try again.") from exc
        own = _read(text, str(path))
        _check_override(own, shipped, str(path))
        shipped.update(own)
    return shipped


load_catalogue.cache_clear = _load_catalogue.cache_clear  # a clinic file edited in place: reload it


def message(key: str, /, **values: object) -> str:
    """The text for ``key`` with ``{placeholders}`` filled in."""
    catalogue = load_catalogue()
    try:
        text = catalogue[key]
    except KeyError as exc:
        raise KeyError(f"No message {key!r} in the catalogue (feedback/messages.toml).") from exc
    return text.format(**values) if values else text
