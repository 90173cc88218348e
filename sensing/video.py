"""Frame sources: a video file, a webcam, or a folder of images, behind one Protocol.

Every :class:`Frame` carries a time in seconds:

- video file: the file's own frame times (``CAP_PROP_POS_MSEC``; ``index / fps`` when the
  container reports none), so a clip with a variable frame rate keeps its real timing;
- camera: ``time.monotonic()`` at capture (never wall-clock time); a camera is ``live``
  (its frames come in real time by themselves: a consumer must never pace them again),
  files and folders are not;
- image folder: ``index / rate_hz`` (``rate_hz`` defaults to 30).

:func:`open_source` picks the source from a spec: an ``int`` (or a string of digits) is a
camera index, a folder is an image folder, anything else is a video file. Each source opens
its device or file when it is created, so a bad input fails at once with a
:class:`~core.errors.InputError` / :class:`~core.errors.SourceError` whose message
is one line saying what to do. OpenCV is imported lazily.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol, runtime_checkable

import numpy as np

from core.errors import InputError, SourceError
from core.timing import NO_TIMER

log = logging.getLogger(__name__)

DEFAULT_FOLDER_RATE_HZ = 30.0
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
# A camera that gives no frame within this many attempts is treated as unavailable.
CAMERA_WARMUP_READS = 5
# The picture read when the camera opens is handed out only if it is still this fresh:
# setting up the pose model and the window takes a while, and an old picture is not "now".
CAMERA_FIRST_FRAME_MAX_AGE_S = 0.2
# Frames decoded ahead of the consumer by read_ahead: enough to ride out one slow decode (a
# key frame) while the model works; 4 frames of 1920x1080 BGR are 25 MB.
READ_AHEAD_FRAMES = 4
# How often a blocked producer looks whether the consumer has gone (s); not a timing figure.
READ_AHEAD_POLL_S = 0.1


@dataclass(frozen=True)
class Frame:
    """One image (BGR, as OpenCV gives it) and its time in seconds."""

    image_bgr: np.ndarray
    t_s: float
    index: int


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields timestamped frames; also a context manager."""

    fps: float | None
    size: tuple[int, int]  # (width, height) in pixels
    live: bool  # True: frames arrive in real time by themselves (a camera); never pace them

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> "FrameSource": ...

    def __exit__(self, *exc) -> None: ...


class _ClosingMixin:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cv2():
    import cv2

    return cv2


class VideoFileSource(_ClosingMixin):
    """Frames of a video file, timed by the file's own frame times."""

    live = False

    def __init__(self, path: str | Path, /) -> None:
        cv2 = _cv2()
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"Video file not found: {self.path}. Check the path and try again.")
        if not self.path.is_file():
            raise InputError(f"Expected a video file, but {self.path} is not a file.")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(
                f"Cannot read {self.path} as a video: it is not a video file or its format is "
                f"not supported. Convert it to MP4 (H.264) and try again."
            )
        width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps: float | None = fps if fps > 0 else None
        self.frame_count = max(int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0)
        # Read the first frame now: a file that opens but decodes nothing is not a video.
        ok, first = self._cap.read()
        if not ok or first is None or width <= 0 or height <= 0:
            self._cap.release()
            raise InputError(
                f"{self.path} holds no readable video frames (found 0). "
                f"Check that the recording finished and try another file."
            )
        self._first = first
        self._first_t_s = self._time_s(0)
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self._started = False

    def _time_s(self, index: int) -> float:
        cv2 = _cv2()
        pos_ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC))
        # POS_MSEC is the time of the frame just read; it is 0 for every frame on some
        # backends, in which case the nominal rate is the best clock there is.
        if index > 0 and pos_ms <= 0.0 and self.fps:
            return index / self.fps
        return pos_ms / 1000.0

    def frames(self) -> Iterator[Frame]:
        if self._started:
            raise SourceError(f"The frames of {self.path} were already read; open the file again.")
        self._started = True
        yield Frame(self._first, self._first_t_s, 0)
        self._first = None
        index = 1
        last_t = self._first_t_s
        while True:
            ok, image = self._cap.read()
            if not ok:
                break
            t_s = self._time_s(index)
            if t_s <= last_t and self.fps:  # repeated stamp (end of some files): use the rate
                t_s = last_t + 1.0 / self.fps
            last_t = t_s
            yield Frame(image, t_s, index)
            index += 1

    def close(self) -> None:
        self._cap.release()


OPENCV_LOG_LEVEL_SILENT = 0  # cv2.utils.logging.LOG_LEVEL_SILENT, not exposed by every build


