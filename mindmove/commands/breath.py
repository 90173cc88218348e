"""`mindmove breath analyze` and `mindmove breathe` (see docs/breath.md)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from core.errors import ValidationError
from sensing.belts.kinds import belt_kinds_help

log = logging.getLogger(__name__)

BASELINE_S = 60.0  # the resting rate is measured over the first minute...
BASELINE_SHARE = 1 / 3  # ...or the first third of a shorter session
MIN_BASELINE_BREATHS = 3
FRAME_SIZE = (720, 1280)  # height, width of the pacer window
BACKGROUND_BGR = (40, 40, 40)
WINDOW_NAME = "MindMove breathing"
FRAME_INTERVAL_S = 0.05
MAX_SESSION_MIN = 120.0  # a guided breathing session; longer is a typing slip (inf, 1e308)
MAX_RAMP_MIN = 60.0


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    breath_app = typer.Typer(help="Breath recordings: analyse a file.", no_args_is_help=True)
    breath_app.command("analyze")(analyze_command)
    app.add_typer(breath_app, name="breath")
    app.command("breathe")(breathe_command)


SIGNAL_HELP = ("What the recording measures, which fixes the polarity: belt | impedance | airflow | co2 | "
               "thermistor | accelerometer | auto (unknown: decided from the waveform, with a confidence). "
               "Default: the file's '# signal:' line, the --belt-kind's sensor, else auto.")


def analyze_command(
    file: Path = typer.Argument(..., help="t_s,value CSV, one-column text (# headers allowed), .npy, a CSV with --column, or a raw belt log."),
    out: Path = typer.Option(..., "--out", help="Folder for breaths.csv and breath_summary.json."),
    rate_hz: Optional[float] = typer.Option(None, "--rate-hz", help="Sampling rate, for files without times."),
    signal: Optional[str] = typer.Option(None, "--signal", help=SIGNAL_HELP),
    polarity: Optional[str] = typer.Option(None, "--polarity", help="Override the signal's polarity: auto | normal (rise = inhale) | inverted."),
    belt_kind: Optional[str] = typer.Option(None, "--belt-kind", help=f"For a raw notification log: {belt_kinds_help()}."),
    column: Optional[str] = typer.Option(None, "--column", help="The column to read from a CSV of named columns without times (e.g. RSP)."),
) -> None:
    """Find every breath in a recording; write breaths.csv and breath_summary.json."""
    from feedback.breath import analyze_breath, save_breath_outputs
    from mindmove.inputs import check_breath_options, recording_signal
    from sensing.breath_source import load_breath_file

    check_breath_options(signal=signal, polarity=polarity, belt_kind=belt_kind, rate_hz=rate_hz)
    t_s, values, rate = load_breath_file(file, rate_hz=rate_hz, belt_kind=belt_kind, column=column)
    kind = recording_signal(file, signal=signal, belt_kind=belt_kind)
    analysis = analyze_breath(t_s, values, rate_hz=rate, signal=kind, polarity=polarity)
    analysis.summary["file"] = Path(file).name
    csv_path, json_path = save_breath_outputs(analysis, out)
    s = analysis.summary
    rate_text = f"{s['rate_bpm']:.1f}" if s["rate_bpm"] is not None else "-"
    ie_text = f"{s['ie_ratio_median']:.2f}" if s["ie_ratio_median"] is not None else "-"
    confidence = s.get("polarity_confidence")
    basis = (f"from the {s['signal']} signal" if s["polarity_basis"] == "signal" else
             f"from the waveform, {100 * confidence:.0f}% of breaths agree" if confidence is not None else "assumed")
    excluded = ", ".join(f"{v:.1f} s {k.replace('_', ' ')}" for k, v in s["excluded_s"].items())
    typer.echo(f"{s['breaths']} breaths, {rate_text} breaths/min, exhale/inhale {ie_text}, "
               f"polarity {s['polarity']} ({basis})" + (f"; excluded {excluded}" if excluded else "")
               + f"; wrote {csv_path} and {json_path}")
    for warning in s["warnings"]:
        typer.echo(f"Warning: {warning}", err=True)


def _profile_breath(store, patient: str):
    """(breath target, profile version id) from the patient's calibration profile, or Nones."""
    from mindmove.store.profiles import load_profile

    record = load_profile(store, patient)
    return (None, None) if record is None else (record.profile.breath, record.version_id)


