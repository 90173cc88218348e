"""The result every assessment analysis returns (:class:`AssessmentResult`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def rounded(value, digits: int = 3):
    """``value`` rounded for storage; None for a missing or non-finite number."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


@dataclass(frozen=True)
class AssessmentResult:
    """One test's outcome: the headline ``value`` in ``unit`` (None when it cannot be given,
    e.g. gait speed without a distance scale), every result field, the named, timestamped
    ``events`` it was read from, quality ``flags`` (short snake_case words) and ``notes``
    (one clinician-facing sentence each), plus ``detail`` (anything else worth keeping:
    phases, the gait report, thresholds used)."""

    test: str
    value: float | None
    unit: str
    fields: dict = field(default_factory=dict)
    events: tuple = ()
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"test": self.test, "value": rounded(self.value), "unit": self.unit, "fields": dict(self.fields),
                "events": [dict(e) for e in self.events], "flags": list(self.flags), "notes": list(self.notes),
                "detail": dict(self.detail)}
