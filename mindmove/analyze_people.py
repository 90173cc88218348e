"""`mindmove analyze` with several people in view: follow everyone, analyse one.

:func:`compute_alone_series` first runs the one-person model while looking for everyone
every ``ALONE_SCAN_EVERY_S``; only when someone else is found does
:func:`compute_people_tracks` run the multi-person estimator of :mod:`sensing.multipose`
over a video and follows every person (:mod:`sensing.people`); :func:`choose_person` picks
the one to analyse:

1. ``--person N``: identity N, as numbered in ``overlay.mp4`` (1, 2, ... by first appearance);
2. ``--roi X,Y,W,H``: the person whose centre (mid-hip) lies inside the region in most frames;
3. otherwise, for ``--task gait`` and ``auto``, the person who walks: the most walking steps
   found by :func:`feedback.gait.compute_gait` on each person's own series (a person walking
   past beats a person jumping or lunging on the spot, who makes no progression);
4. otherwise (``--task angles``, or nobody walks) the person in view the longest.

The chosen person's series covers the whole recording (nobody in the frames where they are
not in view), so times stay those of the video.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from core.errors import InputError
from sensing.landmarks import LandmarkSeries, PoseFrame
from sensing.people import PeopleTracks, choose_in_roi, describe_frames_seen

log = logging.getLogger(__name__)

PEOPLE_MODES = ("several", "one")
# With --people several and no --person or --roi, the one-person model goes over the recording
# first while everyone is looked for this often (on another thread); everyone is followed
# (several times the cost on a wide frame: benchmarks/people_cost.py) only when a scan finds
# two people. Someone in view for less than this is not analysable anyway (a person seen for
# under sensing.people.MIN_TRACK_S is dropped as spurious, and a walk needs strides).
ALONE_SCAN_EVERY_S = 0.5
# Colours (BGR) of the skeletons in overlay.mp4: the person analysed, everyone else.
ANALYSED_BONE_BGR = (230, 220, 200)
OTHER_BONE_BGR = (120, 120, 120)


class _SeveralInView(Exception):
    """A scan of :func:`compute_alone_series` found more than one person."""


def compute_alone_series(path: Path, /, *, pose_model=None, rate_hz: float | None = None,
                         progress=None) -> LandmarkSeries | None:
    """The one-person model's series of a recording in which nobody else is ever seen, or
    None as soon as someone else is (see ALONE_SCAN_EVERY_S): then everyone must be followed
    (:func:`compute_people_tracks`). The scans run on another thread, beside the model."""
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import closing

    from mindmove.analyze import compute_landmark_series
    from mindmove.settings import ensure_data_dir
    from sensing.multipose import create_people_estimator
    from sensing.pose import create_pose_estimator
    from sensing.video import frame_count_hint, open_source, read_ahead

    def scanned(frames, everyone, pool):
        pending, next_t = None, -np.inf
        for frame in frames:
            if frame.t_s >= next_t:
                if pending is not None and len(pending.result()) > 1:
                    raise _SeveralInView
                pending = pool.submit(everyone.estimate_all, frame.image_bgr, frame.t_s)
                next_t = frame.t_s + ALONE_SCAN_EVERY_S
            yield frame
        if pending is not None and len(pending.result()) > 1:
            raise _SeveralInView

    with open_source(path, rate_hz=rate_hz) as source:
        n_hint = frame_count_hint(source)
        with create_people_estimator(pose_model, image_size=source.size, data_dir=ensure_data_dir()) as everyone, \
                create_pose_estimator(pose_model) as one, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="mindmove-scan") as pool, \
                closing(read_ahead(source.frames())) as frames:
            try:
                return compute_landmark_series(scanned(frames, everyone, pool), one, image_size=source.size,
                                               n_frames_hint=n_hint, source=str(path), progress=progress)
            except _SeveralInView:
                log.info("more than one person in view: following everyone")
                return None


def alone_summary(series: LandmarkSeries) -> dict:
    """The ``people`` block of ``summary.json`` for a recording with one person in view."""
    seen = series.frames_with_person()
    found = [describe_frames_seen(1, series.t_s, seen)] if seen.any() else []
    return {"found": found, "analysed": 1 if found else None, "chosen_by": "only_person" if found else "nobody",
            "pose_model": series.attrs.get("pose_model"), "everyone_looked_for_every_s": ALONE_SCAN_EVERY_S}


def compute_people_tracks(path: Path, /, *, pose_model=None, rate_hz: float | None = None,
                          progress=None) -> PeopleTracks:
    """Every person in a video or image folder, followed (see the module docstring)."""
    from mindmove.settings import ensure_data_dir
    from sensing.multipose import create_people_estimator
    from contextlib import closing

    from sensing.people import track_people
    from sensing.video import frame_count_hint, open_source, read_ahead

    with open_source(path, rate_hz=rate_hz) as source:
        n_hint = frame_count_hint(source)
        with create_people_estimator(pose_model, image_size=source.size, data_dir=ensure_data_dir()) as estimator, \
                closing(read_ahead(source.frames())) as frames:  # decoding a few frames ahead, on its own thread
            return track_people(frames, estimator, image_size=source.size, source=str(path),
                                progress=progress, n_frames_hint=n_hint)


def _walking_steps(series: LandmarkSeries) -> int:
    from feedback import gait

    if int(series.frames_with_person().sum()) < 3:
        return 0
    report = gait.compute_gait(series)
    return int(report.parameters.n_steps or 0) if report.passes else 0


def choose_person(tracks: PeopleTracks, /, *, person: int | None = None,
                  roi: tuple[int, int, int, int] | None = None, task: str = "auto") -> tuple[int | None, str]:
    """(identity, how it was chosen); ``(None, "nobody")`` when nobody was found."""
    found = tracks.identities
    if person is not None:
        if person not in found:
            numbers = ", ".join(str(k) for k in found) or "none: nobody was found"
            raise InputError(f"Expected --person to be one of the people found ({numbers}; the numbers "
                             f"drawn by --overlay), but got {person}.")
        return person, "person"
    if not found:
        return None, "nobody"
    if roi is not None:
        chosen = choose_in_roi(tracks, roi)
        if chosen is None:
            raise InputError(f"Nobody's hips are inside --roi {','.join(str(v) for v in roi)} in any frame; "
                             f"check the region (x, y, width, height in pixels) against overlay.mp4.")
        return chosen, "roi"
    if len(found) == 1:
        return found[0], "only_person"
    if task in ("gait", "auto"):
        steps = {k: _walking_steps(tracks.series(k)) for k in found}
        log.debug("walking steps per person: %s", steps)
        walker = max(found, key=lambda k: (steps[k], int(tracks.frames_seen(k).sum())))
        if steps[walker] > 0:
            return walker, "walking"
    return max(found, key=lambda k: int(tracks.frames_seen(k).sum())), "longest_in_view"


def people_summary(tracks: PeopleTracks, chosen: int | None, chosen_by: str) -> dict:
    """The ``people`` block of ``summary.json``."""
    return {"found": tracks.describe(), "analysed": chosen, "chosen_by": chosen_by,
            "pose_model": next(iter(tracks.people.values())).attrs.get("pose_model") if tracks.people else None}


def chosen_series(tracks: PeopleTracks, chosen: int | None, /, *, source: str = "") -> LandmarkSeries:
    """The chosen person's series, or an all-unknown one when nobody was found."""
    if chosen is not None:
        return tracks.series(chosen)
    n = len(tracks.t_s)
    empty = LandmarkSeries.empty(n, with_pixels=True, image_size=tracks.image_size, source=source)
    return LandmarkSeries(t_s=tracks.t_s.copy(), world_m=empty.world_m, visibility=empty.visibility,
                          pixel_px=empty.pixel_px, image_size=tracks.image_size, source=source)