def build_plan(*, rate: float | None, ratio: str | None, box: str | None, ramp_min: float,
               ramp_from_bpm: float | None, profile_breath=None):
    """The pacer plan from the options, falling back on the profile, then the defaults."""
    from feedback.pacer import PacerPlan, parse_box, parse_ratio

    ramp = {"ramp_from_bpm": ramp_from_bpm, "ramp_s": 60.0 * ramp_min} if ramp_from_bpm and ramp_min > 0 else {}
    if box:
        return PacerPlan.box(*parse_box(box), **ramp)
    target = rate if rate is not None else (profile_breath.target_rate_bpm if profile_breath else 6.0)
    ie = parse_ratio(ratio) if ratio else (profile_breath.ie_ratio if profile_breath else 2.0)
    return PacerPlan(rate_bpm=target, ie_ratio=ie, **ramp)


@dataclass
class BreatheLoop:
    """One breath-only session: baseline, pacer, and the shared breath recording
    (:class:`feedback.breath_session.BreathRecording`: live analysis, storage, scoring).

    The clock is the breath source's (replayed or belt time) when there is one, else the
    wall clock. ``on_frame(pacer_state_or_None, cue_key)`` draws (the CLI passes a window).
    """

    recorder: object
    plan_options: dict
    recording: object  # feedback.breath_session.BreathRecording
    on_frame: object = None
    baseline_s: float = 0.0
    resting_rate_bpm: float | None = None
    last_cue: str | None = None
    last_t_s: float | None = None

    @property
    def pacer(self):
        return self.recording.pacer

    def start_pacer(self, t_s: float, ramp_from_bpm: float | None) -> None:
        from feedback.pacer import Pacer

        self.recording.start_pacer(Pacer(build_plan(ramp_from_bpm=ramp_from_bpm, **self.plan_options)), t_s=t_s)

    def pacer_state(self, t_s: float):
        return self.recording.pacer_state(t_s)

    def chunk(self, t: np.ndarray, v: np.ndarray) -> None:
        rec = self.recording
        rec.update(t, v, recorder=self.recorder)
        t_now = float(t[-1])
        self.last_t_s = t_now
        if rec.pacer is None and t_now >= self.baseline_s:
            self.resting_rate_bpm = rec.rate_before_bpm(self.baseline_s, min_breaths=MIN_BASELINE_BREATHS)
            self.start_pacer(t_now, self.resting_rate_bpm)
        state = self.pacer_state(t_now)
        score = rec.score(t_now, state)
        if score is not None and score.cue_key:
            self.last_cue = score.cue_key
            self.recorder.add_cue(t_s=t_now, kind="breath", message_key=score.cue_key,
                                  value=score.rate_difference_bpm)
        if self.on_frame is not None:
            self.on_frame(state, self.last_cue)

    def result(self) -> dict:
        """The BreathResult row's fields and the session summary."""
        rec = self.recording
        if self.resting_rate_bpm is None:  # too few breaths were confirmed when the guide started
            self.resting_rate_bpm = rec.rate_before_bpm(max(self.baseline_s, rec.pacer_start_s))
        return rec.result(resting_rate_bpm=self.resting_rate_bpm)


