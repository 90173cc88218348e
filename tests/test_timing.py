"""The per-stage timer (core.timing): exact on an injected clock, and nothing at all when off."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.timing import NO_TIMER, StageTimer, format_figures, lower_thread_priority, run_timed_thread


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stage_durations_come_from_the_injected_clock():
    clock = FakeClock()
    timer = StageTimer(clock=clock)
    for k in range(1, 21):
        started = timer.start()
        clock.now += k / 1000.0  # stage k takes k ms
        timer.stop("inference", started)
    started = timer.start()
    clock.now += 0.5
    timer.stop("draw", started)
    figures = timer.figures()
    assert list(figures) == ["inference", "draw"]  # in the order stages first came
    inf = figures["inference"]
    assert inf.n == 20
    assert inf.p50_ms == pytest.approx(10.5)
    assert inf.p95_ms == pytest.approx(np.percentile(np.arange(1, 21), 95))
    assert inf.total_s == pytest.approx(0.21)
    assert figures["draw"].mean_ms == pytest.approx(500.0)
    assert any(line.startswith("inference") and "n=20" in line for line in format_figures(figures))


def test_stages_from_several_threads_are_all_kept():
    timer = StageTimer()
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        for _ in range(500):
            timer.add("decode", 0.001)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert timer.figures()["decode"].n == 2000


def test_the_off_timer_keeps_nothing_and_costs_two_empty_calls():
    assert NO_TIMER.enabled is False
    assert NO_TIMER.start() == 0.0
    NO_TIMER.stop("inference", 0.0)
    NO_TIMER.add("inference", 1.0)
    NO_TIMER.add_thread_cpu("pose", 1.0)
    assert not hasattr(NO_TIMER, "samples_s") and vars(NO_TIMER) == {}  # no state to fill


def test_thread_cpu_is_added_only_when_timing():
    timer = StageTimer()
    run_timed_thread(timer, "pose", lambda: sum(range(100_000)))
    assert timer.thread_cpu_s["pose"] > 0.0
    run_timed_thread(NO_TIMER, "pose", lambda: None)  # nothing to record, nothing raised


def test_lowering_a_thread_priority_touches_only_that_thread():
    import os

    if not hasattr(os, "setpriority"):
        pytest.skip("no per-thread priority on this system")
    main_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = {}

    def helper():
        seen["done"] = lower_thread_priority(3)
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    t = threading.Thread(target=helper)
    t.start()
    t.join()
    assert seen["done"] and seen["nice"] == main_nice + 3
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_nice
    assert lower_thread_priority(0) is False  # nothing asked, nothing done
