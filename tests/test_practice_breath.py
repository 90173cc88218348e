"""Breath in the live practice session: one clock, one session, coordination per repetition.

- The CLI on real video (MediaPipe, run once per module) with a real belt recording replayed.
- The pipeline without video: simulated poses (``synthetic``) on the same clock as a
  breath signal, through the real pipeline, recorder and SQLite file.
"""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest
from scipy import signal

from feedback.exercises import load_exercise, parse_exercise
from calibration.practice import build_practice_pipeline
from feedback.session import BeltFeed, PracticeBreath, PracticeSession, ReplayFeed
from synthetic import simulate_pose_frame
from core.errors import ValidationError

VIDEO = "video/sports2d_demo.mp4"
BELT = "breath/resp3_belt.npy"
BELT_RATE_HZ = 1000.0


def query(path, sql: str, *args):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def zero_crossing_rate_bpm(values: np.ndarray, rate_hz: float) -> float:
    """Reference breath rate, independent of the analyzer: upward zero crossings of a
    zero-phase (filtfilt) 0.05-1 Hz band-passed copy, counted over their span."""
    b, a = signal.butter(2, [0.05, 1.0], btype="band", fs=rate_hz)
    y = signal.filtfilt(b, a, values)
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0)) / rate_hz
    return 60.0 * (up.size - 1) / (up[-1] - up[0])


# --- the CLI on real video (one MediaPipe run for the module) -------------------------------

@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    from conftest import shared_file
    from mindmove.cli import main

    video, belt = shared_file(VIDEO), shared_file(BELT)
    data_dir = tmp_path_factory.mktemp("practice-breath")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINDMOVE_DATA_DIR", str(data_dir))
        mp.delenv("MINDMOVE_DB_URL", raising=False)
        rc = main(["practice", "--patient", "P010", "--exercise", "standing_shoulder_flexion", "--no-window",
                   "--fast", "--source", str(video), "--breath-replay", str(belt), "--rate-hz", "1000"])
    return rc, data_dir / "mindmove.db", np.load(belt)


def test_cli_movement_and_breath_in_one_session_on_one_clock(cli_run):
    rc, db, belt = cli_run
    assert rc == 0
    (sid, status, summary_json), = query(db, "select id, status, summary from sessions")
    assert status == "completed"
    channels = dict((c, (n, lo, hi)) for c, n, lo, hi in query(
        db, "select channel, count(*), min(t_s), max(t_s) from samples where session_id=? group by channel", sid))
    n_angle, a_lo, a_hi = channels["right_shoulder_flexion_deg"]
    n_breath, b_lo, b_hi = channels["breath"]
    # The breath ran with the video's own clock (--fast: far faster than wall time), never past its last frame.
    assert a_lo == 0.0 and b_lo == 0.0 and b_hi <= a_hi + 1e-9 and b_hi > a_hi - 0.1
    assert n_breath / (b_hi - b_lo) >= 24.0  # stored at the analyzer's 25 Hz
    # Each stored value is the replayed file's sample at that session time: one clock.
    rows = query(db, "select t_s, value from samples where session_id=? and channel='breath' order by t_s", sid)
    t = np.array([r[0] for r in rows])
    v = np.array([r[1] for r in rows])
    assert np.array_equal(v, belt[np.round(t * BELT_RATE_HZ).astype(int)])
    summary = json.loads(summary_json)
    (breaths, target, detail_json), = query(
        db, "select breaths, pacer_target_bpm, detail from breath_results where session_id=?", sid)
    detail = json.loads(detail_json)
    assert target == 6.0 and detail["rate_hz"] == BELT_RATE_HZ and detail["samples_stored"] == n_breath
    assert summary["breath"]["breaths"] == breaths
    # The 7.6 s clip holds the start of this belt: two small humps (0-3.5 s, which by eye may
    # be one shallow breath or not: tests/data/breath_annotations/resp3_belt.csv leaves them
    # unscored) and the deep breath from 3.7 s, unfinished. At most that one breath is claimed.
    assert summary["breath"]["breaths"] <= 1
    if summary["breath"]["rate_bpm"] is not None:
        assert 6.0 <= summary["breath"]["rate_bpm"] <= 60.0  # one complete breath of the clip
    coord = summary["breath_coordination"]
    reps = query(db, "select breath_coordinated, inhale_overlap_pct from repetitions where session_id=?", sid)
    assert coord["repetitions"] == len(reps) == summary["repetitions"] >= 1


# --- the pipeline without video -------------------------------------------------------------

FPS = 15.0
REST_DEG, TOP_DEG = 5.0, 89.0  # comfortable range 0-120: start 36 deg, top 84 deg (simulator: < 90)


def arm_angle(t_s: float, starts_s: list[float], *, up_s=2.0, hold_s=1.2, down_s=2.0) -> float:
    """Shoulder flexion: smooth (cosine) rises starting at ``starts_s``, hold, smooth lowering."""
    for t0 in starts_s:
        u = t_s - t0
        if 0 <= u < up_s:
            return REST_DEG + (TOP_DEG - REST_DEG) * (1 - math.cos(math.pi * u / up_s)) / 2
        if up_s <= u < up_s + hold_s:
            return TOP_DEG
        if up_s + hold_s <= u < up_s + hold_s + down_s:
            w = u - up_s - hold_s
            return TOP_DEG - (TOP_DEG - REST_DEG) * (1 - math.cos(math.pi * w / down_s)) / 2
    return REST_DEG


