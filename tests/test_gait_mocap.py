"""Gait events from gaitmap's real foot-marker walk against its motion-capture ground truth.

Data: mad-lab-fau/gaitmap ``example_data`` (MIT). Ground-truth event indices are samples of
the synchronised foot IMUs at 204.8 Hz (seconds = index / 204.8).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from feedback.gait import compute_gait
from sensing.mocap import load_gaitmap_mocap

IMU_RATE_HZ = 204.8
MATCH_WINDOW_S = 0.1  # a detection further than this from a ground-truth event is not a match


@pytest.fixture(scope="module")
def gaitmap(request):
    from conftest import shared_file

    series = load_gaitmap_mocap(shared_file("mocap/gaitmap/mocap_sample.csv"))
    with shared_file("mocap/gaitmap/stride_events_sample.csv").open() as fh:
        truth = list(csv.DictReader(fh))
    return series, compute_gait(series), truth


def _straight(series):
    """Straight walking, defined independently of the gait code: the feet centre (1 s moving
    average) moves faster than 0.8 m/s and its heading is within 20 degrees of that pass's."""
    feet = np.mean([series.world(n)[:, :2] for n in ("left_heel", "right_heel", "left_foot_index",
                                                     "right_foot_index")], axis=0)
    k = int(series.rate_hz)
    smooth = np.stack([np.convolve(feet[:, i], np.ones(k) / k, mode="same") for i in range(2)], axis=1)
    vel = np.gradient(smooth, series.t_s, axis=0)
    speed = np.linalg.norm(vel, axis=1)
    ok = speed > 0.8
    ok[:k] = ok[-k:] = False
    heading = np.arctan2(vel[:, 1], vel[:, 0])
    ref = np.where(vel[:, 0] >= 0, np.median(heading[ok & (vel[:, 0] >= 0)]),
                   np.median(heading[ok & (vel[:, 0] < 0)]))
    dev = np.degrees(np.abs(np.angle(np.exp(1j * (heading - ref)))))
    return ok & (dev < 20)


def _match(report, truth, straight, t_s, *, kind, column):
    errors, n_truth = [], 0
    for side in ("left", "right"):
        det = np.array([e.t_s for e in report.events if e.side == side and e.kind == kind])
        for row in truth:
            if row["foot"] != side:
                continue
            t = float(row[column]) / IMU_RATE_HZ
            if not straight[min(int(round(t * 100)), len(straight) - 1)]:
                continue
            n_truth += 1
            if det.size and np.min(np.abs(det - t)) <= MATCH_WINDOW_S:
                errors.append(det[np.argmin(np.abs(det - t))] - t)
    return np.abs(errors), n_truth


def test_loader_reads_metres_and_z_up(gaitmap):
    series, _, _ = gaitmap
    assert len(series) == 3870
    assert series.rate_hz == pytest.approx(100.0)
    assert series.up == (0.0, 0.0, 1.0)
    heel = series.world("left_heel")
    assert heel[0] == pytest.approx([33.25077734, 10.56383008, 0.04580315], abs=1e-6)
    assert np.isnan(series.world("left_knee")).all()
    assert series.visibility[:, 0].max() == 0.0


def test_heel_strike_and_toe_off_timing(gaitmap):
    series, report, truth = gaitmap
    straight = _straight(series)
    assert straight.mean() > 0.6
    # the gait code analyses (nearly) all of the independently defined straight walking
    assert report.frames_used[straight].mean() > 0.9
    hs, n_hs = _match(report, truth, straight, series.t_s, kind="heel_strike", column="ic")
    to, n_to = _match(report, truth, straight, series.t_s, kind="toe_off", column="tc")
    assert n_hs >= 40
    assert len(hs) / n_hs >= 0.9
    assert np.median(hs) <= 0.020
    assert np.median(to) <= 0.030
    assert report.direction == "forward"
    assert len(report.passes) == 2  # out and back, the turn excluded
    assert "pelvis_approximated_from_feet" in report.quality["flags"]


def test_cadence_and_stride_time(gaitmap):
    series, report, truth = gaitmap
    used = report.frames_used
    strides = []
    for side in ("left", "right"):
        ic = np.sort([float(r["ic"]) / IMU_RATE_HZ for r in truth if r["foot"] == side])
        strides += [b - a for a, b in zip(ic[:-1], ic[1:])
                    if used[int(round(a * 100)):int(round(b * 100)) + 1].all()]
    cadence_truth = 120.0 / np.mean(strides)
    assert abs(report.parameters["cadence_steps_per_min"] - cadence_truth) <= 1.0
    assert report.parameters["stride_time_s"] == pytest.approx(np.mean(strides), abs=0.02)
    assert report.quality["n_strides"] >= 40
    assert report.quality["trust"]["cadence_steps_per_min"] == "high"
    assert 1.0 < report.parameters["gait_speed_m_s"] < 1.5
    assert 0.5 < report.parameters["step_length_m"] < 0.8
