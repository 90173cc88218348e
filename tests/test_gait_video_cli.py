"""Gait through the real pipeline: `mindmove analyze` on sports2d_demo.mp4 and on a C3D file.

``sports2d_demo.mp4``: davidpagnon/Sports2D (BSD-3-Clause). MediaPipe follows the man on the
box first, then switches to the woman walking side-on (right to left) around frame 170.
"""

from __future__ import annotations

import json

import pytest

from mindmove.cli import main
from sensing.mocap import MARKER_MAP_DIR


@pytest.fixture(scope="module")
def sports2d_gait(tmp_path_factory):
    from conftest import shared_file

    video = shared_file("video/sports2d_demo.mp4")
    out = tmp_path_factory.mktemp("sports2d")
    # --people one: the legacy one-person model, which jumps from the man to the woman, so
    # that gait's own handling of an identity switch is tested (following everyone instead:
    # tests/test_people_video.py).
    code = main(["analyze", str(video), "--out", str(out), "--task", "gait", "--people", "one"])
    assert code == 0
    return out


@pytest.mark.slow
def test_walking_woman_gives_heel_strikes_and_cadence(sports2d_gait):
    data = json.loads((sports2d_gait / "gait.json").read_text())
    assert (sports2d_gait / "gait_cycles.csv").exists()
    assert data["coordinates"] == "pixel_px"
    switches = data["identity_switch_frames"]
    assert any(150 <= f <= 180 for f in switches)  # the switch from the man to the woman
    heel_strikes = [e for e in data["events"] if e["kind"] == "heel_strike"]
    assert len(heel_strikes) >= 2
    assert all(e["t_s"] > 5.5 for e in heel_strikes)  # all from the woman's stretch
    assert 90 <= data["parameters"]["cadence_steps_per_min"] <= 130
    assert data["direction"] == "forward"
    reasons = {d["reason"] for d in data["excluded"]}
    assert "other_person" in reasons
    man = [d for d in data["excluded"] if d["reason"] == "other_person" and d["end_frame"] >= 150]
    assert man and man[0]["start_frame"] <= 20  # the man's frames were not used
    assert "few_strides" in data["quality"]["flags"]
    summary = json.loads((sports2d_gait / "summary.json").read_text())
    assert "gait.json" in summary["outputs"]


@pytest.mark.slow
def test_roi_picks_the_person_inside_it(sports2d_gait, tmp_path):
    """Re-analyse the saved landmarks with a region around the box: the man is chosen."""
    from feedback.gait import compute_gait
    from sensing.landmarks import load_landmarks_csv

    series = load_landmarks_csv(sports2d_gait / "landmarks.csv")
    series = type(series)(t_s=series.t_s, world_m=series.world_m, visibility=series.visibility,
                          pixel_px=series.pixel_px, image_size=(1768, 994))
    report = compute_gait(series, roi=(500, 100, 500, 400))
    used = [i for i, u in enumerate(report.frames_used) if u]
    assert all(i < 170 for i in used)
    woman = compute_gait(series, roi=(0, 600, 700, 394))
    assert all(p.start_frame >= 170 for p in woman.passes)


def test_cli_c3d_with_markers(tmp_path):
    from conftest import shared_file

    c3d = shared_file("mocap/pyomeca/markers_analogs.c3d")
    out = tmp_path / "out"
    code = main(["analyze", str(c3d), "--markers", str(MARKER_MAP_DIR / "pyomeca_upper_limb.toml"),
                 "--out", str(out), "--task", "angles"])
    assert code == 0
    header = (out / "angles.csv").read_text().splitlines()[0].split(",")
    assert "right_elbow_flexion_deg" in header


def test_cli_gaitmap_csv_gait(tmp_path):
    from conftest import shared_file

    walk = shared_file("mocap/gaitmap/mocap_sample.csv")
    out = tmp_path / "out"
    code = main(["analyze", str(walk), "--markers", str(MARKER_MAP_DIR / "gaitmap_foot.toml"),
                 "--out", str(out), "--task", "gait"])
    assert code == 0
    data = json.loads((out / "gait.json").read_text())
    assert 105 <= data["parameters"]["cadence_steps_per_min"] <= 115
    assert data["coordinates"] == "world_m"


def test_cli_c3d_without_markers_is_one_line_error(tmp_path, capsys):
    from conftest import shared_file

    c3d = shared_file("mocap/pyomeca/markers_analogs.c3d")
    code = main(["analyze", str(c3d), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--markers" in capsys.readouterr().err