def run_simulated(store, breath: PracticeBreath, starts_s: list[float], duration_s: float, *,
                  exercise: str = "standing_shoulder_flexion"):
    from mindmove.store.recording import SessionRecorder

    pipeline = build_practice_pipeline(load_exercise(exercise))
    recorder = SessionRecorder(store, "P020", exercise=exercise)
    sid = recorder.start()
    session = PracticeSession(pipeline, recorder=recorder, breath=breath)
    session.start(0.0)
    for i in range(int(duration_s * FPS)):
        t = i / FPS
        session.update(t, simulate_pose_frame({"right_shoulder_flexion_deg": arm_angle(t, starts_s)}))
    result = session.finish(processed=int(duration_s * FPS))
    recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s)
    return sid, result


def sine_breath(duration_s: float, *, cycle_s: float, rate_hz: float = 50.0):
    """Belt-like breath: rising (inhaling) during the first half of each cycle from t = 0."""
    t = np.arange(0.0, duration_s, 1.0 / rate_hz)
    return t, -np.cos(2 * np.pi * t / cycle_s)


@pytest.mark.parametrize("shift_s, expected", [(0.5, True), (3.5, False)])
def test_rises_during_inhales_are_coordinated_and_during_exhales_not(_isolated_data_dir, shift_s, expected):
    from mindmove.store.db import open_store

    cycle = 6.0  # 10 breaths/min: inhale in [6k, 6k+3), exhale in [6k+3, 6k+6)
    t, v = sine_breath(56.0, cycle_s=cycle)
    breath = PracticeBreath(feed=ReplayFeed(t, v, rate_hz=50.0), polarity="normal")
    starts = [cycle * k + shift_s for k in (1, 3, 5, 7)]  # rise 2 s, hold 1.2 s, lower 2 s
    store = open_store()
    sid, result = run_simulated(store, breath, starts, 54.0)
    db = _isolated_data_dir / "mindmove.db"
    reps = query(db, "select breath_coordinated, inhale_overlap_pct, exhale_overlap_pct, t_start_s "
                     "from repetitions where session_id=? order by t_start_s", sid)
    assert len(reps) == 4
    assert [bool(r[0]) for r in reps] == [expected] * 4
    for _, inhale, exhale, _ in reps:
        if expected:  # the rise within an inhale; the lowering within an exhale
            assert inhale >= 85.0 and exhale >= 85.0
        else:
            assert inhale <= 15.0 and exhale <= 15.0
    coord = result.summary["breath_coordination"]
    assert (coord["judged"], coord["coordinated"]) == (4, 4 if expected else 0)
    # Breath samples are in the same session as the angles.
    (n,), = query(db, "select count(*) from samples where session_id=? and channel='breath'", sid)
    assert n >= 24 * 49
    cues = {k for (k,) in query(db, "select message_key from cues where session_id=?", sid)}
    # An invitation before the first repetition; repeated only when the breath was elsewhere.
    assert "breath.raise_on_inhale" in cues


def test_real_belt_minute_rate_on_the_session_clock(shared, _isolated_data_dir):
    """60 s of the real belt recording replayed in step with simulated movement frames: the
    BreathResult's rate against a zero-crossing reference of the same stretch."""
    from mindmove.store.db import open_store
    from mindmove.store.models import BreathResult
    from sensing.breath_source import load_breath_file

    duration = 60.0
    t, v, rate = load_breath_file(shared(BELT), rate_hz=BELT_RATE_HZ)
    breath = PracticeBreath(feed=ReplayFeed(t, v, rate_hz=rate))
    store = open_store()
    sid, result = run_simulated(store, breath, [10.0, 25.0, 40.0], duration)
    with store.session() as db:
        db.add(BreathResult(session_id=sid, **result.breath))
    stretch = v[: int(round(result.summary["duration_s"] * rate)) + 1]
    reference = zero_crossing_rate_bpm(stretch, rate)
    (rate_bpm, breaths), = query(_isolated_data_dir / "mindmove.db",
                                 "select rate_bpm, breaths from breath_results where session_id=?", sid)
    print(f"belt minute: BreathResult {rate_bpm:.2f}/min, reference {reference:.2f}/min")
    assert abs(rate_bpm - reference) <= 1.5, (rate_bpm, reference)
    assert breaths >= 10


