"""The ``mindmove`` command line.

Each area of the product registers its own commands from ``mindmove/commands/<area>.py``
(a ``register(app)`` function), so this file stays a switchboard. Command modules import
heavy libraries (MediaPipe, OpenCV, Streamlit, bleak) inside the command functions, so
``mindmove --help`` stays fast.

Every :class:`~core.errors.MindMoveError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from typer.exceptions import TyperException
from rich.console import Console

from core.errors import MindMoveError

COMMAND_MODULES = (
    "analyze", "practice", "breath", "belt", "calibrate", "profile", "dashboard", "users", "programme",
    "telehealth",
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
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details to stderr."),
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


for _name in COMMAND_MODULES:
    importlib.import_module(f"mindmove.commands.{_name}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning expected failures into one clear line."""
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
        exc.show()
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        err_console.print("mindmove: stopped.")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
