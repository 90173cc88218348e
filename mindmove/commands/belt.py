"""`mindmove belt ...`: find and record Bluetooth breathing belts.

Test and demo seam: when the environment variable ``MINDMOVE_BELT_BACKEND`` is set to
``module:function``, that function is called with no arguments and must return
``(client_backend, scanner_backend)``, the classes handed to ``bleak.BleakClient(backend=)``
and ``bleak.BleakScanner(backend=)``. The tests use it to drive the real commands through
an in-memory device; leave it unset with real belts.
"""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path
from typing import Optional

import typer

from core.errors import InputError, SourceError
from sensing.belts.kinds import BELT_KINDS, belt_kinds_help

BACKEND_ENV = "MINDMOVE_BELT_BACKEND"
READ_POLL_S = 0.2
MAX_SCAN_S = 120.0  # a belt advertises every second or so: two minutes of listening finds any

belt_app = typer.Typer(help="Find and record Bluetooth breathing belts ("
                            + ", ".join(k.title for k in BELT_KINDS.values()) + ").",
                       no_args_is_help=True)


def _backends() -> tuple[object | None, object | None]:
    spec = os.environ.get(BACKEND_ENV)
    if not spec:
        return None, None
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise InputError(f"Expected {BACKEND_ENV} as 'module:function', but {spec!r} could "
                         f"not be loaded ({exc}): unset it to use real Bluetooth.") from exc
    return factory()


@belt_app.command("scan")
def scan(
    timeout: float = typer.Option(5.0, "--timeout", min=0.0, help="Seconds to listen."),
    all_devices: bool = typer.Option(False, "--all", help="List every device seen."),
) -> None:
    """List nearby belts with their signal strength."""
    from mindmove.inputs import check_number
    from sensing.belts import scan_belts

    check_number(timeout, option="--timeout", low=0.0, high=MAX_SCAN_S, unit="s")
    _, scanner_backend = _backends()
    belts = scan_belts(timeout, scanner_backend=scanner_backend, all_devices=all_devices)
    if not belts:
        typer.echo("No belts found nearby. Switch the belt on and keep it close.")
        return
    typer.echo(f"{'name':<24} {'address':<38} {'rssi':>5}  kind")
    for b in belts:
        rssi = "" if b.rssi is None else str(b.rssi)
        typer.echo(f"{b.name or '?':<24} {b.address:<38} {rssi:>5}  {b.kind or '-'}")


@belt_app.command("record")
def record(
    device: str = typer.Option(..., "--device", help="Belt name (or its start), address, "
                                                     "or a generic belt TOML file."),
    out: Path = typer.Option(..., "--out", help="CSV to write (t_s,value,...)."),
    duration: Optional[float] = typer.Option(None, "--duration", min=0.0,
                                             help="Seconds to record (default: until Ctrl-C)."),
    raw_log: Optional[Path] = typer.Option(None, "--raw-log",
                                           help="Also write raw notifications for replay."),
    kind: Optional[str] = typer.Option(None, "--kind", help=f"{belt_kinds_help()} (default: from the name)."),
    scan_timeout: float = typer.Option(5.0, "--scan-timeout", min=0.0),
    signal: Optional[str] = typer.Option(None, "--signal", help="What the value measures (belt, impedance, airflow, "
                                         "co2, thermistor, accelerometer, auto), written in the file's first line "
                                         "so its polarity is known. Default: the device's own."),
) -> None:
    """Record a belt's breathing waveform to CSV; Ctrl-C stops and keeps what was written."""
    from core.signals import BREATH_SIGNALS
    from mindmove.inputs import check_number, check_output_file
    from sensing.belts import get_belt_kind, open_belt
    from sensing.belts.recording import BreathCsvWriter

    if not device.strip():
        raise InputError("Expected a belt's name, address or TOML file in --device, but got nothing.")
    if signal is not None and signal not in BREATH_SIGNALS:
        raise InputError(f"--signal is one of {', '.join(BREATH_SIGNALS)}, but got {signal!r}.")
    check_number(scan_timeout, option="--scan-timeout", low=0.0, high=MAX_SCAN_S, unit="s")
    check_output_file(out, option="--out")  # before the belt connects, not after the recording
    if raw_log is not None:
        check_output_file(raw_log, option="--raw-log")
    client_backend, scanner_backend = _backends()
    t0 = time.monotonic()
    stream = open_belt(device, kind=kind, backend=client_backend,
                       scanner_backend=scanner_backend, scan_timeout_s=scan_timeout,
                       raw_log=raw_log)
    writer = BreathCsvWriter(out, t0_s=t0, heart=get_belt_kind(stream.adapter.kind).heart_rate,
                             signal=signal or stream.adapter.signal)
    typer.echo(f"Recording {stream.name} to {out}" + (f" for {duration:g} s" if duration
                                                      else "; press Ctrl-C to stop") + ".")
    error = None
    try:
        while duration is None or time.monotonic() - t0 < duration:
            for event in stream.read(timeout_s=READ_POLL_S):
                writer.write(event)
            if stream.finished:
                break
    except KeyboardInterrupt:
        typer.echo("Stopping.")
    finally:
        stream.close()
        try:
            for event in stream.read():
                writer.write(event)
        except SourceError as exc:  # re-raised once the file is closed
            error = exc
        writer.close()
    battery = stream.battery_percent if stream.battery_percent is not None else \
        writer.battery_percent
    typer.echo(f"Wrote {writer.samples} samples and {writer.gaps} gap(s) to {out}"
               + (f"; battery {battery}%" if battery is not None else "")
               + (f"; skipped packets: {stream.stats}" if stream.adapter.stats.skipped else "")
               + ".")
    if error is not None:
        raise error


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.add_typer(belt_app, name="belt")
