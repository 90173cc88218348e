"""`mindmove analyze` with several people in view: follow everyone, analyse one.

:func:`compute_people_tracks` runs the multi-person estimator of :mod:`sensing.multipose`
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
from sensing.people import PeopleTracks, choose_in_roi

log = logging.getLogger(__name__)

PEOPLE_MODES = ("several", "one")
# Colours (BGR) of the skeletons in overlay.mp4: the person analysed, everyone else.
ANALYSED_BONE_BGR = (230, 220, 200)
OTHER_BONE_BGR = (120, 120, 120)


def compute_people_tracks(path: Path, /, *, pose_model=None, rate_hz: float | None = None,
                          progress=None) -> PeopleTracks:
    """Every person in a video or image folder, followed (see the module docstring)."""
    from mindmove.settings import ensure_data_dir
    from sensing.multipose import create_people_estimator
    from contextlib import closing

    from sensing.people import track_people
    from sensing.video import open_source, read_ahead

    with open_source(path, rate_hz=rate_hz) as source:
        n_hint = getattr(source, "frame_count", None) or len(getattr(source, "paths", ())) or None
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
