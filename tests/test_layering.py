"""The layers of the README, enforced on every module of every package.

``core`` <- ``sensing`` <- ``feedback`` <- ``calibration`` <- ``synthetic`` <- ``mindmove``
(CLI, settings, store) and ``dashboard`` (over the store, auth and settings; the command line
never imports the dashboard, it starts it). Every import counts: at module level, inside
functions (lazy imports), under ``if TYPE_CHECKING``, relative imports, and
``importlib.import_module("...")`` with a literal name.

The maths in ``core``, ``feedback`` and ``calibration`` imports no camera, pose model,
Bluetooth, sound, UI or database library; drawing and sound live in the renderer modules
listed in :data:`RENDERERS`, each allowed only the libraries named there, and no analysis
module imports a renderer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from calibration.practice import build_practice_pipeline, compute_neutral_deg
from core.ranges import SafeRange
from feedback.exercises import load_exercise
from feedback.session import build_pipeline

REPO = Path(__file__).resolve().parents[1]

# package -> the project packages it may import (itself included)
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "sensing": frozenset({"core", "sensing"}),
    "feedback": frozenset({"core", "sensing", "feedback"}),
    "calibration": frozenset({"core", "sensing", "feedback", "calibration"}),
    "synthetic": frozenset({"core", "sensing", "feedback", "calibration", "synthetic"}),
    "mindmove": frozenset({"core", "sensing", "feedback", "calibration", "synthetic", "mindmove"}),
    "dashboard": frozenset({"core", "sensing", "feedback", "calibration", "mindmove", "dashboard"}),
}
PACKAGES = tuple(ALLOWED)
# The dashboard sits beside the command line, over the store, auth and settings.
FORBIDDEN_MODULES: dict[str, tuple[str, ...]] = {"dashboard": ("mindmove.cli", "mindmove.commands", "mindmove.demo")}

# Libraries the pure layers never import: cameras and drawing, the pose model, Bluetooth,
# sound, UI and plots, the database.
HEAVY = ("cv2", "mediapipe", "bleak", "streamlit", "sqlalchemy", "alembic", "psycopg", "sounddevice",
         "plotly", "matplotlib")
PURE_PACKAGES = ("core", "feedback", "calibration")
# The named renderer modules, and the only heavy libraries each may use.
RENDERERS: dict[str, frozenset[str]] = {
    "feedback.render": frozenset({"cv2"}),
    "feedback.render_practice": frozenset({"cv2"}),
    "feedback.render_breath": frozenset({"cv2"}),
    "feedback.sound": frozenset({"sounddevice"}),
    "calibration.window": frozenset({"cv2"}),
}


def module_name(path: Path, /) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_statements(source: str, module: str, /, *, is_package: bool = False) -> list[tuple[int, set[str]]]:
    """Every import in ``source`` (the text of ``module``), anywhere in the file: (line, the
    module names it may load). ``from feedback import render`` may load ``feedback`` and
    ``feedback.render``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.append((node.lineno, {a.name for a in node.names}))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else [])
                base = ".".join(parts)
            else:
                base = node.module
            found.append((node.lineno, {base} | {f"{base}.{a.name}" for a in node.names}))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
                   or isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))):
            found.append((node.lineno, {node.args[0].value}))
    return found


def _is(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _why(name: str, module: str) -> str | None:
    package = module.split(".")[0]
    root = name.split(".")[0]
    if root in ALLOWED and root not in ALLOWED[package]:
        return f"{package} may import only {', '.join(sorted(ALLOWED[package]))}"
    if _is(name, FORBIDDEN_MODULES.get(package, ())):
        return f"the command line sits above {package}"
    if package in PURE_PACKAGES and root in HEAVY and root not in RENDERERS.get(module, ()):
        return (f"{package} is pure maths; only the renderer modules {', '.join(sorted(RENDERERS))} "
                "may draw or play sound")
    if package in PURE_PACKAGES and module not in RENDERERS and _is(name, RENDERERS):
        return "analysis never draws: it returns data that a renderer shows"
    return None


def layering_violations(source: str, module: str, /, *, is_package: bool = False) -> list[str]:
    """Why ``module`` (with text ``source``) breaks the layers: one line per offending import."""
    found = []
    for line, names in import_statements(source, module, is_package=is_package):
        reasons = [f"{name}: {why}" for name in sorted(names, key=len) if (why := _why(name, module))]
        if reasons:
            found.append(f"{module} line {line} imports {reasons[0]}")
    return found


def _project_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py")
                  if "migrations" not in p.parts)


