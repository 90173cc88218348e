"""The chair tests: 30-second chair stand and five times sit-to-stand, from a landmark series.

Both read the rises of :mod:`feedback.assessments.sitstand`; a rise counts as a stand when
the person reaches full standing (hips and knees within the standing angle). The clock
starts at the onset of the first rise out of the chair (the movement itself, so one
person can run the test alone), not at a spoken "go".

- **30-second chair stand** (CDC STEADI, after Jones, Rikli & Beam 1999, *Res Q Exerc
  Sport* 70:113): full stands reached within 30 s of the start; a rise that is over
  halfway up (hip height past ``over_halfway_progress``) when the 30 s run out counts too,
  as the CDC form says. A rise that did not reach full standing is not counted, and the
  result says why, rise by rise.
- **Five times sit-to-stand** (Bohannon 2006, *Percept Mot Skills* 103:215; timing as in
  Whitney et al. 2005 and Goldberg et al. 2012): from the start to seated again after the
  fifth full stand; the time to the fifth full stand (the SPPB's end point) is kept too.
"""

from __future__ import annotations

from core.errors import ValidationError
from feedback.assessments.result import AssessmentResult, rounded
from feedback.assessments.sitstand import (
    SitStandRules, SitStandTrace, compute_sit_stand_trace, describe_short_rise, detect_rises,
)
from sensing.landmarks import LandmarkSeries

CHAIR_STAND_WINDOW_S = 30.0
FIVE_STANDS = 5


def _rises_or_refuse(series: LandmarkSeries, rules: SitStandRules, what: str):
    trace = compute_sit_stand_trace(series, rules=rules)
    rises = detect_rises(trace)
    if not rises:
        where = series.source or "the recording"
        seated = (trace.state == "seated").any()
        why = ("the person was never seen seated" if not seated
               else "the person stayed seated")
        raise ValidationError(f"Nobody stood up from the chair in {where} ({why}), so there is no {what} to "
                              "measure and nothing was stored. Check that the whole body and the chair are in "
                              "view and record the test again.")
    return trace, rises


def compute_rise_quality(trace: SitStandTrace, rises) -> tuple[list[str], list[str]]:
    flags, notes = [], []
    if trace.patient.others:
        flags.append("other_person_in_view")
        hidden = trace.patient.other_frames / max(trace.t_s.size, 1) * 100
        notes.append(f"Another person was followed instead of the patient in {trace.patient.other_frames} frames "
                     f"({hidden:.0f}%); those frames were left out and bridged.")
    if trace.vertical_from == "camera":
        flags.append("vertical_from_camera")
        notes.append("Nobody stood straight for long enough to measure the vertical; the camera's up was used.")
    for r in rises:
        if r.seen_through_gap:
            flags.append("stand_hidden_at_top")
            notes.append(f"The rise at {r.t_leave_s:.1f} s was hidden at its top (someone in front); it was counted "
                         "as a full stand because the hips, carried along their rise into the gap and their descent "
                         f"out of it, reach {trace.rules.hidden_peak_progress:.0%} of standing height.")
    return flags, notes


def list_rise_events(rises) -> tuple[dict, ...]:
    events = []
    for r in rises:
        events.append({"t_s": round(r.t_onset_s, 3), "kind": "rise_onset", "rise": r.index})
        if r.t_standing_s is not None:
            events.append({"t_s": round(r.t_standing_s, 3), "kind": "full_stand", "rise": r.index})
        if r.t_end_s is not None:
            events.append({"t_s": round(r.t_end_s, 3), "kind": "seated", "rise": r.index})
    return tuple(sorted(events, key=lambda e: e["t_s"]))


def compute_chair_stand_30s(series: LandmarkSeries, /, *, rules: SitStandRules = SitStandRules()) -> AssessmentResult:
    """Full stands in 30 s from the first rise's onset (see the module docstring)."""
    trace, rises = _rises_or_refuse(series, rules, "chair stand")
    start = rises[0].t_onset_s
    end = start + CHAIR_STAND_WINDOW_S
    counted = [r for r in rises if r.full and r.t_standing_s is not None and r.t_standing_s <= end]
    counted += [r for r in rises if r.seen_through_gap and r.t_leave_s <= end]
    flags, notes = compute_rise_quality(trace, rises)
    over_halfway = False
    for r in rises:
        if r in counted or not (r.t_onset_s < end) or (r.t_return_s is not None and r.t_return_s <= end):
            continue
        progress = trace.at(end, trace.progress)
        rising = trace.at(end + 0.05, trace.progress) >= progress
        if progress > rules.over_halfway_progress and rising:
            over_halfway = True
            notes.append(f"At 30 s the person was {progress:.0%} of the way up: counted as a stand (CDC STEADI).")
    short = [r for r in rises if not r.full and r.t_onset_s < end]
    notes += [describe_short_rise(r, rules) for r in short]
    if short:
        flags.append("incomplete_stands")
    last_t = float(trace.t_s[-1])
    if last_t < end:
        flags.append("recording_shorter_than_30s")
        notes.append(f"The recording ends {end - last_t:.1f} s before the 30 s were up.")
    count = len(counted) + int(over_halfway)
    fields = {"stands": count, "full_stands_in_30s": len(counted), "counted_over_halfway": over_halfway,
              "incomplete_stands": len(short), "start_s": rounded(start), "end_s": rounded(end)}
    return AssessmentResult("chair-stand-30s", float(count), "stands", fields, list_rise_events(rises), tuple(dict.fromkeys(flags)),
                            tuple(notes), {"rises": [r.to_dict() for r in rises], "rules": vars(rules).copy()})


def compute_five_times_sit_to_stand(series: LandmarkSeries, /, *,
                                    rules: SitStandRules = SitStandRules()) -> AssessmentResult:
    """Seconds from the first rise's onset to seated after the fifth full stand."""
    trace, rises = _rises_or_refuse(series, rules, "five times sit-to-stand")
    full = [r for r in rises if r.full]
    where = series.source or "the recording"
    if len(full) < FIVE_STANDS:
        raise ValidationError(f"Only {len(full)} full stand(s) were found in {where}; the test needs five, so "
                              "nothing was stored. Record the test again with the whole body in view.")
    fifth = full[FIVE_STANDS - 1]
    start = rises[0].t_onset_s
    if fifth.t_end_s is None:
        raise ValidationError(f"The person had not sat down again after the fifth stand when {where} ends, so the "
                              "time cannot be read and nothing was stored. Keep recording until they are seated.")
    flags, notes = compute_rise_quality(trace, rises)
    short = [r for r in rises if not r.full and r.t_onset_s < fifth.t_end_s]
    notes += [describe_short_rise(r, rules) for r in short]
    if short:
        flags.append("incomplete_stands")
    time_s = fifth.t_end_s - start
    to_stand = None if fifth.t_standing_s is None else fifth.t_standing_s - start
    fields = {"time_s": rounded(time_s), "time_to_fifth_stand_s": rounded(to_stand), "incomplete_stands": len(short),
              "start_s": rounded(start), "end_s": rounded(fifth.t_end_s)}
    return AssessmentResult("sit-to-stand-5x", time_s, "s", fields, list_rise_events(rises), tuple(dict.fromkeys(flags)),
                            tuple(notes), {"rises": [r.to_dict() for r in rises], "rules": vars(rules).copy()})

