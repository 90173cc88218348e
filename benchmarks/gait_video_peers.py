"""Video gait events against the hand labels, MindMove beside myogait's detectors (prints; no assertions).

    .venv/bin/python benchmarks/gait_vs_peers.py --video
    MYOGAIT_PATH=/path/to/myogait/site-packages .venv/bin/python benchmarks/gait_video_peers.py

The walker's landmarks: MediaPipe's Tasks PoseLandmarker (``num_poses=3``, the offline bundle)
picked by hip continuity, as in ``tests/test_gait_video_labels.py`` (cached in
``/tmp/gait/``). Every detector gets the same landmarks: MindMove's
:func:`feedback.gait.compute_gait`, and myogait's ``detect_events`` methods (zeni, crossing,
velocity, oconnor and its gaitkit ones) fed the landmarks in myogait's own JSON layout.
Errors are in frames against ``label - 0.5`` (see ``tests/data/README.md``), same side, a
detection further than 3 frames does not find a label.

myogait (MIT) depends on ``opencv-python-headless``, which would replace the project's
``opencv-contrib-python``; it is therefore not a project dependency. To run it here:
``pip install --no-deps --target DIR myogait openpyxl et-xmlfile`` and ``MYOGAIT_PATH=DIR``.
Its own MediaPipe extraction downloads ``pose_landmarker_heavy.task`` on first use; given
the offline bundle (``model_path=``) it runs offline but follows one person only.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from feedback.gait import EVENT_NAMES, compute_gait
from sensing.landmarks import LANDMARK_NAMES, LandmarkSeries, load_landmarks_csv, save_landmarks_csv

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CACHE = Path("/tmp/gait")
MYOGAIT_METHODS = ("zeni", "crossing", "velocity", "oconnor", "gk_bike", "gk_zeni", "gk_oconnor")
MATCH_FRAMES = 3.0


def _labels_module():
    spec = importlib.util.spec_from_file_location("gait_video_labels", REPO / "tests" / "test_gait_video_labels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _woman(labels) -> LandmarkSeries:
    cached = CACHE / "sports2d_woman_landmarks.csv"
    if cached.exists():
        s = load_landmarks_csv(cached)
        return LandmarkSeries(t_s=s.t_s, world_m=s.world_m, visibility=s.visibility, pixel_px=s.pixel_px,
                              image_size=(1768, 994))
    CACHE.mkdir(parents=True, exist_ok=True)
    px, world, vis, size = labels._all_poses(DATA / "video" / "sports2d_demo.mp4", CACHE / "models")
    series = labels._follow(px, world, vis, size, start_xy=(0.82 * size[0], 0.75 * size[1]))
    save_landmarks_csv(series, cached)
    return series


def _score(detected: list[tuple[float, str, str]], labelled: list[tuple[float, str, str]], kind: str):
    errors, n = [], 0
    for frame, side, k in labelled:
        if k != kind:
            continue
        n += 1
        near = [f - (frame - 0.5) for f, s, kk in detected if kk == kind and s == side]
        best = min(near, key=abs) if near else np.inf
        if abs(best) <= MATCH_FRAMES:
            errors.append(abs(best))
    return errors, n


def _row(label: str, detected, labelled, fps: float) -> str:
    cells = []
    for kind in ("heel_strike", "toe_off"):
        errors, n = _score(detected, labelled, kind)
        med = f"{np.median(errors):5.2f} ({1000 * np.median(errors) / fps:4.0f} ms)" if errors else "    -          "
        cells.append(f"{med}  {len(errors)}/{n}")
    return f"  {label:22s} " + "    ".join(cells)


def _myogait_data(series: LandmarkSeries) -> dict:
    """The landmarks in myogait's pivot layout: normalised image x, y and visibility per name."""
    w, h = series.image_size
    frames = []
    for i in range(len(series)):
        lms = {}
        for j, name in enumerate(LANDMARK_NAMES):
            x, y = series.pixel_px[i, j]
            if np.isfinite(x) and np.isfinite(y):
                lms[name.upper()] = {"x": float(x / w), "y": float(y / h), "visibility": float(series.visibility[i, j])}
        frames.append({"frame_idx": i, "time_s": float(series.t_s[i]), "confidence": 1.0, "landmarks": lms})
    return {"meta": {"fps": series.rate_hz, "width": w, "height": h}, "frames": frames,
            "extraction": {"landmark_names": [n.upper() for n in LANDMARK_NAMES]}}


def _myogait_events(myogait, series: LandmarkSeries, method: str, fps: float):
    result = myogait.detect_events(_myogait_data(series), method=method)["events"]
    out = []
    for key, kind in (("hs", "heel_strike"), ("to", "toe_off")):
        for side in ("left", "right"):
            out += [(float(e["frame"]), side, kind) for e in result.get(f"{side}_{key}", [])]
    return out


def run_video() -> None:
    warnings.simplefilter("ignore")
    labels = _labels_module()
    series = _woman(labels)
    fps = series.rate_hz
    labelled = [(f, s, k) for k in ("heel_strike", "toe_off") for f, s in labels._labels("sports2d_demo.mp4", k)]
    print(f"\nsports2d_demo.mp4, the woman ({int(series.frames_with_person().sum())} frames with her landmarks, "
          f"{fps:g} fps); errors in frames against the hand labels")
    print(f"  {'method':22s} heel strike: median |err|  found    toe off: median |err|  found")
    report = compute_gait(series)
    ours = [(e.t_s * fps, e.side, EVENT_NAMES[e.kind]) for e in report.events]
    print(_row("mindmove", ours, labelled, fps))
    print(f"  cadence: hand count {labels._hand_cadence():.2f}, mindmove {report.parameters.cadence_steps_per_min} steps/min")
    if os.environ.get("MYOGAIT_PATH"):
        sys.path.insert(0, os.environ["MYOGAIT_PATH"])
    try:
        import myogait
    except ImportError:
        print("  myogait: not installed (see this module's docstring)")
        return
    for method in MYOGAIT_METHODS:
        try:
            print(_row(f"myogait {method}", _myogait_events(myogait, series, method, fps), labelled, fps))
        except (ImportError, ValueError, KeyError, IndexError, RuntimeError) as exc:
            print(f"  myogait {method:14s} could not run: {exc}"[:150])


if __name__ == "__main__":
    run_video()