@pytest.mark.parametrize("path", _project_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_imports_a_higher_layer(path):
    source = path.read_text("utf-8")
    assert layering_violations(source, module_name(path), is_package=path.name == "__init__.py") == []


def test_every_package_is_checked_and_every_renderer_exists():
    checked = {module_name(p).split(".")[0] for p in _project_modules()}
    assert checked == set(PACKAGES)
    modules = {module_name(p) for p in _project_modules()}
    assert set(RENDERERS) <= modules
    assert len(_project_modules()) > 80


UPWARD = [
    ("core.ranges", "from sensing.landmarks import PoseFrame\n"),
    ("sensing.video", "def f():\n    from feedback.angles import MOTIONS\n"),
    ("sensing.pose", "def data_dir():\n    import mindmove.settings\n"),
    ("feedback.gait", "from calibration.limits import check_range\n"),
    ("feedback.angles", "if TYPE_CHECKING:\n    from mindmove.store.models import Session\n"),
    ("feedback.breath", "import importlib\nstore = importlib.import_module('mindmove.store')\n"),
    ("calibration.capture", "def save():\n    from mindmove.store.profiles import save_profile\n"),
    ("calibration.limits", "from dashboard import queries\n"),
    ("feedback.exercises", "from ..mindmove import cli\n"),
    ("synthetic.walk", "from mindmove.demo import seed_demo\n"),
    ("mindmove.commands.practice", "from dashboard.queries import list_patients\n"),
    ("dashboard.ui", "from mindmove.commands.practice import practice\n"),
    ("feedback.angles", "def draw():\n    import cv2\n"),
    ("calibration.profile", "from sqlalchemy import select\n"),
    ("feedback.pacer", "import sounddevice as sd\n"),
    ("feedback.session", "def show():\n    from feedback.render_practice import render_cue_line\n"),
    ("feedback.session", "from feedback import render\n"),
    ("feedback.render", "import streamlit\n"),
    ("core.errors", "import mediapipe\n"),
    ("sensing.belts.adapters", "from ...feedback import breath\n"),
]


@pytest.mark.parametrize("module, source", UPWARD, ids=[f"{m}:{s.split()[1]}" for m, s in UPWARD])
def test_an_arrow_pointing_up_is_caught(module, source):
    assert len(layering_violations(source, module)) == 1


DOWNWARD = [
    ("sensing.video", "from core.errors import SourceError\nimport cv2\n"),
    ("feedback.angles", "from sensing.landmarks import PoseFrame\nfrom . import smoothing\n"),
    ("calibration.guided", "def f():\n    from feedback.angles import MOTIONS\n"),
    ("feedback.render", "import cv2\nfrom feedback.angles import MOTIONS\n"),
    ("mindmove.store.profiles", "from sqlalchemy import select\nfrom calibration.profile import Profile\n"),
    ("dashboard.queries", "from mindmove.store.db import Store\nimport streamlit\n"),
]


@pytest.mark.parametrize("module, source", DOWNWARD, ids=[m for m, _ in DOWNWARD])
def test_an_arrow_pointing_down_is_allowed(module, source):
    assert layering_violations(source, module) == []


# The seam between feedback and calibration: feedback takes the ranges it is given,
# calibration supplies them (feedback never imports calibration).

def test_pipeline_takes_the_ranges_it_is_given():
    """Both knees tracked: the most conservative of the two ranges given."""
    given = {"left_knee_flexion": SafeRange(5.0, 100.0, 8.0), "right_knee_flexion": SafeRange(10.0, 90.0, 12.0)}
    pipeline = build_pipeline(load_exercise("sit_to_stand"), comfortable_range=given.__getitem__,
                              neutral_deg={"trunk_forward_lean_deg": 3.0})
    assert (pipeline.safe.min_deg, pipeline.safe.max_deg, pipeline.safe.caution_margin_deg) == (10.0, 90.0, 12.0)
    assert pipeline.posture_engine.neutral["trunk_forward_lean_deg"] == 3.0


def test_calibration_side_gives_the_defaults_without_a_profile():
    from calibration.limits import DEFAULT_COMFORTABLE_RANGES

    pipeline = build_practice_pipeline(load_exercise("standing_shoulder_flexion"))
    assert (pipeline.safe.min_deg, pipeline.safe.max_deg) == DEFAULT_COMFORTABLE_RANGES["right_shoulder_flexion"]
    assert compute_neutral_deg(None, "seated") == {}
