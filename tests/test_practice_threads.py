"""The live loop's threads: pose on its own thread, drawing and showing on the caller's, the
hand-over between them, the station's pose rate, the stage timer, and the recorder keeping
every row however the session stops.

Frames come from fake sources with their own times, unpaced (every frame handed over and
waited for): nothing here depends on the wall clock or the machine's speed.
"""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from calibration.practice import build_practice_pipeline
from core.errors import SourceError
from core.timing import NO_TIMER, StageTimer
from feedback.exercises import load_exercise
from feedback.session import run_practice
from feedback.session.capture import Mailbox
from sensing.video import Frame
from synthetic import simulate_pose_frame


class _Source:
    """``n`` frames at ``fps`` on the source's own clock; not live, so unpaced runs take all."""

    live = False

    def __init__(self, n: int, fps: float = 30.0) -> None:
        self.n, self.fps = n, fps

    def frames(self):
        for i in range(self.n):
            yield Frame(np.zeros((8, 8, 3), np.uint8), i / self.fps, i)


class _Estimator:
    """A body at rest; notes which thread runs the model and what the loop gave it."""

    def __init__(self, *, fail_at: int | None = None) -> None:
        self.threads: set[str] = set()
        self.times: list[float] = []
        self.fail_at = fail_at

    def estimate(self, image_bgr, t_s):
        self.threads.add(threading.current_thread().name)
        if self.fail_at is not None and len(self.times) == self.fail_at:
            raise SourceError("the camera went away")
        self.times.append(t_s)
        return simulate_pose_frame({})


class _Sink:
    def __init__(self, *, stop_after: int | None = None) -> None:
        self.shown: list[float] = []
        self.stop_after = stop_after

    def show(self, image, /, *, t_s):
        self.shown.append(t_s)
        return self.stop_after is None or len(self.shown) < self.stop_after


def _pipeline():
    return build_practice_pipeline(load_exercise("standing_shoulder_flexion"))


def test_pose_runs_on_its_thread_drawing_on_the_callers_and_every_result_is_shown_in_order():
    estimator, sink, drawn_on = _Estimator(), _Sink(), set()

    def render(image, pose, angles, cue, pipeline):
        drawn_on.add(threading.current_thread().name)
        return image

    result = run_practice(_Source(40), estimator, _pipeline(), sinks=[sink], render=render, pace=False,
                          finished_show_s=0.0)
    assert estimator.threads == {"mindmove-pose"}
    assert drawn_on == {threading.current_thread().name}
    assert result.frames_processed == 40 and result.frames_not_shown == 0
    assert sink.shown == [pytest.approx(i / 30.0) for i in range(40)]
    assert len(result.shown_latency_s) == 40


def test_a_sink_that_says_stop_ends_the_session_at_once():
    sink = _Sink(stop_after=5)
    result = run_practice(_Source(300), _Estimator(), _pipeline(), sinks=[sink], render=lambda i, *_: i,
                          pace=False)
    assert result.stopped_by == "window"
    assert len(sink.shown) == 5  # no closing image after the window was closed
    assert 5 <= result.frames_processed <= 6  # the pose thread waits for the display when unpaced


def test_an_error_of_the_model_reaches_the_caller():
    with pytest.raises(SourceError, match="camera went away"):
        run_practice(_Source(50), _Estimator(fail_at=7), _pipeline(), sinks=[_Sink()], render=lambda i, *_: i,
                     pace=False)


@pytest.mark.parametrize(("fps", "rate_hz", "every"), [(60.0, 15.0, 4), (60.0, 30.0, 2), (30.0, 15.0, 2)])
def test_the_pose_rate_takes_frames_on_a_regular_schedule(fps, rate_hz, every):
    estimator = _Estimator()
    result = run_practice(_Source(120, fps), estimator, _pipeline(), pace=False, pose_rate_hz=rate_hz)
    assert estimator.times == pytest.approx([i / fps for i in range(0, 120, every)])
    assert result.frames_processed == 120 // every
    assert result.frames_skipped == 120 - 120 // every
    assert result.frames_dropped == 0
    assert result.summary["frames"]["pose_rate_hz"] == rate_hz  # written down, never silent
    assert result.summary["frames"]["skipped_by_pose_rate"] == result.frames_skipped


