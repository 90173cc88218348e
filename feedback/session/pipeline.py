"""The practice pipeline: one pose in, smoothed angles, engine cues and statistics out.

No threads, no I/O, no idea where the pose came from (a local camera and MediaPipe, or
landmarks sent by the patient's browser): :meth:`PracticePipeline.process` takes a session
time and a :class:`~sensing.landmarks.PoseFrame` (or None when nobody was found).

1. Joint angles (:func:`feedback.angles.compute_frame_angles`) plus the shoulder tilt, each
   smoothed causally with a One-Euro filter.
2. The feedback engines (:mod:`feedback.engines`) and the cue policy (:mod:`feedback.cues`).
3. Per recorded channel, running statistics (:class:`feedback.session.stats.AngleStats`).
4. With a ``[breath]`` rule, each repetition judged against the breath (:mod:`feedback.coordination`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from core.ranges import SafeRange
from core.timing import NO_TIMER
from feedback.coordination import BreathCoordinationJudge, BreathCueEngine, RepetitionBreath
from feedback.cues import Cue, CuePolicy
from feedback.engines import (
    POSTURE_CHECKS, FrameVisibility, PaceEngine, PostureEngine, RangeEngine, RepetitionEngine,
    VisibilityEngine, compute_shoulder_tilt_deg, compute_tracked_angle,
)
from feedback.exercises import LANDMARK_BODY_PART, MOTION_BODY_PART, Exercise
from feedback.session.stats import AngleStats
from sensing.landmarks import LANDMARK_INDEX, PoseFrame

DEFAULT_MIN_CUTOFF_HZ = 1.0
DEFAULT_BETA = 0.05
DEFAULT_D_CUTOFF_HZ = 1.0


def _combined_range(comfortable_range: Callable[[str], Any], motions: Sequence[str]) -> SafeRange:
    """The most conservative comfortable range over the tracked motions (both sides)."""
    ranges = [comfortable_range(m) for m in motions]
    return SafeRange(min_deg=max(r.min_deg for r in ranges), max_deg=min(r.max_deg for r in ranges),
                     caution_margin_deg=max(r.caution_margin_deg for r in ranges))


@dataclass
class PracticePipeline:
    """Per-frame processing for one exercise (no threads, no I/O): ``process`` one pose."""

    exercise: Exercise
    safe: SafeRange
    neutral_deg: Mapping[str, float] = field(default_factory=dict)  # angle name -> deg
    policy: CuePolicy = field(default_factory=CuePolicy)
    visibility_threshold: float = 0.5
    min_cutoff_hz: float = DEFAULT_MIN_CUTOFF_HZ
    beta: float = DEFAULT_BETA
    d_cutoff_hz: float = DEFAULT_D_CUTOFF_HZ

    def __post_init__(self) -> None:
        from feedback.angles import MOTIONS
        from feedback.smoothing import OneEuroFilter

        ex, tr = self.exercise, self.exercise.tracking
        self.channel = tr.channel
        # Only the angles the exercise's engines read (tracked and posture ones) are computed
        # and smoothed: the others would be thrown away each frame. Each is smoothed on its own,
        # so its values are those the full set would give.
        wanted = [n.removesuffix("_deg") for n in (*tr.angle_names, *(POSTURE_CHECKS[c][0] for c in ex.posture_checks))]
        self.motions: tuple[str, ...] = tuple(m for m in dict.fromkeys(wanted) if m in MOTIONS)
        self.angle_names: tuple[str, ...] = tuple(f"{m}_deg" for m in self.motions) + ("shoulder_tilt_deg",)
        self._filter = OneEuroFilter(min_cutoff_hz=self.min_cutoff_hz, beta=self.beta,
                                     d_cutoff_hz=self.d_cutoff_hz)
        self.range_engine = RangeEngine(self.channel, self.safe.min_deg, self.safe.max_deg,
                                        caution_margin_deg=self.safe.caution_margin_deg, limits=tr.limits)
        self.posture_engine = PostureEngine(ex.posture_checks, neutral=self.neutral_deg,
                                            max_deviation_deg=ex.posture_max_deviation_deg)
        rule = ex.repetition
        self.rep_engine = None
        if rule.enabled:
            self.rep_engine = RepetitionEngine(
                self.channel, self.safe.min_deg, self.safe.max_deg, direction=tr.direction,
                start_fraction=rule.start_fraction, top_fraction=rule.top_fraction,
                hold_s=rule.hold_s, target=rule.target)
        self.pace_engine = None
        if ex.tempo is not None:
            span = self.safe.max_deg - self.safe.min_deg
            if tr.direction == "both":
                span /= 2.0
            amplitude = span * (rule.top_fraction if rule.enabled else 1.0)
            self.pace_engine = PaceEngine(self.channel, amplitude_deg=amplitude,
                                          min_move_s=min(ex.tempo.min_up_s, ex.tempo.min_down_s),
                                          fast_factor=ex.tempo.fast_factor)
        self.visibility_engine = VisibilityEngine(
            tr.landmarks, body_part_key=f"body_part.{MOTION_BODY_PART.get(tr.motion, 'whole_body')}",
            visibility_threshold=self.visibility_threshold, channel=self.channel,
            body_parts={n: f"body_part.{LANDMARK_BODY_PART[n]}" for n in tr.landmarks if n in LANDMARK_BODY_PART})
        self.engines = [e for e in (self.visibility_engine, self.range_engine, self.posture_engine,
                                    self.pace_engine, self.rep_engine) if e is not None]
        posture_angles = [POSTURE_CHECKS[c][0] for c in ex.posture_checks]
        self.recorded_channels: tuple[str, ...] = tuple(dict.fromkeys(
            [self.channel, *tr.angle_names, *posture_angles]))
        self.stats = {name: AngleStats(limits=tr.limits if name == self.channel else "both")
                      for name in self.recorded_channels}
        self._reps_seen = 0
        self.timer = NO_TIMER  # stages "angles", "engines", "cue policy", "statistics" (core.timing)
        self.breath_judge: BreathCoordinationJudge | None = None
        self.breath_cues: BreathCueEngine | None = None
        self.judged: list[RepetitionBreath] = []
        self.pacer_state = None  # set each frame when a pacer runs (for the renderer)
        self.assumed_upright_names: frozenset[str] = frozenset()  # this frame's, see compute_angles
        if ex.breath is not None and self.rep_engine is not None:
            rule = ex.breath
            self.breath_judge = BreathCoordinationJudge(raise_on=rule.raise_on, lower_on=rule.lower_on,
                                                        min_overlap_pct=rule.min_overlap_pct)
            self.breath_cues = BreathCueEngine(rep_state=lambda: self.rep_engine.state, raise_on=rule.raise_on,
                                               lower_on=rule.lower_on, min_overlap_pct=rule.min_overlap_pct)
            self.engines.append(self.breath_cues)

    def set_breath(self, t_s: float, /, *, measured_phase: str | None, guide_phase: str | None = None) -> None:
        """The breath at ``t_s``: the measured phase (None without a breath source) and the
        pacer's (None without a pacer). Call before :meth:`process` for the same frame."""
        if self.breath_judge is not None and measured_phase is not None:
            self.breath_judge.update_breath(t_s, measured_phase)
        if self.breath_cues is not None:
            known = measured_phase if measured_phase not in (None, "unknown") else None
            self.breath_cues.phase = known or guide_phase or "unknown"

    def judge_repetition(self, rep, /) -> RepetitionBreath | None:
        """Breath coordination of a completed repetition (None when the exercise asks for none)."""
        if self.breath_judge is None:
            return None
        judged = self.breath_judge.judge(rep.t_start_s, rep.t_end_s)
        self.judged.append(judged)
        self.breath_cues.note_repetition(judged)
        return judged

    def compute_angles(self, t_s: float, pose: PoseFrame | None, /) -> dict[str, float]:
        """Smoothed angles of one frame (NaN where unknown), plus the tracked channel."""
        from feedback.angles import compute_frame_angles

        raw = np.full(len(self.angle_names), np.nan)
        self.assumed_upright_names = frozenset()
        if pose is not None:
            angles = compute_frame_angles(pose.world_m, pose.visibility, motions=self.motions,
                                          visibility_threshold=self.visibility_threshold)
            self.assumed_upright_names = frozenset(angles.assumed_upright_angles)
            angles["shoulder_tilt_deg"] = compute_shoulder_tilt_deg(
                pose.world_m, pose.visibility, visibility_threshold=self.visibility_threshold)
            raw = np.array([angles.get(n, np.nan) for n in self.angle_names], dtype=float)
        smooth = self._filter.update(t_s, raw)
        out = dict(zip(self.angle_names, (float(v) for v in smooth)))
        if self.channel not in out:
            out[self.channel] = compute_tracked_angle(out, angle_names=self.exercise.tracking.angle_names)
        return out

    def process(self, t_s: float, pose: PoseFrame | None, /, *,
                extra_cues: Sequence[Cue] = ()) -> tuple[dict[str, float], Cue | None, list[Cue]]:
        """One frame: returns (angles, cue on screen, candidate cues). ``extra_cues`` are
        candidates from outside the engines (e.g. the belt reconnecting)."""
        timer = self.timer
        started = timer.start()
        angles = self.compute_angles(t_s, pose)
        timer.stop("angles", started)
        started = timer.start()
        if self.breath_judge is not None:
            value = angles.get(self.channel, math.nan)
            self.breath_judge.update_movement(t_s, self.rep_engine.progress(value) if math.isfinite(value)
                                              else math.nan)
        if pose is None:
            vis = FrameVisibility(person_found=False)
        else:
            vis = FrameVisibility(True, {n: float(pose.visibility[LANDMARK_INDEX[n]])
                                         for n in self.exercise.tracking.landmarks})
        candidates: list[Cue] = list(extra_cues)
        for engine in self.engines:
            candidates.extend(engine.update(t_s, angles, vis))
        timer.stop("engines", started)
        started = timer.start()
        shown = self.policy.update(t_s, candidates)
        timer.stop("cue policy", started)
        started = timer.start()
        assumed = self.assumed_upright_names
        for name in self.recorded_channels:
            parts = self.exercise.tracking.angle_names if name == self.channel else (name,)
            self.stats[name].update(t_s, angles.get(name, math.nan),
                                    safe=self.safe if name == self.channel else None,
                                    assumed_upright=name in assumed or any(p in assumed for p in parts))
        timer.stop("statistics", started)
        return angles, shown, candidates

    def assumed_upright_pct(self) -> dict[str, float]:
        """Per recorded channel that can rest on it (seated shoulder and neck angles with the
        hips out of view, see :mod:`feedback.angles`): the % of its known frames measured
        against gravity instead of the trunk."""
        from feedback.angles import UPRIGHT_FALLBACK_ANGLE_NAMES

        out = {}
        for name, stats in self.stats.items():
            parts = self.exercise.tracking.angle_names if name == self.channel else (name,)
            if stats.frames_known and any(p in UPRIGHT_FALLBACK_ANGLE_NAMES for p in parts):
                out[name] = round(100.0 * stats.frames_assumed_upright / stats.frames_known, 1)
        return out

    def new_repetitions(self) -> list:
        if self.rep_engine is None:
            return []
        new = self.rep_engine.repetitions[self._reps_seen:]
        self._reps_seen = len(self.rep_engine.repetitions)
        return new

    def metrics(self) -> list[dict]:
        rows = []
        for name, s in self.stats.items():
            if not s.seen:
                continue
            tracked = name == self.channel
            rows.append({
                "name": name, "min_deg": s.min_deg, "max_deg": s.max_deg, "rom_deg": s.max_deg - s.min_deg,
                "safe_min_deg": self.safe.min_deg if tracked else None,
                "safe_max_deg": self.safe.max_deg if tracked else None,
                "time_in_range_pct": s.time_in_range_pct() if tracked else None,
                "range_exceeded": bool(s.exceeded) if tracked else False,
            })
        return rows


def build_pipeline(exercise: Exercise, /, *, comfortable_range: Callable[[str], Any],
                   neutral_deg: Mapping[str, float] | None = None, policy: CuePolicy | None = None,
                   visibility_threshold: float = 0.5) -> PracticePipeline:
    """A pipeline with the patient's comfortable ranges and neutral posture.

    ``comfortable_range(motion)`` gives the range of a full motion name (``right_knee_flexion``)
    as an object with ``min_deg``, ``max_deg`` and ``caution_margin_deg``; ``neutral_deg`` the
    calibrated neutral angles by angle name. :func:`calibration.practice.build_practice_pipeline`
    resolves both from a patient's profile (feedback never imports calibration)."""
    safe = _combined_range(comfortable_range, exercise.tracking.motions)
    return PracticePipeline(exercise, safe, neutral_deg=dict(neutral_deg or {}), policy=policy or CuePolicy(),
                            visibility_threshold=visibility_threshold)
