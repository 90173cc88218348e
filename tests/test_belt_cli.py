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
        assert f.readline() == "# signal: belt\n"  # the Vernier adapter's: force rises on inhalation
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


def test_record_signal_option_is_written_and_read_back(monkeypatch, tmp_path):
    """`belt record --signal impedance` names the signal in the file; `breath analyze` then uses
    it (its polarity) without being told; a bad --signal is refused before connecting."""
    from sensing.breath_source import load_breath_signal

    monkeypatch.setenv(BACKEND_ENV, "belt_backend:cli_backends")
    out = tmp_path / "b.csv"
    assert main(["belt", "record", "--device", "GDX-RB", "--out", str(out), "--duration", "0.5",
                 "--scan-timeout", "0.01", "--signal", "impedance"]) == 0
    assert load_breath_signal(out) == "impedance"
    assert main(["belt", "record", "--device", "GDX-RB", "--out", str(tmp_path / "c.csv"), "--duration", "0.5",
                 "--scan-timeout", "0.01", "--signal", "sonar"]) == 2
    assert not (tmp_path / "c.csv").exists()


def test_each_adapter_names_its_signal(tmp_path):
    from sensing.belts import load_generic_config, make_adapter
    from core.errors import InputError

    assert make_adapter("vernier").signal == "belt"
    assert make_adapter("polar").signal == "accelerometer"
    toml = tmp_path / "belt.toml"
    base = ('service_uuid = "s"\ncharacteristic_uuid = "c"\nstruct_format = "<h"\nvalue_field = 0\n'
            'sample_rate_hz = 20.0\n')
    toml.write_text(base)
    assert make_adapter("generic", config=load_generic_config(toml)).signal == "belt"
    toml.write_text(base + 'signal = "thermistor"\n')
    assert make_adapter("generic", config=load_generic_config(toml)).signal == "thermistor"
    toml.write_text(base + 'signal = "sonar"\n')
    with pytest.raises(InputError, match="signal"):
        load_generic_config(toml)
