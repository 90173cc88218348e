"""`mindmove serve` (home practice in the patient's browser) and the patient's device access:
`mindmove patient invite|revoke|devices`.

``serve`` runs the telehealth server (:mod:`mindmove.telehealth.server`) on localhost by
default; a clinic serving patients' homes gives ``--address`` and an HTTPS certificate
(``--certfile``/``--keyfile``): a browser allows the camera only in a secure context (HTTPS,
or localhost). Invitations, bindings and revocations are audited as ``cli:<operating-system user>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mindmove.commands import cli_actor

DEFAULT_SERVE_PORT = 8600
DEFAULT_SERVE_ADDRESS = "localhost"


def register_patient_commands(patient_app: typer.Typer) -> None:
    """Add `invite`, `revoke` and `devices` to the `patient` group."""

    @patient_app.command("invite")
    def patient_invite(
        code: str = typer.Argument(..., help="The clinic's patient code, e.g. P001."),
        valid_hours: float = typer.Option(72.0, "--valid-hours", help="How long the link may be opened (1 min to 14 days)."),
        home_url: Optional[str] = typer.Option(None, "--home-url",
                                               help="The address patients reach `mindmove serve` at "
                                                    "(default MINDMOVE_HOME_URL, else http://localhost:8600)."),
    ) -> None:
        """Make a one-time link that connects the patient's own device for home practice."""
        from mindmove.settings import load_settings
        from mindmove.store import open_store
        from mindmove.telehealth.access import create_invitation

        with open_store() as store:
            invitation = create_invitation(store, code, by=cli_actor(), valid_s=valid_hours * 3600.0)
        typer.echo(f"Link for {invitation.patient_code} (one use, until "
                   f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):")
        typer.echo(invitation.link(home_url or load_settings().home_url))

    @patient_app.command("revoke")
    def patient_revoke(
        code: str = typer.Argument(..., help="The clinic's patient code, e.g. P001."),
        device: Optional[int] = typer.Option(None, "--device", help="One device (see `patient devices`); default all."),
    ) -> None:
        """End a patient's home access: every device (and unopened link), or one device."""
        from mindmove.store import open_store
        from mindmove.telehealth.access import revoke_devices

        with open_store() as store:
            n = revoke_devices(store, code, by=cli_actor(), device_id=device)
        typer.echo(f"{n} device(s) of {code.strip()} disconnected" + ("" if device else "; unopened links ended") + ".")

    @patient_app.command("devices")
    def patient_devices(code: str = typer.Argument(..., help="The clinic's patient code, e.g. P001.")) -> None:
        """List the patient's connected (and revoked) devices."""
        from mindmove.auth import audit
        from mindmove.store import open_store
        from mindmove.telehealth.access import list_devices

        with open_store() as store:
            devices = list_devices(store, code)
            audit(store, cli_actor(), "view_devices", patient_code=code.strip(), detail=f"devices={len(devices)}")
        if not devices:
            typer.echo(f"{code.strip()} has no devices. Connect one with `mindmove patient invite {code.strip()}`.")
        for d in devices:
            state = f"revoked {d.revoked_at:%Y-%m-%d %H:%M} by {d.revoked_by}" if d.revoked_at else "connected"
            seen = f", last seen {d.last_seen_at:%Y-%m-%d %H:%M}" if d.last_seen_at else ""
            typer.echo(f"  device {d.id}: {state}; bound {d.created_at:%Y-%m-%d %H:%M}{seen}; {d.label[:60]}")


def register(app: typer.Typer) -> None:
    """Add `serve` to ``app``."""

    @app.command("serve")
    def serve(
        address: str = typer.Option(DEFAULT_SERVE_ADDRESS, "--address",
                                    help="Address to serve on; 0.0.0.0 serves the clinic's network (give HTTPS)."),
        port: int = typer.Option(DEFAULT_SERVE_PORT, "--port", help="Port to serve on."),
        certfile: Optional[Path] = typer.Option(None, "--certfile", help="HTTPS certificate (PEM), with --keyfile."),
        keyfile: Optional[Path] = typer.Option(None, "--keyfile", help="HTTPS private key (PEM), with --certfile."),
        workers: Optional[int] = typer.Option(None, "--workers",
                                              help="Processes running the practice pipelines (default: one per core, "
                                                   "0 runs them in the server process)."),
    ) -> None:
        """Serve home practice: patients practise in their browser; only landmarks reach the clinic."""
        from mindmove.telehealth.server import ServeOptions, run_server

        raise typer.Exit(run_server(ServeOptions(address=address, port=port, certfile=certfile, keyfile=keyfile,
                                                 workers=workers)))
