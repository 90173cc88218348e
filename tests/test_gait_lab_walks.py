"""Lab walks of the kinds a clinic meets, against the events their labs stored in the C3D files.

Data (redistributed in IDMDataHub/gaitkit, CC BY 4.0): Shida et al. 2023 (Parkinson's disease,
OFF medication, overground, figshare 14896881) and Fukuchi et al. 2018 (healthy adult on a
treadmill, figshare 5722711). The reference events are read here with ezc3d directly, not
through MindMove's reader, and matched to the nearest detection of the same side and kind.
"""

from __future__ import annotations

import json

import ezc3d
import numpy as np
import pytest

from feedback.gait import EVENT_NAMES, compute_gait
from mindmove.cli import main
from sensing.mocap import MARKER_MAP_DIR, load_mocap

MATCH_WINDOW_S = 0.1  # a detection further than this from a reference event does not find it
PD = "mocap/gaitkit/figshare_pd_SUB05_off_walk_8.c3d"
TREADMILL = "mocap/gaitkit/fukuchi_WBDS42walkT03.c3d"


def _reference(path) -> list[tuple[float, str, str]]:
    """(t_s, side, 'heel_strike' / 'toe_off') from the EVENT section: codes such as RHS / LTO in
    LABELS, or in CONTEXTS when the labels are empty; TIMES row 1 holds the seconds."""
    event = ezc3d.c3d(str(path))["parameters"]["EVENT"]
    times = np.asarray(event["TIMES"]["value"])[1]
    labels = event["LABELS"]["value"]
    contexts = event.get("CONTEXTS", {}).get("value", [""] * len(labels))
    out = []
    for label, context, t in zip(labels, contexts, times):
        code = (label or context).strip()
        if code in ("LHS", "RHS", "LTO", "RTO"):
            out.append((float(t), "left" if code[0] == "L" else "right",
                        "heel_strike" if code[1:] == "HS" else "toe_off"))
    return out


def _match(report, reference, kind: str) -> tuple[np.ndarray, int]:
    """(absolute errors of the reference events found, number of reference events)."""
    errors, n = [], 0
    for t, side, k in reference:
        if k != kind:
            continue
        n += 1
        found = [e.t_s for e in report.events if e.side == side and EVENT_NAMES[e.kind] == kind]
        if found and min(abs(np.asarray(found) - t)) <= MATCH_WINDOW_S:
            errors.append(min(abs(np.asarray(found) - t)))
    return np.asarray(errors), n


@pytest.fixture(scope="module")
def parkinson():
    from conftest import shared_file

    path = shared_file(PD)
    series = load_mocap(path, marker_map=MARKER_MAP_DIR / "figshare_pd.toml")
    return series, compute_gait(series), _reference(path)


@pytest.fixture(scope="module")
def treadmill():
    from conftest import shared_file

    path = shared_file(TREADMILL)
    series = load_mocap(path, marker_map=MARKER_MAP_DIR / "fukuchi_lower_body.toml")
    return series, compute_gait(series), _reference(path)


def test_c3d_reference_events_are_read_in_both_conventions(parkinson, treadmill):
    for (series, _, reference) in (parkinson, treadmill):
        ours = [(round(e.t_s, 4), e.side, EVENT_NAMES[e.kind]) for e in series.attrs["reference_events"]]
        assert sorted(ours) == sorted((round(t, 4), s, k) for t, s, k in reference)
    assert len(parkinson[2]) == 37 and len(treadmill[2]) == 92  # 19 + 18; 23 of each kind (LON/LOFF repeat them)


def test_parkinsons_walk_events(parkinson):
    series, report, reference = parkinson
    hs, n_hs = _match(report, reference, "heel_strike")
    to, n_to = _match(report, reference, "toe_off")
    assert (n_hs, n_to) == (19, 18)
    assert len(hs) / n_hs >= 0.9 and len(to) / n_to >= 0.9
    assert np.median(hs) <= 0.015, np.round(hs * 1000)
    assert np.median(to) <= 0.020, np.round(to * 1000)
    assert report.quality.trust["cadence_steps_per_min"] == "high"
    assert {p.progression for p in report.passes} == {"overground"} and report.direction == "forward"
    steps = np.diff(sorted(t for t, _, k in reference if k == "heel_strike"))
    assert report.parameters.cadence_steps_per_min == pytest.approx(60 / np.mean(steps), abs=1.5)


def test_treadmill_walk_is_found_in_place_with_every_heel_strike(treadmill):
    series, report, reference = treadmill
    assert [p.progression for p in report.passes] == ["in_place"]
    assert "walking_in_place" in report.quality.flags
    hs, n_hs = _match(report, reference, "heel_strike")
    assert len(hs) == n_hs == 23 * 2
    assert np.median(hs) <= 0.010, np.round(hs * 1000)
    to, n_to = _match(report, reference, "toe_off")
    assert len(to) == n_to and np.median(to) <= 0.030
    steps = np.diff(sorted(t for t, _, k in reference if k == "heel_strike"))
    assert report.parameters.cadence_steps_per_min == pytest.approx(60 / np.mean(steps), abs=1.0)
    # the belt's speed read from the standing feet: stride length / stride time of the reference
    stride = np.mean(np.diff(sorted(t for t, s, k in reference if k == "heel_strike" and s == "left")))
    assert report.parameters.stride_time_s == pytest.approx(stride, abs=0.02)
    assert 0.4 < report.parameters.gait_speed_m_s < 0.9


def test_cli_treadmill_speed_gives_speed_and_step_length(tmp_path):
    from conftest import shared_file

    out = tmp_path / "out"
    code = main(["analyze", str(shared_file(TREADMILL)), "--markers", str(MARKER_MAP_DIR / "fukuchi_lower_body.toml"),
                 "--out", str(out), "--task", "gait", "--treadmill-speed", "0.62"])
    assert code == 0
    data = json.loads((out / "gait.json").read_text())
    p = data["parameters"]
    assert p["gait_speed_m_s"] == pytest.approx(0.62)
    assert p["stride_length_m"] == pytest.approx(0.62 * p["stride_time_s"], abs=0.002)
    assert data["passes"][0]["progression"] == "in_place"


def test_cli_treadmill_speed_out_of_range_is_one_line_error(tmp_path, capsys):
    from conftest import shared_file

    code = main(["analyze", str(shared_file(TREADMILL)), "--markers", str(MARKER_MAP_DIR / "fukuchi_lower_body.toml"),
                 "--out", str(tmp_path / "o"), "--treadmill-speed", "4.5"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--treadmill-speed" in err[0]
