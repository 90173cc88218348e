"""Exercises are data: one TOML file per exercise, loaded and checked here.

The shipped files sit beside this module; a clinic adds its own directory (the CLI passes
``MINDMOVE_EXERCISES_DIR`` as ``directory``; a file there with the same name replaces the
shipped one). This module reads no settings: without ``directory``, the shipped set.
An exercise file names:

- ``title``, ``position`` (``seated`` | ``standing``), ``description``;
- ``[tracking]``: ``motion`` (a motion of :data:`feedback.angles.MOTIONS`, without side and
  without ``_deg``), ``sides`` (``[]`` for an unsided motion, one side, or both, which are
  averaged), ``direction`` of the movement (``increase`` | ``decrease`` | ``both``: away from
  the middle either way) and ``limits``, the end(s) of the comfortable range to watch
  (``upper`` | ``lower`` | ``both`` | ``none``: time in range and "range exceeded" judge
  the watched ends only; ``none`` for a movement whose ends are not limits, e.g. sit to stand);
  ``camera_view`` (``front``, the default: the patient faces the camera; ``side``: the
  tracked side of a one-sided exercise faces the camera, and that limb is judged only while
  the camera sees it well, see :mod:`feedback.facing`);
- ``[repetition]``: ``enabled`` (default true), ``start_fraction`` and ``top_fraction``
  (thresholds as fractions of the patient's comfortable range, measured from the resting
  end), ``hold_s`` and ``target``;
- ``[tempo]`` (optional): ``min_up_s`` / ``min_down_s``, what a mindful pace means (a full
  movement over at least this long), and ``fast_factor`` (how much faster counts as rushing);
- ``[posture]``: ``checks`` (names from :data:`feedback.engines.POSTURE_CHECKS`) and optional
  ``max_deviation_deg`` overrides per check;
- ``[breath]`` (optional): breath coordination. ``raise_on = "inhale"`` and/or
  ``lower_on = "exhale"``; ``min_overlap_pct`` (50), the share of the rise (lowering) that must
  fall in that breath phase for the repetition to count as coordinated; the pacer shown for
  it: ``pacer_rate_bpm`` (6) and ``pacer_ratio`` (inhale:exhale, ``"1:2"``).

A malformed file raises :class:`~core.errors.ValidationError` naming the file and field.
:func:`load_exercise` reads only the chosen exercise, and logs a warning for each other file
of the clinic's directory that is malformed, so a broken file is reported before the day it
is chosen.
"""

from __future__ import annotations

import logging
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from feedback.engines import POSTURE_CHECKS
from feedback.motions import MOTION_REGISTRY, SIDES, Side
from core.errors import InputError, ValidationError

log = logging.getLogger(__name__)

Position = Literal["seated", "standing"]
Direction = Literal["increase", "decrease", "both"]  # the movement: away from the middle either way for both
LimitEnds = Literal["upper", "lower", "both", "none"]  # the ends of the comfortable range to watch
CameraView = Literal["front", "side"]  # front: the patient faces the camera; side: the tracked side does
POSITIONS: tuple[str, ...] = get_args(Position)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
LIMIT_ENDS: tuple[str, ...] = get_args(LimitEnds)
CAMERA_VIEWS: tuple[str, ...] = get_args(CameraView)
RAISE_ON = ("inhale",)  # the breath phase a rise may be asked for
LOWER_ON = ("exhale",)  # the breath phase a lowering may be asked for
# Checks a [posture] section may name: those the posture engine knows.
POSTURE_CHECK_NAMES: tuple[str, ...] = tuple(POSTURE_CHECKS)

# The body part named in "let the camera see your ..." per base motion (a [body_part] key of
# messages.toml), as the motion registry (feedback.motions) says.
MOTION_BODY_PART: dict[str, str] = {m.name: m.body_part for m in MOTION_REGISTRY.values()}
# The body part named when this landmark is the one the camera cannot see (a [body_part] key).
LANDMARK_BODY_PART: dict[str, str] = {
    **{f"{s}_{j}": "arms" for s in SIDES for j in ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")},
    **{f"{s}_hip": "hips" for s in SIDES},
    **{f"{s}_{j}": "legs" for s in SIDES for j in ("knee", "ankle")},
    **{f"{s}_{j}": "feet" for s in SIDES for j in ("heel", "foot_index")},
    **{n: "head" for n in ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
                           "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
                           "mouth_right")},
}


