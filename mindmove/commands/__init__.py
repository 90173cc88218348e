"""Command modules: each has ``register(app)``."""

from __future__ import annotations

import getpass


def cli_actor() -> str:
    """Who runs a command, for the audit log: ``cli:<operating-system user>`` (``cli`` if unknown)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def cli_audit(store, action: str, /, *, patient: str | None = None, success: bool = True, detail: str = "") -> None:
    """One audit-log entry for a command, as :func:`cli_actor`."""
    from mindmove.auth import audit

    audit(store, cli_actor(), action, patient_code=patient, success=success, detail=detail)
