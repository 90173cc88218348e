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
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from sensing.landmarks import PoseFrame
from sensing.people import (DUPLICATE_OVERLAP, GATE_TORSO, MAX_SIZE_RATIO, MAX_SPEED_TORSO_PER_S, PersonTracker, Track,
                            choose_centred, compute_box, compute_overlap, compute_person_features,
                            compute_pose_shift)
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
# Live: everyone is looked for (the several-person model, about 2.5 times the one-person
# model's cost on a frame with two people) only as often as safety needs, so that scan frames
# stay few (one in 30 at 30 fps alone) and the cue is not held up by them. Between scans the
# one-person model's pose is checked on every frame (POSE_SHIFT_TORSO, the tracker's identity),
# which catches the model jumping to someone else whenever it happens; the scans keep the
# others' places known for that check. How often: the time the nearest other person needs to
# reach the patient at a brisk walk (1.5 m/s, REACH_TORSO_PER_S body sizes a second, from one
# body size away, the tracker's gate), between NEAR_SCAN_EVERY_S and SCAN_EVERY_S. Alone: a
# therapist walking in from the edge of a webcam's view (about 1.2 m from a patient in the
# middle at 2.5 m) needs about 1 s to reach them.
SCAN_EVERY_S = 1.0
NEAR_SCAN_EVERY_S = 0.25
REACH_TORSO_PER_S = 3.0
# Live: while the one-person model follows the person, a scan runs on another thread (the
# model releases Python's lock; on a 2-core machine the one-person model's time per frame stays
# the same, benchmarks/practice_latency.py) and is used this many frames later, as of the time
# of its frame (a scan takes longer than one frame at 30 fps, and less than two): the cue of
# the frame it was taken on is not held up by it.
SCAN_BEHIND_FRAMES = 2
# Live: after the one-person model failed that check (it returned someone else while the
# person was in view), everyone is followed every frame for this long (a person half hidden
# beside the patient flickers in and out), then the cheap path is tried again. A model that
# had not found the person yet (nobody, or a first pose too far from theirs: two models'
# first guesses differ) is tried again on the next frame, everyone being looked for meanwhile.
CALM_S = 1.0
# Live: while the patient is out of view (or before anyone is locked after they were lost),
# everyone is looked for this often, behind the frames, and no model runs in between: there
# is nobody to guide, and the machine is left to the rest. Someone who appears where they
# were last seen is then looked at every frame until confirmed (CONFIRM_FRAMES) and taken back.
LOST_SCAN_EVERY_S = 0.25
# Live: a person who appears where the lost patient was (within this many body sizes of the
# last place they were seen, and of a similar size) is taken to be the patient coming back.
RELOCK_TORSO = 1.5
# Live, on the cheap path: the one-person model's pose must continue the locked person's last
# pose: its body landmarks moved on average by at most this many body sizes plus what running
# speed allows since (sensing.people.MAX_SPEED_TORSO_PER_S). At 30 fps that is 0.48: a person
# moves about 0.1 body sizes a frame even walking; a one-person model that moved on to someone
# standing beside or in front of the patient lands a whole body elsewhere.
POSE_SHIFT_TORSO = 0.25
# Live, on the cheap path in a wide frame: the square the one-person model sees holds the
# person's last pose (every visible landmark, hands included) with this many body sizes to
# spare on each side (a quarter of a metre: a hand at 5 m/s moves 0.17 m in a frame at 30 fps).
# It moves, to centre them again, only when they come nearer its edge than that (so that the
# model's own tracking, which looks where the person was in the previous frame, is not thrown
# by a moving picture); a person wider than the square (arms spread) is shown the whole frame.
FOLLOW_MARGIN_TORSO = 0.5


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
    estimator) is the cheap path while the person is in view: on every frame its pose is
    checked against the locked identity (:meth:`sensing.people.PersonTracker.best_track`, and
    its landmarks must continue the person's last pose: ``POSE_SHIFT_TORSO``). Everyone is
    looked for with ``multi`` at the scan interval (``SCAN_EVERY_S``, shorter while someone
    else is within reach of the person), on another thread behind the frame
    (``SCAN_BEHIND_FRAMES``); on the frame itself until the first lock, and on every frame
    for ``calm_s`` after the check failed. Without ``single`` everyone is looked for on every
    frame. The lock is the most centred person of the first frame with anyone in it. While
    the person is out of view, only scans behind the frames run (``LOST_SCAN_EVERY_S``); when
    the locked identity is lost for good (:data:`sensing.people.MAX_AGE_S`), only a person
    who appears where it was last seen (``relock_torso`` body sizes, similar size) takes the
    lock again.
    """

    def __init__(self, multi, /, *, single=None, tracker: PersonTracker | None = None,
                 scan_every_s: float = SCAN_EVERY_S, calm_s: float = CALM_S,
                 relock_torso: float = RELOCK_TORSO) -> None:
        self.multi, self.single = multi, single
        self.tracker = tracker or PersonTracker()
        self.scan_every_s, self.calm_s, self.relock_torso = scan_every_s, calm_s, relock_torso
        self.name = f"{getattr(multi, 'name', 'multi-person')}, following one person"
        self.locked: int | None = None
        self.lock_history: list[tuple[float, int]] = []  # (t_s, identity) each time the lock is set
        self.scan_times: list[float] = []  # frame times of every look for everyone
        self.frames_by_path = {"single": 0, "multi": 0, "none": 0, "behind": 0}
        self.last_path = ""  # "single", "multi" or "none" (no model run): how the last frame went
        self._last_seen: Track | None = None
        self._last_pose: tuple[float, PoseFrame] | None = None  # the locked person's, when last seen
        self._in_view = False  # whether the locked person was found on the last frame a model ran
        self._next_scan_t = -math.inf
        self._everyone_until = -math.inf  # after a failed check: everyone, every frame, until then
        self._others: list[PoseFrame] = []  # everyone but the locked person at the last scan
        self._single_following = False  # the one-person model's last pose was the person's
        self._single_jumped = False  # ... and its pose since is someone else's
        self.follow_left: int | None = None  # left edge of the square the one-person model saw last
        # A scan running behind: (t_s, result, frames since, used in full, image size); used
        # in full (the lock, the person's pose) while the person is not in view.
        self._behind: tuple[float, Future, int, bool, tuple[int, int]] | None = None
        self._worker: ThreadPoolExecutor | None = None

    def estimate(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        self._collect_scan_behind(wait=False)
        calm = t_s < self._everyone_until and (self._in_view or self._last_seen is None)
        scan_due = (t_s >= self._next_scan_t or calm) and self._behind is None
        if scan_due and self._may_scan_behind(t_s):
            self._start_scan_behind(image_bgr, t_s)
            scan_due = False
        if not scan_due and self.single is not None and self.locked is not None and self._in_view:
            pose = self._estimate_one(image_bgr, t_s)
            if pose is not None:
                return pose
            # The model, which followed the person, moved on to someone else (everyone is
            # followed for calm_s), or it has not found them yet (tried again next frame).
            if self._single_jumped:
                log.debug("t=%.2f s: the one-person model left the locked person; looking for everyone", t_s)
                self._everyone_until = t_s + self.calm_s
            return self._estimate_everyone(image_bgr, t_s)
        if not scan_due:
            self.frames_by_path["none"] += 1
            self.last_path = "none"
            return None
        return self._estimate_everyone(image_bgr, t_s)

    def _may_scan_behind(self, t_s: float) -> bool:
        """Whether this frame's scan can run behind it: the one-person model follows the
        person (it answers this frame), or they are out of view (nobody is waiting for it)."""
        if self.single is None or self._behind is not None:
            return False
        following = (self.locked is not None and self._in_view and self._single_following
                     and t_s >= self._everyone_until)
        away = self._last_seen is not None and not self._in_view
        return following or away

    def _start_scan_behind(self, image_bgr: np.ndarray, t_s: float) -> None:
        """Everyone is looked for on another thread (see SCAN_BEHIND_FRAMES) while this frame
        goes on; nothing else is looked for until it is used."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mindmove-scan")
        future = self._worker.submit(self.multi.estimate_all, image_bgr.copy(), t_s)
        self._behind = (t_s, future, 0, not self._in_view, (image_bgr.shape[1], image_bgr.shape[0]))
        self._next_scan_t = math.inf
        self.frames_by_path["behind"] += 1
        self.scan_times.append(t_s)

    def _collect_scan_behind(self, *, wait: bool) -> None:
        """Use a scan running behind once SCAN_BEHIND_FRAMES later frames came (or now, with
        ``wait``), as of the time of its own frame: the others' places, and when to look next."""
        if self._behind is None:
            return
        t_scan, result, since, full, size = self._behind
        if not wait and since + 1 < SCAN_BEHIND_FRAMES:
            self._behind = (t_scan, result, since + 1, full, size)
            return
        self._behind = None
        if full:  # the person may be back (or, lost for good, someone takes the lock where they were)
            self._use_scan(t_scan, result.result(), size)
            return
        people = self.tracker.update(t_scan, result.result())
        self._others = [p for k, p in people if k != self.locked]
        if self._last_pose is not None:
            self._next_scan_t = t_scan + self._scan_interval(self._last_pose[1], self._others)

    def _estimate_one(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        """The one-person model's pose if it is the locked person's, else None.

        In a frame wider than tall the model sees the square of the frame's height around
        the person (see FOLLOW_MARGIN_TORSO): its detector sees them larger than in the whole
        frame shrunk, and nobody outside the square can take their place."""
        height, width = image_bgr.shape[:2]
        x0 = self._follow_left(width, height)
        view = image_bgr[:, x0:x0 + height] if x0 is not None else image_bgr
        pose = self.single.estimate(view, t_s)
        if pose is not None and x0 and pose.pixel_px is not None:
            pose = PoseFrame(world_m=pose.world_m, visibility=pose.visibility,
                             pixel_px=pose.pixel_px + (float(x0), 0.0))
        self.frames_by_path["single"] += 1
        self.last_path = "single"
        following, self._single_following = self._single_following, False
        if pose is None or not self._continues_locked(t_s, pose):
            self._single_jumped = following and pose is not None
            return None
        self._single_following, self._single_jumped = True, False
        self.tracker.update(t_s, [pose])
        self._last_pose = (t_s, pose)
        self._in_view = True
        return pose

    def _follow_left(self, width: int, height: int) -> int | None:
        """Left edge of the square the one-person model sees (None: the whole frame)."""
        if width <= height or self._last_pose is None:
            return None
        pose = self._last_pose[1]
        box, feats = compute_box(pose), compute_person_features(pose)
        if box is None or feats is None:
            return self.follow_left
        margin = FOLLOW_MARGIN_TORSO * feats.size_px
        left, right = box[0] - margin, box[2] + margin
        if right - left > height:  # arms spread wider than the square: the whole frame
            self.follow_left = None
        elif self.follow_left is None or left < self.follow_left or right > self.follow_left + height:
            self.follow_left = int(min(max((left + right - height) / 2.0, 0.0), float(width - height)))
        return self.follow_left

    def _continues_locked(self, t_s: float, pose: PoseFrame) -> bool:
        """Whether the one-person model's pose is the locked person's (see POSE_SHIFT_TORSO)."""
        if self.locked is None or self._last_pose is None or self.tracker.best_track(t_s, pose) != self.locked:
            return False
        last_t, last = self._last_pose
        shift = compute_pose_shift(pose, last, size_px=self.tracker.track(self.locked).size_px)
        return shift <= POSE_SHIFT_TORSO + MAX_SPEED_TORSO_PER_S * (t_s - last_t)

    def _estimate_everyone(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        self._collect_scan_behind(wait=True)
        self.frames_by_path["multi"] += 1
        self.last_path = "multi"
        self.scan_times.append(t_s)
        return self._use_scan(t_s, self.multi.estimate_all(image_bgr, t_s), (image_bgr.shape[1], image_bgr.shape[0]))

    def _use_scan(self, t_s: float, found: list[PoseFrame], size: tuple[int, int]) -> PoseFrame | None:
        """Everyone found at ``t_s``: identities, the lock, and the locked person's pose."""
        people = self.tracker.update(t_s, found)
        if self.locked is not None and self.tracker.track(self.locked) is None:
            log.info("t=%.2f s: the person followed is out of view", t_s)
            self.locked = None
        if self.locked is None:
            confirmed = [(k, p) for k, p in people if self.tracker.confirmed(self.tracker.track(k))]
            self._lock(t_s, confirmed, image_size=size)
        if self.locked is None and self._last_seen is None:
            # The first frames of a session, before anyone is confirmed: the person most
            # centred now is shown (not locked), so a short capture loses no frame.
            self._next_scan_t = t_s
            provisional = choose_centred(people, size)
            return dict(people).get(provisional) if provisional is not None else None
        pose = dict(people).get(self.locked) if self.locked is not None else None
        self._others = [p for k, p in people if k != self.locked]
        self._in_view = pose is not None
        if pose is None:
            # Someone where the person was last seen may be them coming back: confirmed
            # (CONFIRM_FRAMES) on the frames that follow, not scans apart.
            back = self._last_seen is not None and self._returning(people) is not None
            self._next_scan_t = t_s if back else t_s + LOST_SCAN_EVERY_S
            return None
        self._last_seen = self.tracker.track(self.locked)
        self._last_pose = (t_s, pose)
        self._next_scan_t = t_s + (self._scan_interval(pose, self._others) if self.single is not None else 0.0)
        return pose

    def _scan_interval(self, pose: PoseFrame, others: Sequence[PoseFrame]) -> float:
        """Seconds until the next scan: the time the nearest of ``others`` needs to reach
        ``pose`` (see SCAN_EVERY_S)."""
        mine = compute_person_features(pose)
        interval = self.scan_every_s
        for other in others:
            feats = compute_person_features(other)
            if mine is None or feats is None:
                return NEAR_SCAN_EVERY_S
            gap_torso = float(np.linalg.norm(feats.centre_px - mine.centre_px)) / mine.size_px - GATE_TORSO
            interval = min(interval, max(gap_torso / REACH_TORSO_PER_S, NEAR_SCAN_EVERY_S))
        return interval

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
        if self._worker is not None:
            self._worker.shutdown(wait=True)
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