class FakeBeltStream:
    """Stands in for ``sensing.belts.BeltStream`` (the hardware seam): a 10 Hz belt whose link
    drops from 12 to 15 s; after reconnecting it reports the ``Gap``, as the real supervisor does."""

    DROP = (12.0, 15.0)

    def __init__(self, clock):
        self.clock = clock
        self.connected = True
        self._next_t = 0.0
        self._gap_sent = False

    def read(self, *, timeout_s: float = 0.0):
        from sensing.belts.base import BreathSample, Gap

        d0, d1 = self.DROP
        now = self.clock()
        self.connected = not d0 <= now < d1
        events = []
        while self._next_t <= now:
            t = self._next_t
            self._next_t = round(t + 0.1, 6)
            if d0 <= t < d1:
                continue
            if t >= d1 and not self._gap_sent:
                events.append(Gap(d0, d1))
                self._gap_sent = True
            events.append(BreathSample(t, math.sin(2 * math.pi * t / 5.0)))
        return events


def test_belt_drop_is_shown_calmly_and_kept_as_nan(_isolated_data_dir):
    from mindmove.store.db import open_store
    from mindmove.store.recording import SessionRecorder

    clock = {"t": 0.0}
    stream = FakeBeltStream(lambda: clock["t"])
    breath = PracticeBreath(feed=BeltFeed(stream, clock=lambda: clock["t"]))
    store = open_store()

    pipeline = build_practice_pipeline(load_exercise("standing_shoulder_flexion"))
    recorder = SessionRecorder(store, "P030", exercise="standing_shoulder_flexion")
    sid = recorder.start()
    session = PracticeSession(pipeline, recorder=recorder, breath=breath)
    session.start(0.0)
    for i in range(int(25 * FPS)):
        clock["t"] = i / FPS
        session.update(clock["t"], simulate_pose_frame({"right_shoulder_flexion_deg": REST_DEG}))
    result = session.finish(processed=int(25 * FPS))
    recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s)
    db = _isolated_data_dir / "mindmove.db"
    cues = query(db, "select t_s, kind, message_key from cues where session_id=?", sid)
    shown = [t for t, kind, key in cues if key == "breath.belt_reconnecting"]
    assert shown and all(12.0 <= t < 15.5 for t in shown)
    assert {k for _, k, m in cues if m == "breath.belt_reconnecting"} == {"visibility"}
    rows = query(db, "select t_s, value from samples where session_id=? and channel='breath' order by t_s", sid)
    gap_rows = [(t, v) for t, v in rows if 12.0 <= t < 15.0]
    assert len(gap_rows) >= 20 and all(v is None for _, v in gap_rows)  # the silence is stored as NULL (NaN)
    assert sum(1 for t, v in rows if v is not None and t >= 15.0) > 80  # streaming resumed
    assert result.breath["detail"]["gaps"] >= 1  # the analyzer reset at the gap, bridged nothing


def test_breath_table_in_exercise_files():
    ex = load_exercise("seated_shoulder_flexion")
    assert (ex.breath.raise_on, ex.breath.lower_on, ex.breath.pacer_rate_bpm) == ("inhale", "exhale", 6.0)
    assert load_exercise("elbow_flexion").breath is None
    base = 'title = "T"\nposition = "seated"\n[tracking]\nmotion = "shoulder_flexion"\nsides = ["right"]\n'
    with pytest.raises(ValidationError, match=r"x\.toml: field 'breath\.raise_on' should be one of inhale"):
        parse_exercise(base + '[breath]\nraise_on = "exhale"\n', name="x", origin="x.toml")
    with pytest.raises(ValidationError, match=r"'breath\.min_overlap_pct'"):
        parse_exercise(base + '[breath]\nraise_on = "inhale"\nmin_overlap_pct = 120\n', name="x", origin="x.toml")


def test_pacer_drawn_in_a_corner_when_the_exercise_asks():
    from feedback.pacer import Pacer, PacerPlan
    from feedback.render_practice import render_practice_frame

    pipeline = build_practice_pipeline(load_exercise("standing_shoulder_flexion"))
    image = np.full((720, 1280, 3), 128, np.uint8)
    plain = render_practice_frame(image, None, {}, None, pipeline)
    pipeline.pacer_state = Pacer(PacerPlan()).state(2.0)  # mid-inhale
    with_pacer = render_practice_frame(image, None, {}, None, pipeline)
    changed = np.any(with_pacer != plain, axis=2)
    ys, xs = np.nonzero(changed)
    assert xs.max() < 1280 * 0.3 and ys.min() > 720 * 0.3  # bottom-left corner only
    assert ys.max() < 720 - 720 / 13  # above the cue band
    assert changed.sum() > 0.5 * (0.34 * 720) ** 2  # a sizeable guide, not a speck


def test_sound_is_silent_without_an_audio_device():
    from feedback.sound import SilentPlayer, compute_chime, open_sound

    class NoOutputDevice:  # a fake sounddevice module: the hardware seam
        class PortAudioError(Exception):
            pass

        def query_devices(self, kind=None):
            raise self.PortAudioError("Error querying device -1")

    player = open_sound(backend=NoOutputDevice())
    assert isinstance(player, SilentPlayer)
    player.phase_change("inhale")
    player.chime()
    chime = compute_chime()
    assert 0 < np.abs(chime).max() <= 0.08 + 1e-6 and abs(chime[0]) < 1e-3 and abs(chime[-1]) < 1e-3
