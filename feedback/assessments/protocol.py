"""What the patient sees during a live test, and when the recording may stop.

:class:`LiveProtocol` is fed one frame at a time (``update(t_s, pose, key)``, frame times in
seconds, so tests drive it with any clock) and answers with a :class:`ProtocolView`: the one
message to show (a message-catalogue key and its values), the phase, and whether the
recording is done. It decides nothing about the result: the analysis reads the whole
recording afterwards (:mod:`feedback.assessments.registry`), finding the start and end
from the movement itself.

Phases, camera: ``instructions`` (each instruction for ``instruction_s``) -> ``waiting``
(the first instruction again, until the start posture, seated or standing, has been held
for ``ready_hold_s``; the therapist's start key skips the wait) -> ``countdown``
(``countdown_s`` seconds, "Starting in 3, 2, 1") -> ``running`` -> ``finished``. The
recording stops by itself when the test is plainly over, read from the posture of each
frame (:func:`~feedback.assessments.sitstand.classify_pose`): 30 s after the first rise out
of the chair (30-second chair stand), seated again after the fifth full stand (five times
sit-to-stand) or after standing (TUG), out of view after walking (gait tests); in each case
``settle_s`` later, so the end of the movement is recorded. The stop key ends it at once,
and every test stops after its ``max_duration_s``.

A video file is the test already done: its protocol (``recorded=True``) is ``running``
from the first frame to the last, with no instructions or countdown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from feedback.assessments.registry import Assessment
from feedback.assessments.sitstand import SEATED, STANDING, UNKNOWN, SitStandRules, classify_pose

KEY_START, KEY_STOP, KEY_CANCEL = "start", "stop", "cancel"
CHAIR_STAND_WINDOW_S = 30.0


@dataclass(frozen=True)
class ProtocolTimings:
    instruction_s: float = 4.0   # each instruction stays this long (read aloud, about 10 words)
    ready_hold_s: float = 1.0    # the start posture held this long starts the countdown
    countdown_s: int = 3
    settle_s: float = 1.5        # recording goes on this long after the test is over
    out_of_view_s: float = 2.0   # gait: gone this long after walking ends the recording


@dataclass(frozen=True)
class ProtocolView:
    phase: str                    # instructions | waiting | countdown | running | finished | cancelled
    message_key: str | None
    params: dict = field(default_factory=dict)
    done: bool = False
    stands: int = 0               # full stands seen live (a guide for the screen, not the result)
    t_running_s: float | None = None


class LiveProtocol:
    """The live sequence for one test (see the module docstring)."""

    def __init__(self, assessment: Assessment, /, *, timings: ProtocolTimings = ProtocolTimings(),
                 rules: SitStandRules = SitStandRules(), recorded: bool = False) -> None:
        self.assessment = assessment
        self.timings = timings
        self.rules = rules
        self.phase = "running" if recorded else "instructions"
        self._t0: float | None = None
        self._ready_since: float | None = None
        self._countdown_at: float | None = None
        self.t_running_s: float | None = None
        self._first_rise_s: float | None = None
        self._end_at: float | None = None
        self._state = UNKNOWN
        self._seen_seated = False
        self.stands = 0
        self._walked = False
        self._gone_since: float | None = None

    def _message(self, key: str | None, **params) -> ProtocolView:
        return ProtocolView(self.phase, key, params, self.phase in ("finished", "cancelled"), self.stands,
                            self.t_running_s)

    def update(self, t_s: float, pose, /, key: str | None = None) -> ProtocolView:
        """The view for the frame at ``t_s`` with ``pose`` (None: nobody found) and the
        therapist's ``key`` (``start``, ``stop``, ``cancel`` or None)."""
        if self._t0 is None:
            self._t0 = t_s
            if self.phase == "running":
                self.t_running_s = t_s
        if self.phase in ("finished", "cancelled"):
            return self._message("assessment.finished")
        if key == KEY_CANCEL:
            self.phase = "cancelled"
            return self._message(None)
        state = classify_pose(pose, rules=self.rules)
        if key == KEY_STOP:
            self.phase = "finished"
            return self._message("assessment.finished")
        if self.phase == "instructions":
            k = int((t_s - self._t0) // self.timings.instruction_s)
            if k < len(self.assessment.instructions) and key != KEY_START:
                return self._message(self.assessment.instructions[k])
            self.phase = "waiting"
        if self.phase == "waiting":
            ready = state == self.assessment.start_posture
            self._ready_since = (self._ready_since if self._ready_since is not None else t_s) if ready else None
            if key == KEY_START or (ready and t_s - self._ready_since >= self.timings.ready_hold_s):
                self.phase, self._countdown_at = "countdown", t_s
            else:
                return self._message(self.assessment.instructions[0])
        if self.phase == "countdown":
            left = self.timings.countdown_s - (t_s - self._countdown_at)
            if left > 0:
                return self._message("assessment.countdown", count=math.ceil(left))
            self.phase, self.t_running_s = "running", t_s
        return self._running(t_s, state)

    def _running(self, t_s: float, state: str) -> ProtocolView:
        name = self.assessment.name
        if state == SEATED:
            self._seen_seated = True
        if state in (SEATED, STANDING):  # a full stand: standing, last seen seated
            if state == STANDING and self._state == SEATED:
                self.stands += 1
            self._state = state
        if state != SEATED and self._seen_seated and self._first_rise_s is None and state != UNKNOWN:
            self._first_rise_s = t_s
        if name == "chair-stand-30s" and self._first_rise_s is not None and self._end_at is None:
            self._end_at = self._first_rise_s + CHAIR_STAND_WINDOW_S + self.timings.settle_s
        elif name == "sit-to-stand-5x" and self.stands >= 5 and state == SEATED and self._end_at is None:
            self._end_at = t_s + self.timings.settle_s
        elif name == "tug" and self.stands >= 1 and state == SEATED and self._end_at is None:
            self._end_at = t_s + self.timings.settle_s
        elif self.assessment.start_posture == STANDING:
            self._walked = self._walked or state == STANDING
            self._gone_since = (self._gone_since or t_s) if state == UNKNOWN else None
            if self._walked and self._gone_since is not None and t_s - self._gone_since >= self.timings.out_of_view_s:
                self._end_at = t_s
        over_time = self.t_running_s is not None and t_s - self.t_running_s >= self.assessment.max_duration_s
        if over_time or (self._end_at is not None and t_s >= self._end_at):
            self.phase = "finished"
            return self._message("assessment.finished")
        return self._message(self.assessment.running_message)
