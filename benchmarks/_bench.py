"""Helpers the benchmarks share: the load average, a reproducible busy load, CPU per thread.

- :func:`load_average_text`: the 1/5/15-minute load averages, printed with every figure (the
  build machine is shared; a figure without its load is not comparable).
- :class:`BusyLoad`: N processes that each spin one core for at most ``max_s`` seconds (they
  stop by themselves then), started on entry and stopped on exit, each by its own handle, so
  ``--load N`` gives the same competition on every run.
- :class:`ThreadCpuSampler`: every thread's CPU time (Linux ``/proc/self/task``), named by its
  Python thread name where it has one and by its kernel name otherwise (MediaPipe's graph
  threads are ``mediapipe/<n>``), sampled while the threads are alive.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

BUSY_LOOP = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"
DEFAULT_LOAD_MAX_S = 900.0  # a busy process never outlives this, even if the benchmark is killed
SAMPLE_INTERVAL_S = 0.25


def load_average_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


class BusyLoad:
    """``n`` busy processes for the duration of a ``with`` block (see the module docstring)."""

    def __init__(self, n: int, /, *, max_s: float = DEFAULT_LOAD_MAX_S) -> None:
        self.n, self.max_s = n, max_s
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> "BusyLoad":
        for _ in range(self.n):
            self.procs.append(subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(self.max_s)],
                                               stdin=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


class ThreadCpuSampler:
    """CPU seconds per thread name over a ``with`` block (see the module docstring)."""

    def __init__(self) -> None:
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._start: dict[int, int] = {}
        self._last: dict[int, tuple[str, int]] = {}
        self._names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-cpu-sampler", daemon=True)

    @staticmethod
    def _read() -> dict[int, tuple[str, int]]:
        out = {}
        for entry in Path("/proc/self/task").iterdir():
            try:
                text = (entry / "stat").read_text()
            except OSError:  # the thread ended meanwhile
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            fields = text[text.rindex(")") + 2:].split()
            out[int(entry.name)] = (comm, int(fields[11]) + int(fields[12]))
        return out

    def _sample(self) -> None:
        for t in threading.enumerate():
            if t.native_id is not None:
                self._names[t.native_id] = t.name
        for tid, (comm, ticks) in self._read().items():
            self._start.setdefault(tid, ticks)
            self._last[tid] = (comm, ticks)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self._sample()

    def __enter__(self) -> "ThreadCpuSampler":
        if Path("/proc/self/task").is_dir():
            for tid, (comm, ticks) in self._read().items():
                self._start[tid] = ticks
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread.is_alive():
            self._sample()
            self._stop.set()
            self._thread.join()

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds per name over the block (threads of one name added up), largest first."""
        totals: dict[str, float] = {}
        for tid, (comm, ticks) in self._last.items():
            name = self._names.get(tid)
            if name is None:
                name = "mediapipe (graph threads)" if comm.startswith("mediapipe") else f"native '{comm}' threads"
            if name == "bench-cpu-sampler":
                continue
            totals[name] = totals.get(name, 0.0) + (ticks - self._start.get(tid, ticks)) / self._ticks
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))
