"""The functional tests MindMove runs: one registry entry per test.

A new test is one :class:`Assessment` in :data:`ASSESSMENTS`: its name (the ``--test`` of
``mindmove assess``), title, the patient's instructions (message-catalogue keys, shown one
at a time), the analysis function, the result fields, the norms key (``norms.toml``), the
minimal detectable change with its source, which way is better, how the patient starts and
the longest a live run may last. The command line's help and the dashboard are built from
this registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from core.errors import InputError

if TYPE_CHECKING:  # the analyses (numpy, scipy) are imported when a test runs, not to list the tests
    from feedback.assessments.result import AssessmentResult
    from sensing.landmarks import LandmarkSeries

DEFAULT_DISTANCE_M = 4.0  # the gait-speed test's marked distance (NIH Toolbox and SPPB: 4 m)


@dataclass(frozen=True)
class AssessmentOptions:
    """What some analyses need besides the landmarks."""

    scale_m_per_px: float | None = None   # distance scale of the camera set-up (walking tests)
    distance_m: float = DEFAULT_DISTANCE_M  # marked distance of the gait-speed test
    roi: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class MinimalDetectableChange:
    """The smallest change beyond measurement error (95% confidence), and where it comes from."""

    value: float
    unit: str
    source: str


@dataclass(frozen=True)
class Assessment:
    name: str
    title: str
    instructions: tuple[str, ...]          # message keys, in order (feedback/messages.toml)
    running_message: str                   # message key while the test runs
    result_message: str                    # message key for the plain result ({value})
    analyse: Callable[["LandmarkSeries", AssessmentOptions], "AssessmentResult"]
    result_fields: tuple[str, ...]
    value_label: str                       # the headline value with its unit, for charts and tables
    unit: str
    norms_key: str | None
    mdc: MinimalDetectableChange
    higher_is_better: bool
    start_posture: str                     # "seated" or "standing"
    max_duration_s: float                  # a live run stops after this at the latest
    needs_scale: bool = False


def _tug(series, options):
    from feedback.assessments.tug import compute_tug

    return compute_tug(series)


def _chair_stand_30s(series, options):
    from feedback.assessments.chair import compute_chair_stand_30s

    return compute_chair_stand_30s(series)


def _five_times(series, options):
    from feedback.assessments.chair import compute_five_times_sit_to_stand

    return compute_five_times_sit_to_stand(series)


def _gait(series, options):
    from feedback.assessments.walking import compute_gait_assessment

    return compute_gait_assessment(series, scale_m_per_px=options.scale_m_per_px, roi=options.roi)


def _gait_speed(series, options):
    from feedback.assessments.walking import compute_gait_speed

    return compute_gait_speed(series, scale_m_per_px=options.scale_m_per_px, distance_m=options.distance_m,
                              roi=options.roi)


DONOGHUE_2019 = ("Donoghue OA, Savva GM, Borsch-Supan A, Kenny RA. Reliability, measurement error and minimum "
                 "detectable change in mobility measures: a cohort study of community-dwelling adults aged 50 years "
                 "and over in Ireland. BMJ Open 2019;9:e030475")

ASSESSMENTS: dict[str, Assessment] = {a.name: a for a in (
    Assessment(
        name="tug", title="Timed Up and Go",
        instructions=("assessment.sit_ready", "assessment.tug_explain", "assessment.own_pace"),
        running_message="assessment.tug_running", result_message="assessment.result_seconds",
        analyse=_tug,
        result_fields=("time_s", "sit_to_stand_s", "walk_out_s", "turn_s", "walk_back_s", "turn_to_sit_s"),
        value_label="Time (s)", unit="s", norms_key="tug",
        mdc=MinimalDetectableChange(2.08, "s", DONOGHUE_2019 + " (TUG, MDC95 2.08 s)."),
        higher_is_better=False, start_posture="seated", max_duration_s=120.0),
    Assessment(
        name="chair-stand-30s", title="30-second chair stand",
        instructions=("assessment.sit_ready", "assessment.arms_crossed", "assessment.chair_stand_explain",
                      "assessment.own_pace"),
        running_message="assessment.chair_running", result_message="assessment.result_stands",
        analyse=_chair_stand_30s,
        result_fields=("stands", "full_stands_in_30s", "counted_over_halfway", "incomplete_stands"),
        value_label="Stands in 30 s", unit="stands", norms_key="chair_stand_30s",
        mdc=MinimalDetectableChange(2.5, "stands", "Gill S, Hely R, Page RS, Hely A, Harrison B, Landers S. Thirty "
                                    "second chair stand test: test-retest reliability, agreement and minimum "
                                    "detectable change in people with early-stage knee osteoarthritis. Physiother "
                                    "Res Int 2022 (MDC for an individual about 2.5 stands)."),
        higher_is_better=True, start_posture="seated", max_duration_s=45.0),
    Assessment(
        name="sit-to-stand-5x", title="Five times sit-to-stand",
        instructions=("assessment.sit_ready", "assessment.arms_crossed", "assessment.five_times_explain",
                      "assessment.own_pace"),
        running_message="assessment.five_times_running", result_message="assessment.result_seconds",
        analyse=_five_times,
        result_fields=("time_s", "time_to_fifth_stand_s", "incomplete_stands"),
        value_label="Time for five stands (s)", unit="s", norms_key="five_times_sit_to_stand",
        mdc=MinimalDetectableChange(2.5, "s", "Goldberg A, Chavis M, Watkins J, Wilson T. The five-times-sit-to-"
                                    "stand test: validity, reliability and detectable change in older females. Aging "
                                    "Clin Exp Res 2012;24:339-344 (MDC95 2.5 s)."),
        higher_is_better=False, start_posture="seated", max_duration_s=90.0),
    Assessment(
        name="gait", title="Gait (walking past the camera)",
        instructions=("assessment.stand_ready", "assessment.gait_explain", "assessment.own_pace"),
        running_message="assessment.gait_running", result_message="assessment.result_walk",
        analyse=_gait,
        result_fields=("gait_speed_m_s", "cadence_steps_per_min", "step_time_s", "stride_time_s",
                       "step_time_symmetry_index_pct", "stride_time_cv_pct", "n_strides", "passes"),
        value_label="Gait speed (m/s)", unit="m/s", norms_key="gait_speed",
        mdc=MinimalDetectableChange(0.19, "m/s", DONOGHUE_2019 + " (walking speed: MDC95 0.19 to 0.35 m/s across "
                                    "its walking tests; the smallest is used)."),
        higher_is_better=True, start_posture="standing", max_duration_s=120.0),
    Assessment(
        name="gait-speed", title="Gait speed over a marked distance",
        instructions=("assessment.stand_ready", "assessment.gait_speed_explain", "assessment.own_pace"),
        running_message="assessment.gait_running", result_message="assessment.result_speed",
        analyse=_gait_speed,
        result_fields=("gait_speed_m_s", "time_s", "distance_m", "longest_pass_m"),
        value_label="Gait speed (m/s)", unit="m/s", norms_key="gait_speed",
        mdc=MinimalDetectableChange(0.19, "m/s", DONOGHUE_2019 + " (walking speed: MDC95 0.19 to 0.35 m/s across "
                                    "its walking tests; the smallest is used)."),
        higher_is_better=True, start_posture="standing", max_duration_s=60.0, needs_scale=True),
)}


def get_assessment(name: str, /) -> Assessment:
    """The registry entry for ``name``; one clear error for an unknown test."""
    try:
        return ASSESSMENTS[name]
    except KeyError as exc:
        raise InputError(f"Unknown test {name!r}: expected one of {', '.join(ASSESSMENTS)}.") from exc


def compute_assessment(name: str, series: "LandmarkSeries", /, *,
                       options: AssessmentOptions = AssessmentOptions()) -> "AssessmentResult":
    """Run test ``name``'s analysis on ``series``."""
    return get_assessment(name).analyse(series, options)


def compute_change(test: str, first: float | None, latest: float | None, /) -> tuple[float | None, bool | None]:
    """(latest - first, improved by at least the MDC) for one patient's first and latest result."""
    if first is None or latest is None:
        return None, None
    a = get_assessment(test)
    change = latest - first
    better = change if a.higher_is_better else -change
    return change, bool(better >= a.mdc.value)
