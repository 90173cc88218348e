"""Everyone in the picture (offline analysis) and one chosen person among several (live).

- :class:`TiledPoseEstimator`: MediaPipe's person detector sees the whole image shrunk into
  a small square, so in a wide frame a person far from the camera is too small for it (the
  woman walking in ``sports2d_demo.mp4``, 1768x994, is found from frame 59 on the whole
  image and from frame 39 in the right square crop, while she is in full view from about
  frame 40). A frame wider than ``TILE_MIN_ASPECT`` is therefore covered by square tiles
  (left, centre, right: any person narrower than the tiles' overlap lies whole inside one),
  each followed by its own multi-person landmarker; a person seen in two tiles is kept from
  the tile in which they stand most centrally. Cost: one landmarker per tile.
- :func:`create_people_estimator`: that, or one landmarker for a frame that is not wide.
- :class:`TrackingPoseEstimator` (``sensing.pose.PoseEstimator``): follows ONE person, locked
  when the session starts (the person most centred, see :func:`sensing.people.centred_rank`),
  and returns only that person's pose, so the live loop and guided calibration need no change.

MediaPipe is imported lazily (by :class:`sensing.pose.TasksPoseEstimator`).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from sensing.landmarks import PoseFrame
from sensing.people import (DUPLICATE_OVERLAP, MAX_SIZE_RATIO, MAX_SPEED_TORSO_PER_S, PersonTracker, Track,
                            choose_centred, compute_overlap, compute_person_features, compute_pose_shift)
from sensing.pose import TasksPoseEstimator, square_crop_offsets

log = logging.getLogger(__name__)

# A frame at least this much wider than tall is tiled (16:9 is 1.78; a 4:3 webcam, 1.33,
# is not: one more landmarker would cost as much as the whole frame for a 1.33x gain).
TILE_MIN_ASPECT = 1.5
# People followed at once: a patient, a therapist and one more (a relative, a passer-by).
MAX_PEOPLE = 3
# Live: people followed at once (a patient and a therapist). With both followed MediaPipe
# stops running its detector, which a third slot would keep running every frame.
LIVE_MAX_PEOPLE = 2
# Live, while only the patient is followed: everyone is looked for this often. A therapist
# walking in at 1.2 m/s from the edge of a webcam's view (about 1.2 m from a patient in the
# middle at 2.5 m) needs about 1 s to reach them, so they are seen well before.
SCAN_EVERY_S = 0.5
# Live: everyone is followed every frame only while someone else is within reach of the
# patient before the next scan: one body size (the tracker's gate) plus a brisk walk
# (1.5 m/s, 3 body sizes a second) for SCAN_EVERY_S. Someone further away cannot step in
# front of the patient before they are seen again; the cheap path's check catches a jump.
NEAR_TORSO = 2.5
# Live: after someone else was that near, the cheap one-person path resumes only when nobody
# has been that near for this long (a person half hidden beside the patient flickers in and out).
CALM_S = 1.0
# Live: a person who appears where the lost patient was (within this many body sizes of the
# last place they were seen, and of a similar size) is taken to be the patient coming back.
RELOCK_TORSO = 1.5
# Live, on the cheap path: the one-person model's pose must continue the locked person's last
# pose: its body landmarks moved on average by at most this many body sizes plus what running
# speed allows since (sensing.people.MAX_SPEED_TORSO_PER_S). At 30 fps that is 0.48: a person
# moves about 0.1 body sizes a frame even walking; a one-person model that moved on to someone
# standing beside or in front of the patient lands a whole body elsewhere.
POSE_SHIFT_TORSO = 0.25


class TiledPoseEstimator:
    """Several people in a wide frame, one multi-person landmarker per square tile."""

    def __init__(self, make_estimator: Callable[[], TasksPoseEstimator], image_size: tuple[int, int], /) -> None:
        width, height = image_size
        self.offsets = square_crop_offsets(width, height, min_aspect=TILE_MIN_ASPECT) or [0]
        self.tile_px = height if len(self.offsets) > 1 else width
        self._estimators = [make_estimator() for _ in self.offsets]
        self.name = f"{self._estimators[0].name}, {len(self.offsets)} square tiles"

    def estimate_all(self, image_bgr: np.ndarray, t_s: float) -> list[PoseFrame]:
        found: list[tuple[PoseFrame, float]] = []  # (pose in image pixels, how central in its tile)
        for x0, est in zip(self.offsets, self._estimators):
            tile = image_bgr[:, x0:x0 + self.tile_px] if len(self.offsets) > 1 else image_bgr
            for pose in est.estimate_all(tile, t_s):
                feats = compute_person_features(pose)
                centrality = -abs(feats.centre_px[0] - tile.shape[1] / 2.0) if feats is not None else -math.inf
                found.append((PoseFrame(world_m=pose.world_m, visibility=pose.visibility,
                                        pixel_px=pose.pixel_px + (float(x0), 0.0)), centrality))
        kept: list[PoseFrame] = []
        for pose, _ in sorted(found, key=lambda f: -f[1]):
            if all(compute_overlap(pose, other) < DUPLICATE_OVERLAP for other in kept):
                kept.append(pose)
        return kept

    def close(self) -> None:
        for est in self._estimators:
            est.close()

    def __enter__(self) -> "TiledPoseEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _bundle(model_path: str | Path | None, data_dir: str | Path | None) -> Path:
    """``model_path``, else the offline bundle cached in ``data_dir`` (the caller's data folder)."""
    from sensing.pose import offline_task_bundle

    if model_path is not None:
        return Path(model_path)
    if data_dir is None:
        raise TypeError("give the data folder (data_dir) where the offline pose bundle is kept, or a model_path")
    return offline_task_bundle(data_dir)


def create_people_estimator(model_path: str | Path | None = None, /, *, image_size: tuple[int, int],
                            data_dir: str | Path | None = None, max_people: int = MAX_PEOPLE):
    """A multi-person estimator (``estimate_all``) for frames of ``image_size``: the offline
    bundle kept in ``data_dir`` (or ``model_path``), tiled when the frame is wide."""
    bundle = _bundle(model_path, data_dir)

    def make() -> TasksPoseEstimator:
        return TasksPoseEstimator(bundle, num_poses=max_people)

    return TiledPoseEstimator(make, image_size)


class TrackingPoseEstimator:
    """One person among several: ``estimate`` returns the locked person's pose (or None).

    ``multi`` finds everyone (``estimate_all``); ``single`` (optional, a one-person
    estimator) is the cheap path used while the locked person is alone: it is checked every
    frame against the locked identity (:meth:`sensing.people.PersonTracker.best_track`, and
    its landmarks must continue the person's last pose: ``POSE_SHIFT_TORSO``),
    and everyone is looked for with ``multi`` every ``scan_every_s``, when that check fails
    (the one-person model jumped to someone else or lost the person) and for as long as
    anyone else is within ``near_torso`` body sizes of the person (until nobody has been that
    near for ``calm_s``). The lock is
    the most centred person of the first frame with anyone in it; when the locked identity
    is lost for good (:data:`sensing.people.MAX_AGE_S`), only a person who appears where it
    was last seen (``relock_torso`` body sizes, similar size) takes the lock again.
    """

    def __init__(self, multi, /, *, single=None, tracker: PersonTracker | None = None,
                 scan_every_s: float = SCAN_EVERY_S, calm_s: float = CALM_S,
                 relock_torso: float = RELOCK_TORSO, near_torso: float = NEAR_TORSO) -> None:
        self.multi, self.single = multi, single
        self.tracker = tracker or PersonTracker()
        self.scan_every_s, self.calm_s, self.relock_torso = scan_every_s, calm_s, relock_torso
        self.near_torso = near_torso
        self.name = f"{getattr(multi, 'name', 'multi-person')}, following one person"
        self.locked: int | None = None
        self.lock_history: list[tuple[float, int]] = []  # (t_s, identity) each time the lock is set
        self.frames_by_path = {"single": 0, "multi": 0}
        self.last_path = ""  # "single" or "multi": how the last frame was estimated
        self._last_seen: Track | None = None
        self._last_pose: tuple[float, PoseFrame] | None = None  # the locked person's, when last seen
        self._use_single = False
        self._last_scan_t = -math.inf
        self._crowd_t = -math.inf  # when someone else was last seen near the locked person

    def estimate(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        cheap = self._use_single and self.single is not None
        if cheap and t_s - self._last_scan_t < self.scan_every_s:
            pose = self._estimate_one(image_bgr, t_s)
            if pose is not None:
                return pose
            log.debug("t=%.2f s: the one-person model lost or left the locked person; looking for everyone", t_s)
            return self._estimate_everyone(image_bgr, t_s)
        pose = self._estimate_everyone(image_bgr, t_s)
        if pose is None and cheap and self._use_single:  # a scan that missed the person: follow them
            pose = self._estimate_one(image_bgr, t_s)
        return pose

    def _estimate_one(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        """The one-person model's pose if it is the locked person's, else None."""
        pose = self.single.estimate(image_bgr, t_s)
        if pose is None or not self._continues_locked(t_s, pose):
            return None
        self.tracker.update(t_s, [pose])
        self._last_pose = (t_s, pose)
        self.frames_by_path["single"] += 1
        self.last_path = "single"
        return pose

    def _continues_locked(self, t_s: float, pose: PoseFrame) -> bool:
        """Whether the one-person model's pose is the locked person's (see POSE_SHIFT_TORSO)."""
        if self.locked is None or self._last_pose is None or self.tracker.best_track(t_s, pose) != self.locked:
            return False
        last_t, last = self._last_pose
        shift = compute_pose_shift(pose, last, size_px=self.tracker.track(self.locked).size_px)
        return shift <= POSE_SHIFT_TORSO + MAX_SPEED_TORSO_PER_S * (t_s - last_t)

    def _estimate_everyone(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        self.frames_by_path["multi"] += 1
        self.last_path = "multi"
        self._last_scan_t = t_s
        people = self.tracker.update(t_s, self.multi.estimate_all(image_bgr, t_s))
        if self.locked is not None and self.tracker.track(self.locked) is None:
            log.info("t=%.2f s: the person followed is out of view", t_s)
            self.locked = None
        size = (image_bgr.shape[1], image_bgr.shape[0])
        if self.locked is None:
            confirmed = [(k, p) for k, p in people if self.tracker.confirmed(self.tracker.track(k))]
            self._lock(t_s, confirmed, image_size=size)
        if self.locked is None and self._last_seen is None:
            # The first frames of a session, before anyone is confirmed: the person most
            # centred now is shown (not locked), so a short capture loses no frame.
            provisional = choose_centred(people, size)
            return dict(people).get(provisional) if provisional is not None else None
        pose = dict(people).get(self.locked) if self.locked is not None else None
        if pose is not None:
            self._last_seen = self.tracker.track(self.locked)
            self._last_pose = (t_s, pose)
        if pose is not None and self._someone_near(pose, [p for k, p in people if k != self.locked]):
            self._crowd_t = t_s
        # The one-person model is tried again even when everyone-search missed the person (a
        # small, distant person is found more easily by following than by detecting).
        self._use_single = self.locked is not None and t_s - self._crowd_t >= self.calm_s
        return pose

    def _someone_near(self, pose: PoseFrame, others: Sequence[PoseFrame]) -> bool:
        """Whether anyone in ``others`` stands within ``NEAR_TORSO`` body sizes of ``pose``."""
        mine = compute_person_features(pose)
        if mine is None:
            return bool(others)
        for other in others:
            feats = compute_person_features(other)
            if feats is None or np.linalg.norm(feats.centre_px - mine.centre_px) <= self.near_torso * mine.size_px:
                return True
        return False

    def _lock(self, t_s: float, people: Sequence[tuple[int, PoseFrame]], *, image_size: tuple[int, int]) -> None:
        if self._last_seen is None:
            chosen = choose_centred(people, image_size)
        else:
            chosen = self._returning(people)
        if chosen is not None:
            self.locked = chosen
            self.lock_history.append((t_s, chosen))
            log.info("t=%.2f s: following person %d", t_s, chosen)

    def _returning(self, people: Sequence[tuple[int, PoseFrame]]) -> int | None:
        """The person who appears where the lost one was last seen, if any."""
        last = self._last_seen
        best, best_d = None, self.relock_torso
        for identity, pose in people:
            feats = compute_person_features(pose)
            if feats is None or abs(math.log(feats.size_px / last.size_px)) > math.log(MAX_SIZE_RATIO):
                continue
            d = float(np.linalg.norm(feats.centre_px - last.centre_px)) / last.size_px
            if d <= best_d:
                best, best_d = identity, d
        return best

    def close(self) -> None:
        self.multi.close()
        if self.single is not None:
            self.single.close()

    def __enter__(self) -> "TrackingPoseEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def create_tracking_estimator(model_path: str | Path | None = None, /, *, data_dir: str | Path | None = None,
                              max_people: int = LIVE_MAX_PEOPLE,
                              input_max_px: int | None = None) -> TrackingPoseEstimator:
    """The live estimator of practice and calibration, following the person centred at the
    start: the offline bundle (or ``model_path``) as a ``max_people`` landmarker in VIDEO mode
    to find everyone, and for the cheap path the legacy one-person model that practice used
    before (same network, with its landmark smoothing; faster than the Tasks landmarker on
    the same frames, ``benchmarks/people_cost.py``), or ``model_path`` with one pose. The
    offline bundle is kept in ``data_dir`` (the caller's data folder)."""
    from sensing.pose import MediaPipePoseEstimator

    bundle = _bundle(model_path, data_dir)
    multi = TasksPoseEstimator(bundle, num_poses=max_people, input_max_px=input_max_px)
    single = (TasksPoseEstimator(bundle, num_poses=1, input_max_px=input_max_px) if model_path is not None
              else MediaPipePoseEstimator(input_max_px=input_max_px))
    return TrackingPoseEstimator(multi, single=single)