@dataclass(frozen=True)
class Tracking:
    motion: str  # a motion of the registry (feedback.motions), without side
    sides: tuple[Side, ...] = ()
    direction: Direction = "increase"
    limits: LimitEnds = "upper"
    camera_view: CameraView = "front"

    @property
    def facing_side(self) -> Side | None:
        """The side of the body that must face the camera (``camera_view = "side"``), or None."""
        return self.sides[0] if self.camera_view == "side" and len(self.sides) == 1 else None

    @property
    def motions(self) -> tuple[str, ...]:
        """Full motion names (``right_knee_flexion``), one per side (or the unsided one)."""
        return tuple(f"{s}_{self.motion}" for s in self.sides) or (self.motion,)

    @property
    def angle_names(self) -> tuple[str, ...]:
        return tuple(f"{m}_deg" for m in self.motions)

    @property
    def channel(self) -> str:
        """The one tracked value's name: the angle, or ``<motion>_deg`` for a two-side mean."""
        return self.angle_names[0] if len(self.angle_names) == 1 else f"{self.motion}_deg"

    @property
    def landmarks(self) -> tuple[str, ...]:
        names: list[str] = []
        motion = MOTION_REGISTRY.get(self.motion)
        for pattern in motion.landmarks if motion is not None else ():
            for side in self.sides or ("",):
                name = pattern.format(side=side)
                if name not in names:
                    names.append(name)
        return tuple(names)


@dataclass(frozen=True)
class RepetitionRule:
    enabled: bool = True
    start_fraction: float = 0.3
    top_fraction: float = 0.7
    hold_s: float = 0.0
    target: int | None = None


@dataclass(frozen=True)
class Tempo:
    min_up_s: float = 2.0
    min_down_s: float = 2.0
    fast_factor: float = 1.6


@dataclass(frozen=True)
class BreathRule:
    """What breath coordination the exercise asks for (see the module docstring)."""

    raise_on: str | None = "inhale"
    lower_on: str | None = None
    min_overlap_pct: float = 50.0
    pacer_rate_bpm: float = 6.0
    pacer_ie_ratio: float = 2.0  # exhale / inhale


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    position: Position
    description: str
    tracking: Tracking
    repetition: RepetitionRule
    tempo: Tempo | None
    posture_checks: tuple[str, ...] = ()
    posture_max_deviation_deg: dict[str, float] = field(default_factory=dict)
    path: Path | None = None
    breath: BreathRule | None = None

    def with_side(self, side: str, /) -> "Exercise":
        """The same exercise tracking only ``side`` (for a sided motion)."""
        from dataclasses import replace

        if side not in SIDES:
            raise ValidationError(f"Expected --side left or right, but got {side!r}.")
        if not self.tracking.sides:
            raise ValidationError(f"{self.name} tracks {self.tracking.motion}, which has no side; leave out --side.")
        return replace(self, tracking=replace(self.tracking, sides=(side,)))


def exercise_title(exercise: Exercise, /) -> str:
    """The title shown to the patient: ``exercise.<name>`` of the message catalogue for a
    shipped exercise (so a clinic's translated catalogue translates it too), the file's own
    ``title`` for a clinic's exercise or when the catalogue has no such key."""
    from feedback.messages import load_catalogue

    if exercise.path is not None:
        return exercise.title
    return load_catalogue().get(f"exercise.{exercise.name}", exercise.title)


# --- parsing ------------------------------------------------------------------------------