def render_people(image_bgr: np.ndarray, tracks: PeopleTracks, index: int, /, *, analysed: int | None,
                  visibility_threshold: float) -> np.ndarray:
    """Everyone else's skeleton in grey with their number, at frame ``index`` (the analysed
    person is drawn with the angles by the caller; only their number is added here)."""
    from feedback.render import RenderStyle, render_skeleton, render_text, style_for_image

    out = image_bgr
    for identity in tracks.identities:
        s = tracks.series(identity)
        px = s.pixel_px[index]
        if not np.isfinite(px).any():
            continue
        if identity != analysed:
            style = style_for_image(out, base=RenderStyle(bone_bgr=OTHER_BONE_BGR, joint_bgr=OTHER_BONE_BGR))
            pose = PoseFrame(world_m=s.world_m[index], visibility=s.visibility[index], pixel_px=px)
            out = render_skeleton(out, pose, visibility_threshold=visibility_threshold, style=style)
        head = px[:11][np.isfinite(px[:11]).all(axis=1)]
        anchor = head.mean(axis=0) if head.size else np.nanmean(px, axis=0)
        label = f"person {identity}" + (" (analysed)" if identity == analysed else "")
        x = int(np.clip(anchor[0] - 40, 0, out.shape[1] - 1))
        y = int(np.clip(anchor[1] - 0.06 * out.shape[0], 20, out.shape[0] - 1))
        out = render_text(out, label, origin_px=(x, y))
    return out
