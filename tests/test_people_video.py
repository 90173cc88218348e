"""Several people on real video: the real MediaPipe model through the real pipelines.

``sports2d_demo.mp4`` (davidpagnon/Sports2D, BSD-3-Clause, 1768x994, 30 fps): a man stands on
a box (his hips above y = 450 px until he jumps down at about frame 170; he lands at the
right, x > 900 px, and lunges further right) while a woman walks past side-on, right to left
along the ground (hips below y = 600 px), coming out from behind a tree at about frame 37 and
leaving at the left edge at about frame 200 (x < 450 px from frame 170 on). Checked frame by
frame on the images (frames 37, 45, 55, 130, 183-188, 200).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import shared_file
from mindmove.cli import main
from sensing.landmarks import LANDMARK_INDEX, load_landmarks_csv
from sensing.people import compute_person_features

pytestmark = pytest.mark.slow

VIDEO = "video/sports2d_demo.mp4"
MAN_ON_BOX_UNTIL = 169  # last frame before the jump
WOMAN_IN_VIEW = (45, 195)  # fully in view (after the tree, before the left edge)
GROUND_Y_PX = 600
BOX_TOP_Y_PX = 450


def _hips(series) -> np.ndarray:
    px = series.pixel_px
    return 0.5 * (px[:, LANDMARK_INDEX["left_hip"]] + px[:, LANDMARK_INDEX["right_hip"]])


def _is_woman(frame: int, centre) -> bool:
    """The woman's place in ``frame`` (see the module docstring)."""
    x, y = centre
    if frame <= MAN_ON_BOX_UNTIL:
        return y > GROUND_Y_PX
    return y > GROUND_Y_PX and x < 600


@pytest.fixture(scope="module")
def gait_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("people-gait")
    assert main(["analyze", str(shared_file(VIDEO)), "--out", str(out), "--task", "gait"]) == 0
    return out


def test_gait_analyses_the_woman_for_the_whole_time_she_is_in_view(gait_out):
    summary = json.loads((gait_out / "summary.json").read_text())
    people = summary["people"]
    assert people["chosen_by"] == "walking"
    assert len(people["found"]) >= 2
    series = load_landmarks_csv(gait_out / "landmarks.csv")
    seen = np.flatnonzero(np.isfinite(_hips(series)).all(axis=1))
    first, last = WOMAN_IN_VIEW
    assert seen[0] <= first and seen[-1] >= last  # from her first steps in view to the left edge
    assert np.all(np.diff(seen) == 1)  # one identity, without a break
    hips = _hips(series)
    assert all(_is_woman(i, hips[i]) for i in seen)  # the man never enters her series
    gait = json.loads((gait_out / "gait.json").read_text())
    strikes = [e for e in gait["events"] if e["kind"] == "heel_strike"]
    assert len(strikes) >= 6
    assert gait["direction"] == "forward"


def test_person_option_picks_the_man_and_the_overlay_numbers_everyone(tmp_path):
    out = tmp_path / "man"
    assert main(["analyze", str(shared_file(VIDEO)), "--out", str(out), "--task", "angles",
                 "--person", "1", "--overlay"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["people"]["analysed"] == 1 and summary["people"]["chosen_by"] == "person"
    series = load_landmarks_csv(out / "landmarks.csv")
    hips = _hips(series)
    seen = np.flatnonzero(np.isfinite(hips).all(axis=1))
    assert seen.size >= 150 and seen[0] <= 10
    assert all(hips[i][1] < BOX_TOP_Y_PX for i in seen if i <= MAN_ON_BOX_UNTIL)
    assert not any(_is_woman(i, hips[i]) for i in seen)
    assert (out / "overlay.mp4").stat().st_size > 0
    code = main(["analyze", str(out / "landmarks.csv"), "--out", str(tmp_path / "again"), "--person", "9"])
    assert code == 2  # --person needs a video: one clear line, exit 2


class _Spy:
    """Records what the wrapped estimator returns, frame by frame."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator
        self.name = estimator.name
        self.returned: list[tuple[float, object]] = []

    def estimate(self, image_bgr, t_s):
        pose = self.estimator.estimate(image_bgr, t_s)
        self.returned.append((t_s, pose))
        return pose

    def close(self) -> None:
        self.estimator.close()


def _assert_only_the_man(returned, rate_hz: float = 30.0) -> None:
    centres = {int(round(t * rate_hz)): compute_person_features(p).centre_px
               for t, p in returned if p is not None and compute_person_features(p) is not None}
    on_box = [i for i in centres if i <= MAN_ON_BOX_UNTIL]
    assert len(on_box) >= 0.8 * (MAN_ON_BOX_UNTIL + 1)  # the man is followed
    wrong = [i for i, c in centres.items() if _is_woman(i, c)]
    assert wrong == []


def test_practice_locked_on_the_man_never_jumps_to_the_woman():
    from calibration.practice import build_practice_pipeline
    from feedback.exercises import load_exercise
    from feedback.session import run_practice
    from mindmove.settings import ensure_data_dir
    from sensing.multipose import create_tracking_estimator
    from sensing.video import open_source

    spy = _Spy(create_tracking_estimator(data_dir=ensure_data_dir()))
    with open_source(shared_file(VIDEO)) as source:
        result = run_practice(source, spy, build_practice_pipeline(load_exercise("standing_shoulder_flexion")),
                              pace=False)
    spy.close()
    assert result.frames_processed == 230
    _assert_only_the_man(spy.returned)
    assert len(spy.estimator.lock_history) == 1  # locked once, on the man, and never on anyone else


def test_calibration_locked_on_the_man_never_jumps_to_the_woman():
    from calibration.guided import run_range_capture
    from mindmove.settings import ensure_data_dir
    from sensing.multipose import create_tracking_estimator
    from sensing.video import open_source

    poses = []

    def on_frame(frame, status) -> bool:
        poses.append((frame.t_s, status.pose))
        return True

    with open_source(shared_file(VIDEO)) as source, create_tracking_estimator(data_dir=ensure_data_dir()) as estimator:
        run_range_capture(source.frames(), estimator, ["right_shoulder_flexion"], on_frame=on_frame)
        assert len(estimator.lock_history) == 1
    _assert_only_the_man(poses)


def test_a_recording_with_one_person_is_analysed_by_the_one_person_model_with_everyone_looked_for(tmp_path):
    """No second person in the lunge clip: analyze's default gives exactly ``--people one``'s
    landmarks (the one-person model), having looked for everyone every ALONE_SCAN_EVERY_S."""
    from mindmove.analyze_people import ALONE_SCAN_EVERY_S

    video = shared_file("video/pose2sim_lunge_cam01.mp4")
    runs = {}
    for people in ("several", "one"):
        out = tmp_path / people
        assert main(["analyze", str(video), "--out", str(out), "--people", people]) == 0
        runs[people] = (json.loads((out / "summary.json").read_text()), load_landmarks_csv(out / "landmarks.csv"))
    summary, series = runs["several"]
    assert summary["people"]["chosen_by"] == "only_person"
    assert summary["people"]["everyone_looked_for_every_s"] == ALONE_SCAN_EVERY_S
    assert summary["people"]["found"][0]["frames"] == 100
    assert summary["pose_model"] == runs["one"][0]["pose_model"]
    np.testing.assert_array_equal(series.pixel_px, runs["one"][1].pixel_px)
