"""`mindmove profile set|show|history` and `mindmove scale set|show`.

A therapist enters or reviews a patient's calibration profile by hand; every change is a
new version with who and why. The scale commands store metres per pixel for a camera
set-up. Refusals raise :class:`~core.errors.MindMoveError` (one line, exit 2).

Every view and change goes to the audit log as ``cli:<operating-system user>``, with the
same actions as the dashboard's calibration page (``view_calibration``,
``edit_calibration``; a refused change with ``success=False``) and ``edit_camera_scale``.
"""

from __future__ import annotations

from dataclasses import replace

import typer
from rich.console import Console
from rich.table import Table

from feedback.motions import motions_help
from mindmove.commands import cli_actor, cli_audit
from core.errors import InputError, ValidationError

profile_app = typer.Typer(help="Review and edit a patient's calibration profile (safe ranges, breath, height).",
                          no_args_is_help=True)
scale_app = typer.Typer(help="Distance scale (metres per pixel) for a camera set-up.", no_args_is_help=True)
console = Console(highlight=False)

PATIENT = typer.Option(..., "--patient", help="The patient's code, e.g. P001.")
BY = typer.Option(..., "--by", help="Name of the therapist making the change.")


@profile_app.command("set")
def profile_set(
    patient: str = PATIENT,
    motion: str | None = typer.Option(None, "--motion", help=f"Motion to set: {motions_help()}."),
    min_deg: float | None = typer.Option(None, "--min", help="Lowest comfortable angle, degrees."),
    max_deg: float | None = typer.Option(None, "--max", help="Highest comfortable angle, degrees."),
    margin_deg: float | None = typer.Option(None, "--margin", help="Caution margin before each end, degrees."),
    clear_motion: bool = typer.Option(False, "--clear", help="Remove --motion's range (defaults apply again)."),
    resting_bpm: float | None = typer.Option(None, "--resting-bpm", help="Resting breath rate, breaths/min."),
    target_bpm: float | None = typer.Option(None, "--target-bpm", help="Paced-breathing target, breaths/min."),
    ie_ratio: float | None = typer.Option(None, "--ie-ratio", help="Exhale length / inhale length, e.g. 2."),
    height_m: float | None = typer.Option(None, "--height-m", help="Body height in metres."),
    birth_year: int | None = typer.Option(None, "--birth-year", help="Year of birth (for the functional tests' norms)."),
    sex: str | None = typer.Option(None, "--sex", help="female or male, as the published norms are split."),
    notes: str | None = typer.Option(None, "--notes", help="Free-text notes (replaces the previous notes)."),
    by: str = BY,
    reason: str = typer.Option(..., "--reason", help="Why the profile changes."),
) -> None:
    """Store a new profile version with the given changes."""
    from calibration.limits import check_motion
    from calibration.profile import Profile, compute_profile_changes
    from mindmove.store import open_store
    from mindmove.store.profiles import load_profile, save_profile_change

    if motion is not None:
        check_motion(motion)
    elif any(v is not None for v in (min_deg, max_deg, margin_deg)) or clear_motion:
        raise InputError("--min, --max, --margin and --clear need --motion NAME.")
    with open_store() as store:
        current = load_profile(store, patient)
        old = current.profile if current else Profile()
        new = _changed_range(old, motion, min_deg, max_deg, margin_deg, clear=clear_motion)
        new = _changed_details(new, resting_bpm=resting_bpm, target_bpm=target_bpm, ie_ratio=ie_ratio,
                               height_m=height_m, birth_year=birth_year, sex=sex, notes=notes)
        changes = compute_profile_changes(old, new)
        if not changes:
            raise InputError("Nothing to change: give --motion with --min/--max, breath, --height-m, --birth-year, "
                             "--sex or --notes.")
        record = save_profile_change(store, patient, old, new, actor=cli_actor(), by=by, reason=reason,
                                     detail_prefix=f"by={by}; ")
    console.print(f"Patient {patient}: profile version {record.version} saved by {record.created_by}.")
    for line in changes:
        console.print(f"  {line}")


def _changed_range(profile, motion: str | None, min_deg, max_deg, margin_deg, *, clear: bool):
    """``profile`` with ``motion``'s range set from the options, or removed (``clear``)."""
    from core.ranges import DEFAULT_CAUTION_MARGIN_DEG, SafeRange

    if motion is None:
        return profile
    if clear:
        return replace(profile, ranges={m: r for m, r in profile.ranges.items() if m != motion})
    existing = profile.ranges.get(motion)
    if existing is None and (min_deg is None or max_deg is None):
        raise InputError(f"{motion} has no range yet: give both --min and --max.")
    lo = min_deg if min_deg is not None else existing.min_deg
    hi = max_deg if max_deg is not None else existing.max_deg
    margin = margin_deg if margin_deg is not None else (
        existing.caution_margin_deg if existing else DEFAULT_CAUTION_MARGIN_DEG)
    return profile.with_range(motion, SafeRange(lo, hi, margin))


