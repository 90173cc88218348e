"""One practice session, one frame at a time, everything after the pose.

:class:`PracticeSession` takes ``(t_s, pose)`` from any driver: the local camera loop
(:func:`feedback.session.loop.run_practice`), the telehealth server (landmarks from the
patient's browser), or a test on any clock. Each frame: breath and pacer, the pipeline,
the cue on screen, repetitions, and the recorder (samples at ``sample_rate_hz``, every cue
shown, every repetition). :meth:`PracticeSession.finish` gives the
:class:`~feedback.session.result.PracticeResult`.
"""

from __future__ import annotations

import math

from core.timing import NO_TIMER
from feedback.cues import Cue
from feedback.session.breath_feeds import PracticeBreath
from feedback.session.pipeline import PracticePipeline
from feedback.session.result import PracticeResult, compute_practice_result
from sensing.landmarks import PoseFrame

DEFAULT_SAMPLE_RATE_HZ = 15.0  # recorded angle rate (>= 10 Hz)
WELCOME_S = 4.0  # "Welcome..." is on screen this long at the start, while no other cue is


class PracticeSession:
    """One frame at a time, everything after the pose: breath, engines, cue, recording, sound.

    :func:`run_practice` drives it from a camera or video; a test can drive it with simulated
    poses on any clock. ``update(t_s, pose)`` returns ``(angles, cue on screen)`` (for the
    first ``welcome_s`` seconds, while the engines have nothing to say, the welcome line,
    which is shown but not recorded); :meth:`finish` the :class:`PracticeResult`.
    """

    def __init__(self, pipeline: PracticePipeline, /, *, recorder=None, breath: PracticeBreath | None = None,
                 sound=None, sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ, welcome_s: float = WELCOME_S) -> None:
        self.pipeline = pipeline
        self.welcome_s = welcome_s
        self.recorder = recorder
        self.breath = breath
        self.sound = sound
        self.sample_interval_s = 1.0 / sample_rate_hz
        self.cues_shown: list[Cue] = []
        self.timer = NO_TIMER  # stages "breath" and "record" (see core.timing)
        self.last_t_s = 0.0
        self._last_sample_t = -math.inf
        self._last_pacer_phase: str | None = None

    def start(self, clock_origin_s: float, /) -> None:
        """The ``time.monotonic()`` at session time 0 (maps a belt's clock onto the session's)."""
        if self.breath is not None:
            self.breath.start(clock_origin_s)

    def update(self, t_s: float, pose: PoseFrame | None, /) -> tuple[dict[str, float], Cue | None]:
        pipeline, recorder, timer = self.pipeline, self.recorder, self.timer
        self.last_t_s = t_s
        extra: list[Cue] = []
        started = timer.start()
        if self.breath is not None:
            frame = self.breath.update(t_s, recorder=recorder)
            pipeline.pacer_state = frame.pacer_state
            pipeline.set_breath(t_s, measured_phase=frame.measured_phase,
                                guide_phase=frame.pacer_state.breath_phase if frame.pacer_state else None)
            if frame.reconnecting:
                extra.append(Cue.of("visibility", "breath.belt_reconnecting", t_s=t_s))
            elif frame.belt_stopped:
                extra.append(Cue.of("visibility", "breath.belt_stopped", t_s=t_s))
            if self.sound is not None and frame.pacer_state is not None:
                if frame.pacer_state.phase != self._last_pacer_phase:
                    self.sound.phase_change(frame.pacer_state.phase)
                self._last_pacer_phase = frame.pacer_state.phase
            timer.stop("breath", started)
        angles, shown, _ = pipeline.process(t_s, pose, extra_cues=extra)
        started = timer.start()
        if pipeline.policy.changed and shown is not None:
            self.cues_shown.append(shown)
            if recorder is not None:
                recorder.add_cue(t_s=t_s, kind=shown.kind, message_key=shown.message_key,
                                 value=shown.value, limit=shown.limit, priority=shown.priority)
        for rep in pipeline.new_repetitions():
            judged = pipeline.judge_repetition(rep)
            if self.sound is not None:
                self.sound.chime()
            if recorder is not None:
                extra_cols = {}
                if judged is not None:
                    extra_cols = {"breath_coordinated": judged.coordinated,
                                  "inhale_overlap_pct": _round(judged.inhale_overlap_pct),
                                  "exhale_overlap_pct": _round(judged.exhale_overlap_pct)}
                recorder.add_repetition(index=rep.index, angle_name=rep.angle_name, t_start_s=rep.t_start_s,
                                        t_end_s=rep.t_end_s, peak_deg=rep.peak_deg, hold_s=rep.hold_s, **extra_cols)
        if recorder is not None and t_s - self._last_sample_t >= self.sample_interval_s * 0.999:
            recorder.add_samples(t_s, {n: angles.get(n) for n in pipeline.recorded_channels})
            self._last_sample_t = t_s
        timer.stop("record", started)
        if shown is None and t_s < self.welcome_s:  # on screen only: not a cue to record
            shown = Cue.of("encouragement", "session.welcome", t_s=t_s)
        return angles, shown

    def finish(self, *, latency=(), inference=(), frames_read: int | None = None, processed: int | None = None,
               dropped: int = 0, stopped_by: str = "end_of_input", skipped: int = 0,
               pose_rate_hz: float | None = None, not_shown: int = 0, shown_latency=()) -> PracticeResult:
        breath = self.breath.result() if self.breath is not None and (
            self.breath.feed is not None or self.breath.pacer is not None) else None
        return compute_practice_result(self.pipeline, duration_s=self.last_t_s, latency=list(latency), inference=list(inference),
                       frames_read=frames_read if frames_read is not None else processed or 0,
                       processed=processed or 0, dropped=dropped, cues=self.cues_shown, stopped_by=stopped_by,
                       breath=breath, skipped=skipped, pose_rate_hz=pose_rate_hz, not_shown=not_shown,
                       shown_latency=list(shown_latency))


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)

