"""The live test on an injected clock: one instruction at a time, the countdown, the start
and end found from the movement (or the therapist's keys), and the capture analysed whole.

Frames carry their own times (a camera's capture stamps), so the protocol runs on them and
never on the machine's clock. The pose model is replaced at its seam by the simulated
person's own landmarks (the real model runs in ``test_assessment_cli.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from feedback.assessments import compute_assessment, get_assessment
from feedback.assessments.protocol import KEY_CANCEL, KEY_START, KEY_STOP, LiveProtocol, ProtocolTimings
from feedback.messages import message
from mindmove.assess.run import capture_assessment
from sensing.landmarks import PoseFrame
from sensing.video import Frame
from synthetic.assessments import ChairStandSpec, TugSpec, simulate_chair_stands, simulate_tug

TIMINGS = ProtocolTimings()


def _poses(series):
    px = series.pixel_px
    return [PoseFrame(world_m=series.world_m[i], visibility=series.visibility[i], pixel_px=px[i])
            for i in range(len(series))]


def _run(protocol, series, keys=None):
    keys = keys or {}
    views = []
    for i, pose in enumerate(_poses(series)):
        t = float(series.t_s[i])
        views.append((t, protocol.update(t, pose, keys.get(i))))
        if views[-1][1].done:
            break
    return views


def _lead_in(a) -> float:
    # instructions, holding the start posture, the countdown, then a moment before moving
    return len(a.instructions) * TIMINGS.instruction_s + TIMINGS.ready_hold_s + TIMINGS.countdown_s + 1.0


def test_tug_sequence_instructions_countdown_running_and_the_end_from_the_movement():
    a = get_assessment("tug")
    series = simulate_tug(TugSpec(lead_in_s=_lead_in(a), tail_s=4.0))
    truth = series.attrs["truth"]
    views = _run(LiveProtocol(a, timings=TIMINGS), series)
    shown = [v.message_key for _, v in views]
    # each instruction in turn, one at a time, then the countdown 3, 2, 1
    firsts = list(dict.fromkeys(shown))
    assert firsts[:len(a.instructions)] == list(a.instructions)
    counts = [v.params["count"] for _, v in views if v.phase == "countdown"]
    assert list(dict.fromkeys(counts)) == [3, 2, 1]
    assert message("assessment.countdown", count=3) == "Starting in 3"
    running = [t for t, v in views if v.phase == "running"]
    assert running[0] == pytest.approx(len(a.instructions) * TIMINGS.instruction_s + TIMINGS.ready_hold_s
                                       + TIMINGS.countdown_s, abs=0.1)
    # it ends by itself once seated again, settle_s later
    t_end, last = views[-1]
    assert last.done and last.message_key == "assessment.finished"
    assert truth["end_s"] < t_end < truth["end_s"] + TIMINGS.settle_s + 1.0
    assert last.stands == 1


def test_chair_stand_recording_lasts_30_s_after_the_first_rise():
    a = get_assessment("chair-stand-30s")
    series = simulate_chair_stands(ChairStandSpec(lead_in_s=_lead_in(a), stands=16, tail_s=3.0))
    views = _run(LiveProtocol(a, timings=TIMINGS), series)
    t_end = views[-1][0]
    start = series.attrs["truth"]["start_s"]
    assert start + 30.0 < t_end < start + 30.0 + TIMINGS.settle_s + 1.0
    assert views[-1][1].done


def test_therapist_keys_start_stop_and_cancel():
    a = get_assessment("sit-to-stand-5x")
    series = simulate_chair_stands(ChairStandSpec(lead_in_s=2.0, stands=8))
    rate = series.rate_hz
    # start: the instructions and the wait are skipped, the countdown begins at once
    views = _run(LiveProtocol(a, timings=TIMINGS), series, keys={3: KEY_START})
    assert views[3][1].phase == "countdown" and views[2][1].phase == "instructions"
    # stop: finished at once
    views = _run(LiveProtocol(a, timings=TIMINGS), series, keys={int(5 * rate): KEY_STOP})
    assert views[-1][1].done and views[-1][0] == pytest.approx(5.0, abs=0.05)
    # cancel
    views = _run(LiveProtocol(a, timings=TIMINGS), series, keys={10: KEY_CANCEL})
    assert views[-1][1].phase == "cancelled" and len(views) == 11


def test_a_recording_runs_from_its_first_frame_without_instructions():
    a = get_assessment("tug")
    series = simulate_tug(TugSpec())
    views = _run(LiveProtocol(a, recorded=True), series)
    assert views[0][1].phase == "running" and views[0][1].message_key == a.running_message


class _Source:
    """A frame source with the simulated person's times (the images are blank)."""

    live = False  # handed over one by one (a camera would drop frames when the analysis lags)

    def __init__(self, series):
        self.series = series
        self.size = series.image_size

    def frames(self):
        w, h = self.size
        for i, t in enumerate(self.series.t_s):
            yield Frame(np.zeros((h // 8, w // 8, 3), np.uint8), float(t), i)


class _SimulatedPoseModel:
    """The pose model's seam: returns the simulated person's landmarks for each frame's time."""

    name = "simulated landmarks"

    def __init__(self, series):
        self.by_time = {round(float(t), 6): p for t, p in zip(series.t_s, _poses(series))}

    def estimate(self, image_bgr, t_s):
        return self.by_time[round(float(t_s), 6)]


class _Keys:
    """A window stand-in: records what was shown and presses a key at given frames."""

    def __init__(self, presses):
        self.presses, self.shown, self.last_key = presses, 0, None

    def show(self, image, *, t_s):
        self.last_key = self.presses.get(self.shown)
        self.shown += 1
        return True


def test_capture_then_analysis_gives_the_tug_time():
    a = get_assessment("tug")
    series = simulate_tug(TugSpec(lead_in_s=_lead_in(a), tail_s=4.0))
    capture = capture_assessment(_Source(series), _SimulatedPoseModel(series), a, recorded=False,
                                 source_name="camera 0")
    assert capture.stopped_by == "protocol" and not capture.cancelled
    assert capture.series.attrs["pose_model"] == "simulated landmarks"
    assert len(capture.series) < len(series)  # it stopped by itself before the frames ran out
    result = compute_assessment("tug", capture.series)
    assert result.value == pytest.approx(series.attrs["truth"]["total_s"], abs=0.3)


def test_capture_cancelled_with_the_key():
    a = get_assessment("tug")
    series = simulate_tug(TugSpec())
    sink = _Keys({20: KEY_CANCEL})
    capture = capture_assessment(_Source(series), _SimulatedPoseModel(series), a, recorded=True, sinks=[sink],
                                 render=lambda image, pose, view, t_s, text=None: image)
    assert capture.cancelled and capture.frames == 21


def test_the_patient_sees_the_result_plainly_and_never_a_norm():
    from feedback.assessments.protocol import ProtocolView
    from feedback.assessments.result import AssessmentResult
    from mindmove.assess.window import render_assessment_frame
    from mindmove.commands.assess import _result_message

    said = [
        _result_message(get_assessment("tug"), AssessmentResult("tug", 12.43, "s")),
        _result_message(get_assessment("chair-stand-30s"), AssessmentResult("chair-stand-30s", 11.0, "stands")),
        _result_message(get_assessment("sit-to-stand-5x"), AssessmentResult("sit-to-stand-5x", 14.96, "s")),
        _result_message(get_assessment("gait-speed"), AssessmentResult("gait-speed", 1.06, "m/s")),
        _result_message(get_assessment("gait"), AssessmentResult("gait", None, "m/s")),
    ]
    assert said == ["That took 12.4 seconds", "You stood up 11 times", "That took 15.0 seconds",
                    "Your walking speed was 1.1 metres per second", "Thank you, your walk has been recorded"]
    for text in said + [message(k) for k in ("assessment.finished", "assessment.not_measured")]:
        assert not any(w in text.lower() for w in ("norm", "average", "risk", "slow", "poor", "below", "fail"))
    image = np.full((540, 960, 3), 160, np.uint8)
    countdown = render_assessment_frame(image, None, ProtocolView("countdown", "assessment.countdown", {"count": 2}),
                                        title="Timed Up and Go", t_s=0.0)
    result = render_assessment_frame(image, None, ProtocolView("finished", "assessment.finished"),
                                     title="Timed Up and Go", t_s=0.0, text=said[0])
    # the instruction band at the bottom (black with white letters), the digit large in the middle
    band = countdown[-30:]
    assert (band == 0).mean() > 0.5 and (band == 255).any()
    middle = countdown[200:340, 400:560]
    assert (middle == 255).all(axis=2).mean() > 0.05
    assert not np.array_equal(result[-60:], countdown[-60:])  # a different line of text
