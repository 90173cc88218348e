"""The message catalogue: every sentence shown to a patient, by ``section.key``.

Library code never holds patient-facing text; it refers to a key (``"range.approaching_limit"``)
and the renderer looks it up here. ``MINDMOVE_MESSAGES`` may point at a clinic's own
reworded or translated copy of ``messages.toml``; keys it lacks fall back to the shipped text.
The copy is checked when it is loaded (``mindmove practice``, ``breathe`` and ``calibrate``
load it before the camera or belt opens): it must be UTF-8 TOML, every message is text in
quotes (not a number or a table), and a placeholder is a plain ``{name}`` from the message's
allowed list, the names its shipped text uses (``{count}`` stays ``{count}`` in a
translation; a message the shipped file lacks may use none). No attribute, index, conversion
or format spec (``{count.__class__}``, ``{count[0]}``, ``{count!r}``, ``{count:>9999}``):
the patient would read Python's internals, or a cue would grow to a gigabyte. A wrong file
stops the start with one line instead of failing in the middle of a session.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from core.errors import InputError


PLACEHOLDER_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")  # the catalogue's names: count, body_part


class PlaceholderError(ValueError):
    """A ``{field}`` that is not a plain name (attribute, index, conversion, format spec)."""


def _flatten(table: dict, origin: str, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, origin, full + "."))
        elif isinstance(value, str):
            out[full] = value
        else:
            kind = "true/false" if isinstance(value, bool) else type(value).__name__
            raise InputError(f"The message catalogue {origin}: {full} is {value!r} ({kind}), but a message is "
                             f'text in quotes, e.g. {full.rsplit(".", 1)[-1]} = "...".')
    return out


def _read(path_text: str, origin: str) -> dict[str, str]:
    try:
        return _flatten(tomllib.loads(path_text), origin)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The message catalogue {origin} is not valid TOML: {exc}.") from exc


def compute_placeholders(text: str, /) -> set[str]:
    """The ``{placeholder}`` names in ``text``.

    ValueError when its braces do not pair up; :class:`PlaceholderError` for a field that is
    not a plain lower-case name (``{count.real}``, ``{count[0]}``, ``{count!r}``,
    ``{count:>9}``, ``{}``, ``{0}``).
    """
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not PLACEHOLDER_NAME.match(field) or spec or conversion:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise PlaceholderError(f"{{{shown}}} is not a plain {{name}}")
        names.add(field)
    return names


def _check_override(override: dict[str, str], shipped: dict[str, str], origin: str) -> None:
    """Each message is text whose placeholders are plain names its shipped message uses."""
    for key in override:
        parent = key.rsplit(".", 1)[0]
        if "." in key and parent in shipped:
            raise InputError(f"The message catalogue {origin}: {parent} is a table, but a message is text in quotes "
                             f'({parent.rsplit(".", 1)[-1]} = "...").')
    for key, text in override.items():
        try:
            names = compute_placeholders(text)
        except PlaceholderError as exc:
            raise InputError(f"The message catalogue {origin}: {key} has {exc}; a placeholder is only a name "
                             f"in braces, such as {{count}}.") from exc
        except ValueError as exc:
            raise InputError(f"The message catalogue {origin}: {key} has unpaired braces ({exc}); "
                             f"write a placeholder as {{name}} and a brace as {{{{ or }}}}.") from exc
        if key not in shipped and names:
            raise InputError(f"The message catalogue {origin}: {key} uses "
                             f"{', '.join(f'{{{n}}}' for n in sorted(names))}, but MindMove has no such message "
                             "to fill them in; remove the placeholders or check the key.")
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
    _check_override(shipped, shipped, "shipped with MindMove")
    if override:
        path = Path(override)
        if not path.is_file():
            raise InputError(f"MINDMOVE_MESSAGES points at {path}, which does not exist.")
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"The message catalogue {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                             f"save it as UTF-8 and try again.") from exc
        except OSError as exc:
            raise InputError(f"The message catalogue {path} cannot be read ({exc.strerror or exc}); "
                             "check MINDMOVE_MESSAGES and the file's permissions.") from exc
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
