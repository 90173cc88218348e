"""Breath replay sources, the pacer renderer, and the `breath analyze` / `breathe` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from mindmove.cli import main
from core.errors import InputError
from sensing.breath_source import ReplayBreathSource, load_breath_file


def test_load_csv_text_and_npy(tmp_path, shared):
    csv = tmp_path / "b.csv"
    rows = "".join(f"{k / 10:.1f},{'' if k == 1 else k % 7}\n" for k in range(30))
    csv.write_text("# signal: impedance\nt_s,value\n" + rows)
    t, v, rate = load_breath_file(csv)
    assert rate == pytest.approx(10.0) and np.isnan(v[1]) and v[2] == 2  # an empty value is a gap
    from sensing.breath_source import load_breath_signal
    assert load_breath_signal(csv) == "impedance"
    t, v, rate = load_breath_file(shared("breath/biosppy_chest_belt.txt"))
    assert rate == 1000.0 and v.size == 60000 and v[0] == 2094.0
    with pytest.raises(InputError, match="--rate-hz"):
        load_breath_file(shared("breath/resp4_CO2.npy"))
    bad = tmp_path / "bad.txt"
    bad.write_text("1\nabc\n")
    with pytest.raises(InputError):
        load_breath_file(bad, rate_hz=10)


def test_replay_chunks_cover_everything_and_pace_in_real_time():
    t = np.arange(0, 2.0, 0.01)
    v = np.sin(t)
    clock = {"now": 0.0}
    slept = []

    def sleep(s):  # the wall clock is the only seam mocked here
        slept.append(s)
        clock["now"] += s

    src = ReplayBreathSource(t, v, rate_hz=100, chunk_s=0.5, clock=lambda: clock["now"], sleep=sleep)
    chunks = list(src.samples())
    assert np.concatenate([c[0] for c in chunks]) == pytest.approx(t)
    assert sum(slept) == pytest.approx(2.0, abs=0.01)


def test_render_pacer_draws_a_growing_shape():
    from feedback.pacer import Pacer, PacerPlan
    from feedback.render_breath import BLUE_BGR, render_pacer

    canvas = np.zeros((480, 640, 3), np.uint8)
    p = Pacer(PacerPlan(rate_bpm=6, ie_ratio=2))
    small = render_pacer(canvas, p.state(0.3))
    large = render_pacer(canvas, p.state(3.2))
    assert canvas.sum() == 0  # input untouched
    def blue_px(img):
        return int(np.sum(np.all(np.abs(img.astype(int) - np.array(BLUE_BGR) * 0.75) < 20, axis=2)))
    assert blue_px(large) > 4 * blue_px(small) > 0
    assert large[400:, :].max() == 255  # white text under the shape


def test_breath_analyze_command(tmp_path, shared, capsys):
    out = tmp_path / "out"
    rc = main(["breath", "analyze", str(shared("breath/resp4_CO2.npy")), "--rate-hz", "60", "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "breath_summary.json").read_text())
    assert summary["polarity"] == "inverted" and summary["signal"] == "auto"
    assert summary["polarity_basis"] == "shape" and summary["polarity_confidence"] >= 0.9
    assert 15.0 <= summary["rate_bpm_median"] <= 16.0
    rows = (out / "breaths.csv").read_text().splitlines()
    assert len(rows) - 1 == summary["breaths"] >= 78
    rc = main(["breath", "analyze", str(shared("breath/resp4_CO2.npy")), "--out", str(out)])
    assert rc == 2 and "--rate-hz" in capsys.readouterr().err


def test_breathe_replay_stores_a_session(shared):
    from mindmove.store.db import open_store
    from mindmove.store.models import BreathResult, CueEvent, Sample, Session
    from scipy import signal

    path = shared("breath/resp3_belt.npy")
    rc = main(["breathe", "--patient", "P042", "--no-window", "--breath-replay", str(path),
               "--rate-hz", "1000", "--fast", "--minutes", "1"])
    assert rc == 0
    # reference: zero crossings of the zero-phase band-passed first minute (not the analyzer)
    x = np.load(path)[:60_000]
    y = signal.sosfiltfilt(signal.butter(2, [0.05, 1.0], btype="band", fs=1000, output="sos"), x - x.mean())
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0)) / 1000
    reference = 60 * (up.size - 1) / (up[-1] - up[0])
    store = open_store()
    with store.session() as db:
        session = db.scalar(select(Session))
        assert session.kind == "breathe" and session.status == "completed"
        result = db.scalar(select(BreathResult).where(BreathResult.session_id == session.id))
        assert result.rate_bpm == pytest.approx(reference, abs=1.0)
        assert result.breaths >= 10
        assert result.resting_rate_bpm is not None and result.pacer_target_bpm == 6.0
        assert 0 <= result.pacer_agreement_pct <= 100
        assert result.rate_difference_bpm > 0  # breathing near 15/min against a 6/min guide
        n = db.query(Sample).filter(Sample.session_id == session.id, Sample.channel == "breath").count()
        assert 1400 <= n <= 1600  # stored at 25 Hz
        cues = db.scalars(select(CueEvent.message_key).where(CueEvent.session_id == session.id)).all()
        # the guide ramps from the measured resting rate, so the cue is about following it
        assert cues and set(cues) <= {"breath.slower", "breath.follow_guide", "breath.longer_exhale",
                                      "breath.lovely_rhythm"}
        assert result.detail["breath_list"] and result.detail["pacer_start_s"] == pytest.approx(20.0, abs=0.2)


def test_breathe_rejects_bad_options(capsys):
    assert main(["breathe", "--patient", "P1", "--no-window", "--ratio", "2", "--minutes", "0.01"]) == 2
    assert "ratio" in capsys.readouterr().err


def test_notification_log_needs_the_belt_kind(tmp_path):
    log = tmp_path / "raw.csv"
    log.write_text("t_monotonic,char_uuid,hex\n1.0,abc,0102\n")
    with pytest.raises(InputError, match="--belt-kind"):
        load_breath_file(log)


def test_belt_source_marks_gaps_and_the_analyzer_resets():
    """A live belt through BeltBreathSource; the BeltStream is faked (the hardware seam)."""
    from feedback.breath import BreathAnalyzer
    from sensing.belts.base import BreathSample, Gap
    from sensing.breath_source import BeltBreathSource

    t = 100.0 + np.arange(0, 90, 0.1)  # monotonic clock, 10 Hz, 12 breaths/min
    v = np.sin(2 * np.pi * 0.2 * t)
    drop = (t > 140) & (t < 150)
    events = [BreathSample(float(a), float(b)) for a, b in zip(t[~drop], v[~drop])]
    cut = int(np.argmax(t[~drop] > 140))
    events.insert(cut, Gap(140.0, 150.0))

    class FakeStream:
        def __init__(self):
            self.batches = [events[i:i + 7] for i in range(0, len(events), 7)]

        def read(self, *, timeout_s=0.0):
            return self.batches.pop(0) if self.batches else []

    src = BeltBreathSource(FakeStream(), max_s=85.0)
    a = BreathAnalyzer(rate_hz=10.0, polarity="normal")
    got = []
    for ts, vs in src.samples():
        got.append(ts)
        a.update(ts, vs)
    ts = np.concatenate(got)
    assert ts[0] == 0.0 and ts[-1] >= 85.0
    assert a.gaps == 1
    assert not any(b.inhale_onset_s < 50 and b.end_s > 40 for b in a.breaths)
    assert a.rate_bpm() == pytest.approx(12.0, abs=0.3)


def test_tones_are_soft_and_click_free_and_silence_without_a_device():
    from feedback.sound import SilentPlayer, compute_tone, open_sound

    tone = compute_tone(440.0, 0.5, rate_hz=8000)
    assert tone.size == 4000 and np.abs(tone).max() <= 0.15 + 1e-6
    assert abs(tone[0]) < 1e-6 and abs(tone[-1]) < 1e-6
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.fft.rfftfreq(tone.size, 1 / 8000)[np.argmax(spectrum)] == pytest.approx(440.0, abs=2)
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):  # not installed, or no PortAudio: sound is off, no crash
        assert isinstance(open_sound(), SilentPlayer)
    open_sound().phase_change("inhale")  # never raises


def test_breathe_uses_the_patient_profile(shared):
    from calibration.profile import BreathTarget, Profile
    from mindmove.store.profiles import save_profile
    from mindmove.store.db import open_store
    from mindmove.store.models import BreathResult, Session

    store = open_store()
    record = save_profile(store, "P007", Profile(breath=BreathTarget(resting_rate_bpm=12.0, target_rate_bpm=5.0,
                                                                     ie_ratio=1.5)), by="pt", reason="test")
    rc = main(["breathe", "--patient", "P007", "--no-window", "--breath-replay",
               str(shared("breath/resp3_belt.npy")), "--rate-hz", "1000", "--fast", "--minutes", "0.5"])
    assert rc == 0
    with store.session() as db:
        session = db.scalar(select(Session).where(Session.kind == "breathe"))
        assert session.profile_version_id == record.version_id
        result = db.scalar(select(BreathResult))
        assert result.pacer_target_bpm == 5.0 and result.resting_rate_bpm == 12.0
        assert result.detail["pacer_start_s"] == 0.0  # resting rate known: the guide starts at once


def test_breathe_without_a_breath_source_runs_the_pacer_only():
    from mindmove.store.db import open_store
    from mindmove.store.models import BreathResult

    assert main(["breathe", "--patient", "P9", "--no-window", "--box", "4-4-4-4", "--minutes", "0.01"]) == 0
    with open_store().session() as db:
        result = db.scalar(select(BreathResult))
        assert result.breaths == 0 and result.pacer_target_bpm == pytest.approx(3.75)


def test_render_message_centres_catalogue_text():
    from feedback.render_breath import render_message

    canvas = np.zeros((480, 640, 3), np.uint8)
    out = render_message(canvas, "session.ready")
    cols = np.flatnonzero(out.max(axis=(0, 2)) == 255)
    assert cols.size and abs((cols[0] + cols[-1]) / 2 - 320) < 15


def test_breathe_belt_uses_the_belt_kind_and_the_test_backend(monkeypatch, capsys):
    """`breathe --belt ADDRESS --belt-kind vernier` through the in-memory Bluetooth device
    (tests/belt_backend.py: the mock sits at bleak's backend seam only)."""
    import belt_backend
    from mindmove.commands.belt import BACKEND_ENV
    from mindmove.store.db import open_store
    from mindmove.store.models import Sample, Session

    device = belt_backend.VernierEmulator(per_connection=30)  # 60 samples at 10 Hz, 6 s
    monkeypatch.setattr(belt_backend, "CLI_DEVICE", device)
    monkeypatch.setenv(BACKEND_ENV, "belt_backend:cli_backends")
    unadvertised = "C4:64:E3:00:00:99"  # not in the fake scan: only --belt-kind names its adapter
    args = ["breathe", "--patient", "P5", "--no-window", "--belt", unadvertised, "--minutes", "0.04"]
    assert main(args) == 2
    assert unadvertised in capsys.readouterr().err
    assert main([*args, "--belt-kind", "vernier"]) == 0
    assert device.connections == 1  # the refused run never connected
    with open_store().session() as db:
        session = db.scalar(select(Session).where(Session.kind == "breathe"))
        assert session.status == "completed"
        values = db.scalars(select(Sample.value).where(Sample.session_id == session.id)
                            .order_by(Sample.t_s)).all()
    assert len(values) >= 0.04 * 60 * 10 - 2  # 2.4 s at 10 Hz
    assert values == pytest.approx([device.force_n(k) for k in range(len(values))], abs=1e-5)


def test_breathe_tells_calmly_when_the_store_refuses_the_samples(shared, capsys):
    """A real SQLite refusal (a trigger aborting every sample insert): the session still runs
    to its end, one calm catalogue line is shown, and the CLI exits 0."""
    import sqlite3

    from feedback.messages import message
    from mindmove.settings import load_settings
    from mindmove.store.db import open_store
    from mindmove.store.models import BreathResult, Sample, Session

    store = open_store()
    store.dispose()
    with sqlite3.connect(load_settings().db_url.removeprefix("sqlite:///")) as con:
        con.execute("CREATE TRIGGER refuse_samples BEFORE INSERT ON samples "
                    "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
    rc = main(["breathe", "--patient", "P043", "--no-window", "--breath-replay", str(shared("breath/resp3_belt.npy")),
               "--rate-hz", "1000", "--fast", "--minutes", "0.2"])
    assert rc == 0
    out = capsys.readouterr().out
    assert message("session.not_all_saved") in out and "breaths" in out
    with store.session() as db:
        assert db.scalar(select(Session)).status == "running"  # marked interrupted by the next start
        assert db.scalar(select(BreathResult)).breaths > 0
        assert db.scalars(select(Sample)).all() == []


def test_breath_analyze_signal_sets_the_polarity_and_neurokit_columns_are_read(tmp_path, shared, capsys):
    """--signal co2 is inverted by its physics (no guess); a NeuroKit CSV's RSP column is read
    with --column; the summary says how the polarity was decided."""
    out = tmp_path / "o"
    assert main(["breath", "analyze", str(shared("breath/resp4_CO2.npy")), "--rate-hz", "60",
                 "--signal", "co2", "--out", str(out)]) == 0
    s = json.loads((out / "breath_summary.json").read_text())
    assert (s["signal"], s["polarity"], s["polarity_basis"]) == ("co2", "inverted", "signal")
    assert "from the co2 signal" in capsys.readouterr().out
    assert main(["breath", "analyze", str(shared("breath/neurokit/bio_resting_5min_100hz.csv")), "--column", "RSP",
                 "--rate-hz", "100", "--signal", "belt", "--out", str(out)]) == 0
    s = json.loads((out / "breath_summary.json").read_text())
    assert s["polarity"] == "normal" and 70 <= s["breaths"] <= 80


def test_low_confidence_polarity_is_a_warning_on_screen_and_in_the_summary(tmp_path, capsys):
    from synthetic.breathing import SimBreath, simulate_breathing

    wave = simulate_breathing([SimBreath(3.0, 3.0, hold_s=2.0, pause_s=2.0)] * 12, seed=2, noise=0.05)
    path = tmp_path / "box.csv"
    path.write_text("t_s,value\n" + "".join(f"{t:.3f},{v:.5f}\n" for t, v in zip(wave.t_s, wave.values)))
    assert main(["breath", "analyze", str(path), "--out", str(tmp_path / "o")]) == 0
    s = json.loads((tmp_path / "o" / "breath_summary.json").read_text())
    assert any("low confidence" in w for w in s["warnings"])
    assert "Warning:" in capsys.readouterr().err


def _write(path, kind):
    """Bad recordings, one per kind of fault."""
    import numpy as np

    t = np.arange(0, 60, 0.04)
    wave = np.sin(2 * np.pi * t / 4)
    if kind == "short":
        path.write_text("t_s,value\n" + "".join(f"{x:.2f},{np.sin(x)}\n" for x in t[:30]))
    elif kind == "constant":
        np.save(path, np.full(1500, 3.0))
    elif kind == "nan":
        wave[100] = np.nan
        np.save(path, wave)
    elif kind == "inf":
        path.write_text("".join(f"{v}\n" for v in [*wave[:200], "inf", *wave[200:400]]))
    elif kind == "huge":
        np.save(path, wave * 1e308)
    elif kind == "empty_npy":
        path.write_bytes(b"")
    elif kind == "empty_array":
        np.save(path, np.array([]))
    else:
        np.save(path, wave)


@pytest.mark.parametrize("kind, suffix, extra, expected", [
    ("short", ".csv", [], "record for longer"),
    ("constant", ".npy", ["--rate-hz", "25"], "every value is 3"),
    ("nan", ".npy", ["--rate-hz", "25"], "NaN"),
    ("inf", ".txt", ["--rate-hz", "25"], "infinite"),
    ("huge", ".npy", ["--rate-hz", "25"], "infinite or beyond"),
    ("empty_npy", ".npy", ["--rate-hz", "25"], "empty"),
    ("empty_array", ".npy", ["--rate-hz", "25"], "holds none"),
    ("ok", ".npy", ["--rate-hz", "1e-300"], "between 1 and 10000"),
    ("ok", ".npy", ["--rate-hz", "0.5"], "between 1 and 10000"),
    ("ok", ".npy", ["--rate-hz", "20000"], "between 1 and 10000"),
    ("ok", ".npy", ["--rate-hz", "nan"], "finite number"),
    ("ok", ".npy", ["--rate-hz", "25", "--belt-kind", "bogus"], "--belt-kind is one of"),
    ("ok", ".npy", ["--rate-hz", "25", "--signal", "sonar"], "Breath signal is one of"),
    ("ok", ".npy", ["--rate-hz", "25", "--polarity", "sideways"], "polarity is one of"),
])
def test_bad_input_gets_one_line_and_exit_2_through_the_real_cli(tmp_path, kind, suffix, extra, expected):
    """Through `python -m mindmove` as a user runs it: one line on stderr, exit 2, no output
    folder (today: 1e308 overflowed, --rate-hz 1e-300 recursed, --belt-kind bogus was taken,
    an empty .npy exited 130)."""
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / f"rec{suffix}"
    _write(path, kind)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "mindmove", "breath", "analyze", str(path), "--out", str(out),
                           *extra], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