class _Reader:
    """Typed access to one parsed file, raising errors that name the file and the field."""

    def __init__(self, data: dict, origin: str) -> None:
        self.data = data
        self.origin = origin

    def fail(self, field_name: str, expected: str, found: Any) -> ValidationError:
        return ValidationError(
            f"Exercise file {self.origin}: field '{field_name}' should be {expected}, but got {found!r}. "
            f"Correct the file (see docs/practice.md)."
        )

    def get(self, dotted: str, kind, *, default: Any = ..., choices=None, positive=False,
            fraction=False) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is ...:
                    raise ValidationError(
                        f"Exercise file {self.origin}: the required field '{dotted}' is missing. "
                        f"Add it (see docs/practice.md)."
                    )
                return default
            node = node[part]
        if kind is float:
            if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
                raise self.fail(dotted, "a number", node)
            node = float(node)
            if positive and node <= 0:
                raise self.fail(dotted, "a positive number", node)
            if fraction and not 0.0 < node < 1.0:
                raise self.fail(dotted, "a fraction between 0 and 1", node)
            if not positive and not fraction and node < 0:
                raise self.fail(dotted, "zero or more", node)
        elif kind is int:
            if isinstance(node, bool) or not isinstance(node, int) or node <= 0:
                raise self.fail(dotted, "a whole number above 0", node)
        elif kind is bool:
            if not isinstance(node, bool):
                raise self.fail(dotted, "true or false", node)
        elif kind is str:
            if not isinstance(node, str) or not node.strip():
                raise self.fail(dotted, "a non-empty text", node)
            if choices and node not in choices:
                raise self.fail(dotted, "one of " + ", ".join(choices), node)
        elif kind is list:
            if not isinstance(node, list) or not all(isinstance(v, str) for v in node):
                raise self.fail(dotted, "a list of names", node)
            if choices:
                bad = [v for v in node if v not in choices]
                if bad:
                    raise self.fail(dotted, "a list of " + ", ".join(choices), node)
        return node


