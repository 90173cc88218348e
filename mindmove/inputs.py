"""Command-line input checked before a command does anything.

A refusal is one :class:`~core.errors.InputError` line (exit 2) and nothing is stored,
opened or half-written: commands call these checks before a session, a camera, a belt or
an output file exists.

- :func:`guard_command` wraps every command (``mindmove.cli`` applies it): a number option
  must be finite (``nan``, ``inf`` refused) and an integer must fit a 32-bit integer, text
  must be UTF-8 without control characters. Ranges that mean something (minutes, metres per
  pixel) are each command's own, with :func:`check_number`.
- :func:`check_output_dir` / :func:`check_output_file`: a place MindMove can write, probed
  for real (an empty file created and removed; folders made for the probe removed again), so
  ``/proc/x``, a path under a file, a folder given for a file, or a read-only place is
  refused up front rather than after minutes of work.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from core.errors import InputError

MAX_INT_OPTION = 2**31 - 1  # no MindMove count, index or port needs more; the store's integers are 32-bit
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def _option_name(name: str, default: object) -> str:
    decls = [d for d in (getattr(default, "param_decls", None) or ()) if d.startswith("--")]
    return decls[0] if decls else name.upper()


def _check_value(value: Any, option: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"Expected {option} to be a finite number, but got {value}.")
    elif isinstance(value, int):
        if abs(value) > MAX_INT_OPTION:
            raise InputError(f"Expected {option} to be a whole number of sensible size, but got {value}.")
    elif isinstance(value, str):
        check_text(value, option=option)
    elif isinstance(value, (tuple, list)):
        for item in value:
            _check_value(item, option)


def check_text(value: str, /, *, option: str) -> str:
    """``value`` if it is UTF-8 text without control characters; else one :class:`InputError` line."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"Expected {option} to be UTF-8 text, but it has bytes that are not "
                         f"(at character {exc.start + 1}); retype it, or set the terminal to UTF-8.") from exc
    bad = next((c for c in value if (ord(c) < 32 or ord(c) == 127) and c not in _ALLOWED_CONTROLS), None)
    if bad is not None:
        raise InputError(f"Expected {option} to be plain text, but it has the control character {bad!r}; retype it.")
    return value


def guard_command(fn: Callable) -> Callable:
    """``fn`` with every argument checked first (finite numbers, 32-bit integers, UTF-8 text)."""
    signature = inspect.signature(fn)
    names = {name: _option_name(name, p.default) for name, p in signature.parameters.items()}

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        bound = signature.bind_partial(*args, **kwargs)
        for name, value in bound.arguments.items():
            if not isinstance(value, Path):  # a file name need not be UTF-8 on Linux
                _check_value(value, names[name])
        return fn(*args, **kwargs)

    return guarded


def check_number(value: float | None, /, *, option: str, low: float | None = None, high: float | None = None,
                 low_open: bool = False, unit: str = "") -> float | None:
    """``value`` (``None`` passes) if finite and within ``low``..``high`` (``low_open``: above ``low``)."""
    if value is None:
        return None
    unit_text = f" {unit}" if unit else ""
    if not math.isfinite(value):
        raise InputError(f"Expected {option} to be a finite number, but got {value}.")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        if low is not None and high is not None:
            span = f"{'above' if low_open else 'from'} {low:g}{' and up to' if low_open else ' to'} {high:g}{unit_text}"
        elif low is not None:
            span = f"{'above' if low_open else 'at least'} {low:g}{unit_text}"
        else:
            span = f"at most {high:g}{unit_text}"
        raise InputError(f"Expected {option} {span}, but got {value:g}.")
    return value


def _probe_writable_dir(directory: Path, option: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".mindmove-probe-"):
            pass
    except OSError as exc:
        raise InputError(f"Expected {option} in a folder MindMove can write, but {directory} is not writable "
                         f"({exc.strerror or exc.__class__.__name__}). Choose another place.") from exc


def check_output_dir(path: str | os.PathLike, /, *, option: str = "--out") -> Path:
    """``path`` if it is (or can be made as) a writable folder; probed, then left as it was."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"Expected {option} to be a folder, but {out} is a file; choose another path.")
    missing = []
    probe = out
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"Expected {option} to be a folder, but {probe} in its path is a file; choose another path.")
    made: list[Path] = []
    try:
        for folder in reversed(missing):
            folder.mkdir()
            made.append(folder)
        _probe_writable_dir(out, option)
    except OSError as exc:
        raise InputError(f"Expected {option} to be a folder MindMove can create, but {out} cannot be made "
                         f"({exc.strerror or exc.__class__.__name__}). Choose another place.") from exc
    finally:
        for folder in reversed(made):  # innermost first: the probe leaves nothing behind
            folder.rmdir()
    return out


def check_output_file(path: str | os.PathLike, /, *, option: str, suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` if a file can be written there (its folder writable; not a folder itself)."""
    out = Path(path)
    if suffixes and out.suffix.lower() not in suffixes:
        raise InputError(f"Expected {option} to end in {' or '.join(suffixes)}, but got {out.name!r}.")
    if out.is_dir():
        raise InputError(f"Expected {option} to be a file, but {out} is a folder; add a file name.")
    check_output_dir(out.parent, option=option)
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"Expected {option} to be a file MindMove can write, but {out} is read-only.")
    return out


def check_breath_options(*, signal: str | None, polarity: str | None, belt_kind: str | None,
                         rate_hz: float | None) -> None:
    """Refuse a bad --signal, --polarity, --belt-kind or --rate-hz before anything is read or stored."""
    from core.signals import check_sampling_rate_hz
    from feedback.breath_signals import POLARITIES, resolve_polarity, signal_kind
    from sensing.belts.kinds import BELT_KINDS

    if polarity is not None and polarity not in POLARITIES:
        raise InputError(f"--polarity is one of {', '.join(POLARITIES)}, but got {polarity!r}.")
    kind = signal_kind(signal if signal is not None else "auto")
    resolve_polarity(kind, polarity)
    if belt_kind is not None and belt_kind not in BELT_KINDS:
        raise InputError(f"--belt-kind is one of {', '.join(BELT_KINDS)}, but got {belt_kind!r}.")
    if rate_hz is not None:
        check_sampling_rate_hz(rate_hz)


def recording_signal(file: Path | None, *, signal: str | None, belt_kind: str | None) -> str:
    """The breath signal kind: the option, else what the file says (``# signal:``), else the
    belt kind's own sensor (the registry's), else ``auto``. A generic belt's raw log does not
    carry its TOML, so its kind's default stands."""
    if signal is not None:
        return signal
    from sensing.belts.kinds import BELT_KINDS
    from sensing.breath_source import load_breath_signal

    named = load_breath_signal(file) if file is not None else None
    if named is not None:
        return named
    entry = BELT_KINDS.get(belt_kind or "")
    return entry.signal if entry is not None else "auto"
