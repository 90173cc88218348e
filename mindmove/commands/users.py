"""`mindmove user add`, `mindmove team add`, `mindmove patient add`: who may see whom.

Passwords are read from a hidden prompt (typed twice) or, for scripts, from standard input
with ``--password-stdin``; never from the command line, where they would stay in the shell
history. Every change is written to the audit log as ``cli:<operating-system user>``.
"""

from __future__ import annotations

import sys

import typer

from mindmove.commands import cli_actor


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        from core.errors import InputError

        raw = getattr(sys.stdin, "buffer", None)
        try:
            line = raw.readline().decode("utf-8") if raw is not None else sys.stdin.readline()
        except UnicodeDecodeError as exc:
            raise InputError(f"The password on standard input is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                             "type it at the prompt instead, or send it as UTF-8.") from exc
        return line.rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


user_app = typer.Typer(help="Dashboard users (clinician, therapist, admin).", no_args_is_help=True)
team_app = typer.Typer(help="Care teams: a user sees the patients of their teams.", no_args_is_help=True)
patient_app = typer.Typer(help="Patients, by the clinic's code (never a name).", no_args_is_help=True)


@user_app.command("add")
def user_add(
    username: str = typer.Argument(..., help="Sign-in name (a-z, 0-9, . _ @ -)."),
    role: str = typer.Option(..., "--role", help="clinician, therapist or admin."),
    team: list[str] = typer.Option([], "--team", help="Care team to join (repeat for several)."),
    display_name: str = typer.Option("", "--name", help="Name shown in the dashboard."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create a dashboard user."""
    from mindmove.auth import create_user
    from mindmove.store import open_store

    with open_store() as store:
        create_user(store, username, _read_password(password_stdin), role=role, teams=team,
                    display_name=display_name, by=cli_actor())
    typer.echo(f"User {username.strip().lower()} ({role}) created" + (f" in {', '.join(team)}." if team else "."))


@user_app.command("password")
def user_password(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set a new password for a user (also lifts a sign-in pause)."""
    from mindmove.auth import set_password
    from mindmove.store import open_store

    with open_store() as store:
        set_password(store, username, _read_password(password_stdin), by=cli_actor())
    typer.echo(f"Password of {username.strip().lower()} changed.")


@user_app.command("unlock")
def user_unlock(
    username: str = typer.Argument("", help="The user whose sign-in is paused."),
    client: str = typer.Option("", "--client", help="Instead, lift the pause of a client address "
                                                    "('local': this computer or its proxy)."),
) -> None:
    """Lift a sign-in pause after repeated wrong passwords (audited)."""
    from core.errors import InputError
    from mindmove.auth import unlock_client, unlock_user
    from mindmove.store import open_store

    if bool(username.strip()) == bool(client.strip()):
        raise InputError("Give either a username (mindmove user unlock NAME) or --client ADDRESS.")
    with open_store() as store:
        if client.strip():
            cleared = unlock_client(store, client, by=cli_actor())
            who = f"client {client.strip()}"
        else:
            cleared = unlock_user(store, username, by=cli_actor())
            who = username.strip().lower()
    typer.echo(f"Sign-in for {who} is open again." if cleared else f"Sign-in for {who} was not paused.")


@team_app.command("add")
def team_add(name: str = typer.Argument(..., help="Care team name.")) -> None:
    """Create a care team."""
    from mindmove.auth import create_team
    from mindmove.store import open_store

    with open_store() as store:
        create_team(store, name, by=cli_actor())
    typer.echo(f"Care team {name.strip()} created.")


@team_app.command("member")
def team_member(name: str = typer.Argument(...), username: str = typer.Argument(...)) -> None:
    """Add a user to a care team."""
    from mindmove.auth import add_team_member
    from mindmove.store import open_store

    with open_store() as store:
        add_team_member(store, name, username, by=cli_actor())
    typer.echo(f"{username.strip().lower()} joined {name.strip()}.")


@patient_app.command("add")
def patient_add(
    code: str = typer.Argument(..., help="The clinic's patient code, e.g. P001."),
    team: str = typer.Option(..., "--team", help="The patient's care team."),
) -> None:
    """Register a patient in a care team (or move them to it)."""
    from mindmove.auth import create_patient
    from mindmove.store import open_store

    with open_store() as store:
        create_patient(store, code, team=team, by=cli_actor())
    typer.echo(f"Patient {code.strip()} is in care team {team.strip()}.")


def register(app: typer.Typer) -> None:
    """Add the `user`, `team` and `patient` command groups to ``app``."""
    from mindmove.commands.telehealth import register_patient_commands

    register_patient_commands(patient_app)  # invite, revoke, devices: home practice access
    app.add_typer(user_app, name="user")
    app.add_typer(team_app, name="team")
    app.add_typer(patient_app, name="patient")