def test_a_rate_the_source_cannot_reach_takes_two_frames_of_three():
    estimator = _Estimator()
    run_practice(_Source(30, 30.0), estimator, _pipeline(), pace=False, pose_rate_hz=20.0)
    taken = [round(t * 30) for t in estimator.times]
    assert taken == [i for i in range(30) if i % 3 != 1]  # 20 a second, not 15


def test_without_a_pose_rate_nothing_is_skipped_nor_written():
    result = run_practice(_Source(10), _Estimator(), _pipeline(), pace=False)
    assert result.frames_skipped == 0 and "pose_rate_hz" not in result.summary["frames"]


class _TimerSpy(_Estimator):
    """Has a ``timer`` like the MediaPipe estimators; notes what it is during the run."""

    def __init__(self, pipeline) -> None:
        super().__init__()
        self.timer = NO_TIMER
        self.pipeline = pipeline
        self.seen: set = set()

    def estimate(self, image_bgr, t_s):
        self.seen.add((self.timer, self.pipeline.timer))
        return super().estimate(image_bgr, t_s)


def test_the_stage_timer_sees_every_stage_of_every_frame_and_is_removed_afterwards():
    pipeline = _pipeline()
    estimator, timer = _TimerSpy(pipeline), StageTimer()
    result = run_practice(_Source(25), estimator, pipeline, sinks=[_Sink()], render=lambda i, *_: i, pace=False,
                          finished_show_s=0.0, timer=timer)
    figures = timer.figures()
    for stage in ("wait", "angles", "engines", "cue policy", "statistics", "record", "draw", "display"):
        assert figures[stage].n == result.frames_processed == 25, stage
    assert figures["decode"].n == 25
    assert "inference" not in figures  # the estimator has its own timer: its stages are its own
    assert estimator.seen == {(timer, timer)}
    assert estimator.timer is NO_TIMER and pipeline.timer is NO_TIMER  # given back
    assert {"pose", "capture"} <= set(timer.thread_cpu_s)


def test_with_the_timer_off_no_part_is_given_one():
    pipeline = _pipeline()
    estimator = _TimerSpy(pipeline)
    run_practice(_Source(5), estimator, pipeline, pace=False)
    assert estimator.seen == {(NO_TIMER, NO_TIMER)}


def test_an_estimator_without_a_timer_is_timed_as_a_whole():
    timer = StageTimer()
    result = run_practice(_Source(12), _Estimator(), _pipeline(), pace=False, timer=timer)
    assert timer.figures()["inference"].n == result.frames_processed == 12


def test_mailbox_newest_only_counts_what_was_replaced():
    box = Mailbox(lossless=False)
    for item in range(5):
        assert box.put(item)
    assert box.get() == 4 and box.replaced == 4
    box.put(5)
    box.close()
    assert box.get() == 5 and box.get() is None


def test_mailbox_lossless_hands_over_every_item_in_order():
    box = Mailbox(lossless=True)
    got = []

    def take():
        while (item := box.get()) is not None:
            got.append(item)

    taker = threading.Thread(target=take)
    taker.start()
    for item in range(200):
        assert box.put(item)
    box.close()
    taker.join()
    assert got == list(range(200)) and box.replaced == 0


def test_mailbox_lossless_gives_up_when_halted():
    box, halt = Mailbox(lossless=True), threading.Event()
    assert box.put("first")
    halt.set()
    assert box.put("second", halt=halt) is False
    assert box.get() == "first"


