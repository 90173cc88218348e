"""Identities across frames (sensing.people) and the one-person lock (sensing.multipose), on
simulated bodies whose identities are known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sensing.landmarks import LANDMARK_INDEX, LandmarkSeries, PoseFrame
from sensing.multipose import CALM_S, LOST_SCAN_EVERY_S, SCAN_EVERY_S, TrackingPoseEstimator
from sensing.people import (CONFIRM_FRAMES, MAX_AGE_S, build_people_tracks, centred_rank,
                            choose_in_roi, compute_overlap, compute_person_features, compute_pose_shift,
                            track_people)
from synthetic import BodySpec, BodySegments, simulate_landmark_series, WalkSpec, simulate_walk

IMAGE = (1280, 720)
RATE_HZ = 30.0
SMALL = BodySegments(trunk_m=0.44, shoulder_half_width_m=0.16, hip_half_width_m=0.11, upper_arm_m=0.27,
                     forearm_m=0.23, thigh_m=0.40, shank_m=0.38)


def _pose(series: LandmarkSeries, i: int, *, dx: float = 0.0, dy: float = 0.0) -> PoseFrame:
    return PoseFrame(world_m=series.world_m[i], visibility=series.visibility[i],
                     pixel_px=series.pixel_px[i] + (dx, dy))


def _centre(pose: PoseFrame) -> np.ndarray:
    return compute_person_features(pose).centre_px


def _crossing_walkers(duration_s: float = 4.0):
    """A walks to the right near the camera, B (a smaller person, further away) to the left;
    their paths cross in the middle of the image halfway through."""
    a = simulate_walk(WalkSpec(duration_s=duration_s, rate_hz=RATE_HZ, heading="+x", cadence_steps_per_min=110,
                      step_length_m=0.65, image_size=IMAGE, px_per_m=260))
    b = simulate_walk(WalkSpec(duration_s=duration_s, rate_hz=RATE_HZ, heading="-x", cadence_steps_per_min=100,
                      step_length_m=0.6, image_size=IMAGE, px_per_m=200, segments=SMALL))
    return a, b


class _FakeFrame:
    def __init__(self, t_s: float) -> None:
        self.t_s = t_s
        self.image_bgr = np.zeros((IMAGE[1], IMAGE[0], 3), np.uint8)


class _Replay:
    """A multi-person estimator that returns the poses prepared for each frame time."""

    name = "replay"

    def __init__(self, frames: list[list[PoseFrame]]) -> None:
        self.frames = frames
        self.calls = 0

    def estimate_all(self, image_bgr, t_s):
        self.calls += 1
        return list(self.frames[int(round(t_s * RATE_HZ))])

    def close(self) -> None:
        pass


def _run_tracker(frames: list[list[PoseFrame]], t_s: np.ndarray):
    return track_people([_FakeFrame(t) for t in t_s], _Replay(frames), image_size=IMAGE)


def test_two_walkers_crossing_keep_their_identities_exactly():
    a, b = _crossing_walkers()
    n = len(a)
    frames = []
    for i in range(n):
        pair = [_pose(a, i), _pose(b, i, dy=-60)]
        frames.append(pair if i % 2 else pair[::-1])  # the model's order is no identity
    ca = np.array([_centre(f[0] if i % 2 else f[1])[0] for i, f in enumerate(frames)])
    cb = np.array([_centre(f[1] if i % 2 else f[0])[0] for i, f in enumerate(frames)])
    assert ca[0] < cb[0] and ca[-1] > cb[-1]  # they really cross
    people = _run_tracker(frames, a.t_s)
    assert people.identities == (1, 2)
    got_b, got_a = people.series(1), people.series(2)  # B came first in frame 0's list
    np.testing.assert_array_equal(got_a.pixel_px, a.pixel_px)  # every frame, exactly
    np.testing.assert_array_equal(got_b.pixel_px, b.pixel_px - (0, 60))


def test_walker_hidden_while_crossing_comes_back_with_the_same_identity():
    a, b = _crossing_walkers()
    n = len(a)
    frames, hidden = [], []
    for i in range(n):
        pa, pb = _pose(a, i), _pose(b, i, dy=-60)
        covered = abs(_centre(pa)[0] - _centre(pb)[0]) < 90  # B walks behind A
        hidden.append(covered)
        frames.append([pa] if covered else [pb, pa])
    hidden = np.array(hidden)
    assert 0.2 < hidden.sum() / RATE_HZ < MAX_AGE_S  # hidden for a while, less than the max age
    people = _run_tracker(frames, a.t_s)
    assert people.identities == (1, 2)
    b_series, a_series = people.series(1), people.series(2)
    np.testing.assert_array_equal(a_series.pixel_px, a.pixel_px)
    seen = b_series.frames_with_person()
    np.testing.assert_array_equal(seen, ~hidden)
    np.testing.assert_array_equal(b_series.pixel_px[seen], (b.pixel_px - (0, 60))[seen])


def test_an_identity_unseen_longer_than_the_max_age_is_a_new_person():
    a = simulate_walk(WalkSpec(duration_s=5.0, rate_hz=RATE_HZ, image_size=IMAGE, px_per_m=260))
    t = a.t_s
    gap = (t > 1.0) & (t < 1.0 + MAX_AGE_S + 0.2)
    frames = [[] if g else [_pose(a, i)] for i, g in enumerate(gap)]
    people = _run_tracker(frames, t)
    assert people.identities == (1, 2)
    assert people.describe()[1]["first_frame"] == int(np.flatnonzero(~gap & (t > 1.0))[0])


def test_a_false_detection_never_starts_an_identity_nor_takes_a_place():
    a = simulate_walk(WalkSpec(duration_s=3.0, rate_hz=RATE_HZ, image_size=IMAGE, px_per_m=260))
    ghost = simulate_landmark_series([0.0], {}, BodySpec(image_size=IMAGE, px_per_m=150))
    frames = []
    for i in range(len(a)):
        frames.append([_pose(a, i)] + ([_pose(ghost, 0, dx=-400)] if i % 7 == 3 else []))
    people = _run_tracker(frames, a.t_s)
    assert people.identities == (1,)
    np.testing.assert_array_equal(people.series(1).pixel_px, a.pixel_px)


def test_the_same_person_returned_twice_is_one_person():
    a = simulate_walk(WalkSpec(duration_s=2.0, rate_hz=RATE_HZ, image_size=IMAGE, px_per_m=260))
    frames = []
    for i in range(len(a)):
        copy = _pose(a, i, dx=8.0, dy=5.0)
        partial_vis = copy.visibility.copy()
        partial_vis[[LANDMARK_INDEX[n] for n in ("left_ankle", "right_ankle", "left_knee")]] = 0.2
        frames.append([_pose(a, i), PoseFrame(copy.world_m, partial_vis, copy.pixel_px)])
    assert compute_overlap(*frames[10]) > 0.9
    people = _run_tracker(frames, a.t_s)
    assert people.identities == (1,)


def test_roi_and_centre_choose_the_person_asked_for():
    a, b = _crossing_walkers()
    frames = [[_pose(a, i), _pose(b, i, dy=-200)] for i in range(len(a))]
    people = _run_tracker(frames, a.t_s)
    ya = _centre(frames[0][0])[1]
    assert choose_in_roi(people, (0, int(ya) - 40, IMAGE[0], 80)) == 1  # A
    assert choose_in_roi(people, (0, int(ya) - 240, IMAGE[0], 80)) == 2  # B, 200 px higher
    assert choose_in_roi(people, (0, 0, 10, 10)) is None
    near = compute_person_features(_pose(a, 0, dx=IMAGE[0] / 2 - _centre(frames[0][0])[0]))
    far = compute_person_features(_pose(b, 0, dx=IMAGE[0] / 2 - _centre(frames[0][1])[0] + 60))
    assert centred_rank(near, IMAGE) < centred_rank(far, IMAGE)


def test_identities_with_too_few_frames_are_dropped():
    a = simulate_walk(WalkSpec(duration_s=1.0, rate_hz=RATE_HZ, image_size=IMAGE, px_per_m=260))
    assigned = [[(7, _pose(a, i))] for i in range(CONFIRM_FRAMES - 1)] + [[] for _ in range(len(a) - CONFIRM_FRAMES + 1)]
    assert build_people_tracks(a.t_s, assigned, image_size=IMAGE).identities == ()


# --- the one-person lock ----------------------------------------------------------------------

def _seen_from(pose: PoseFrame | None, x0: int | None) -> PoseFrame | None:
    """``pose`` as a one-person model shown the square from ``x0`` (None: the whole frame) returns it."""
    return pose if pose is None or x0 is None else PoseFrame(pose.world_m, pose.visibility, pose.pixel_px - (x0, 0.0))


class _JumpsTo:
    """A one-person model as MediaPipe's tracker behaves at its worst: from ``jump_at_s`` on it
    follows someone else (``other``) whenever they are in view (the silent jump)."""

    name = "single"

    def __init__(self, patient: list[PoseFrame], other: list[PoseFrame | None], *, jump_at_s: float,
                 when_in_front: bool = False) -> None:
        self.patient, self.other, self.jump_at_s = patient, other, jump_at_s
        self.when_in_front = when_in_front  # jump only while the other person overlaps the patient
        self.calls = self.jumps = 0

        self.left_of_view = lambda: None  # the left edge of the square it is shown (set by the test)

    def estimate(self, image_bgr, t_s):
        i = int(round(t_s * RATE_HZ))
        self.calls += 1
        other = self.other[i]
        in_front = other is not None and compute_overlap(self.patient[i], other) > 0.3
        pose = self.patient[i]
        if t_s >= self.jump_at_s and other is not None and (in_front or not self.when_in_front):
            self.jumps += 1
            pose = other
        x0 = self.left_of_view()
        assert image_bgr.shape[:2] == ((IMAGE[1], IMAGE[1]) if x0 is not None else IMAGE[::-1])
        return _seen_from(pose, x0)

    def close(self) -> None:
        pass


def _session_with_a_therapist_walking_past(duration_s: float = 6.0):
    t = np.arange(int(duration_s * RATE_HZ)) / RATE_HZ
    patient = simulate_landmark_series(t, lambda s: {"right_shoulder_flexion": 80 * (1 - math.cos(2 * math.pi * s / 4)) / 2}, BodySpec(image_size=IMAGE, px_per_m=230))
    walk = simulate_walk(WalkSpec(duration_s=duration_s, rate_hz=RATE_HZ, heading="+x", image_size=IMAGE, px_per_m=300))
    enters, leaves = 1.5, 4.5  # the therapist is in view between these times
    therapist = [(_pose(walk, i, dy=40) if enters <= s <= leaves else None) for i, s in enumerate(t)]
    return t, [_pose(patient, i) for i in range(len(t))], therapist


def _run_live(est, t):
    return [est.estimate(np.zeros((IMAGE[1], IMAGE[0], 3), np.uint8), s) for s in t]


def _assert_always_the_patient(out, patient):
    for i, pose in enumerate(out[CONFIRM_FRAMES:], start=CONFIRM_FRAMES):
        assert pose is not None and np.array_equal(pose.pixel_px, patient[i].pixel_px), f"frame {i}"


def test_a_therapist_walking_in_front_never_takes_over_the_patient():
    t, patient, therapist = _session_with_a_therapist_walking_past()
    in_front = [o is not None and compute_overlap(p, o) > 0.3 for p, o in zip(patient, therapist)]
    assert sum(in_front) >= 5  # the therapist does pass in front of the patient
    multi = _Replay([[p] + ([o] if o is not None else []) for p, o in zip(patient, therapist)])
    single = _JumpsTo(patient, therapist, jump_at_s=0.0, when_in_front=True)
    est = TrackingPoseEstimator(multi, single=single)
    single.left_of_view = lambda: est.follow_left
    paths, out = [], []
    for s in t:
        out.append(est.estimate(np.zeros((IMAGE[1], IMAGE[0], 3), np.uint8), s))
        paths.append(est.last_path)
    _assert_always_the_patient(out, patient)
    assert est.lock_history == [(t[CONFIRM_FRAMES - 1], 1)]
    paths = np.array(paths)
    # Alone, the cheap one-person path runs, with a scan every SCAN_EVERY_S, and more often
    # once the therapist is within reach. While the one-person model follows the patient, a
    # scan runs behind it (on another thread, used SCAN_BEHIND_FRAMES later): that frame's
    # answer is the one-person model's. Its jump in front of the patient is caught on the
    # frame it happens, and everyone is followed for CALM_S after it.
    scans = np.array(est.scan_times)
    first = t[CONFIRM_FRAMES]
    before = scans[(scans > first) & (scans < 1.5)]
    assert before.size <= math.ceil((1.5 - first) / SCAN_EVERY_S) + 1
    assert paths[np.isin(t, before)].tolist() == ["single"] * before.size
    with_therapist = scans[(scans >= 1.5) & (scans <= 4.5)]
    assert np.diff(with_therapist).max() <= SCAN_EVERY_S + 1e-9
    assert np.diff(with_therapist).min() < SCAN_EVERY_S
    assert est.frames_by_path["behind"] >= 2
    first_jump = next(i for i, (p, o) in enumerate(zip(patient, therapist))
                      if o is not None and compute_overlap(p, o) > 0.3)
    calm = round(CALM_S * RATE_HZ)
    assert (paths[first_jump:first_jump + calm] == "multi").all()
    assert 1 <= single.jumps <= 3  # caught at once each time, never shown
    assert (paths == "single").mean() > 0.5


def test_a_jump_of_the_one_person_model_is_caught_even_when_the_other_person_is_missed():
    t, patient, therapist = _session_with_a_therapist_walking_past()
    multi = _Replay([[p] for p in patient])  # the detector never finds the therapist
    single = _JumpsTo(patient, therapist, jump_at_s=2.0)
    est = TrackingPoseEstimator(multi, single=single)
    single.left_of_view = lambda: est.follow_left
    out = _run_live(est, t)
    assert single.jumps > 0
    _assert_always_the_patient(out, patient)


def test_the_patient_is_the_person_centred_when_the_session_starts():
    t, patient, _ = _session_with_a_therapist_walking_past()
    nearer_at_the_side = simulate_landmark_series(t[:10], {}, BodySpec(image_size=IMAGE, px_per_m=330))
    frames = [[_pose(nearer_at_the_side, i, dx=-420), patient[i]] for i in range(10)]
    est = TrackingPoseEstimator(_Replay(frames))
    out = _run_live(est, t[:10])
    assert all(np.array_equal(p.pixel_px, patient[i].pixel_px) for i, p in enumerate(out) if i >= CONFIRM_FRAMES - 1)


def test_a_lost_patient_is_taken_back_only_where_they_were():
    t = np.arange(int(6 * RATE_HZ)) / RATE_HZ
    patient = simulate_landmark_series(t, {}, BodySpec(image_size=IMAGE, px_per_m=230))
    away = (t > 1.0) & (t < 1.0 + MAX_AGE_S + 0.5)
    stranger_time = (t > 1.5) & (t < 4.5)
    frames = []
    for i in range(len(t)):
        people = [] if away[i] else [_pose(patient, i)]
        if stranger_time[i]:
            people.append(_pose(patient, i, dx=-450))  # someone else, elsewhere in the picture
        frames.append(people)
    est = TrackingPoseEstimator(_Replay(frames))
    out = _run_live(est, t)
    for i, pose in enumerate(out):
        if pose is not None:
            assert np.array_equal(pose.pixel_px, _pose(patient, i).pixel_px), f"frame {i}"
    back = np.flatnonzero(~away & (t > 1.0))
    seen_within = math.ceil(LOST_SCAN_EVERY_S * RATE_HZ)  # they are looked for this often while away
    assert all(out[i] is not None for i in back[CONFIRM_FRAMES + seen_within:])


@pytest.mark.parametrize("bad", [0, -1])
def test_num_poses_must_be_positive(bad, tmp_path):
    from core.errors import InputError
    from sensing.pose import TasksPoseEstimator, offline_task_bundle

    with pytest.raises(InputError, match="num_poses"):
        TasksPoseEstimator(offline_task_bundle(tmp_path), num_poses=bad)


def test_a_pose_with_its_sides_swapped_is_the_same_person_and_a_neighbour_is_not():
    series = simulate_walk(WalkSpec(duration_s=1.0, rate_hz=RATE_HZ, image_size=IMAGE, px_per_m=260))
    pose = _pose(series, 10)
    size = compute_person_features(pose).size_px
    left = [LANDMARK_INDEX[n] for n in LANDMARK_INDEX if n.startswith("left_")]
    right = [LANDMARK_INDEX["right_" + n[5:]] for n in LANDMARK_INDEX if n.startswith("left_")]
    px = pose.pixel_px.copy()
    px[left + right] = pose.pixel_px[right + left]
    swapped = PoseFrame(pose.world_m, pose.visibility, px)
    assert compute_pose_shift(swapped, pose, size_px=size) < 1e-9
    beside = _pose(series, 10, dx=size)  # someone one body size to the side
    assert compute_pose_shift(beside, pose, size_px=size) == pytest.approx(1.0)


class _Follows:
    """A one-person model that returns whoever of ``poses`` (in order of preference) is in
    view at each frame time, in the coordinates of the square it is shown."""

    name = "single"

    def __init__(self, *people: list[PoseFrame | None]) -> None:
        self.people = people
        self.left_of_view = lambda: None

    def estimate(self, image_bgr, t_s):
        i = int(round(t_s * RATE_HZ))
        pose = next((p[i] for p in self.people if p[i] is not None), None)
        return _seen_from(pose, self.left_of_view())

    def close(self) -> None:
        pass


def test_a_patient_who_steps_away_is_taken_back_and_nobody_else_meanwhile():
    t = np.arange(int(5 * RATE_HZ)) / RATE_HZ
    series = simulate_landmark_series(t, {}, BodySpec(image_size=IMAGE, px_per_m=230))
    away = (t > 1.0) & (t < 2.0)
    patient = [None if away[i] else _pose(series, i) for i in range(len(t))]
    stranger = [_pose(series, i, dx=-450) if 0.5 < s < 4.0 else None for i, s in enumerate(t)]
    multi = _Replay([[p for p in (patient[i], stranger[i]) if p is not None] for i in range(len(t))])
    single = _Follows(patient, stranger)  # while the patient is away, the model finds the stranger
    est = TrackingPoseEstimator(multi, single=single)
    single.left_of_view = lambda: est.follow_left
    out = _run_live(est, t)
    for i, pose in enumerate(out):
        if pose is not None:
            assert patient[i] is not None and np.array_equal(pose.pixel_px, patient[i].pixel_px), f"frame {i}"
    back = np.flatnonzero(t >= 2.0)
    assert all(out[i] is not None for i in back[round(0.5 * RATE_HZ):])  # taken back within half a second
    assert est.frames_by_path["behind"] > 0 and [k for _, k in est.lock_history] == [1]


@pytest.mark.parametrize("px_per_m, whole_frame", [(230, False), (380, True)])
def test_the_one_person_model_sees_a_square_holding_the_whole_person_or_the_whole_frame(px_per_m, whole_frame):
    """Arms spread sideways: at 230 px/m the person and a quarter-metre margin fit in the
    720-px square of a 1280x720 frame; at 380 px/m (nearer the camera) they do not, and the
    model is shown the whole frame rather than a square that would cut off a hand."""
    t = np.arange(int(2 * RATE_HZ)) / RATE_HZ
    arms_out = {"left_shoulder_abduction": 90, "right_shoulder_abduction": 90}
    series = simulate_landmark_series(t, arms_out, BodySpec(image_size=IMAGE, px_per_m=px_per_m))
    patient = [_pose(series, i) for i in range(len(t))]
    assert all(np.isfinite(p.pixel_px).all() and (p.pixel_px[:, 1] < IMAGE[1]).all() for p in patient)
    single = _Follows(patient)
    est = TrackingPoseEstimator(_Replay([[p] for p in patient]), single=single)
    single.left_of_view = lambda: est.follow_left
    widths = []
    real = single.estimate
    single.estimate = lambda image_bgr, t_s: (widths.append(image_bgr.shape[1]), real(image_bgr, t_s))[1]
    out = _run_live(est, t)
    assert all(o is not None for o in out[CONFIRM_FRAMES:])
    assert widths and set(widths) == {IMAGE[0] if whole_frame else IMAGE[1]}
    if not whole_frame:  # the square holds every landmark of the person
        px = patient[-1].pixel_px[:, 0]
        assert est.follow_left <= px.min() and px.max() <= est.follow_left + IMAGE[1]
