"""The breath summary: THE rate, medians, polarity and its confidence, excluded stretches,
warnings; and writing ``breaths.csv`` and ``breath_summary.json``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from core.errors import InputError
from feedback.breath_events import Breath, BreathAnalysis, BreathEvent


def compute_breath_rate_bpm(breaths: list[Breath], /) -> float | None:
    """THE breathing rate, wherever one is stored or shown: 60 / the mean duration of the
    complete ``breaths`` (None without one).

    That is the number of breaths over the time spent in them. A breath never spans a gap or
    an excluded artefact (the analyzer resets there), so time with no usable signal counts for
    nothing: a 60 s dropout in 12 breaths/min leaves 12/min.
    """
    durations = [b.duration_s for b in breaths if b.duration_s is not None and b.duration_s > 0]
    return 60.0 / float(np.mean(durations)) if durations else None


def compute_breath_summary(breaths: list[Breath], events: list[BreathEvent], /, *,
                           polarity: str) -> dict:
    """Counts, the rate (:func:`compute_breath_rate_bpm`), the median breath-by-breath rate
    (a description of the spread, not the stored rate), median exhale/inhale ratio and size."""
    durations = np.array([b.duration_s for b in breaths], dtype=float)
    ratios = np.array([b.exhale_s / b.inhale_s for b in breaths if b.inhale_s > 0], dtype=float)
    onsets = np.array([e.t_s for e in events if e.kind == "inhale_onset"], dtype=float)
    return {
        "breaths": int(len(breaths)),
        "inhale_onsets": int(onsets.size),
        "rate_bpm": compute_breath_rate_bpm(breaths),
        "rate_bpm_median": float(np.median(60.0 / durations)) if durations.size else None,
        "ie_ratio_median": float(np.median(ratios)) if ratios.size else None,
        "inhale_s_median": float(np.median([b.inhale_s for b in breaths])) if breaths else None,
        "duration_s_median": float(np.median(durations)) if durations.size else None,
        "amplitude_median": float(np.median([b.amplitude for b in breaths])) if breaths else None,
        "polarity": polarity,
    }


def save_breath_outputs(analysis: BreathAnalysis, out_dir, /) -> tuple[Path, Path]:
    """Write ``breaths.csv`` and ``breath_summary.json`` into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        csv_path = out / "breaths.csv"
        with csv_path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["inhale_onset_s", "exhale_onset_s", "duration_s"])
            for b in analysis.breaths:
                writer.writerow([f"{b.inhale_onset_s:.3f}", f"{b.exhale_onset_s:.3f}", f"{b.duration_s:.3f}"])
        json_path = out / "breath_summary.json"
        json_path.write_text(json.dumps(analysis.summary, indent=2, allow_nan=False) + "\n")
    except OSError as exc:
        raise InputError(f"Expected a folder that can be written for breath outputs, but {out} cannot be "
                         f"written: {exc}. Choose another --out.") from exc
    return csv_path, json_path
