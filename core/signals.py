"""What a breathing sensor measures: the names every layer uses (belt adapters and their TOML
files in ``sensing``, the analysis in ``feedback.breath_signals``, the command line).

``"auto"`` is for a signal of unknown kind; the physics of each kind is in
:mod:`feedback.breath_signals`.
"""

from __future__ import annotations

BREATH_SIGNALS = ("belt", "impedance", "airflow", "co2", "thermistor", "accelerometer", "auto")

MIN_RATE_HZ = 1.0  # slower cannot follow a breath's turning points (a quick inhale takes 0.3 s)
MAX_RATE_HZ = 10_000.0  # faster than any breathing sensor samples; beyond is a wrong unit or file


def check_sampling_rate_hz(rate_hz, /, *, what: str = "--rate-hz") -> float:
    """``rate_hz`` as a float if it is a plausible breathing sensor's sampling rate."""
    from core.errors import ValidationError

    try:
        rate = float(rate_hz)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"Expected {what} as a number of samples per second, but got {rate_hz!r}.") from exc
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:  # also refuses NaN
        raise ValidationError(f"Expected {what} between {MIN_RATE_HZ:g} and {MAX_RATE_HZ:g} samples per second, "
                              f"but got {rate_hz!r}: check the number and its unit.")
    return rate