def breathe_command(
    patient: str = typer.Option(..., "--patient", help="The patient's clinic ID."),
    rate: Optional[float] = typer.Option(None, "--rate", help="Target breaths/min (default: profile, else 6)."),
    ratio: Optional[str] = typer.Option(None, "--ratio", help="inhale:exhale, e.g. 1:2 (default: profile, else 1:2)."),
    box: Optional[str] = typer.Option(None, "--box", help="Box breathing seconds, e.g. 4-4-4-4."),
    ramp_min: float = typer.Option(3.0, "--ramp-min", help="Minutes to ramp from the resting rate to the target."),
    belt: Optional[str] = typer.Option(None, "--belt", help="A breathing belt's name or address."),
    breath_replay: Optional[Path] = typer.Option(None, "--breath-replay", help="Replay a breath recording instead of a belt."),
    rate_hz: Optional[float] = typer.Option(None, "--rate-hz", help="Sampling rate of the replay file, if it has no times."),
    belt_kind: Optional[str] = typer.Option(None, "--belt-kind", help=f"{belt_kinds_help()} (a belt, or a raw log replay)."),
    signal: Optional[str] = typer.Option(None, "--signal", help=SIGNAL_HELP.replace("--belt-kind's sensor", "belt's sensor")),
    polarity: Optional[str] = typer.Option(None, "--polarity", help="Override the signal's polarity: auto | normal | inverted."),
    minutes: float = typer.Option(5.0, "--minutes", help="Session length in minutes."),
    no_window: bool = typer.Option(False, "--no-window", help="Do not open the pacer window."),
    sound: bool = typer.Option(False, "--sound", help="Soft tones at phase changes."),
    fast: bool = typer.Option(False, "--fast", help="Replay without waiting (tests)."),
) -> None:
    """A breath-only session: the pacer on screen, breath from a belt or a replay, stored."""
    from feedback.breath_session import BreathRecording
    from mindmove.store.db import open_store
    from mindmove.store.recording import SessionRecorder
    from feedback.messages import load_catalogue
    from mindmove.inputs import check_breath_options, check_number, recording_signal

    if belt and breath_replay:
        raise ValidationError("Use either --belt or --breath-replay, not both.")
    check_number(minutes, option="--minutes", low=0.0, low_open=True, high=MAX_SESSION_MIN, unit="minutes")
    check_number(ramp_min, option="--ramp-min", low=0.0, high=MAX_RAMP_MIN, unit="minutes")
    check_breath_options(signal=signal, polarity=polarity, belt_kind=belt_kind, rate_hz=rate_hz)
    load_catalogue()  # a clinic's message file is checked before anything starts
    if not no_window:
        from mindmove.display import check_display

        check_display(window="the breathing guide")
    with open_store() as store:
        profile_breath, profile_version_id = _profile_breath(store, patient)
        plan_options = {"rate": rate, "ratio": ratio, "box": box, "ramp_min": ramp_min,
                        "profile_breath": profile_breath}
        build_plan(ramp_from_bpm=None, **plan_options)  # validate the options before anything starts
        max_s = 60.0 * minutes
        source, stream = _open_breath_source(belt, breath_replay, rate_hz=rate_hz, belt_kind=belt_kind,
                                             realtime=not fast, max_s=max_s)
        if stream is not None:
            signal = signal or stream.adapter.signal
        kind = recording_signal(breath_replay, signal=signal, belt_kind=belt_kind)
        player = None
        if sound:
            from feedback.sound import open_sound
            player = open_sound()
        show = _make_window(player) if not no_window else (_make_sound_only(player) if player else None)
        recorder = SessionRecorder(store, patient, kind="breathe", profile_version_id=profile_version_id,
                                   background=True)
        session_id = recorder.start()
        loop = BreatheLoop(recorder=recorder, plan_options=plan_options, on_frame=show,
                           recording=BreathRecording(rate_hz=source.rate_hz if source else None, polarity=polarity,
                                                     signal=kind))
        try:
            status = _run_breathe(loop, source, show, max_s=max_s, ramp_min=ramp_min,
                                  resting_bpm=profile_breath.resting_rate_bpm if profile_breath else None)
        finally:
            if stream is not None:
                stream.close()
        fields, saved, belt_error = _finish_breathe(store, recorder, session_id, loop, source, status)
    _echo_breathe_result(session_id, fields, saved=saved, belt_error=belt_error)


