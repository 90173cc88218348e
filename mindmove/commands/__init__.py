"""Command modules: each has ``register(app)``."""

from __future__ import annotations

import getpass


def cli_actor() -> str:
    """Who runs a command, for the audit log: ``cli:<operating-system user>`` (``cli`` if unknown)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