def _changed_details(profile, *, resting_bpm, target_bpm, ie_ratio, height_m, birth_year, sex, notes):
    """``profile`` with the breath target, height, birth year, sex and notes given (None keeps
    the old value)."""
    from calibration.profile import BreathTarget

    if any(v is not None for v in (resting_bpm, target_bpm, ie_ratio)):
        b = profile.breath or BreathTarget(resting_rate_bpm=None)
        profile = replace(profile, breath=BreathTarget(
            resting_rate_bpm=resting_bpm if resting_bpm is not None else b.resting_rate_bpm,
            target_rate_bpm=target_bpm if target_bpm is not None else b.target_rate_bpm,
            ie_ratio=ie_ratio if ie_ratio is not None else b.ie_ratio))
    if height_m is not None:
        profile = replace(profile, height_m=height_m)
    if birth_year is not None:
        profile = replace(profile, birth_year=birth_year)
    if sex is not None:
        profile = replace(profile, sex=sex.strip().lower())
    if notes is not None:
        profile = replace(profile, notes=notes)
    return profile


def _ranges_table(record) -> Table:
    from calibration.limits import MOTIONS, PHYSIOLOGICAL_LIMITS
    from calibration.profile import comfortable_range

    table = Table(title="Comfortable ranges (deg)")
    table.add_column("motion", no_wrap=True)
    for col in ("min", "max", "margin", "from", "limit"):
        table.add_column(col, justify="left" if col == "from" else "right", no_wrap=True)
    ranges = record.profile.ranges if record else {}
    for motion in MOTIONS:
        r = comfortable_range(record, motion)
        low, high = PHYSIOLOGICAL_LIMITS[motion]
        table.add_row(motion, f"{r.min_deg:g}", f"{r.max_deg:g}", f"{r.caution_margin_deg:g}",
                      "profile" if motion in ranges else "default", f"{low:g}..{high:g}")
    return table


@profile_app.command("show")
def profile_show(patient: str = PATIENT) -> None:
    """Show the patient's newest profile (defaults where nothing is calibrated)."""
    from mindmove.store import open_store
    from mindmove.store.profiles import load_profile

    with open_store() as store:
        record = load_profile(store, patient)
        cli_audit(store, "view_calibration", patient=patient, detail="profile show")
    if record is None:
        console.print(f"Patient {patient} has no profile yet; the conservative defaults below apply.")
    else:
        console.print(f"Patient {patient}: profile version {record.version}, "
                      f"{record.created_at:%Y-%m-%d %H:%M} UTC by {record.created_by} ({record.reason}).")
    console.print(_ranges_table(record))
    if record is None:
        return
    p = record.profile
    for posture, angles in p.neutral.items():
        t = Table(title=f"Neutral posture: {posture} (deg)")
        t.add_column("angle")
        t.add_column("deg", justify="right")
        for name, value in angles.items():
            t.add_row(name, f"{value:g}")
        console.print(t)
    if p.breath is not None:
        rest = "-" if p.breath.resting_rate_bpm is None else f"{p.breath.resting_rate_bpm:g}"
        console.print(f"Breath: resting {rest} breaths/min, target {p.breath.target_rate_bpm:g} breaths/min, "
                      f"inhale:exhale 1:{p.breath.ie_ratio:g}")
    console.print(f"Height: {'-' if p.height_m is None else f'{p.height_m:g} m'}")
    console.print(f"Birth year: {p.birth_year or '-'}; sex: {p.sex or '-'}")
    if p.notes:
        console.print(f"Notes: {p.notes}")


@profile_app.command("history")
def profile_history_cmd(patient: str = PATIENT) -> None:
    """List every version of the patient's profile: who, when, why, what changed."""
    from calibration.profile import compute_profile_changes
    from mindmove.store import open_store
    from mindmove.store.profiles import profile_history

    with open_store() as store:
        history = profile_history(store, patient)
        cli_audit(store, "view_calibration", patient=patient, detail="profile history")
    if not history:
        console.print(f"Patient {patient} has no profile yet.")
        return
    table = Table(title=f"Profile history of {patient}")
    for col in ("version", "when (UTC)", "by", "reason", "changes"):
        table.add_column(col)
    previous = None
    for rec in history:
        changes = compute_profile_changes(previous, rec.profile)
        table.add_row(str(rec.version), f"{rec.created_at:%Y-%m-%d %H:%M:%S}", rec.created_by, rec.reason,
                      "\n".join(changes) or "(no change)")
        previous = rec.profile
    console.print(table)


