"""What the breath analyzer tells besides the breaths: its start-up amplitude, and the
details of a summary (signal kind, how the polarity was decided and how sure, excluded
stretches, warnings). Warnings are plain sentences for ``breath_summary.json`` and the screen."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from scipy import signal as sps

from feedback.breath_polarity import LOW_CONFIDENCE

SHAPE_DISAGREES_CYCLES = 6  # a known signal's shape is checked against its physics after this many cycles


def compute_start_amplitude(samples: list[tuple[float, float]], /, *, rate_hz: float, sos, window_s: float,
                            flow: bool) -> tuple[float, float | None]:
    """The first estimate of the breath amplitude: the median peak-to-peak range of
    ``window_s`` windows (about a breath each) of the detection-filtered start-up samples, so
    one artefact window does not set it. For flow, of the integrated flow; also returns the
    flow's baseline (its median), else None."""
    v = np.array([s[1] for s in samples if not math.isnan(s[1])], dtype=float)
    if v.size < 4:
        return 0.0, None
    base = None
    if flow:
        base = float(np.median(v))
        v = np.cumsum(v - base) / rate_hz
    y = sps.sosfiltfilt(sos, v, padlen=min(v.size - 1, 12))
    n = max(2, int(window_s * rate_hz))
    ranges = [np.ptp(y[i:i + n]) for i in range(0, max(1, y.size - n + 1), max(1, n // 2))]
    return float(np.median(ranges)), base


def compute_analysis_details(analyzer, /) -> dict:
    """The summary fields beyond counts and rates (see the module docstring)."""
    decision = analyzer.decision
    basis = "shape" if analyzer.polarity_requested == "auto" else "signal"
    excluded = analyzer.excluded
    seconds = defaultdict(float)
    for seg in excluded:
        seconds[seg.reason] += seg.end_s - seg.start_s
    details = {
        "signal": analyzer.kind.name,
        "signal_physics": analyzer.kind.why,
        "polarity_basis": basis,
        "polarity_confidence": _round(decision.confidence) if decision else None,
        "polarity_cycles": decision.cycles if decision else 0,
        "excluded": [seg.as_dict() for seg in excluded],
        "excluded_s": {k: round(v, 2) for k, v in sorted(seconds.items())},
        "warnings": compute_warnings(analyzer),
    }
    return details


def compute_warnings(analyzer, /) -> list[str]:
    """Plain sentences about what may be wrong: a polarity guessed with low confidence, a
    waveform whose shape contradicts its signal kind, no breath at all."""
    warnings = []
    d = analyzer.decision
    if analyzer.polarity_requested == "auto":
        if d is None or d.cycles == 0:
            warnings.append("Too few breaths to tell inhale from exhale by the waveform; assumed a rise is an "
                            "inhalation. Set --signal (belt, impedance, airflow, co2, thermistor) to be sure.")
        elif d.low:
            warnings.append(f"Inhale and exhale were told apart by the waveform's shape with low confidence "
                            f"({100 * d.confidence:.0f}% of {d.cycles} breaths agree, below "
                            f"{100 * LOW_CONFIDENCE:.0f}%): they may be swapped. Set --signal (or --polarity) "
                            f"to say what the sensor measures.")
    elif d is not None and d.cycles >= SHAPE_DISAGREES_CYCLES and not d.low and d.polarity != analyzer.polarity:
        warnings.append(f"The waveform's shape suggests the opposite polarity to a {analyzer.kind.name} signal "
                        f"({100 * d.confidence:.0f}% of {d.cycles} breaths): check --signal and the sensor's "
                        f"sign. The {analyzer.kind.name} polarity was kept.")
    if not analyzer.breaths:
        warnings.append("No complete breath was found: the recording may be too short, too flat or too noisy.")
    return warnings


def _round(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 3)
