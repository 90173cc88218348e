"""`mindmove belt scan` / `belt record` on this machine and through the in-memory device."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

import belt_backend
from mindmove.cli import main
from mindmove.commands.belt import BACKEND_ENV

NO_BLUETOOTH = not Path("/run/dbus/system_bus_socket").exists()


@pytest.mark.skipif(not NO_BLUETOOTH, reason="this machine has a Bluetooth system service")
def test_scan_without_bluetooth_exits_2_with_one_line(capsys):
    assert main(["belt", "scan", "--timeout", "0.2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "No Bluetooth adapter found" in err and "--breath-replay" in err
    assert len(err.splitlines()) == 1


def test_scan_through_test_backend_lists_belts(monkeypatch, capsys):
    monkeypatch.setenv(BACKEND_ENV, "belt_backend:cli_backends")
    assert main(["belt", "scan", "--timeout", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "GDX-RB 0K1012" in out and "-58" in out and "Some Speaker" not in out


def test_record_writes_csv_with_a_gap_row(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(BACKEND_ENV, "belt_backend:cli_backends")
    device = belt_backend.CLI_DEVICE  # drops the link after 3 packets, 6 per connection
    out, raw = tmp_path / "breath.csv", tmp_path / "raw.csv"
    assert main(["belt", "record", "--device", "GDX-RB", "--out", str(out),
                 "--duration", "2.2", "--raw-log", str(raw), "--scan-timeout", "0.01"]) == 0
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["t_s", "value", "gap_end_s"]
    gaps = [r for r in rows if r["gap_end_s"]]
    samples = [r for r in rows if not r["gap_end_s"]]
    assert len(gaps) == 1 and math.isnan(float(gaps[0]["value"]))
    assert float(gaps[0]["t_s"]) < float(gaps[0]["gap_end_s"])
    assert len(samples) >= 6 + 4
    expected = [device.force_n(k) for k in range(len(samples))]
    assert [float(r["value"]) for r in samples] == pytest.approx(expected, abs=1e-5)
    t = [float(r["t_s"]) for r in rows]
    assert t == sorted(t) and t[0] >= 0
    assert device.writes[-1][-1][1] == bytes.fromhex("58 0b fb 72 19 ff 00 ff ff ff ff")
    assert raw.read_text().startswith("t_monotonic,char_uuid,hex")
    assert "Wrote" in capsys.readouterr().out
