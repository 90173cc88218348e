"""Several people in view: one identity per person across frames, one series per identity.

A multi-person pose model (:class:`sensing.multipose.MultiPoseEstimator`) gives, per frame,
an unordered list of :class:`~sensing.landmarks.PoseFrame`. :class:`PersonTracker` gives each
of them a lasting identity by the Hungarian assignment
(:func:`scipy.optimize.linear_sum_assignment`) of the frame's people to the people already
followed, on this cost (every term is dimensionless):

    cost = d_pos + SIZE_WEIGHT * |ln(s_new / s_track)| + PROPORTION_WEIGHT * mean|p_new - p_track|

- ``d_pos``: distance in the image between the person's centre (the mid-hip; the
  mid-shoulder when the hips are unseen) and where the track is expected (its last centre
  moved on at its velocity, measured over the last ``VELOCITY_WINDOW_S``), in units of the
  track's body size ``s``. The body size is the person's scale in pixels per metre times
  ``NOMINAL_TORSO_M``: the pixel length of each body segment divided by its length in the
  world landmarks (metres); the ``SIZE_QUANTILE`` of those ratios is the scale, because in
  any posture some segments lie nearly parallel to the image (a foreshortened one only
  gives a smaller ratio). Without world landmarks it is the pixel torso length.
- ``|ln(s_new / s_track)|``: the change of body size (distance to the camera).
- ``p``: body proportions from the world landmarks (metres, so independent of viewpoint):
  shoulder width, hip width, upper arms, forearms, thighs and shanks over the torso length.
  They are noisy from one camera (about 0.05 frame to frame) and only weakly tell people
  apart (shoulder width over torso: 0.71 for the man, 0.65 for the woman of
  ``sports2d_demo.mp4``), so they weigh least; a track keeps their running mean.

A pairing is allowed only inside a gate: ``d_pos <= GATE_TORSO + min(MAX_ACCEL_TORSO_PER_S2
* dt^2 / 2, MAX_SPEED_TORSO_PER_S * dt)`` (``dt``: time since the track was last seen; a
person changes speed by at most about 1 g and runs at most at running speed), a size
ratio under ``MAX_SIZE_RATIO`` and a cost of at most ``MAX_PAIR_COST`` (past that, a new
person is likelier than a far jump of someone lost a while). Birth: a person not paired starts a new, tentative identity, confirmed
after ``CONFIRM_FRAMES`` frames in a row (a tentative one missed once is closed), unless
their box lies ``DUPLICATE_OVERLAP`` inside that of someone already placed in this frame (the
model sometimes returns one person twice). Proportions count only for confirmed tracks. Death: an identity unseen for
``MAX_AGE_S`` is closed; whoever appears later is a new identity. Identities seen for less
than ``MIN_TRACK_S`` in all are dropped from :class:`PeopleTracks` (spurious detections);
the others are numbered 1, 2, ... in order of first appearance (``mindmove analyze --overlay``
draws these numbers and ``--person N`` picks one).

Pure numpy and scipy: no OpenCV or MediaPipe here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from sensing.landmarks import ATTR_IDENTITY_TRACKED, LANDMARK_INDEX, N_LANDMARKS, LandmarkSeries, PoseFrame

log = logging.getLogger(__name__)

# --- the cost and its gates (see the module docstring) --------------------------------------
NOMINAL_TORSO_M = 0.5  # an adult's mid-hip to mid-shoulder (about 0.45-0.55 m)
SIZE_QUANTILE = 0.8  # of the per-segment pixels-per-metre ratios
SIZE_WEIGHT = 2.0  # a 20 % change of size costs as much as moving 0.36 body sizes
PROPORTION_WEIGHT = 2.0  # frame-to-frame noise of the proportions (0.05) costs 0.1
# One frame at 30 fps: moving a whole torso length (0.5 m) in 33 ms would be 15 m/s, so a
# jump of more than one body size is another person (feedback.gait uses the same rule).
GATE_TORSO = 1.0
# Running at 3.5 m/s is 7 torso lengths a second: a person cannot move further than that.
MAX_SPEED_TORSO_PER_S = 7.0
# Nor change speed faster than about 1 g (10 m/s^2 = 20 torso lengths/s^2: a sprint start
# reaches 5-6 m/s^2, a jump down falls at 1 g), so a person standing still cannot be 4 body
# sizes away half a second later.
MAX_ACCEL_TORSO_PER_S2 = 20.0
# The size may change this much while a track is followed (a step toward the camera, a
# forward bend seen from the front shortens the torso but not the scale; feedback.gait
# calls a 1.35 change in ONE frame a switch).
MAX_SIZE_RATIO = 1.5
# The velocity is the displacement over about this long (a few frames: one frame's
# displacement is mostly the landmarks' jitter).
VELOCITY_WINDOW_S = 0.2
PROPORTION_SMOOTHING = 0.1  # weight of the newest proportions in the running mean
# A pairing costing more than this (about three body sizes from where the person was
# expected) is less likely than a new person: after a long gap the kinematic reach covers much
# of the picture, and someone else standing there must not inherit the lost identity.
MAX_PAIR_COST = 3.0
# Another person walking past at 0.6 m/s (a slow walker) hides someone for up to about
# 1.5 s (two bodies of 0.45 m); an identity survives that long unseen.
MAX_AGE_S = 2.0
MIN_TRACK_S = 0.3  # an identity seen for less time than this is a spurious detection
# The model sometimes returns one person twice (a second, partial skeleton on the same body):
# a pose whose box lies this much inside the box of a person already placed is that person.
DUPLICATE_OVERLAP = 0.5
# A new identity is tentative until seen in this many frames in a row (SORT's "min hits",
# Bewley et al. 2016): a one-off false detection then never starts an identity that could
# later take someone else's place. A tentative identity missed once is closed.
CONFIRM_FRAMES = 3
MIN_VISIBILITY = 0.5  # landmarks used for the features must be at least this visible
_UNASSIGNED = 1e6

BODY_LANDMARKS = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
                  "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
                  "left_ankle", "right_ankle")
SEGMENTS: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
)
_BODY_IDX = np.array([LANDMARK_INDEX[n] for n in BODY_LANDMARKS])
_BODY_IDX_MIRRORED = np.array([LANDMARK_INDEX[n.replace("left_", "RIGHT_").replace("right_", "left_").replace("RIGHT_", "right_")]
                               for n in BODY_LANDMARKS])
_SEG_IDX = np.array([(LANDMARK_INDEX[a], LANDMARK_INDEX[b]) for a, b in SEGMENTS])


@dataclass(frozen=True)
class PersonFeatures:
    """What the tracker compares: centre (pixels), body size (pixels), proportions."""

    centre_px: np.ndarray  # (2,)
    size_px: float
    proportions: np.ndarray  # (len(SEGMENTS),), NaN where unknown


def _mid(points: np.ndarray, seen: np.ndarray, a: str, b: str) -> np.ndarray | None:
    ia, ib = LANDMARK_INDEX[a], LANDMARK_INDEX[b]
    if seen[ia] and seen[ib]:
        return 0.5 * (points[ia] + points[ib])
    return None


def compute_person_features(pose: PoseFrame, /, *, min_visibility: float = MIN_VISIBILITY) -> PersonFeatures | None:
    """The features of one detected person, or None without enough visible landmarks."""
    if pose.pixel_px is None:
        return None
    px = np.asarray(pose.pixel_px, dtype=float)
    seen = (np.asarray(pose.visibility) >= min_visibility) & np.isfinite(px).all(axis=1)
    hip = _mid(px, seen, "left_hip", "right_hip")
    shoulder = _mid(px, seen, "left_shoulder", "right_shoulder")
    centre = hip if hip is not None else shoulder
    if centre is None:
        return None
    world = np.asarray(pose.world_m, dtype=float)
    seg_px = np.linalg.norm(px[_SEG_IDX[:, 0]] - px[_SEG_IDX[:, 1]], axis=1)
    seg_m = np.linalg.norm(world[_SEG_IDX[:, 0]] - world[_SEG_IDX[:, 1]], axis=1)
    seg_seen = seen[_SEG_IDX[:, 0]] & seen[_SEG_IDX[:, 1]] & (seg_m > 0.05)
    torso_m = math.nan
    w_hip, w_sh = _mid(world, seen, "left_hip", "right_hip"), _mid(world, seen, "left_shoulder", "right_shoulder")
    if w_hip is not None and w_sh is not None:
        torso_m = float(np.linalg.norm(w_sh - w_hip))
    size = math.nan
    if seg_seen.any():
        size = float(np.quantile(seg_px[seg_seen] / seg_m[seg_seen], SIZE_QUANTILE)) * NOMINAL_TORSO_M
    if not math.isfinite(size) and hip is not None and shoulder is not None:
        size = float(np.linalg.norm(shoulder - hip))
    if not (math.isfinite(size) and size > 1.0):
        return None
    proportions = np.full(len(SEGMENTS), np.nan)
    if math.isfinite(torso_m) and torso_m > 0.05:
        proportions[seg_seen] = seg_m[seg_seen] / torso_m
    return PersonFeatures(centre_px=np.asarray(centre, dtype=float), size_px=size, proportions=proportions)


@dataclass
class Track:
    """One followed person (mutable state of :class:`PersonTracker`)."""

    identity: int
    centre_px: np.ndarray
    size_px: float
    proportions: np.ndarray
    first_t_s: float
    last_t_s: float
    velocity_px_s: np.ndarray = field(default_factory=lambda: np.zeros(2))
    frames_seen: int = 1
    history: list = field(default_factory=list)  # (t_s, centre) over the last VELOCITY_WINDOW_S

    def predicted_centre(self, t_s: float) -> np.ndarray:
        return self.centre_px + self.velocity_px_s * max(t_s - self.last_t_s, 0.0)

    def reach(self, t_s: float) -> float:
        """How far (body sizes) the person may be from the predicted centre at ``t_s``."""
        dt = max(t_s - self.last_t_s, 0.0)
        return GATE_TORSO + min(0.5 * MAX_ACCEL_TORSO_PER_S2 * dt * dt, MAX_SPEED_TORSO_PER_S * dt)

    def cost(self, t_s: float, person: PersonFeatures, /, *, use_proportions: bool = True) -> float:
        """The pairing cost (module docstring), ``inf`` outside the gate."""
        d_pos = float(np.linalg.norm(person.centre_px - self.predicted_centre(t_s))) / self.size_px
        size_change = abs(math.log(person.size_px / self.size_px))
        if d_pos > self.reach(t_s) or size_change > math.log(MAX_SIZE_RATIO):
            return math.inf
        both = np.isfinite(person.proportions) & np.isfinite(self.proportions) & use_proportions
        d_prop = float(np.mean(np.abs(person.proportions[both] - self.proportions[both]))) if both.any() else 0.0
        return d_pos + SIZE_WEIGHT * size_change + PROPORTION_WEIGHT * d_prop

    def update(self, t_s: float, person: PersonFeatures) -> None:
        self.history = [(t, c) for t, c in self.history if t_s - t <= VELOCITY_WINDOW_S]
        if not self.history:
            self.history = [(self.last_t_s, self.centre_px)]
        t0, c0 = self.history[0]
        if t_s > t0:
            self.velocity_px_s = (person.centre_px - c0) / (t_s - t0)
        self.history.append((t_s, person.centre_px))
        known = np.isfinite(person.proportions)
        fresh = known & ~np.isfinite(self.proportions)
        mixed = known & ~fresh
        self.proportions[fresh] = person.proportions[fresh]
        self.proportions[mixed] += PROPORTION_SMOOTHING * (person.proportions[mixed] - self.proportions[mixed])
        self.centre_px, self.size_px, self.last_t_s = person.centre_px, person.size_px, t_s
        self.frames_seen += 1


def compute_pose_shift(a: PoseFrame, b: PoseFrame, /, *, size_px: float) -> float:
    """Mean distance between the same body landmarks of two poses, in body sizes (NaN when
    they share no visible landmark): small from one frame to the next for one person, large
    when a one-person model has moved on to someone else. A pose whose left and right sides
    were swapped (a model's common slip on a person seen side-on) is the same person: the
    smaller of the shift as given and with ``a``'s sides swapped is returned."""
    shifts = [_mean_shift(a, b, idx, size_px) for idx in (_BODY_IDX, _BODY_IDX_MIRRORED)]
    return min(shifts) if not all(math.isnan(x) for x in shifts) else math.nan


def _mean_shift(a: PoseFrame, b: PoseFrame, a_idx: np.ndarray, size_px: float) -> float:
    pa, pb = np.asarray(a.pixel_px)[a_idx], np.asarray(b.pixel_px)[_BODY_IDX]
    seen = (np.asarray(a.visibility)[a_idx] >= MIN_VISIBILITY) & (np.asarray(b.visibility)[_BODY_IDX] >= MIN_VISIBILITY)
    d = np.linalg.norm(pa - pb, axis=1)[seen]
    d = d[np.isfinite(d)]
    return float(d.mean()) / size_px if d.size else math.nan


def compute_box(pose: PoseFrame, /) -> np.ndarray | None:
    """(x0, y0, x1, y1) of the visible landmarks in pixels, or None."""
    px = np.asarray(pose.pixel_px, dtype=float)
    seen = (np.asarray(pose.visibility) >= MIN_VISIBILITY) & np.isfinite(px).all(axis=1)
    if seen.sum() < 2:
        return None
    return np.concatenate([px[seen].min(axis=0), px[seen].max(axis=0)])


def compute_overlap(a: PoseFrame, b: PoseFrame, /) -> float:
    """Area shared by the two people's boxes over the smaller box's area (0..1)."""
    ba, bb = compute_box(a), compute_box(b)
    if ba is None or bb is None:
        return 0.0
    w = min(ba[2], bb[2]) - max(ba[0], bb[0])
    h = min(ba[3], bb[3]) - max(ba[1], bb[1])
    smaller = min((ba[2] - ba[0]) * (ba[3] - ba[1]), (bb[2] - bb[0]) * (bb[3] - bb[1]))
    return float(max(w, 0.0) * max(h, 0.0) / smaller) if smaller > 0 else 0.0


class PersonTracker:
    """Identities across frames: ``update(t_s, poses)`` once per frame (see module docstring)."""

    def __init__(self, *, max_age_s: float = MAX_AGE_S, confirm_frames: int = CONFIRM_FRAMES) -> None:
        self.max_age_s = max_age_s
        self.confirm_frames = confirm_frames
        self.tracks: list[Track] = []
        self._next_identity = 1
        self._last_t_s = -math.inf  # time of the previous update

    def track(self, identity: int) -> Track | None:
        return next((tr for tr in self.tracks if tr.identity == identity), None)

    def confirmed(self, track: Track, /) -> bool:
        return track.frames_seen >= self.confirm_frames

    def _alive(self, t_s: float) -> list[Track]:
        """Confirmed tracks unseen for at most ``max_age_s``; tentative ones only if seen in
        the previous update (a tentative identity missed once is closed)."""
        return [tr for tr in self.tracks
                if (t_s - tr.last_t_s <= self.max_age_s if self.confirmed(tr) else tr.last_t_s >= self._last_t_s)]

    def costs(self, t_s: float, people: Sequence[PersonFeatures], /) -> np.ndarray:
        """(tracks, people) pairing costs with the live tracks, ``_UNASSIGNED`` outside the gates."""
        cost = np.full((len(self.tracks), len(people)), _UNASSIGNED)
        for i, tr in enumerate(self.tracks):
            for j, feats in enumerate(people):
                c = tr.cost(t_s, feats, use_proportions=self.confirmed(tr))
                if c <= MAX_PAIR_COST:
                    cost[i, j] = c
        return cost

    def best_track(self, t_s: float, pose: PoseFrame, /) -> int | None:
        """The identity ``pose`` would be given now (None: a new person), without updating."""
        feats = compute_person_features(pose)
        if feats is None:
            return None
        self.tracks = self._alive(t_s)
        cost = self.costs(t_s, [feats])
        if not cost.size or cost.min() >= _UNASSIGNED:
            return None
        return self.tracks[int(np.argmin(cost[:, 0]))].identity

    def update(self, t_s: float, poses: Sequence[PoseFrame], /) -> list[tuple[int, PoseFrame]]:
        """Each person of this frame with their identity (new people get new identities); a
        second copy of a person already placed this frame (overlapping them by at least
        ``DUPLICATE_OVERLAP``) is left out."""
        self.tracks = self._alive(t_s)
        self._last_t_s = t_s
        people = [(pose, feats) for pose in poses if (feats := compute_person_features(pose)) is not None]
        cost = self.costs(t_s, [f for _, f in people])
        paired: dict[int, Track] = {}
        if cost.size:
            for i, j in zip(*linear_sum_assignment(cost)):
                if cost[i, j] < _UNASSIGNED:
                    paired[int(j)] = self.tracks[int(i)]
        placed = [people[j][0] for j in paired]
        out = [(tr.identity, people[j][0]) for j, tr in paired.items()]
        for j, tr in paired.items():
            tr.update(t_s, people[j][1])
        by_visibility = sorted((j for j in range(len(people)) if j not in paired),
                               key=lambda j: -float(np.mean(np.asarray(people[j][0].visibility)[_BODY_IDX])))
        for j in by_visibility:
            pose, feats = people[j]
            if any(compute_overlap(pose, other) >= DUPLICATE_OVERLAP for other in placed):
                continue
            tr = Track(self._next_identity, feats.centre_px, feats.size_px, feats.proportions.copy(),
                       first_t_s=t_s, last_t_s=t_s)
            self._next_identity += 1
            self.tracks.append(tr)
            placed.append(pose)
            out.append((tr.identity, pose))
        return out


@dataclass(frozen=True)
class PeopleTracks:
    """Every identity followed through a recording: one full-length series each (NaN and
    visibility 0 in the frames where that person was not seen), numbered 1, 2, ..."""

    t_s: np.ndarray
    people: dict[int, LandmarkSeries]
    image_size: tuple[int, int] | None = None

    @property
    def identities(self) -> tuple[int, ...]:
        return tuple(sorted(self.people))

    def series(self, identity: int, /) -> LandmarkSeries:
        return self.people[identity]

    def frames_seen(self, identity: int, /) -> np.ndarray:
        """(T,) bool: the frames in which ``identity`` was seen."""
        return self.people[identity].frames_with_person()

    def describe(self) -> list[dict]:
        """One row per identity: first and last time seen, frames seen (for summaries)."""
        return [describe_frames_seen(identity, self.t_s, self.frames_seen(identity)) for identity in self.identities]


def describe_frames_seen(person: int, t_s: np.ndarray, seen: np.ndarray, /) -> dict:
    """A summary row for ``person`` seen in the frames where ``seen`` (at least one) is True."""
    frames = np.flatnonzero(seen)
    return {"person": person, "frames": int(frames.size), "first_frame": int(frames[0]),
            "last_frame": int(frames[-1]), "t_first_s": round(float(t_s[frames[0]]), 4),
            "t_last_s": round(float(t_s[frames[-1]]), 4)}


def build_people_tracks(t_s: Sequence[float], assigned: Sequence[Sequence[tuple[int, PoseFrame]]], /, *,
                        image_size: tuple[int, int] | None = None, source: str = "",
                        min_track_s: float = MIN_TRACK_S, attrs: dict | None = None) -> PeopleTracks:
    """Stack per-frame ``(identity, pose)`` lists into one series per identity; identities
    seen in fewer than ``CONFIRM_FRAMES`` frames or for less than ``min_track_s`` (half the
    clip, for a clip shorter than twice that) are dropped and the rest renumbered 1, 2, ... by first
    appearance."""
    times = np.asarray(t_s, dtype=float)
    frame_s = float(np.median(np.diff(times))) if times.size > 1 else 0.0
    frames_of: dict[int, list[tuple[int, PoseFrame]]] = {}
    for i, people in enumerate(assigned):
        for identity, pose in people:
            frames_of.setdefault(identity, []).append((i, pose))
    # A clip shorter than twice min_track_s: a person in half of it counts.
    min_s = min(min_track_s, 0.5 * frame_s * times.size)
    kept = [k for k in sorted(frames_of, key=lambda k: frames_of[k][0][0])
            if len(frames_of[k]) >= min(CONFIRM_FRAMES, times.size) and len(frames_of[k]) * frame_s >= min_s]
    people = {}
    for number, identity in enumerate(kept, start=1):
        poses: list[PoseFrame | None] = [None] * times.size
        for i, pose in frames_of[identity]:
            poses[i] = pose
        series = LandmarkSeries.from_pose_frames(times, poses, image_size=image_size, source=source)
        if series.pixel_px is None:
            series = LandmarkSeries(t_s=series.t_s, world_m=series.world_m, visibility=series.visibility,
                                    pixel_px=np.full((times.size, N_LANDMARKS, 2), np.nan),
                                    image_size=image_size, source=source)
        series.attrs.update(dict(attrs or {}), person=number)
        series.attrs[ATTR_IDENTITY_TRACKED] = True  # one identity, followed among everyone in view
        people[number] = series
    dropped = len(frames_of) - len(kept)
    if dropped:
        log.debug("dropped %d identities seen for less than %.2f s", dropped, min_track_s)
    return PeopleTracks(t_s=times, people=people, image_size=image_size)


def track_people(frames: Iterable, estimator, /, *, image_size: tuple[int, int] | None = None,
                 source: str = "", tracker: PersonTracker | None = None, progress=None,
                 n_frames_hint: int | None = None) -> PeopleTracks:
    """Run a multi-person estimator (``estimate_all(image_bgr, t_s) -> list[PoseFrame]``) on
    each frame and follow every person (see the module docstring)."""
    tracker = tracker or PersonTracker()
    t_s: list[float] = []
    assigned: list[list[tuple[int, PoseFrame]]] = []
    for frame in frames:
        t_s.append(frame.t_s)
        assigned.append(tracker.update(frame.t_s, estimator.estimate_all(frame.image_bgr, frame.t_s)))
        if progress is not None:
            progress(len(t_s), n_frames_hint)
    return build_people_tracks(t_s, assigned, image_size=image_size, source=source,
                               attrs={"pose_model": getattr(estimator, "name", "")})


def choose_in_roi(tracks: PeopleTracks, roi: tuple[int, int, int, int], /) -> int | None:
    """The identity whose centre lies inside ``roi`` (x, y, w, h pixels) in the most frames."""
    x, y, w, h = roi
    best, best_n = None, 0
    for identity in tracks.identities:
        s = tracks.series(identity)
        centre = _series_centres(s)
        inside = ((centre[:, 0] >= x) & (centre[:, 0] <= x + w) & (centre[:, 1] >= y) & (centre[:, 1] <= y + h))
        if int(inside.sum()) > best_n:
            best, best_n = identity, int(inside.sum())
    return best


def _series_centres(series: LandmarkSeries) -> np.ndarray:
    """(T, 2) mid-hip pixels, the mid-shoulder where the hips are unknown."""
    px = series.pixel_px
    hip = 0.5 * (px[:, LANDMARK_INDEX["left_hip"]] + px[:, LANDMARK_INDEX["right_hip"]])
    sh = 0.5 * (px[:, LANDMARK_INDEX["left_shoulder"]] + px[:, LANDMARK_INDEX["right_shoulder"]])
    return np.where(np.isfinite(hip), hip, sh)


def centred_rank(features: PersonFeatures, image_size: tuple[int, int], /) -> float:
    """How far from the middle of the image a person stands, in their own body sizes
    (smaller is more centred; for the same distance in pixels, a larger, nearer person
    ranks first). The patient sits or stands in the middle, in front of the camera."""
    width, height = image_size
    return float(abs(features.centre_px[0] - width / 2.0)) / features.size_px


def choose_centred(people: Sequence[tuple[int, PoseFrame]], image_size: tuple[int, int], /) -> int | None:
    """Among one frame's ``(identity, pose)``, the person most centred (see :func:`centred_rank`)."""
    ranked = [(centred_rank(f, image_size), identity) for identity, pose in people
              if (f := compute_person_features(pose)) is not None]
    return min(ranked)[1] if ranked else None
