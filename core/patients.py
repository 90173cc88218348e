"""Patient codes: how a clinic names a patient everywhere in MindMove (never by name)."""

from __future__ import annotations

import re

from core.errors import ValidationError

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_patient_code(code: str, /) -> str:
    """``code`` without surrounding spaces, if it is a clinic code (:data:`CODE_PATTERN`); else
    :class:`ValidationError`. Every way a patient gets into the store goes through this check,
    so a name typed where a code belongs is refused."""
    cleaned = code.strip() if isinstance(code, str) else ""
    if not CODE_PATTERN.match(cleaned):
        raise ValidationError(f"A patient code is 1-64 of letters, digits, '.', '_', '-', but got {code!r}. "
                              "Use the clinic's code (e.g. P001), never a name.")
    return cleaned
