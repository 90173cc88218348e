"""Video gait events against hand labels (tests/data/video_gait_events.csv, see tests/data/README.md).

``sports2d_demo.mp4`` (davidpagnon/Sports2D, BSD-3-Clause): a woman walks right to left, side-on,
from about frame 37, while a man on a box is in view too. Until several people are tracked in
``analyze`` (the ``people`` branch), her landmarks are taken here with MediaPipe's Tasks
PoseLandmarker (``num_poses=3``, the offline bundle) and picked by the continuity of her hips.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from feedback.gait import EVENT_NAMES, compute_gait
from feedback.gait.frames import LANDMARK_INDEX, correct_side_swaps
from sensing.landmarks import N_LANDMARKS, LandmarkSeries

LABELS = Path(__file__).parent / "data" / "video_gait_events.csv"
VIDEO = "video/sports2d_demo.mp4"
FPS = 30.0
CADENCE_TOL = 3.0  # steps/min against the hand count
HIP_STEP_PX = 60.0  # a walker's hips move less than this between frames (plus 20 px per missed frame)


def _labels(video: str, kind: str) -> list[tuple[float, str]]:
    """(labelled frame, side) of one kind; the frame is the first showing the new state."""
    with LABELS.open() as fh:
        return [(float(r["frame"]), r["side"]) for r in csv.DictReader(fh) if r["video"] == video and r["event"] == kind]


def _hand_cadence() -> float:
    frames = sorted(f for f, _ in _labels("sports2d_demo.mp4", "heel_strike"))
    return 60.0 / (float(np.mean(np.diff(frames))) / FPS)


def _all_poses(video: Path, data_dir: Path):
    """Every pose of every frame: (T, 3, 33, 2) pixels, (T, 3, 33, 3) world, (T, 3, 33) visibility."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    from sensing.pose import offline_task_bundle

    options = PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(offline_task_bundle(data_dir))),
                                    running_mode=RunningMode.VIDEO, num_poses=3)
    px, world, vis = [], [], []
    cap = cv2.VideoCapture(str(video))
    with PoseLandmarker.create_from_options(options) as landmarker:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            h, w = frame.shape[:2]
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame[:, :, ::-1]))
            result = landmarker.detect_for_video(image, int(round(i / FPS * 1000)))
            p, q, v = np.full((3, N_LANDMARKS, 2), np.nan), np.full((3, N_LANDMARKS, 3), np.nan), np.zeros((3, N_LANDMARKS))
            for k, (a, b) in enumerate(zip(result.pose_landmarks, result.pose_world_landmarks)):
                p[k] = [(m.x * w, m.y * h) for m in a]
                v[k] = [m.visibility for m in a]
                q[k] = [(m.x, m.y, m.z) for m in b]
            px.append(p), world.append(q), vis.append(v)
            i += 1
    cap.release()
    return np.array(px), np.array(world), np.array(vis), (w, h)


def _follow(px, world, vis, size, *, start_xy) -> LandmarkSeries:
    """The pose whose mid-hip continues the walker's path from ``start_xy`` (image pixels)."""
    hips = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]
    n = len(px)
    out_px, out_w, out_v = np.full((n, N_LANDMARKS, 2), np.nan), np.full((n, N_LANDMARKS, 3), np.nan), np.zeros((n, N_LANDMARKS))
    last, velocity, last_i = np.asarray(start_xy, float), np.zeros(2), None
    for i in range(n):
        centre = np.mean(px[i][:, hips], axis=1)  # (3, 2), NaN where no pose
        gap = 1 if last_i is None else i - last_i
        dist = np.linalg.norm(centre - (last + velocity * gap), axis=1)
        dist[~np.isfinite(dist)] = np.inf
        k = int(np.argmin(dist))
        if dist[k] > (250.0 if last_i is None else HIP_STEP_PX + 20.0 * gap):
            continue
        if last_i is not None:
            velocity = 0.7 * velocity + 0.3 * (centre[k] - last) / gap
        last, last_i = centre[k], i
        out_px[i], out_w[i], out_v[i] = px[i, k], world[i, k], vis[i, k]
    return LandmarkSeries(t_s=np.arange(n) / FPS, world_m=out_w, visibility=out_v, pixel_px=out_px, image_size=size)


@pytest.fixture(scope="module")
def woman(tmp_path_factory):
    from conftest import shared_file

    px, world, vis, size = _all_poses(shared_file(VIDEO), tmp_path_factory.mktemp("models"))
    # she comes into view at the right, walking on the grass below the man's box
    return _follow(px, world, vis, size, start_xy=(0.82 * size[0], 0.75 * size[1]))


def _errors_frames(report, kind: str) -> tuple[np.ndarray, int]:
    """Detected minus labelled instant (label frame - 0.5: the contact lies between that frame and
    the one before) in frames, for the labels inside her analysed passes; and how many those are."""
    out, n = [], 0
    for frame, side in _labels("sports2d_demo.mp4", kind):
        if not any(p.t_start_s <= frame / FPS <= p.t_end_s for p in report.passes):
            continue
        n += 1
        found = [e.t_s * FPS for e in report.events if EVENT_NAMES[e.kind] == kind and e.side == side]
        near = min(found, key=lambda f: abs(f - (frame - 0.5))) - (frame - 0.5) if found else np.inf
        if abs(near) <= 3.0:
            out.append(near)
    return np.asarray(out), n


