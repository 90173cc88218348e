"""Where the time of a live loop goes: a per-stage timer that costs nothing when off.

A loop marks each stage with two calls::

    started = timer.start()
    pose = estimator.estimate(image, t_s)
    timer.stop("inference", started)

:data:`NO_TIMER` (the default everywhere) records nothing: ``start`` returns 0.0 and ``stop``
returns at once, so an uninstrumented run pays two empty method calls per stage (well under
a microsecond against a frame's tens of milliseconds) and keeps no samples. A
:class:`StageTimer` (asked for by a benchmark or ``--profile``) keeps every duration, per stage,
from any thread, and each helper thread's CPU time (:meth:`StageTimer.add_thread_cpu`).

The clock is injectable (tests run on a fake one); by default ``time.perf_counter``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol


class Timer(Protocol):
    """What an instrumented loop calls; :data:`NO_TIMER` and :class:`StageTimer` have it."""

    enabled: bool

    def start(self) -> float: ...

    def stop(self, stage: str, started: float, /) -> None: ...


class _NoTimer:
    """Records nothing (see the module docstring)."""

    enabled = False

    def start(self) -> float:
        return 0.0

    def stop(self, stage: str, started: float, /) -> None:
        return None

    def add(self, stage: str, seconds: float, /) -> None:
        return None

    def add_thread_cpu(self, name: str, seconds: float, /) -> None:
        return None


NO_TIMER = _NoTimer()


@dataclass(frozen=True)
class StageFigures:
    """One stage's durations in milliseconds."""

    n: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    total_s: float


class StageTimer:
    """Keeps every duration of every stage (thread-safe: stages may come from any thread)."""

    enabled = True

    def __init__(self, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.samples_s: dict[str, list[float]] = {}
        self.thread_cpu_s: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> float:
        return self.clock()

    def stop(self, stage: str, started: float, /) -> None:
        self.add(stage, self.clock() - started)

    def add(self, stage: str, seconds: float, /) -> None:
        samples = self.samples_s.get(stage)
        if samples is None:
            with self._lock:
                samples = self.samples_s.setdefault(stage, [])
        samples.append(seconds)  # list.append is atomic under the GIL

    def add_thread_cpu(self, name: str, seconds: float, /) -> None:
        """A thread's CPU time (``time.thread_time()`` over its life), added under ``name``."""
        with self._lock:
            self.thread_cpu_s[name] = self.thread_cpu_s.get(name, 0.0) + seconds

    def figures(self) -> dict[str, StageFigures]:
        """Per stage: count, p50, p95, mean (ms) and total (s), in the order stages first came."""
        import numpy as np

        out = {}
        for stage, samples in list(self.samples_s.items()):
            values = np.asarray(samples, dtype=float)
            if values.size:
                out[stage] = StageFigures(n=int(values.size), p50_ms=float(np.percentile(values, 50) * 1e3),
                                          p95_ms=float(np.percentile(values, 95) * 1e3),
                                          mean_ms=float(values.mean() * 1e3), total_s=float(values.sum()))
        return out


def run_timed_thread(timer, name: str, target: Callable[[], None], /) -> None:
    """Run ``target`` on the calling thread and add the thread's CPU time to ``timer`` as ``name``."""
    if not timer.enabled:
        target()
        return
    cpu0 = time.thread_time()
    try:
        target()
    finally:
        timer.add_thread_cpu(name, time.thread_time() - cpu0)


def lower_thread_priority(niceness: int, /) -> bool:
    """Make the CALLING thread yield to the others of this process (Linux: the nice value is
    per thread, see setpriority(2)); True when done. Only for threads that end with their
    work: an unprivileged process can never raise a thread's priority back."""
    import os

    if niceness <= 0 or not hasattr(os, "setpriority"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except OSError:
        return False
    return True


def format_figures(figures: Mapping[str, StageFigures], /) -> list[str]:
    """One line per stage, for benchmarks and ``--profile``."""
    return [f"{stage:<22s} n={f.n:<5d} p50 {f.p50_ms:7.2f} ms  p95 {f.p95_ms:7.2f} ms  mean {f.mean_ms:7.2f} ms"
            for stage, f in figures.items()]