def _open_breath_source(belt, breath_replay, *, rate_hz, belt_kind, realtime: bool, max_s: float):
    """(breath source or None, belt stream or None): a replayed file, a belt, or neither (pacer only)."""
    if breath_replay is not None:
        from sensing.breath_source import open_breath_replay
        return open_breath_replay(breath_replay, rate_hz=rate_hz, realtime=realtime, max_s=max_s,
                                  belt_kind=belt_kind), None
    if belt is not None:
        from mindmove.commands.belt import _backends
        from sensing.belts import open_belt
        from sensing.breath_source import BeltBreathSource
        client_backend, scanner_backend = _backends()
        stream = open_belt(belt, kind=belt_kind, backend=client_backend, scanner_backend=scanner_backend)
        return BeltBreathSource(stream, max_s=max_s), stream
    return None, None


def _run_breathe(loop: BreatheLoop, source, show, *, max_s: float, ramp_min: float,
                 resting_bpm: float | None) -> str:
    """Run the session until its end, the window closing or Ctrl+C; returns its status.

    Without a breath source the pacer runs on the wall clock; with one, on the source's clock,
    after a resting baseline unless the profile knows the resting rate."""
    try:
        if source is None:
            loop.start_pacer(0.0, resting_bpm)
            t0 = time.monotonic()
            while (t := time.monotonic() - t0) < max_s:
                if show is not None:
                    show(loop.pacer_state(t), None)
                time.sleep(FRAME_INTERVAL_S)
        else:
            if resting_bpm is None:
                loop.baseline_s = min(BASELINE_S, BASELINE_SHARE * max_s) if ramp_min > 0 else 0.0
            else:
                loop.resting_rate_bpm = resting_bpm
                loop.start_pacer(0.0, resting_bpm)
            for t, v in source.samples():
                loop.chunk(t, v)
    except _WindowClosed:
        pass  # the patient finished early: the session is complete
    except KeyboardInterrupt:
        return "interrupted"
    return "completed"


def _finish_breathe(store, recorder, session_id: int, loop: BreatheLoop, source, status: str):
    """Store the breath result and finish the session: (fields, all saved, belt error or None)."""
    from mindmove.store.recording import save_breath_result

    belt_error = getattr(source, "error", None)
    if belt_error is not None:  # the belt gave up: keep what was recorded, say so once
        status = "interrupted"
    fields = loop.result()
    if belt_error is not None:
        fields["detail"]["belt_error"] = str(belt_error)
    saved = save_breath_result(store, session_id, fields)
    saved = recorder.finish(summary={"breath": {k: v for k, v in fields.items() if k != "detail"}}, status=status,
                            active_s=loop.last_t_s) and saved
    return fields, saved, belt_error


def _echo_breathe_result(session_id: int, fields: dict, *, saved: bool, belt_error) -> None:
    if not saved:
        from feedback.messages import message

        typer.echo(message("session.not_all_saved"))
    rate_text = f"{fields['rate_bpm']:.1f}" if fields.get("rate_bpm") else "-"
    agree = fields.get("pacer_agreement_pct")
    agree_text = f", pacer agreement {agree:.0f}%" if agree is not None else ""
    typer.echo(f"session {session_id}: {fields['breaths']} breaths, {rate_text} breaths/min{agree_text}")
    for warning in fields["detail"].get("warnings", []) if fields["breaths"] else []:
        typer.echo(f"Warning: {warning}", err=True)
    if belt_error is not None:
        typer.echo(f"The belt stopped, so the session ended early: {belt_error}", err=True)


class _WindowClosed(Exception):
    """The patient closed the pacer window (q or Esc)."""


def _make_sound_only(player):
    last = {"phase": None}

    def on_frame(state, _cue) -> None:
        if state is not None and state.phase != last["phase"]:
            player.phase_change(state.phase)
            last["phase"] = state.phase
    return on_frame


def _make_window(player):
    import cv2

    from feedback.render_breath import render_message, render_pacer

    canvas = np.full((*FRAME_SIZE, 3), BACKGROUND_BGR, dtype=np.uint8)
    sound_frame = _make_sound_only(player) if player else None

    def on_frame(state, cue) -> None:
        if sound_frame:
            sound_frame(state, cue)
        if state is None:  # the resting minute: no guide yet, breathe as you are
            image = render_message(canvas, "session.ready")
        else:
            image = render_pacer(canvas, state, caption_key=cue)
        cv2.imshow(WINDOW_NAME, image)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            raise _WindowClosed()
    return on_frame
