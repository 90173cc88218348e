"""`mindmove dashboard` and `mindmove demo`.

``dashboard`` runs ``streamlit run dashboard/server.py`` (Streamlit's own server, with the
dashboard's browser cookie and its signed-in downloads: see ``docs/dashboard.md``) on the
configured store; with no display (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux) it runs
headless and opens no browser. The browser is never shown a traceback
(``--client.showErrorDetails none``) and tables offer no unaudited CSV download
(``--client.disableDataExport true``). The address and port are checked before the server
starts: one that is not this computer's, or a port in use, is one line and exit 2. The server
is this command's child: stopping the command (Ctrl+C, or SIGTERM/SIGHUP from a service
manager or a closed terminal) stops the server too, never leaving it running on its port.

``demo`` fills the demo's OWN database, ``<data dir>/demo.db`` (``--db-url`` names another;
``MINDMOVE_DB_URL`` is ignored, so the demo users and their published password never reach
a clinic's store) with the demo clinic (:mod:`mindmove.demo`), prints the sign-in to use,
then starts the home-practice server (``mindmove serve``, in the background, with a one-time
link for demo patient D001) and the dashboard on that database; Ctrl-C or SIGTERM stops both.
``--seed-only`` stops after filling; ``--no-home`` starts the dashboard alone.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import typer

APP_PATH = Path(__file__).resolve().parents[2] / "dashboard" / "server.py"
DEFAULT_PORT = 8501
# Patient data stays on this computer unless the clinic chooses to serve it on its network
# (`--address 0.0.0.0`, behind an HTTPS reverse proxy).
DEFAULT_ADDRESS = "localhost"
SERVER_STOP_TIMEOUT_S = 10.0  # Streamlit's own shutdown after SIGTERM; then it is killed
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    """This command was asked to stop (SIGTERM or SIGHUP)."""


def serve_until_stopped(command: list[str], *, env: dict | None = None) -> int:
    """Run the server ``command`` until it exits or this process is stopped; on Ctrl+C,
    SIGTERM or SIGHUP the server is stopped too (terminated, then killed after
    :data:`SERVER_STOP_TIMEOUT_S`). Returns the server's exit code, or 0 when stopped."""

    def stop(signum, _frame):
        raise _Stop(signum)

    server = subprocess.Popen(command, env=env)
    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        return server.wait()
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        for sig in STOP_SIGNALS:  # a second signal must not cut the server's shutdown short
            signal.signal(sig, signal.SIG_IGN)
        try:
            _stop_server(server)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def streamlit_command(*, port: int, address: str = DEFAULT_ADDRESS, headless: bool | None = None) -> list[str]:
    """The command line that serves the dashboard."""
    headless = (not _has_display()) if headless is None else headless
    return [sys.executable, "-m", "streamlit", "run", str(APP_PATH), "--server.port", str(port),
            "--server.address", address,
            "--server.headless", "true" if headless else "false", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal", "--client.showErrorDetails", "none",
            "--client.disableDataExport", "true"]


def _run_dashboard(port: int, address: str = DEFAULT_ADDRESS, *, db_url: str | None = None) -> int:
    """Serve the dashboard until stopped; ``db_url`` (the demo's) replaces ``MINDMOVE_DB_URL``."""
    from core.errors import InputError

    if not APP_PATH.exists():
        raise InputError(f"Expected the dashboard app at {APP_PATH}, but it is missing. Reinstall MindMove.")
    check_address(address, port)
    host = "localhost" if address in ("localhost", "127.0.0.1", "0.0.0.0", "::") else address
    typer.echo(f"Dashboard at http://{host}:{port} (Ctrl+C stops it).")
    env = None if db_url is None else {**os.environ, "MINDMOVE_DB_URL": db_url}
    return serve_until_stopped(streamlit_command(port=port, address=address), env=env)


