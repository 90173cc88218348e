"""feedback/ never imports calibration, the settings or the store (review item 16): the
arrows point from calibration-aware sessions and the CLI to the feedback maths."""

from __future__ import annotations

import ast
from pathlib import Path

from calibration.practice import build_practice_pipeline, compute_neutral_deg
from feedback.exercises import load_exercise
from core.ranges import SafeRange
from feedback.session import build_pipeline

FEEDBACK = Path(__file__).resolve().parents[1] / "feedback"
FORBIDDEN = ("calibration", "mindmove.settings", "mindmove.store", "dashboard")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_feedback_imports_no_calibration_settings_or_store():
    offenders = {str(p.relative_to(FEEDBACK)): sorted(n for n in _imports(p) if n.startswith(FORBIDDEN))
                 for p in FEEDBACK.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


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
