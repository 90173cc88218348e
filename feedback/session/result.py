"""What a practice session produced: the summary written to the store, and live figures."""

from __future__ import annotations

from dataclasses import dataclass, field

from feedback.coordination import summarise_coordination
from feedback.cues import Cue
from feedback.session.stats import compute_percentile


@dataclass
class PracticeResult:
    """What a session produced: the summary written to the store, and live figures."""

    summary: dict
    metrics: list[dict]
    active_s: float
    latency_s: list[float] = field(default_factory=list)
    inference_s: list[float] = field(default_factory=list)
    frames_read: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    cues: list[Cue] = field(default_factory=list)
    stopped_by: str = "end_of_input"
    breath: dict | None = None  # the BreathResult fields, when the session had breath or a pacer
    frames_skipped: int = 0  # not sent to the model by the station's pose rate
    frames_not_shown: int = 0  # processed, but the display had moved on to a newer one
    shown_latency_s: list[float] = field(default_factory=list)  # capture -> image shown
    replay_slips: int = 0  # a paced file's decoding fell behind real time (feedback.session.capture)
    replay_slip_s: float = 0.0


def compute_practice_result(pipeline, /, *, duration_s, latency, inference, frames_read, processed, dropped,
                            cues, stopped_by, breath: dict | None = None, skipped: int = 0,
                            pose_rate_hz: float | None = None, not_shown: int = 0,
                            shown_latency: list[float] | None = None) -> PracticeResult:
    """The summary, metrics and live figures of a finished session from its
    :class:`~feedback.session.pipeline.PracticePipeline` (statistics, repetitions) and the
    loop's counts."""
    tracked = pipeline.stats[pipeline.channel]
    active_s = tracked.known_s
    upright = pipeline.assumed_upright_pct()
    reps = pipeline.rep_engine.repetitions if pipeline.rep_engine else []
    summary = {
        "exercise": pipeline.exercise.name,
        "tracked_angle": pipeline.channel,
        "duration_s": round(duration_s, 3),
        "active_s": round(active_s, 3),
        "active_min": round(active_s / 60.0, 2),
        "repetitions": len(reps),
        "repetition_peaks_deg": [round(r.peak_deg, 1) for r in reps],
        "safe_range_deg": [pipeline.safe.min_deg, pipeline.safe.max_deg],
        "time_in_range_pct": tracked.time_in_range_pct(),
        "range_exceeded": tracked.exceeded,
        "angles": {m["name"]: {"max_deg": round(m["max_deg"], 2), "min_deg": round(m["min_deg"], 2),
                               "range_deg": round(m["rom_deg"], 2),
                               **({"assumed_upright_pct": upright[m["name"]]} if m["name"] in upright else {})}
                   for m in pipeline.metrics()},
        # % of each channel's known frames measured against gravity (hips out of view): a
        # seated shoulder angle is then off by the trunk's lean.
        "assumed_upright_pct": upright,
        "cues_shown": len(cues),
        "frames": {"read": frames_read, "processed": processed, "dropped": dropped,
                   **({"skipped_by_pose_rate": skipped, "pose_rate_hz": pose_rate_hz} if pose_rate_hz else {})},
        "latency_ms": {"p50": _ms(compute_percentile(latency, 50)), "p95": _ms(compute_percentile(latency, 95))},
        "stopped_by": stopped_by,
    }
    if breath is not None:
        summary["breath"] = {k: v for k, v in breath.items() if k != "detail"}
    rule = pipeline.exercise.breath
    if rule is not None and pipeline.breath_judge is not None:
        summary["breath_coordination"] = summarise_coordination(
            pipeline.judged, raise_on=rule.raise_on, lower_on=rule.lower_on, min_overlap_pct=rule.min_overlap_pct)
    return PracticeResult(summary=summary, metrics=pipeline.metrics(), active_s=active_s, latency_s=latency,
                          inference_s=inference, frames_read=frames_read, frames_processed=processed,
                          frames_dropped=dropped, cues=cues, stopped_by=stopped_by, breath=breath,
                          frames_skipped=skipped, frames_not_shown=not_shown, shown_latency_s=list(shown_latency or []))


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 2)
