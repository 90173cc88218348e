"""`mindmove programme set|show`: a patient's home programme (prescription).

A therapist prescribes exercises (sets x repetitions), days per week and guided breathing
sessions; the patient's page (``mindmove serve``) shows today's plan and what is done. Every
change is a new version, audited as ``cli:<operating-system user>`` (``programme_set``), and
every view is audited too (``view_programme_plan``).
"""

from __future__ import annotations

import typer

from mindmove.commands import cli_actor

programme_app = typer.Typer(help="A patient's home programme: exercises, sets, repetitions, days, breathing.",
                            no_args_is_help=True)


@programme_app.command("set")
def programme_set(
    patient: str = typer.Option(..., "--patient", help="The patient's code, e.g. P001."),
    exercise: list[str] = typer.Option([], "--exercise",
                                       help="NAME=SETSxREPS or NAME:left=SETSxREPS (repeat for several), "
                                            "e.g. standing_shoulder_flexion=2x8."),
    days_per_week: int = typer.Option(5, "--days-per-week", help="Practice days a week, 1-7."),
    breathing_sessions: int = typer.Option(0, "--breathing-sessions",
                                           help="Guided breathing sessions on a practice day, 0-6."),
    breathing_min: float = typer.Option(5.0, "--breathing-min", help="Minutes per breathing session, 1-30."),
    notes: str = typer.Option("", "--notes", help="A note for the patient's record."),
) -> None:
    """Set a patient's home programme (a new version; the previous one is kept)."""
    from mindmove.programme import HomeProgrammePlan, describe_plan, parse_prescription, save_programme
    from mindmove.settings import load_settings
    from mindmove.store import open_store

    plan = HomeProgrammePlan(items=tuple(parse_prescription(e) for e in exercise), days_per_week=days_per_week,
                             breathing_sessions_per_day=breathing_sessions, breathing_minutes=breathing_min,
                             notes=notes)
    with open_store() as store:
        record = save_programme(store, patient, plan, by=cli_actor(), exercises_dir=load_settings().exercises_dir)
    typer.echo(f"Home programme version {record.version} for {record.patient_code}: {describe_plan(record.plan)}.")


@programme_app.command("show")
def programme_show(patient: str = typer.Option(..., "--patient", help="The patient's code, e.g. P001.")) -> None:
    """Show the programme in force and what the patient has done today."""
    from mindmove.auth import audit
    from mindmove.programme import compute_programme_day
    from mindmove.store import open_store

    with open_store() as store:
        day = compute_programme_day(store, patient)
        audit(store, cli_actor(), "view_programme_plan", patient_code=patient.strip(),
              detail="none set" if day is None else f"version={day.record.version}")
    if day is None:
        typer.echo(f"{patient.strip()} has no home programme yet. Set one with `mindmove programme set`.")
        return
    r = day.record
    typer.echo(f"{r.patient_code}: home programme version {r.version}, set by {r.created_by} on "
               f"{r.created_at:%Y-%m-%d %H:%M} UTC; {r.plan.days_per_week} days a week.")
    for item in day.items:
        p = item.prescription
        side = f" ({p.side})" if p.side else ""
        typer.echo(f"  {p.exercise}{side}: {p.sets} x {p.repetitions}; today {item.repetitions_done} of "
                   f"{item.repetitions_planned} repetitions ({item.sets_done} of {p.sets} sets)")
    if day.breathing_planned:
        typer.echo(f"  guided breathing: {day.breathing_planned} x {r.plan.breathing_minutes:g} min; "
                   f"today {day.breathing_done}")
    typer.echo(f"  days with practice this week (UTC, from Monday): {day.practice_days_this_week} "
               f"of {r.plan.days_per_week}")
    if r.plan.notes:
        typer.echo(f"  notes: {r.plan.notes}")


def register(app: typer.Typer) -> None:
    """Add the `programme` group to ``app``."""
    app.add_typer(programme_app, name="programme")