def parse_exercise(text: str, /, *, name: str, origin: str, path: Path | None = None) -> Exercise:
    """An :class:`Exercise` from TOML text (``origin`` names it in error messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"Exercise file {origin} is not valid TOML ({exc}). Correct the file.") from exc
    r = _Reader(data, origin)
    motion = r.get("tracking.motion", str, choices=tuple(MOTION_REGISTRY))
    sides = tuple(r.get("tracking.sides", list, default=[], choices=SIDES))
    sided = MOTION_REGISTRY[motion].sided
    if bool(sides) != sided:
        raise r.fail("tracking.sides", f"sides that {motion} has ({'left/right' if sided else '[]'})", list(sides))
    tracking = Tracking(motion=motion, sides=sides,
                        direction=r.get("tracking.direction", str, default="increase", choices=DIRECTIONS),
                        limits=r.get("tracking.limits", str, default="upper", choices=LIMIT_ENDS),
                        camera_view=r.get("tracking.camera_view", str, default="front", choices=CAMERA_VIEWS))
    if tracking.camera_view == "side" and len(sides) != 1:
        raise r.fail("tracking.camera_view", '"front" for an exercise that does not track exactly one side',
                     tracking.camera_view)
    enabled = r.get("repetition.enabled", bool, default=True)
    start = r.get("repetition.start_fraction", float, default=0.3, fraction=True)
    top = r.get("repetition.top_fraction", float, default=0.7, fraction=True)
    if top <= start:
        raise r.fail("repetition.top_fraction", f"above start_fraction ({start:g})", top)
    target = r.get("repetition.target", int, default=None)
    rep = RepetitionRule(enabled=enabled, start_fraction=start, top_fraction=top,
                         hold_s=r.get("repetition.hold_s", float, default=0.0), target=target)
    tempo = None
    if "tempo" in data:
        tempo = Tempo(min_up_s=r.get("tempo.min_up_s", float, default=2.0, positive=True),
                      min_down_s=r.get("tempo.min_down_s", float, default=2.0, positive=True),
                      fast_factor=r.get("tempo.fast_factor", float, default=1.6, positive=True))
    checks = tuple(r.get("posture.checks", list, default=[], choices=POSTURE_CHECK_NAMES))
    overrides = data.get("posture", {}).get("max_deviation_deg", {})
    if not isinstance(overrides, dict):
        raise r.fail("posture.max_deviation_deg", "a table of check = degrees", overrides)
    max_dev = {}
    for check in overrides:
        if check not in POSTURE_CHECK_NAMES:
            raise r.fail(f"posture.max_deviation_deg.{check}", "one of " + ", ".join(POSTURE_CHECK_NAMES), check)
        max_dev[check] = r.get(f"posture.max_deviation_deg.{check}", float, positive=True)
    breath = _parse_breath(r, data) if "breath" in data else None
    if breath is not None and not enabled:
        raise r.fail("repetition.enabled", "true for an exercise with a [breath] table", enabled)
    return Exercise(name=name, title=r.get("title", str), position=r.get("position", str, choices=POSITIONS),
                    description=r.get("description", str, default=""), tracking=tracking, repetition=rep,
                    tempo=tempo, posture_checks=checks, posture_max_deviation_deg=max_dev, path=path,
                    breath=breath)


def _parse_breath(r: "_Reader", data: dict) -> BreathRule:
    """The optional ``[breath]`` table."""
    if not isinstance(data["breath"], dict):
        raise r.fail("breath", "a table ([breath])", data["breath"])
    raise_on = r.get("breath.raise_on", str, default=None, choices=RAISE_ON)
    lower_on = r.get("breath.lower_on", str, default=None, choices=LOWER_ON)
    if raise_on is None and lower_on is None:
        raise r.fail("breath.raise_on", 'set (raise_on = "inhale") or lower_on = "exhale"', None)
    overlap = r.get("breath.min_overlap_pct", float, default=50.0, positive=True)
    if overlap > 100.0:
        raise r.fail("breath.min_overlap_pct", "a percentage from 0 to 100", overlap)
    ratio_text = r.get("breath.pacer_ratio", str, default="1:2")
    rate = r.get("breath.pacer_rate_bpm", float, default=6.0, positive=True)
    try:
        from feedback.pacer import PacerPlan, parse_ratio

        ie_ratio = parse_ratio(ratio_text)
        PacerPlan(rate_bpm=rate, ie_ratio=ie_ratio)
    except ValidationError as exc:
        raise r.fail("breath.pacer_ratio / breath.pacer_rate_bpm",
                     "an inhale:exhale like 1:2 and a rate of 2-30 breaths/min", str(exc)) from exc
    return BreathRule(raise_on=raise_on, lower_on=lower_on, min_overlap_pct=overlap, pacer_rate_bpm=rate,
                      pacer_ie_ratio=ie_ratio)


def _shipped_files() -> dict[str, tuple[str, str, Path | None]]:
    out = {}
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            out[name] = (entry.read_text("utf-8"), f"{entry.name} (shipped)", None)
    return out


def _clinic_files(directory: Path | None) -> dict[str, tuple[str, str, Path | None]]:
    if directory is None:
        return {}
    if not directory.is_dir():
        raise InputError(f"MINDMOVE_EXERCISES_DIR points at {directory}, which is not a folder. Fix or unset it.")
    return {p.stem: (_read_text(p), str(p), p) for p in sorted(directory.glob("*.toml"))}


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"Exercise file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         f"save it as UTF-8 and try again.") from exc


def load_exercises(*, directory: Path | None = None) -> dict[str, Exercise]:
    """Every exercise by name: the shipped ones plus (replacing by name) those of the clinic's
    ``directory``."""
    files = {**_shipped_files(), **_clinic_files(directory)}
    return {name: parse_exercise(text, name=name, origin=origin, path=path)
            for name, (text, origin, path) in sorted(files.items())}


def load_exercise(name: str, /, *, directory: Path | None = None) -> Exercise:
    """One exercise by name (the file name without ``.toml``), shipped or from ``directory``."""
    files = {**_shipped_files(), **_clinic_files(directory)}
    if name not in files:
        raise InputError(f"Unknown exercise {name!r}: expected one of {', '.join(sorted(files))}. "
                         f"Run 'mindmove exercises' to see them.")
    text, origin, path = files[name]
    exercise = parse_exercise(text, name=name, origin=origin, path=path)
    for problem in check_clinic_files(directory, skip=name):
        log.warning("%s", problem)
    return exercise


def check_clinic_files(directory: Path | None, /, *, skip: str = "") -> list[str]:
    """One sentence per malformed exercise file of the clinic's ``directory`` (except ``skip``)."""
    problems = []
    for path in sorted(directory.glob("*.toml")) if directory is not None and directory.is_dir() else ():
        if path.stem == skip:
            continue
        try:
            parse_exercise(_read_text(path), name=path.stem, origin=str(path), path=path)
        except (InputError, ValidationError) as exc:
            problems.append(f"The clinic's exercise {path.stem!r} cannot be used until its file is fixed: {exc}")
    return problems
