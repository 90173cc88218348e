"""Guided capture: propose a comfortable range, or a neutral posture, from a stream of angles.

Both classes are streaming stages: feed them one frame at a time with ``update(...)``
(NaN when the joint was not visible) and ask for the result at the end. They know nothing
of cameras, pose models or the store, so tests feed them synthetic angles.

Range proposal (:class:`RangeCapture`): the angle is median-filtered (a single wrong frame,
a spike, cannot survive a median over :data:`SPIKE_WINDOW_S`) and then low-pass filtered
(zero-phase Butterworth at ``cutoff_hz``). Each repetition is a peak of the smoothed angle
standing out by at least ``min_excursion_deg``; the proposed maximum is the median of the
per-repetition peaks and the proposed minimum the median of the lowest points between and
around them, so even a spike that survived smoothing in one repetition cannot move the
proposal.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import butter, find_peaks, sosfiltfilt

from calibration.limits import check_range
from core.ranges import DEFAULT_CAUTION_MARGIN_DEG, SafeRange
from core.errors import ValidationError

log = logging.getLogger(__name__)

SPIKE_WINDOW_S = 0.3  # median-filter width; longer than any single-frame glitch
MIN_VISIBLE_FRACTION = 0.7  # "visible most of the time"
MIN_REPETITIONS = 3
MIN_EXCURSION_DEG = 10.0  # a repetition must rise at least this much above its surroundings
MIN_REPETITION_S = 1.0  # two peaks closer than this are one repetition
SMOOTHING_CUTOFF_HZ = 2.0

NEUTRAL_DURATION_S = 5.0
NEUTRAL_MAX_SPREAD_DEG = 8.0  # 5th-95th percentile spread of an angle while "still"
NEUTRAL_MIN_VISIBLE_FRACTION = 0.8
# What "neutral posture" records: the trunk, the head, and the hips and knees (which tell
# standing from seated). Arm angles are left out: resting arms are not part of posture,
# and near the body their plane angles are too noisy to judge stillness by.
NEUTRAL_MOTIONS: tuple[str, ...] = (
    "trunk_forward_lean", "trunk_lateral_lean", "neck_flexion", "neck_rotation",
    "left_hip_flexion", "right_hip_flexion", "left_knee_flexion", "right_knee_flexion",
)
NEUTRAL_REQUIRED: tuple[str, ...] = ("trunk_forward_lean", "trunk_lateral_lean")


@dataclass(frozen=True)
class RangeProposal:
    """What a capture found: the proposed range and the evidence for it."""

    range: SafeRange
    peaks_deg: tuple[float, ...]
    troughs_deg: tuple[float, ...]
    peak_t_s: tuple[float, ...]
    visible_fraction: float
    observed_min_deg: float  # of the smoothed angle
    observed_max_deg: float


def _smooth(t_s: np.ndarray, angle_deg: np.ndarray, *, cutoff_hz: float) -> np.ndarray:
    """Median filter (kills spikes) then zero-phase low-pass, on the visible samples."""
    dt = float(np.median(np.diff(t_s))) if t_s.size > 1 else 0.0
    if dt <= 0:
        return angle_deg.copy()
    rate_hz = 1.0 / dt
    width = max(3, int(round(SPIKE_WINDOW_S * rate_hz)) | 1)
    med = median_filter(angle_deg, size=width, mode="nearest")
    if cutoff_hz >= rate_hz / 2 or med.size < 16:
        return med
    sos = butter(2, cutoff_hz, fs=rate_hz, output="sos")
    return sosfiltfilt(sos, med, padlen=min(med.size - 1, 3 * width))


class RangeCapture:
    """Collects one motion's angle while the patient moves through their range."""

    def __init__(self, *, motion: str | None = None, min_visible_fraction: float = MIN_VISIBLE_FRACTION,
                 min_repetitions: int = MIN_REPETITIONS, min_excursion_deg: float = MIN_EXCURSION_DEG,
                 min_repetition_s: float = MIN_REPETITION_S, cutoff_hz: float = SMOOTHING_CUTOFF_HZ,
                 caution_margin_deg: float = DEFAULT_CAUTION_MARGIN_DEG) -> None:
        self.motion = motion
        self.min_visible_fraction = min_visible_fraction
        self.min_repetitions = min_repetitions
        self.min_excursion_deg = min_excursion_deg
        self.min_repetition_s = min_repetition_s
        self.cutoff_hz = cutoff_hz
        self.caution_margin_deg = caution_margin_deg
        self._t: list[float] = []
        self._a: list[float] = []

    def update(self, t_s: float, angle_deg: float | None) -> None:
        """Add one frame; ``angle_deg`` is NaN or None when the joint was not visible."""
        self._t.append(float(t_s))
        self._a.append(math.nan if angle_deg is None else float(angle_deg))

    @property
    def n_frames(self) -> int:
        return len(self._t)

    @property
    def angles_deg(self) -> np.ndarray:
        """Every angle fed so far (NaN where unseen), a copy."""
        return np.asarray(self._a, dtype=float)

    @property
    def latest_deg(self) -> float:
        return self._a[-1] if self._a else math.nan

    @property
    def visible_fraction(self) -> float:
        if not self._a:
            return 0.0
        return float(np.isfinite(np.asarray(self._a)).mean())

    def _name(self) -> str:
        return self.motion or "the motion"

    def proposal(self) -> RangeProposal:
        """The proposed range with its evidence; raises :class:`ValidationError` when unusable."""
        t = np.asarray(self._t, dtype=float)
        a = np.asarray(self._a, dtype=float)
        seen = np.isfinite(a)
        fraction = float(seen.mean()) if a.size else 0.0
        if fraction < self.min_visible_fraction:
            raise ValidationError(
                f"{self._name()} was visible in {fraction:.0%} of {a.size} frames, expected at least "
                f"{self.min_visible_fraction:.0%}. Make sure the whole body is in view and capture again."
            )
        t, a = t[seen], a[seen]
        smooth = _smooth(t, a, cutoff_hz=self.cutoff_hz)
        rate_hz = 1.0 / float(np.median(np.diff(t))) if t.size > 1 else 1.0
        peaks, _ = find_peaks(smooth, prominence=self.min_excursion_deg,
                              distance=max(1, int(self.min_repetition_s * rate_hz)))
        if peaks.size < self.min_repetitions:
            raise ValidationError(
                f"Expected {self.min_repetitions} slow repetitions of {self._name()}, but found {peaks.size} "
                f"(each must rise at least {self.min_excursion_deg:g} deg). Capture again, moving through the range."
            )
        bounds = np.concatenate(([0], peaks, [smooth.size - 1]))
        troughs = [float(smooth[lo:hi + 1].min()) for lo, hi in zip(bounds[:-1], bounds[1:])]
        peak_values = smooth[peaks]
        # Keep only the lows the movement really returned to (ignore a start or end half-way up).
        lows = [v for v in troughs if peak_values.min() - v >= self.min_excursion_deg] or troughs
        min_deg = round(float(np.median(lows)), 1)
        max_deg = round(float(np.median(peak_values)), 1)
        rng = SafeRange(min_deg, max_deg, self.caution_margin_deg)
        if self.motion is not None:
            check_range(self.motion, rng.min_deg, rng.max_deg)
        elif not min_deg < max_deg:
            raise ValidationError(f"The captured range {min_deg:g}..{max_deg:g} deg is empty. Capture again.")
        log.info("Range capture %s: peaks %s, lows %s -> %s", self._name(), peak_values.round(1), lows, rng)
        return RangeProposal(range=rng, peaks_deg=tuple(float(p) for p in peak_values),
                             troughs_deg=tuple(lows), peak_t_s=tuple(float(x) for x in t[peaks]),
                             visible_fraction=fraction, observed_min_deg=float(smooth.min()),
                             observed_max_deg=float(smooth.max()))

    def propose(self) -> SafeRange:
        """The proposed comfortable range; raises :class:`ValidationError` when unusable."""
        return self.proposal().range