class CameraSource(_ClosingMixin):
    """Frames of a webcam, timed by ``clock`` (``time.monotonic()``) at capture. ``live``: the
    picture read when the camera opened is handed out only if it is at most
    ``CAMERA_FIRST_FRAME_MAX_AGE_S`` old when :meth:`frames` starts (a fresh one is read
    otherwise), so the session never starts from a stale picture. ``capture_factory`` and
    ``clock`` are the seams for tests without a camera (a fake capture on a simulated clock)."""

    live = True

    def __init__(self, index: int, /, *, capture_factory=None,
                 first_frame_max_age_s: float = CAMERA_FIRST_FRAME_MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        cv2 = _cv2()
        self.clock = clock
        self.first_frame_max_age_s = first_frame_max_age_s
        self.index = int(index)
        # capture_factory is the hardware seam: tests may inject a fake VideoCapture.
        factory = capture_factory or cv2.VideoCapture
        # OpenCV logs its own probing of every camera backend to stderr; the one line
        # below says what matters, so its chatter is silenced while the camera opens.
        previous = cv2.getLogLevel()
        cv2.setLogLevel(OPENCV_LOG_LEVEL_SILENT)
        try:
            self._cap = factory(self.index)
        finally:
            cv2.setLogLevel(previous)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(
                f"Cannot open camera {self.index}: no camera answered at that index. "
                f"Check that a webcam is connected and not used by another program, "
                f"or try another --camera number."
            )
        image = None
        for _ in range(CAMERA_WARMUP_READS):
            ok, image = self._cap.read()
            if ok and image is not None:
                break
            image = None
        if image is None:
            self._cap.release()
            raise SourceError(
                f"Camera {self.index} opened but gave no picture. Check that it is not covered "
                f"or used by another program, then try again."
            )
        self._first = image
        self._first_t_s = self.clock()
        self.size = (int(image.shape[1]), int(image.shape[0]))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps: float | None = fps if fps > 0 else None

    def frames(self) -> Iterator[Frame]:
        index = 0
        if self._first is not None:
            first, self._first = self._first, None
            index = 1
            if self.clock() - self._first_t_s <= self.first_frame_max_age_s:
                yield Frame(first, self._first_t_s, 0)
            else:
                log.debug("camera %d: the picture read at opening is stale; starting from a fresh one", self.index)
        while True:
            ok, image = self._cap.read()
            t_s = self.clock()
            if not ok or image is None:
                log.warning("camera %d stopped delivering frames after %d", self.index, index)
                break
            yield Frame(image, t_s, index)
            index += 1

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource(_ClosingMixin):
    """Images of a folder in name order, timed ``index / rate_hz``."""

    live = False

    def __init__(self, folder: str | Path, /, *, rate_hz: float | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"Image folder not found: {self.folder}. Check the path and try again.")
        self.paths = sorted(p for p in self.folder.iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise InputError(
                f"{self.folder} holds no images (expected .jpg or .png files). "
                f"Put the frames in the folder or give a video file instead."
            )
        rate = DEFAULT_FOLDER_RATE_HZ if rate_hz is None else float(rate_hz)
        if not rate > 0:
            raise InputError(f"Expected a positive --rate-hz for an image folder, but got {rate_hz}.")
        self.fps: float | None = rate
        first = self._read(self.paths[0])
        self.size = (int(first.shape[1]), int(first.shape[0]))

    def _read(self, path: Path) -> np.ndarray:
        image = _cv2().imread(str(path), _cv2().IMREAD_COLOR)
        if image is None:
            raise InputError(f"Cannot read {path} as an image. Remove it from the folder or replace it.")
        return image

    def frames(self) -> Iterator[Frame]:
        for index, path in enumerate(self.paths):
            yield Frame(self._read(path), index / self.fps, index)

    def close(self) -> None:
        pass


def open_source(spec: str | Path | int, /, *, rate_hz: float | None = None) -> FrameSource:
    """A frame source for ``spec``: camera index, image folder, or video file."""
    if isinstance(spec, bool):
        raise InputError(f"Expected a camera index, a folder or a video file, but got {spec!r}.")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return CameraSource(int(spec))
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path, rate_hz=rate_hz)
    return VideoFileSource(path)


class _ReadFailure:
    """An exception raised while reading ahead, handed to the consumer in order."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_END = object()


def frame_count_hint(source: FrameSource, /) -> int | None:
    """How many frames ``source`` will probably give (a video's count, a folder's images), or
    None when unknown (a camera): for sizing arrays, never for stopping."""
    return getattr(source, "frame_count", None) or len(getattr(source, "paths", ())) or None


def read_ahead(frames: Iterable[Frame], /, *, depth: int = READ_AHEAD_FRAMES, timer=NO_TIMER) -> Iterator[Frame]:
    """The same frames, in the same order with the same times, read (decoded) on a thread of
    their own at most ``depth`` frames ahead, so decoding overlaps what the consumer does
    (OpenCV releases the GIL while it decodes: the two run on two cores).

    Offline only: every frame is handed over, none dropped (a live loop keeps only the newest,
    see ``feedback.session.capture``). An error while reading is raised to the consumer at its
    place in the sequence. Closing the generator early (``break``, an exception in the
    consumer) stops and joins the thread before it returns, so the source may be closed
    right after. ``timer`` receives each frame's read time as stage ``decode``.
    """
    if depth < 1:
        raise ValueError(f"read_ahead needs a depth of at least 1 frame, got {depth}")
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=READ_AHEAD_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        cpu0 = time.thread_time()
        try:
            iterator = iter(frames)
            while not stop.is_set():
                started = timer.start()
                try:
                    frame = next(iterator)
                except StopIteration:
                    break
                timer.stop("decode", started)
                if not put(frame):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_ReadFailure(exc))
            return
        finally:
            timer.add_thread_cpu("decode (read-ahead)", time.thread_time() - cpu0)
        put(_END)

    thread = threading.Thread(target=produce, name="mindmove-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _END:
                return
            if isinstance(item, _ReadFailure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()
