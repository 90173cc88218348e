"""The functional tests on simulated bodies with analytic timings (synthetic.assessments).

Targets (issue 12): TUG time within 0.3 s, chair stands counted exactly, five-times time
within 0.3 s, at three speeds, with the camera at seated and at standing height (pitched
down), with a second person walking through the picture, and a stand that does not reach
full standing not counted, with the reason given.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ValidationError
from feedback.assessments import compute_assessment
from feedback.assessments.sitstand import SEATED, STANDING, compute_sit_stand_trace, detect_rises
from synthetic.assessments import (
    PACES, SEATED_HEIGHT_CAMERA, STANDING_HEIGHT_CAMERA, Camera, ChairStandSpec, SecondPerson, TugSpec, WalkwaySpec,
    compute_time_to_standing_angle, simulate_chair_stands, simulate_tug, simulate_walkway,
)

TUG_TOLERANCE_S = 0.3
FIVE_TIMES_TOLERANCE_S = 0.3
CAMERAS = {"seated": SEATED_HEIGHT_CAMERA, "standing": STANDING_HEIGHT_CAMERA}
NOISE_PX = 1.5   # landmark jitter of a webcam pose model at this size (about a pixel or two)
NOISE_M = 0.01
PHASE_TOLERANCE_S = 0.75  # the phases are secondary to the time: the turns are read from a facing direction


def _tug_camera(height: str) -> Camera:
    return Camera(height_m=CAMERAS[height].height_m, distance_m=4.5, aim_x_m=1.5)


def _chair(pace: str, camera: str, **kw):
    stands = {"frail": 7, "typical": 14, "brisk": 20}[pace]
    return simulate_chair_stands(ChairStandSpec(pace=PACES[pace], camera=CAMERAS[camera], stands=stands,
                                                noise_px=NOISE_PX, noise_m=NOISE_M, **kw))


@pytest.mark.parametrize("camera", list(CAMERAS))
@pytest.mark.parametrize("pace", list(PACES))
def test_tug_time_within_tolerance(pace, camera):
    series = simulate_tug(TugSpec(pace=PACES[pace], camera=_tug_camera(camera), noise_px=NOISE_PX, noise_m=NOISE_M))
    truth = series.attrs["truth"]
    result = compute_assessment("tug", series)
    assert result.value == pytest.approx(truth["total_s"], abs=TUG_TOLERANCE_S)
    assert result.unit == "s" and "turns_not_found" not in result.flags
    # the phases add up to the time, and each is near its analytic value
    phases = [result.fields[f"{p}_s"] for p in ("sit_to_stand", "walk_out", "turn", "walk_back", "turn_to_sit")]
    assert sum(phases) == pytest.approx(result.value, abs=0.01)
    assert result.fields["turn_s"] == pytest.approx(truth["phases_s"]["turn"], abs=PHASE_TOLERANCE_S)


@pytest.mark.parametrize("camera", list(CAMERAS))
@pytest.mark.parametrize("pace", list(PACES))
def test_chair_stands_counted_exactly(pace, camera):
    series = _chair(pace, camera)
    result = compute_assessment("chair-stand-30s", series)
    assert result.value == series.attrs["truth"]["count_30s"]
    assert result.fields["start_s"] == pytest.approx(series.attrs["truth"]["start_s"], abs=0.15)


@pytest.mark.parametrize("camera", list(CAMERAS))
@pytest.mark.parametrize("pace", list(PACES))
def test_five_times_sit_to_stand_within_tolerance(pace, camera):
    series = simulate_chair_stands(ChairStandSpec(pace=PACES[pace], camera=CAMERAS[camera], stands=5,
                                                  noise_px=NOISE_PX, noise_m=NOISE_M))
    truth = series.attrs["truth"]
    result = compute_assessment("sit-to-stand-5x", series)
    assert result.value == pytest.approx(truth["five_times_s"], abs=FIVE_TIMES_TOLERANCE_S)
    # the fifth stand is reached when hips and knees come within the standing angle (20 deg)
    fifth = [r for r in truth["rises"] if r["full"]][4]
    reached = fifth["t_start_s"] + compute_time_to_standing_angle(PACES[pace].rise_s, 20.0) - truth["start_s"]
    assert result.fields["time_to_fifth_stand_s"] == pytest.approx(reached, abs=FIVE_TIMES_TOLERANCE_S)


def test_a_stand_short_of_full_standing_is_not_counted_and_the_report_says_why():
    series = _chair("typical", "seated", incomplete=(2, 5), incomplete_extension=0.5)
    truth = series.attrs["truth"]
    result = compute_assessment("chair-stand-30s", series)
    assert result.value == truth["count_30s"]
    assert result.fields["incomplete_stands"] == 2 and "incomplete_stands" in result.flags
    reasons = [n for n in result.notes if "did not reach full standing" in n]
    assert len(reasons) == 2
    assert "knees were at" in reasons[0] and "within 20 deg of straight" in reasons[0]
    # the same series without the short rises counts two more in the same time? no: they
    # still take time; what matters is that each is named at the time it happened
    times = [r["t_start_s"] for i, r in enumerate(truth["rises"]) if i in (2, 5)]
    for note, t in zip(reasons, times):
        assert abs(float(note.split(" at ")[1].split(" s")[0]) - t) < 1.0


def test_five_times_counts_only_full_stands():
    series = simulate_chair_stands(ChairStandSpec(stands=6, incomplete=(1,), noise_px=NOISE_PX))
    truth = series.attrs["truth"]
    result = compute_assessment("sit-to-stand-5x", series)
    assert result.value == pytest.approx(truth["five_times_s"], abs=FIVE_TIMES_TOLERANCE_S)
    assert result.fields["incomplete_stands"] == 1


def test_over_halfway_up_at_30_seconds_counts_as_a_stand():
    # a typical pace whose 30 s mark falls in the middle of a rise (see PACES): the CDC counts it
    series = _chair("typical", "seated")
    result = compute_assessment("chair-stand-30s", series)
    truth = series.attrs["truth"]
    start = truth["start_s"]
    mid = [r for r in truth["rises"] if r["t_start_s"] < start + 30 < r["t_standing_s"]]
    assert mid, "this pace should put the 30 s mark inside a rise"
    assert result.fields["counted_over_halfway"] == (result.fields["full_stands_in_30s"] < result.value)
    assert result.value == truth["count_30s"]


@pytest.mark.parametrize("when", ["walking", "turning"])
def test_tug_with_a_second_person_walking_through(when):
    spec = TugSpec(camera=_tug_camera("seated"), noise_px=NOISE_PX, noise_m=NOISE_M)
    plain = simulate_tug(spec)
    t = plain.attrs["truth"]
    start = t["standing_s"] + 1.0 if when == "walking" else t["turn_start_s"] + 0.2
    series = simulate_tug(TugSpec(camera=spec.camera, noise_px=NOISE_PX, noise_m=NOISE_M,
                                  second_person=SecondPerson(start_s=start, duration_s=1.0)))
    assert series.attrs["switched_frames"]  # the tracker did follow the other person
    result = compute_assessment("tug", series)
    assert result.value == pytest.approx(t["total_s"], abs=TUG_TOLERANCE_S)
    assert "other_person_in_view" in result.flags


@pytest.mark.parametrize("pace", list(PACES))
def test_chair_stands_with_a_second_person_walking_through(pace):
    plain = _chair(pace, "seated")
    rises = plain.attrs["truth"]["rises"]
    # across the top of the third stand: the person is hidden exactly when they stand
    start = rises[2]["t_standing_s"] - 0.4
    series = _chair(pace, "seated", second_person=SecondPerson(start_s=start, duration_s=0.8))
    result = compute_assessment("chair-stand-30s", series)
    assert result.value == plain.attrs["truth"]["count_30s"]
    assert "other_person_in_view" in result.flags


def test_the_vertical_is_measured_from_the_person_when_the_camera_is_pitched():
    """A pose model's world frame follows the camera: pitched 25 degrees down, the camera's
    'up' is 25 degrees off. The hip height (and so seated and standing) is read along the
    vertical measured from the standing frames instead."""
    steep = Camera(height_m=2.2, distance_m=3.0, pitch_deg=25.0)
    series = simulate_chair_stands(ChairStandSpec(camera=steep, stands=6, noise_px=NOISE_PX))
    trace = compute_sit_stand_trace(series)
    assert trace.vertical_from == "standing frames"
    standing = trace.hip_height[trace.state == STANDING]
    seated = trace.hip_height[trace.state == SEATED]
    assert np.median(standing) > 0.95 and np.median(seated) < 0.65
    assert len([r for r in detect_rises(trace) if r.full]) == 6


def test_nobody_standing_up_is_refused_with_one_calm_line():
    series = simulate_chair_stands(ChairStandSpec(stands=1, incomplete=(0,), incomplete_extension=0.1))
    for test in ("chair-stand-30s", "sit-to-stand-5x", "tug"):
        with pytest.raises(ValidationError) as err:
            compute_assessment(test, series)
        text = str(err.value)
        assert "Nobody stood up" in text and "nothing was stored" in text and "\n" not in text


def test_fewer_than_five_stands_is_refused():
    series = simulate_chair_stands(ChairStandSpec(stands=3))
    with pytest.raises(ValidationError, match="Only 3 full stand"):
        compute_assessment("sit-to-stand-5x", series)


def test_tug_without_sitting_down_again_is_refused():
    series = simulate_tug(TugSpec())
    cut = series.select(series.t_s < series.attrs["truth"]["sit_start_s"])
    with pytest.raises(ValidationError, match="not seen sitting down again"):
        compute_assessment("tug", cut)


def test_gait_speed_over_the_marked_distance():
    series = simulate_walkway(WalkwaySpec(noise_px=NOISE_PX))
    truth = series.attrs["truth"]
    from feedback.assessments import AssessmentOptions

    result = compute_assessment("gait-speed", series,
                                options=AssessmentOptions(scale_m_per_px=truth["scale_m_per_px"], distance_m=4.0))
    assert result.value == pytest.approx(truth["speed_m_s"], rel=0.03)
    assert truth["cruise_s"][0] - 0.3 <= result.fields["start_s"] and result.fields["end_s"] <= truth["cruise_s"][1] + 0.3
    with pytest.raises(ValidationError, match="distance scale"):
        compute_assessment("gait-speed", series)
    short = compute_assessment("gait-speed", series,
                               options=AssessmentOptions(scale_m_per_px=truth["scale_m_per_px"], distance_m=9.0))
    assert "distance_not_in_view" in short.flags  # falls back to the gait analysis, and says so
