"""Capture for the local practice loop: a frame source read on its own thread.

:class:`LatestFrameGrabber` reads the frame source on its own thread and keeps ONLY the
newest frame in a one-slot mailbox (never a growing queue): when the pipeline is slower
than the camera, older frames are overwritten and counted as dropped. A live source (a
camera) is never paced: its frames come in real time by themselves. A video file is paced
at its own frame rate (``pace=True``), as a camera would deliver it; when decoding the file
falls more than one frame behind that schedule (a very busy machine), the schedule slips so
the frame in hand is due now, counted in ``replay_slips`` / ``replay_slip_s``: a camera's
picture is never older than one frame, and the latency measured stays the pipeline's, not
the file decoder's backlog. With ``pace=False``
(tests, offline, ``--fast``) every file frame is handed over, none dropped.

Sinks (a window, a video writer) are objects with ``show(image_bgr, *, t_s) -> bool``
(:class:`FrameSink`); a sink's optional ``stage`` attribute names its time in a profile
(``display`` by default). :class:`Mailbox` hands the pose thread's results to the display
the same way (newest only, or every one). Nothing here knows about poses, angles or cues.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from core.timing import NO_TIMER, lower_thread_priority

GRAB_TIMEOUT_S = 5.0


class FrameSink(Protocol):
    def show(self, image_bgr: np.ndarray, /, *, t_s: float) -> bool:
        """Show or write one image; ``t_s``: its session time. False stops the session."""


@dataclass
class GrabbedFrame:
    frame: Any  # sensing.video.Frame
    captured_at: float  # the grabber's clock (time.monotonic()) when the frame was captured or due


class LatestFrameGrabber:
    """Reads a frame source on a thread; keeps only the newest frame (see module docstring).

    A source with ``live = True`` (a camera, stamped with ``time.monotonic()``) is never paced
    nor held back: ``pace`` only concerns files. Its frames' ``captured_at`` is their own
    ``t_s``; a paced file frame's is the moment it is due; an unpaced one's, when it was read."""

    def __init__(self, source, /, *, pace: bool = True, clock: Callable[[], float] = time.monotonic,
                 timer=NO_TIMER, niceness: int = 0) -> None:
        self.source = source
        self.timer = timer  # stage "decode": reading one frame from the source
        self.niceness = niceness  # > 0: this thread yields to the pose thread (Linux, per thread)
        self.live = bool(getattr(source, "live", False))
        self.pace = pace and not self.live
        self.lossless = not pace and not self.live  # hand over every frame, waiting for the consumer
        self.clock = clock
        self.frames_read = 0
        self.frames_dropped = 0
        self.replay_slips = 0  # times a paced file's schedule slipped (see the module docstring)
        self.replay_slip_s = 0.0
        self.error: BaseException | None = None
        self._slot: GrabbedFrame | None = None
        self._done = False
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="mindmove-capture", daemon=True)

    def start(self) -> "LatestFrameGrabber":
        self._thread.start()
        return self

    def _run(self) -> None:
        cpu0 = time.thread_time()
        lower_thread_priority(self.niceness)
        timer = self.timer
        try:
            start_wall: float | None = None
            first_t: float | None = None
            previous_t: float | None = None
            frames = iter(self.source.frames())
            while True:
                started = timer.start()
                frame = next(frames, None)
                if frame is None:
                    break
                timer.stop("decode", started)
                if self._stop.is_set():
                    break
                if self.live:
                    captured_at = frame.t_s
                elif self.pace:
                    if start_wall is None:
                        start_wall, first_t = self.clock(), frame.t_s
                    captured_at = start_wall + (frame.t_s - first_t)  # when the frame is due
                    delay = captured_at - self.clock()
                    if delay > 0 and self._stop.wait(delay):
                        break
                    if -delay > (frame.t_s - previous_t if previous_t is not None else 0.0) > 0:
                        start_wall -= delay  # more than one frame late: slip, this frame is due now
                        captured_at -= delay
                        self.replay_slips += 1
                        self.replay_slip_s -= delay
                    previous_t = frame.t_s
                else:
                    captured_at = self.clock()
                grabbed = GrabbedFrame(frame, captured_at)
                with self._cond:
                    if self.lossless:
                        while self._slot is not None and not self._stop.is_set():
                            self._cond.wait(0.1)
                    if self._slot is not None:
                        self.frames_dropped += 1
                    self._slot = grabbed
                    self.frames_read += 1
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self.error = exc
        finally:
            timer.add_thread_cpu("capture", time.thread_time() - cpu0)
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def get(self, timeout_s: float = GRAB_TIMEOUT_S) -> GrabbedFrame | None:
        """The newest frame not yet taken; None at the end of the input or once stopped."""
        with self._cond:
            deadline = time.monotonic() + timeout_s
            while self._slot is None and not self._done and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    from core.errors import SourceError

                    raise SourceError(f"No frame arrived from the source for {timeout_s:g} s. "
                                      "Check the camera or video and try again.")
                self._cond.wait(remaining)
            grabbed, self._slot = self._slot, None
            self._cond.notify_all()
        if grabbed is None and self.error is not None:
            raise self.error
        return grabbed

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=2.0)



class Mailbox:
    """A one-slot hand-over between two threads.

    ``lossless=False``: :meth:`put` replaces an item not yet taken (counted in ``replaced``), so
    the taker always gets the newest and the giver never waits. ``lossless=True``: :meth:`put`
    waits until the slot is free (every item is taken, in order). :meth:`close` says no more
    items will come; :meth:`get` then returns what is left, then None.
    """

    def __init__(self, *, lossless: bool = False) -> None:
        self.lossless = lossless
        self.replaced = 0
        self._slot: Any = None
        self._full = False
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item: Any, /, *, halt: threading.Event | None = None) -> bool:
        """Hand over ``item``; False (not handed over) when ``halt`` is set while waiting."""
        with self._cond:
            while self.lossless and self._full and not self._closed:
                if halt is not None and halt.is_set():
                    return False
                self._cond.wait(0.1)
            if self._full:
                self.replaced += 1
            self._slot, self._full = item, True
            self._cond.notify_all()
        return True

    def get(self) -> Any:
        """The item in the slot (waiting for one), or None once closed and empty."""
        with self._cond:
            while not self._full and not self._closed:
                self._cond.wait()
            if not self._full:
                return None
            item, self._slot, self._full = self._slot, None, False
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
