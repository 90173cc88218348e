"""``gait.json`` and ``gait_cycles.csv`` (field names are part of the file format: see docs/gait.md)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from feedback.gait.cycles import CYCLE_ANGLES, CYCLE_POINTS
from feedback.gait.events import FINAL_CONTACT, INITIAL_CONTACT
from feedback.gait.frames import compute_runs

# gait.json keeps the clinical names; inside, events are initial / final contacts
EVENT_NAMES = {INITIAL_CONTACT: "heel_strike", FINAL_CONTACT: "toe_off"}


def _runs_to_list(mask: np.ndarray, t_s: np.ndarray) -> list[dict]:
    return [{"start_frame": a, "end_frame": b, "t_start_s": round(float(t_s[a]), 4),
             "t_end_s": round(float(t_s[b]), 4)} for a, b in compute_runs(mask)]


def report_to_dict(report, /) -> dict:
    """The ``gait.json`` content of a :class:`feedback.gait.GaitReport`."""
    return {
        "events": [
            {"t_s": round(e.t_s, 4), "side": e.side, "kind": EVENT_NAMES[e.kind], "frame": e.frame,
             "landmark": e.landmark, "pass": e.pass_index}
            for e in report.events
        ],
        "parameters": report.parameters.to_dict(),
        "parameters_from_passes": list(report.headline_passes),
        "parameters_by_direction": {d: q.to_dict() for d, q in report.parameters_by_direction.items()},
        "direction": report.direction,
        "passes": [
            {"start_frame": p.start_frame, "end_frame": p.end_frame,
             "t_start_s": round(p.t_start_s, 4), "t_end_s": round(p.t_end_s, 4),
             "direction": p.direction, "heading": [round(h, 4) for h in p.heading],
             "progression": p.progression, "in_headline": k in report.headline_passes,
             "parameters": q.to_dict()}
            for k, (p, q) in enumerate(zip(report.passes, report.pass_parameters))
        ],
        "coordinates": report.coordinates,
        "frames_total": int(len(report.frames_used)),
        "frames_used": _runs_to_list(report.frames_used, report.t_s),
        "n_frames_used": int(np.count_nonzero(report.frames_used)),
        "excluded": [dict(x) for x in report.excluded],
        "identity_switch_frames": list(report.identity_switch_frames),
        "quality": report.quality.to_dict(),
    }


def save_gait_outputs(report, out_dir: Path, /) -> list[Path]:
    """Write ``gait.json`` and ``gait_cycles.csv`` into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "gait.json"
    json_path.write_text(json.dumps(report_to_dict(report), indent=2), encoding="utf-8")
    csv_path = out_dir / "gait_cycles.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["cycle", "side", "t_start_s", "t_end_s", "cycle_pct", *CYCLE_ANGLES])
        pct = np.linspace(0.0, 100.0, CYCLE_POINTS)
        for c in report.cycles:
            for i, p in enumerate(pct):
                vals = [c.curves[j][i] for j in CYCLE_ANGLES]
                writer.writerow([c.cycle, c.side, f"{c.t_start_s:.4f}", f"{c.t_end_s:.4f}", f"{p:g}",
                                 *["" if not math.isfinite(v) else f"{v:.3f}" for v in vals]])
    return [json_path, csv_path]
