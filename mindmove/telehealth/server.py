"""Running the telehealth application with uvicorn (``mindmove serve``).

Localhost by default. A clinic serving patients at home gives ``--address`` (its network
interface, or 0.0.0.0) and an HTTPS certificate and key: browsers open the camera only in a
secure context (HTTPS, or a page from localhost), and the device cookie is then ``Secure``.
SIGINT and SIGTERM stop the server cleanly: open pages are told (WebSocket close 1012) and
reconnect; every live session stays resumable from its journal.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError

log = logging.getLogger(__name__)

WS_MAX_SIZE_BYTES = 1 << 20      # the WebSocket layer refuses (closes on) anything bigger; the app refuses > 32 kB
WS_PING_INTERVAL_S = 20.0        # a page that vanished without closing is noticed within a minute
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ServeOptions:
    address: str = "localhost"
    port: int = 8600
    certfile: Path | None = None
    keyfile: Path | None = None
    workers: int | None = None   # None: one per core (0 on a single core: sessions in the server process)


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if cores > 1 else 0


def check_options(options: ServeOptions, /) -> None:
    """Refuse, in one line each, what cannot serve patients."""
    if not 0 < options.port < 65536:
        raise InputError(f"A port is 1-65535, but got {options.port}. Choose another with --port.")
    if (options.certfile is None) != (options.keyfile is None):
        raise InputError("HTTPS needs both --certfile and --keyfile (PEM files); give both, or neither.")
    for label, path in (("--certfile", options.certfile), ("--keyfile", options.keyfile)):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{label} {path} does not exist. Give the clinic's certificate and key files.")
    if options.workers is not None and not 0 <= options.workers <= 64:
        raise InputError(f"--workers is 0 to 64, but got {options.workers}.")


def run_server(options: ServeOptions, /) -> int:
    """Serve until stopped; returns the exit code."""
    import typer
    import uvicorn

    from mindmove.settings import ensure_data_dir, load_settings
    from mindmove.store import open_store
    from mindmove.telehealth.app import AppConfig, create_app

    check_options(options)
    settings = load_settings()
    open_store(settings.db_url).dispose()  # create or upgrade the schema once, before the workers
    secure = options.certfile is not None
    workers = default_workers() if options.workers is None else options.workers
    app = create_app(AppConfig(store_url=settings.db_url, data_dir=ensure_data_dir(settings),
                               exercises_dir=settings.exercises_dir, workers=workers, secure_cookies=secure))
    scheme = "https" if secure else "http"
    shown = "localhost" if options.address in ("0.0.0.0", "::") else options.address
    if not secure and options.address not in LOCAL_ADDRESSES:
        typer.echo("Note: without HTTPS, browsers on other computers will not open the camera. "
                   "Give --certfile/--keyfile (see the README), or put an HTTPS proxy in front.", err=True)
    typer.echo(f"Home practice at {scheme}://{shown}:{options.port} (Ctrl+C stops it).", err=True)
    uvicorn.run(app, host=options.address, port=options.port, ssl_certfile=options.certfile,
                ssl_keyfile=options.keyfile, ws_max_size=WS_MAX_SIZE_BYTES, ws_ping_interval=WS_PING_INTERVAL_S,
                log_level="warning", access_log=False, lifespan="on")
    return 0
