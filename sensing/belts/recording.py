"""Write a live belt's events as a breath CSV, row by row (a Ctrl-C keeps what was written).

A first line ``# signal: KIND`` says what the value measures (the adapter's ``signal``, or
``mindmove belt record --signal``), so ``breath analyze`` and replays know its polarity.
Columns: ``t_s,value`` (seconds from the recording's start, the breath waveform), then for a
Polar strap ``hr_bpm,rr_s`` (the latest heart rate on each breath row; ``rr_s`` holds the
RR intervals, ``;``-separated, on the first row after they arrived), then ``gap_end_s``.
A gap is ONE row: ``t_s`` = when the link dropped, ``value`` = ``nan``, ``gap_end_s`` = when
streaming resumed. Nothing is interpolated. Readers of plain ``t_s,value`` files see the gap
as a NaN sample.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sensing.belts.base import BatteryLevel, BeltEvent, BreathSample, Gap, HeartRate


class BreathCsvWriter:
    """``write(event)`` one event at a time; every row is flushed to disk at once."""

    def __init__(self, path: str | Path, /, *, t0_s: float, heart: bool = False, signal: str | None = None) -> None:
        self.path = Path(path)
        self.t0_s = t0_s
        self.heart = heart
        self.samples = 0
        self.gaps = 0
        self.battery_percent: int | None = None
        self._hr: int | None = None
        self._rr: tuple[float, ...] = ()
        self._file = self.path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        if signal is not None:
            self._file.write(f"# signal: {signal}\n")
        header = ["t_s", "value"] + (["hr_bpm", "rr_s"] if heart else []) + ["gap_end_s"]
        self._csv.writerow(header)
        self._file.flush()

    def write(self, event: BeltEvent, /) -> None:
        if isinstance(event, HeartRate):
            self._hr = event.hr_bpm
            self._rr = self._rr + event.rr_s
            return
        if isinstance(event, BatteryLevel):
            self.battery_percent = event.percent
            return
        if isinstance(event, BreathSample):
            row = [f"{event.t_s - self.t0_s:.4f}", f"{event.value:.6g}"]
            if self.heart:
                row += ["" if self._hr is None else str(self._hr),
                        ";".join(f"{rr:.4f}" for rr in self._rr)]
                self._rr = ()
            row.append("")
            self.samples += 1
        elif isinstance(event, Gap):
            row = [f"{event.start_s - self.t0_s:.4f}", "nan"] + (["", ""] if self.heart else [])
            row.append(f"{event.end_s - self.t0_s:.4f}")
            self.gaps += 1
        else:
            return
        self._csv.writerow(row)
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