def check_address(address: str, port: int, /) -> None:
    """Refuse (one line) an address this computer cannot serve on, or a port already in use,
    by binding it for a moment: the server would fail the same way, after starting."""
    from core.errors import InputError

    if not 0 < port < 65536:
        raise InputError(f"A port is 1-65535, but got {port}. Choose another with --port.")
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise InputError(f"Cannot serve the dashboard on {address!r}: it is not an address or a name of this network "
                         f"({getattr(exc, 'strerror', None) or exc}). Use localhost, 0.0.0.0 or one of this computer's "
                         "addresses with --address.") from exc
    family, kind, proto, _, sockaddr = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(sockaddr)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        hint = "choose another with --port" if exc.errno == errno.EADDRINUSE else "use one of this computer's addresses with --address"
        raise InputError(f"Cannot serve the dashboard on {address} port {port}: {reason}; {hint}.") from exc


def _start_home_server(url: str, port: int) -> subprocess.Popen:
    """``mindmove serve`` on the demo's database in the background; prints a link for D001."""
    from mindmove.store import open_store
    from mindmove.telehealth.access import create_invitation

    with open_store(url) as store:
        invitation = create_invitation(store, "D001", by="demo", valid_s=24 * 3600.0)
    env = {**os.environ, "MINDMOVE_DB_URL": url}
    proc = subprocess.Popen([sys.executable, "-m", "mindmove", "serve", "--port", str(port)], env=env)
    typer.echo(f"Home practice for demo patient D001 (open in Chrome or Firefox on this computer; one use, 24 h): "
               f"{invitation.link(f'http://localhost:{port}')}")
    return proc


def _raise_interrupt(signum, frame) -> None:  # SIGTERM stops the demo as Ctrl-C does: both servers end
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    """Add `dashboard` and `demo` to ``app``."""

    @app.command("dashboard")
    def dashboard(
        port: int = typer.Option(DEFAULT_PORT, "--port", help="Port to serve on."),
        address: str = typer.Option(DEFAULT_ADDRESS, "--address",
                                    help="Address to serve on; 0.0.0.0 serves the clinic's network (use HTTPS in front)."),
    ) -> None:
        """Start the clinicians' dashboard (sign-in required)."""
        from mindmove.store import open_store

        check_address(address, port)  # before anything is made
        open_store().dispose()  # create or upgrade the schema once, before the app's processes
        raise typer.Exit(_run_dashboard(port, address))

    @app.command("demo")
    def demo(
        port: int = typer.Option(DEFAULT_PORT, "--port", help="Port to serve on."),
        seed_only: bool = typer.Option(False, "--seed-only", help="Only fill the database; do not start the dashboard."),
        db_url: str = typer.Option("", "--db-url",
                                   help="The demo's database (default: demo.db in the data folder; never the clinic's)."),
        home_port: int = typer.Option(8600, "--home-port", help="Port of the home-practice server (mindmove serve)."),
        no_home: bool = typer.Option(False, "--no-home", help="Start the dashboard alone, without home practice."),
    ) -> None:
        """Fill a demo database with a demo clinic (real analysis of simulated sessions); start home practice and the dashboard."""
        from mindmove.demo import DEMO_PASSWORD, DEMO_USERS, demo_db_url, seed_demo
        from mindmove.settings import hide_password
        from mindmove.store import open_store

        url = db_url or demo_db_url()
        with open_store(url) as store:
            counts = seed_demo(store)
        if counts.get("already_seeded"):
            typer.echo(f"The demo clinic is already in {hide_password(url)}.")
        else:
            typer.echo(f"Demo clinic ready: {counts['patients']} patients, {counts['sessions']} sessions "
                       f"in {hide_password(url)}.")
        users = ", ".join(f"{name} ({role})" for name, role, _ in DEMO_USERS)
        typer.echo(f"Sign in as {users}; password: {DEMO_PASSWORD}")
        if seed_only:
            return
        import signal

        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        home = None
        try:
            home = None if no_home else _start_home_server(url, home_port)
            code = _run_dashboard(port, db_url=url)
        except KeyboardInterrupt:
            code = 0
        finally:
            if home is not None:
                _stop_server(home)
            signal.signal(signal.SIGTERM, previous)
        raise typer.Exit(code)