def test_the_background_recorder_keeps_every_row_when_the_session_is_stopped(tmp_path):
    """The writer thread never got to flush (an hour's interval): stopping mid-session and
    finishing writes every sample, cue and repetition the frames produced, in one go."""
    from mindmove.store.db import open_store
    from mindmove.store.recording import SessionRecorder

    store = open_store(f"sqlite:///{tmp_path / 'rows.db'}")
    recorder = SessionRecorder(store, "P001", exercise="standing_shoulder_flexion", flush_interval_s=3600.0,
                               background=True)
    sid = recorder.start()
    added = []
    original = recorder.add_samples

    def counting(t_s, values, /):
        added.append((t_s, len(values)))
        original(t_s, values)

    recorder.add_samples = counting
    stop = threading.Event()

    class _StopAfter(_Sink):
        def show(self, image, /, *, t_s):
            if len(self.shown) == 60:
                stop.set()
            return super().show(image, t_s=t_s)

    result = run_practice(_Source(600), _Estimator(), _pipeline(), recorder=recorder, sinks=[_StopAfter()],
                          render=lambda i, *_: i, pace=False, stop=stop)
    assert result.stopped_by == "stopped"
    assert recorder.pending == sum(n for _, n in added) > 0  # nothing committed yet
    assert recorder.finish(summary=result.summary, metrics=result.metrics, active_s=result.active_s)
    con = sqlite3.connect(tmp_path / "rows.db")
    try:
        (n_rows, last_t), = con.execute("select count(*), max(t_s) from samples where session_id=?", (sid,))
        (status,), = con.execute("select status from sessions where id=?", (sid,))
    finally:
        con.close()
    assert n_rows == sum(n for _, n in added)
    assert last_t == pytest.approx(added[-1][0])
    assert status == "completed" and recorder.pending == 0
    store.dispose()


@pytest.mark.slow
def test_ctrl_c_mid_session_finishes_it_with_every_row(shared, _isolated_data_dir):
    """A real practice process (real MediaPipe, real SQLite, the background writer) stopped
    with Ctrl-C (SIGINT) between two of its flushes: the session is completed, and its samples
    run up to its last processed frame: nothing buffered was lost."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    path = _isolated_data_dir / "mindmove.db"
    env = {**os.environ, "MINDMOVE_DATA_DIR": str(_isolated_data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "mindmove", "practice", "--patient", "P004", "--exercise",
                             "standing_shoulder_flexion", "--source", str(shared("video/sports2d_demo.mp4")),
                             "--no-window"], cwd=repo, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def samples() -> int:
        try:
            con = sqlite3.connect(path)
            try:
                return con.execute("select count(*) from samples").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return 0

    try:
        deadline = time.monotonic() + 90.0  # model load on a busy machine; not a timing figure
        while samples() == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None and samples() > 0, "the session wrote nothing before it ended"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    con = sqlite3.connect(path)
    try:
        (status, summary), = con.execute("select status, summary from sessions")
        (n, last_t), = con.execute("select count(*), max(t_s) from samples where channel='right_shoulder_flexion_deg'")
    finally:
        con.close()
    summary = json.loads(summary)
    assert status == "completed" and summary["stopped_by"] == "ctrl_c"
    assert summary["duration_s"] < 7.0  # stopped before the clip's end
    # Samples every 1/15 s of session time up to the last frame processed.
    assert last_t >= summary["duration_s"] - 1 / 15.0 - 1e-6
    assert n >= 2


class _SlowDecoder:
    """A file whose every frame takes 0.06 s of (fake) clock to decode: frames are 1/30 s apart,
    so decoding falls behind real time by 0.0267 s a frame."""

    live = False

    def __init__(self, n: int) -> None:
        self.n, self.now = n, 0.0

    def clock(self) -> float:
        return self.now

    def frames(self):
        for i in range(self.n):
            self.now += 0.06
            yield Frame(np.zeros((4, 4, 3), np.uint8), i / 30.0, i)


def test_a_paced_file_decoded_too_slowly_slips_instead_of_piling_up_latency():
    from feedback.session import LatestFrameGrabber

    source = _SlowDecoder(20)
    grabber = LatestFrameGrabber(source, pace=True, clock=source.clock).start()
    got = []
    try:
        while (g := grabber.get(timeout_s=5.0)) is not None:
            got.append(g)
    finally:
        grabber.stop()
    # Frames 2, 4, ..., 18 are each found 0.0533 s (more than a frame) late: the schedule slips
    # so each is due when read; the odd ones are 0.0267 s late, within one frame, and keep it.
    assert grabber.replay_slips == 9
    assert grabber.replay_slip_s == pytest.approx(9 * (0.12 - 2 / 30.0))
    assert grabber.frames_read == 20
    for g in got:  # never more than one frame behind the clock at which it was read
        read_at = 0.06 * (g.frame.index + 1)
        assert 0.0 <= read_at - g.captured_at <= 1 / 30.0 + 1e-9
