"""Motion capture import (C3D, TRC, marker maps) and the OpenSim .mot export.

pyomeca data: pyomeca/pyomeca ``tests/data`` (Apache-2.0); its ``inverse_kin.mot`` is the
OpenSim ground truth for the elbow angle computed from these markers.
"""

from __future__ import annotations

import numpy as np
import pytest

from feedback.angles import compute_joint_angle, compute_joint_angles
from feedback.export import load_mot, save_angles_mot, save_mot
from core.errors import InputError
from sensing.mocap import (MARKER_MAP_DIR, load_marker_map, load_marker_table, load_mocap, map_markers,
                           save_trc)

PYOMECA_MAP = MARKER_MAP_DIR / "pyomeca_upper_limb.toml"


@pytest.fixture(scope="module")
def pyomeca():
    from conftest import shared_file

    c3d = shared_file("mocap/pyomeca/markers_analogs.c3d")
    return c3d, load_mocap(c3d, marker_map=PYOMECA_MAP), shared_file("mocap/pyomeca/inverse_kin.mot")


def test_c3d_mapped_in_metres_with_means_of_markers(pyomeca):
    c3d, series, _ = pyomeca
    assert len(series) == 580
    assert series.rate_hz == pytest.approx(100.0)
    assert series.up == (0.0, 0.0, 1.0)
    table = load_marker_table(c3d)
    assert table.units == "mm"
    i, j = table.labels.index("Daphnee:EPICl"), table.labels.index("Daphnee:EPICm")
    expected = (table.positions[10, i] + table.positions[10, j]) / 2 / 1000.0
    assert series.world("right_elbow")[10] == pytest.approx(expected)
    assert np.isnan(series.world("left_knee")).all()
    assert (series.visibility[:, 13] == 0).all()  # left elbow: not in the map
    # frames where a styloid marker is missing: the wrist is unknown there, not a guess
    missing = ~np.isfinite(table.positions[:, table.labels.index("Daphnee:STYLu")]).all(axis=1)
    wrist_known = np.isfinite(series.world("right_wrist")).all(axis=1)
    assert not wrist_known[missing].any()
    assert (series.visibility[missing, 16] == 0).all()


def test_elbow_flexion_matches_opensim(pyomeca):
    _, series, mot = pyomeca
    elbow = compute_joint_angle(series, joint="elbow_flexion", side="right")
    t, columns, header = load_mot(mot)
    assert header["inDegrees"] == "yes"
    ours = np.interp(t, series.t_s, elbow)
    ok = np.isfinite(ours)
    assert ok.sum() >= 80
    mae = float(np.mean(np.abs(ours[ok] - columns["elbow_flexion"][ok])))
    assert mae <= 2.0, mae


def test_trc_round_trip_gives_the_same_series(pyomeca, tmp_path):
    c3d, series, _ = pyomeca
    table = load_marker_table(c3d)
    trc = save_trc(table, tmp_path / "trial.trc")
    again = load_mocap(trc, marker_map=PYOMECA_MAP)
    assert np.allclose(again.t_s, series.t_s)
    assert np.allclose(again.world_m, series.world_m, equal_nan=True, atol=1e-8)


def test_marker_map_errors_are_one_line(tmp_path, pyomeca):
    c3d, _, _ = pyomeca
    bad = tmp_path / "bad.toml"
    bad.write_text('[landmarks]\nright_elbo = "EPICl"\n')
    with pytest.raises(InputError, match="not a landmark name"):
        load_marker_map(bad)
    bad.write_text('[landmarks]\nright_elbow = "NOPE"\n')
    with pytest.raises(InputError, match="no marker named NOPE") as info:
        load_mocap(c3d, marker_map=bad)
    assert "\n" not in str(info.value)
    bad.write_text('up = "sideways"\n[landmarks]\nright_elbow = "EPICl"\n')
    with pytest.raises(InputError, match="'up' must be"):
        load_marker_map(bad)
    with pytest.raises(InputError, match="expected a .c3d, .trc"):
        load_mocap(tmp_path / "bad.toml", marker_map=PYOMECA_MAP)


def test_up_from_map_and_unit_from_map(tmp_path):
    csv_path = tmp_path / "m.csv"
    csv_path.write_text(",A,A,A\n,x,y,z\n0,1,2,3\n1,4,,6\n")
    mp = tmp_path / "m.toml"
    mp.write_text('up = "-y"\nunits = "cm"\nrate_hz = 50\n[landmarks]\nnose = "A"\n')
    s = load_mocap(csv_path, marker_map=mp)
    assert s.up == (0.0, -1.0, 0.0)
    assert s.world("nose")[0] == pytest.approx([0.01, 0.02, 0.03])
    assert np.isnan(s.world("nose")[1]).all() and s.visibility[1, 0] == 0
    assert s.t_s[1] == pytest.approx(0.02)


def test_mot_round_trip(tmp_path, pyomeca):
    _, series, _ = pyomeca
    angles = compute_joint_angles(series)
    path = save_angles_mot(angles, tmp_path / "angles.mot")
    lines = path.read_text().splitlines()
    assert "endheader" in lines
    assert lines[lines.index("endheader") + 1].split("\t")[0] == "time"
    assert f"nRows={len(series)}" in lines and "inDegrees=yes" in lines
    t, cols, header = load_mot(path)
    assert np.allclose(t, series.t_s, atol=1e-6)
    assert int(header["nColumns"]) == len(cols) + 1
    elbow = angles.column("right_elbow_flexion_deg")
    assert np.allclose(cols["right_elbow_flexion"], elbow, atol=1e-5, equal_nan=True)
    simple = save_mot([0.0, 0.01], {"knee_deg": [1.5, float("nan")]}, tmp_path / "s.mot")
    t2, c2, _ = load_mot(simple)
    assert c2["knee"][0] == 1.5 and np.isnan(c2["knee"][1])