def _scale_from_source(source: str, height_m: float, *, max_frames: int) -> tuple[float, int]:
    """Metres per pixel from the standing person in the first ``max_frames`` frames of ``source``."""
    from calibration.scale import compute_scale_from_height
    from sensing.landmarks import LandmarkSeries
    from mindmove.settings import ensure_data_dir
    from sensing.multipose import create_tracking_estimator
    from sensing.video import open_source

    times, poses = [], []
    with open_source(source) as frames, create_tracking_estimator(data_dir=ensure_data_dir()) as estimator:
        for frame in frames.frames():
            times.append(frame.t_s)
            poses.append(estimator.estimate(frame.image_bgr, frame.t_s))
            if len(times) >= max_frames:
                break
    if not times:
        raise InputError(f"{source} gave no frames: expected a video or camera showing the person standing.")
    series = LandmarkSeries.from_pose_frames(times, poses, source=str(source))
    if series.pixel_px is None:
        raise ValidationError(f"Nobody was found in the first {len(times)} frames of {source}. "
                              "Stand fully in view and measure again.")
    return compute_scale_from_height(series, height_m), len(times)


@scale_app.command("set")
def scale_set(
    setup: str = typer.Option(..., "--setup", help="Name of the camera set-up, e.g. gym-north."),
    height_m: float | None = typer.Option(None, "--height-m", help="Height of the person standing in view, m."),
    source: str | None = typer.Option(None, "--source", help="Video, image folder or camera index (with --height-m)."),
    frames: int = typer.Option(30, "--frames", min=1, help="Standing frames to use (with --height-m)."),
    points: tuple[float, float, float, float] | None = typer.Option(
        None, "--points", help="Two image points X1 Y1 X2 Y2 in pixels (with --length-m)."),
    length_m: float | None = typer.Option(None, "--length-m", help="Real distance between --points, m."),
    by: str = BY,
) -> None:
    """Measure and store metres per pixel: from a person's height, or from a known length."""
    from calibration.scale import compute_scale_from_known_length
    from mindmove.store import open_store
    from mindmove.store.camera_setups import save_camera_setup

    from calibration.profile import HEIGHT_LIMITS_M
    from mindmove.inputs import check_number

    check_number(height_m, option="--height-m", low=HEIGHT_LIMITS_M[0], high=HEIGHT_LIMITS_M[1], unit="m")
    if points is not None and length_m is not None and height_m is None:
        mpp = compute_scale_from_known_length(points[:2], points[2:], length_m)
        method, detail = "known_length", {"p1_px": list(points[:2]), "p2_px": list(points[2:]), "length_m": length_m}
    elif height_m is not None and source is not None and points is None:
        mpp, used = _scale_from_source(source, height_m, max_frames=frames)
        method, detail = "height", {"height_m": height_m, "source": str(source), "frames": used}
    else:
        raise InputError("Give either --height-m H --source FILE, or --points X1 Y1 X2 Y2 --length-m L.")
    with open_store() as store:
        record = save_camera_setup(store, setup, mpp, method=method, by=by, detail=detail)
        cli_audit(store, "edit_camera_scale",
                  detail=f"setup={record.name}; metres_per_pixel={record.metres_per_pixel:.6g}; method={method}; by={by}")
    console.print(f"Camera set-up {record.name}: {record.metres_per_pixel * 1000:.3f} mm per pixel ({record.method}).")


@scale_app.command("show")
def scale_show(setup: str = typer.Option(..., "--setup", help="Name of the camera set-up.")) -> None:
    """Show a camera set-up's stored scale."""
    from mindmove.store import open_store
    from mindmove.store.camera_setups import load_camera_setup

    with open_store() as store:
        record = load_camera_setup(store, setup)
    if record is None:
        raise InputError(f"No camera set-up named {setup!r}: measure it first with 'mindmove scale set'.")
    console.print(f"Camera set-up {record.name}: {record.metres_per_pixel * 1000:.3f} mm per pixel "
                  f"({record.method}, by {record.created_by}, {record.created_at:%Y-%m-%d %H:%M} UTC) {record.detail}")


def register(app: typer.Typer) -> None:
    """Add ``profile`` and ``scale`` to ``app``."""
    app.add_typer(profile_app, name="profile")
    app.add_typer(scale_app, name="scale")
