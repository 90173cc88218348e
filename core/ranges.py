"""The comfortable (safe) range of one motion: what calibration stores and practice judges."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CAUTION_MARGIN_DEG = 10.0


@dataclass(frozen=True)
class SafeRange:
    """A comfortable range for one motion; cues start ``caution_margin_deg`` before each end."""

    min_deg: float
    max_deg: float
    caution_margin_deg: float = DEFAULT_CAUTION_MARGIN_DEG