class NeutralCapture:
    """Collects several angles while the person rests still; the result is their median."""

    def __init__(self, *, duration_s: float = NEUTRAL_DURATION_S, max_spread_deg: float = NEUTRAL_MAX_SPREAD_DEG,
                 min_visible_fraction: float = NEUTRAL_MIN_VISIBLE_FRACTION,
                 required: tuple[str, ...] = ()) -> None:
        self.duration_s = duration_s
        self.max_spread_deg = max_spread_deg
        self.min_visible_fraction = min_visible_fraction
        self.required = tuple(required)
        self._t: list[float] = []
        self._angles: list[Mapping[str, float]] = []

    def update(self, t_s: float, angles: Mapping[str, float]) -> None:
        """Add one frame: angle name -> degrees (NaN or absent when not visible)."""
        self._t.append(float(t_s))
        self._angles.append(dict(angles))

    @property
    def elapsed_s(self) -> float:
        return self._t[-1] - self._t[0] if len(self._t) > 1 else 0.0

    def result(self) -> dict[str, float]:
        """Angle name -> neutral degrees; raises :class:`ValidationError` if moved or not visible."""
        if self.elapsed_s + 1e-9 < self.duration_s:
            raise ValidationError(
                f"Expected {self.duration_s:g} s of stillness, but got {self.elapsed_s:.1f} s. "
                "Capture again for longer."
            )
        names = sorted({k for frame in self._angles for k in frame} | set(self.required))
        n = len(self._angles)
        values = {k: np.array([float(f.get(k, math.nan)) for f in self._angles]) for k in names}
        visible = {k: float(np.isfinite(v).mean()) if n else 0.0 for k, v in values.items()}
        missing = [k for k in self.required if visible[k] < self.min_visible_fraction]
        if missing:
            raise ValidationError(
                f"{', '.join(missing)} visible in only {min(visible[k] for k in missing):.0%} of frames, expected "
                f"{self.min_visible_fraction:.0%}. Make sure the person is fully in view and capture again."
            )
        kept = [k for k in names if visible[k] >= self.min_visible_fraction]
        if not kept:
            best = max(visible.values(), default=0.0)
            raise ValidationError(
                f"The person was not visible enough: the best-seen angle was visible in {best:.0%} of frames, "
                f"expected {self.min_visible_fraction:.0%}. Step into view and capture again."
            )
        spreads = {}
        for k in kept:
            v = values[k][np.isfinite(values[k])]
            p5, p95 = np.percentile(v, [5, 95])
            spreads[k] = float(p95 - p5)
        worst = max(spreads, key=spreads.get)
        if spreads[worst] > self.max_spread_deg:
            raise ValidationError(
                f"The person moved during the neutral capture: {worst} varied by {spreads[worst]:.0f} deg, "
                f"expected at most {self.max_spread_deg:g} deg. Rest still and capture again."
            )
        return {k: round(float(np.nanmedian(values[k])), 1) for k in kept}
