"""The ``mindmove`` command line.

Each area of the product registers its own commands from ``mindmove/commands/<area>.py``
(a ``register(app)`` function), so this file stays a switchboard. Command modules import
heavy libraries (MediaPipe, OpenCV, Streamlit, bleak) inside the command functions, so
``mindmove --help`` stays fast.

Every :class:`~core.errors.MindMoveError`, and every usage error (a missing option, a word
where a number belongs), becomes one line on stderr and exit code 2. Every command's
arguments pass :func:`mindmove.inputs.guard_command` first (finite numbers, 32-bit integers,
UTF-8 text), before the command does anything.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from typer.exceptions import TyperException
from rich.console import Console

from core.errors import MindMoveError
from mindmove.inputs import guard_command
from mindmove.console import quiet_native_logs

COMMAND_MODULES = (
    "analyze", "practice", "breath", "belt", "calibrate", "profile", "dashboard", "users", "assess",
    "programme", "telehealth",
)

app = typer.Typer(
    name="mindmove",
    help="MindMove: mindful movement practice with gentle, camera-based guidance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False)


def _version_callback(value: bool) -> None:
    if value:
        from mindmove import __version__

        typer.echo(f"mindmove {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Log details to stderr, the pose model's own log lines included."),
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


for _name in COMMAND_MODULES:
    importlib.import_module(f"mindmove.commands.{_name}").register(app)


def _guard_all(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        info.callback = guard_command(info.callback)
    for group in typer_app.registered_groups:
        _guard_all(group.typer_instance)


_guard_all(app)


def _usage_line(exc: TyperException) -> str:
    """A usage error as one line: what was wrong, and where the help is."""
    text = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return " ".join(f"{text}{where}".split())
def _verbose(argv: list[str]) -> bool:
    """``--verbose`` / ``-v`` among the options before the command name."""
    for arg in argv:
        if arg in ("--verbose", "-v"):
            return True
        if not arg.startswith("-"):
            return False
    return False


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning expected failures into one clear line. The C++
    libraries' own log lines are kept off the console unless ``--verbose``."""
    args = list(sys.argv[1:] if argv is None else argv)
    with quiet_native_logs(enabled=not _verbose(args)):
        return _run(args)


def _run(argv: list[str]) -> int:
    try:
        app(args=argv, standalone_mode=False)
    except MindMoveError as exc:
        err_console.print(f"[bold]mindmove:[/bold] {exc}", soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except typer.Abort:
        err_console.print("mindmove: stopped.")
        return 130
    except TyperException as exc:  # usage errors: typer's own (vendored click) exceptions
        err_console.print(f"mindmove: {_usage_line(exc)}", soft_wrap=True, markup=False)
        return int(getattr(exc, "exit_code", 2) or 2)
    except KeyboardInterrupt:
        err_console.print("mindmove: stopped.")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