@pytest.mark.slow
def test_womans_heel_strikes_land_within_a_frame_of_the_hand_labels(woman):
    report = compute_gait(woman)
    assert {p.progression for p in report.passes} == {"overground"} and report.direction == "forward"
    hs, n_hs = _errors_frames(report, "heel_strike")
    assert sum(1 for e in report.events if EVENT_NAMES[e.kind] == "heel_strike") >= 6
    assert n_hs >= 6 and len(hs) >= n_hs - 1
    assert np.median(np.abs(hs)) <= 1.0, np.round(hs, 2)
    to, n_to = _errors_frames(report, "toe_off")
    assert len(to) >= n_to - 1 and np.median(np.abs(to)) <= 1.5, np.round(to, 2)
    assert report.parameters.cadence_steps_per_min == pytest.approx(_hand_cadence(), abs=CADENCE_TOL)


@pytest.mark.slow
def test_analyze_sports2d_gives_the_womans_walk(tmp_path):
    from conftest import shared_file
    from mindmove.cli import main

    out = tmp_path / "out"
    assert main(["analyze", str(shared_file(VIDEO)), "--out", str(out), "--task", "gait"]) == 0
    data = json.loads((out / "gait.json").read_text())
    heel_strikes = [e for e in data["events"] if e["kind"] == "heel_strike"]
    assert len(heel_strikes) >= 6
    assert all(1.2 <= e["t_s"] <= 6.7 for e in heel_strikes)  # her walk, not the man's
    assert "identity_switch" not in data["quality"]["flags"]  # one identity of the tracker, start to end
    # Cadence over the steps the hand count covers (its first and last labelled heel strikes,
    # frames 40 and 172): the analysis's own heel strikes in that span, a frame either side.
    labelled = sorted(f for f, _ in _labels("sports2d_demo.mp4", "heel_strike"))
    inside = sorted(e["t_s"] * FPS for e in heel_strikes if labelled[0] - 3 <= e["t_s"] * FPS <= labelled[-1] + 3)
    cadence_in_span = 60.0 * FPS * (len(inside) - 1) / (inside[-1] - inside[0])
    assert cadence_in_span == pytest.approx(_hand_cadence(), abs=CADENCE_TOL)
    # The headline covers her whole walk, with the step at the image's edge the labels leave out
    # (about frame 189-190): a faster last step, so it reads a little higher.
    assert data["parameters"]["cadence_steps_per_min"] == pytest.approx(_hand_cadence(), rel=0.05)


def test_hand_count_cadence_is_what_the_labels_say():
    frames = sorted(f for f, _ in _labels("sports2d_demo.mp4", "heel_strike"))
    assert frames[0] == 40 and frames[-1] == 172 and len(frames) == 8
    assert _hand_cadence() == pytest.approx(95.45, abs=0.01)  # 7 steps in 132 frames at 30 fps


def test_a_left_right_swap_of_the_legs_is_undone_and_counted():
    """A side view's pose model swaps the legs for a frame now and then: the feet exchange
    places in one frame and back in the next; crossings (feet level) are left alone."""
    n = 30
    px = np.full((n, N_LANDMARKS, 2), np.nan)
    x = np.arange(n, dtype=float)
    for part, dy in (("knee", 0.0), ("ankle", 40.0), ("heel", 50.0), ("foot_index", 55.0)):
        px[:, LANDMARK_INDEX[f"left_{part}"]] = np.stack([100 + 10 * x, 400 + dy + 0 * x], axis=1)
        px[:, LANDMARK_INDEX[f"right_{part}"]] = np.stack([400 - 10 * x, 400 + dy + 0 * x], axis=1)  # crosses at x=15
    swapped = px.copy()
    legs = [LANDMARK_INDEX[f"{s}_{p}"] for s in ("left", "right") for p in ("knee", "ankle", "heel", "foot_index")]
    swapped[7, legs] = px[7, legs[4:] + legs[:4]]
    swapped[22, legs] = px[22, legs[4:] + legs[:4]]
    fixed, _, count = correct_side_swaps(swapped, np.ones((n, N_LANDMARKS)))
    assert count == 2
    assert np.allclose(fixed[:, legs], px[:, legs])


@pytest.mark.slow
def test_a_balance_trial_whose_foot_lifts_and_lands_is_not_walking(tmp_path):
    """pose2sim_lunge_cam04.mp4: one foot off the ground from frame 14 to 77 (hand labels) and
    back; no alternation of the feet, so no gait analysis (task auto gives angles only)."""
    from conftest import shared_file
    from mindmove.cli import main

    lifts = _labels("pose2sim_lunge_cam04.mp4", "toe_off") + _labels("pose2sim_lunge_cam04.mp4", "heel_strike")
    assert [f for f, _ in sorted(lifts)] == [14.0, 77.0]
    out = tmp_path / "out"
    assert main(["analyze", str(shared_file("video/pose2sim_lunge_cam04.mp4")), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task"] == "angles" and not (out / "gait.json").exists()
