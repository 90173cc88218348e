"""Breath samples from a recording, so sessions, tests and demos run without a belt.

Accepted files:

- ``.csv`` with a header naming ``t_s`` and ``value`` columns (what ``mindmove belt record``
  writes; empty ``value`` cells are gap markers and become NaN);
- a one-column numeric text file (``.txt``, ``.dat``...), ``#`` header lines allowed; BioSPPy's
  ``# Sampling Rate (Hz):= 1000.00`` header line gives the rate, otherwise ``--rate-hz``;
- ``.npy``, a one-dimensional array, with ``--rate-hz``;
- a CSV of named columns without times (``ECG,PPG,RSP``...) with ``column`` and ``--rate-hz``;
- a raw belt notification log (``t_monotonic,char_uuid,hex``, from ``mindmove belt record
  --raw-log``), decoded by the belt's own decoder (``belt_kind``: a name of the :mod:`sensing.belts.kinds` registry).

A :class:`BreathSource` yields ``(t_s, values)`` numpy chunks on the session clock (seconds
from the start). :class:`ReplayBreathSource` paces them in real time unless ``realtime=False``
(or hands them over up to a given time, :meth:`~ReplayBreathSource.take_until`);
:class:`BeltBreathSource` reads a live belt, converting its events with
:class:`BeltEventConverter`. The practice session wraps these same two (``feedback.session``).
"""

from __future__ import annotations

import csv
import logging
import math
import re
import time
from pathlib import Path
from typing import Callable, Iterator, Protocol

import numpy as np

from core.errors import InputError, SourceError
from core.signals import BREATH_SIGNALS, check_sampling_rate_hz

log = logging.getLogger(__name__)

RATE_HEADER = re.compile(r"sampling\s*rate[^0-9]*([0-9]+(?:\.[0-9]*)?)", re.IGNORECASE)
SIGNAL_HEADER = re.compile(r"^#\s*signal\s*:\s*(\S+)", re.IGNORECASE)
MIN_RECORDING_S = 2.0  # shorter cannot hold one breath and the start of the next (60/min is 1 s each)
MAX_ABS_VALUE = 1e100  # no sensor reports more; arithmetic on such values (squares) would overflow
DEFAULT_CHUNK_S = 0.1
CHUNK_EDGE_TOLERANCE = 1e-9  # in chunks: an end this close to a chunk edge falls on it


class BreathSource(Protocol):
    rate_hz: float | None

    def samples(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Chunks of (t_s, values); NaN values mark gaps."""
        ...


def _need_rate(path: Path, rate_hz: float | None) -> float:
    if rate_hz is None:
        raise InputError(f"{path.name} holds values without times; give its sampling rate with --rate-hz N.")
    return check_sampling_rate_hz(rate_hz)


def load_breath_signal(path, /) -> str | None:
    """The signal kind a recording names in a ``# signal: KIND`` line (``belt record`` writes
    one), or None."""
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as fh:
            for _, line in zip(range(20), fh):
                m = SIGNAL_HEADER.match(line.strip())
                if m and m.group(1).lower() in BREATH_SIGNALS:
                    return m.group(1).lower()
    except OSError:
        return None
    return None


def check_breath_values(path: Path, t_s: np.ndarray, values: np.ndarray, /, *, gaps_allowed: bool) -> None:
    """One clear error for a recording no analysis can use: empty, too short for a breath,
    infinite or absurdly large values, NaN where it cannot mean a gap, nothing but one value."""
    name = path.name
    finite = np.isfinite(values)
    if values.size == 0 or not finite.any():
        raise InputError(f"Expected breath samples in {name}, but it holds {'no numbers' if values.size else 'none'}: "
                         "record again or choose another file.")
    if np.isinf(values).any() or np.abs(values[finite]).max() > MAX_ABS_VALUE:
        raise InputError(f"Expected breath values a sensor can give in {name}, but some are infinite or beyond "
                         f"{MAX_ABS_VALUE:g}: the file is damaged or not a breath recording.")
    if not gaps_allowed and not finite.all():
        raise InputError(f"Expected numbers in every sample of {name}, but {int((~finite).sum())} are NaN: a gap "
                         "cannot be told from a fault here; use a t_s,value CSV with empty values for gaps.")
    if np.ptp(values[finite]) == 0:
        raise InputError(f"Expected a moving breath signal in {name}, but every value is {values[finite][0]:g}: "
                         "check that the sensor was on and connected.")
    span = float(t_s[finite][-1] - t_s[finite][0]) if finite.sum() > 1 else 0.0
    if span < MIN_RECORDING_S:
        raise InputError(f"Expected at least {MIN_RECORDING_S:g} s of breathing in {name} (one breath), but it "
                         f"covers {span:.2f} s: record for longer.")


def load_breath_file(path, /, *, rate_hz: float | None = None, belt_kind: str | None = None,
                     column: str | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(t_s, values, rate_hz) from a CSV, one-column text or .npy file (see the module
    docstring), checked by :func:`check_breath_values` (NaN is a gap only in a CSV)."""
    path = Path(path)
    if rate_hz is not None:
        check_sampling_rate_hz(rate_hz)
    if not path.is_file():
        raise InputError(f"Expected a breath recording at {path}, but there is no such file.")
    if path.stat().st_size == 0:
        raise InputError(f"Expected a breath recording in {path.name}, but the file is empty.")
    t_s, values, rate = _load_any(path, rate_hz, belt_kind, column)
    check_sampling_rate_hz(rate, what=f"the sampling rate of {path.name}")
    check_breath_values(path, t_s, values, gaps_allowed=path.suffix.lower() == ".csv")
    return t_s, values, rate


def _load_any(path: Path, rate_hz: float | None, belt_kind: str | None, column: str | None):
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"Expected a numpy array in {path.name}, but it cannot be read: {exc}.") from exc
        try:
            values = np.asarray(values, dtype=float).squeeze()
        except (TypeError, ValueError) as exc:
            raise InputError(f"Expected numbers in {path.name}, but its array holds {values.dtype}.") from exc
        if values.ndim != 1:
            raise InputError(f"Expected one breath channel in {path.name}, but got an array of shape {values.shape}.")
        rate = _need_rate(path, rate_hz)
        return np.arange(values.size) / rate, values, rate
    text = path.read_text(errors="replace")
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    if first.replace(" ", "").startswith("t_monotonic,char_uuid,hex"):
        return _load_notification_log(path, rate_hz, belt_kind)
    if column is not None:
        return _load_column(path, lines, column, rate_hz)
    if suffix == ".csv" or "t_s" in first:
        return _load_csv(path, lines, rate_hz)
    header_rate = None
    for ln in lines:
        if ln.lstrip().startswith("#") and (m := RATE_HEADER.search(ln)):
            header_rate = float(m.group(1))
    try:
        values = np.loadtxt(path, comments="#", dtype=float, ndmin=1)
    except ValueError as exc:
        raise InputError(f"Expected one number per line in {path.name}, but it cannot be read: {exc}.") from exc
    if values.ndim != 1:
        raise InputError(f"Expected one column in {path.name}, but got {values.shape[1]}; use a t_s,value CSV.")
    rate = _need_rate(path, rate_hz if rate_hz is not None else header_rate)
    return np.arange(values.size) / rate, values, rate


def _load_notification_log(path: Path, rate_hz: float | None, belt_kind: str | None):
    from sensing.belts.kinds import belt_kinds_help
    from sensing.belts.replay import replay_notification_log

    if belt_kind is None:
        raise InputError(f"{path.name} is a raw belt notification log; say which belt recorded it "
                         f"with --belt-kind {belt_kinds_help('|')}.")

    samples = replay_notification_log(path, belt_kind)
    if len(samples) < 2:
        raise InputError(f"Expected breath samples in {path.name}, but the {belt_kind} decoder found {len(samples)}.")
    t_s = np.array([s.t_s for s in samples], dtype=float)
    values = np.array([s.value for s in samples], dtype=float)
    rate = rate_hz if rate_hz is not None else float(1.0 / np.median(np.diff(t_s)))
    return t_s - t_s[0], values, rate


def _load_column(path: Path, lines: list[str], column: str, rate_hz: float | None):
    """One named column of a CSV without times (e.g. NeuroKit's ``ECG,PPG,RSP`` files)."""
    rows = csv.reader(ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))
    header = [h.strip() for h in next(rows, [])]
    if column not in header:
        raise InputError(f"Expected a column named {column!r} in {path.name}, but its columns are {header}.")
    k = header.index(column)
    try:
        values = np.array([float(r[k]) if r[k].strip() else np.nan for r in rows], dtype=float)
    except (ValueError, IndexError) as exc:
        raise InputError(f"Expected numbers in column {column!r} of {path.name}, but a row is not one: {exc}.") from exc
    rate = _need_rate(path, rate_hz)
    return np.arange(values.size) / rate, values, rate


def _load_csv(path: Path, lines: list[str], rate_hz: float | None):
    rows = csv.reader(ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))
    header = [h.strip() for h in next(rows, [])]
    if "t_s" not in header or "value" not in header:
        raise InputError(f"Expected a CSV header with t_s and value columns in {path.name}, but got {header}.")
    it, iv = header.index("t_s"), header.index("value")
    t, v = [], []
    for n, row in enumerate(rows, start=2):
        try:
            t.append(float(row[it]))
            v.append(float(row[iv]) if row[iv].strip() else np.nan)
        except (ValueError, IndexError) as exc:
            raise InputError(f"Expected numbers in {path.name} line {n}, but got {row}.") from exc
    t_s, values = np.asarray(t), np.asarray(v)
    if t_s.size < 2 or not np.all(np.isfinite(t_s)) or np.any(np.diff(t_s) < 0):
        raise InputError(f"Expected at least two rows with finite, increasing t_s in {path.name}.")
    rate = rate_hz if rate_hz is not None else float(1.0 / np.median(np.diff(t_s)))
    return t_s - t_s[0], values, rate


class ReplayBreathSource:
    """A recording handed over in step with a clock: :meth:`take_until` gives every sample up
    to a time not given yet (a practice session calls it once per frame with the session
    time); :meth:`samples` yields chunks of ``chunk_s``, sleeping to keep real time if
    ``realtime``."""

    def __init__(self, t_s: np.ndarray, values: np.ndarray, /, *, rate_hz: float | None,
                 chunk_s: float = DEFAULT_CHUNK_S, realtime: bool = True, max_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.t_s = np.asarray(t_s, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.rate_hz = None if rate_hz is None else float(rate_hz)
        self.chunk_s = chunk_s
        self.realtime = realtime
        self.max_s = max_s
        self._clock, self._sleep = clock, sleep
        self._i = 0

    def rewind(self) -> None:
        """Start again from the first sample."""
        self._i = 0

    def take_until(self, t_s: float, /) -> tuple[np.ndarray, np.ndarray]:
        """The samples at times up to and including ``t_s`` not yet taken."""
        j = int(np.searchsorted(self.t_s, t_s, side="right"))
        i, self._i = self._i, max(self._i, j)
        return self.t_s[i:j], self.values[i:j]

    def samples(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self.rewind()
        end = self.t_s[-1] if self.max_s is None else min(self.t_s[-1], self.max_s)
        start_clock = self._clock()
        # Chunks of chunk_s; the last one takes everything up to the end (edges from arange
        # may stop a rounding error short of it and lose the final sample).
        n_chunks = max(1, math.ceil(end / self.chunk_s - CHUNK_EDGE_TOLERANCE))
        for k in range(1, n_chunks + 1):
            t_edge = k * self.chunk_s
            if self.realtime:
                wait = t_edge - (self._clock() - start_clock)
                if wait > 0:
                    self._sleep(wait)
            t, v = self.take_until(float(end) if k == n_chunks else min(t_edge, float(end)))
            if t.size:
                yield t, v


def open_breath_replay(path, /, *, rate_hz: float | None = None, realtime: bool = True,
                       max_s: float | None = None, belt_kind: str | None = None,
                       column: str | None = None) -> ReplayBreathSource:
    t_s, values, rate = load_breath_file(path, rate_hz=rate_hz, belt_kind=belt_kind, column=column)
    log.info("replaying %s: %d samples at %.1f Hz", Path(path).name, values.size, rate)
    return ReplayBreathSource(t_s, values, rate_hz=rate, realtime=realtime, max_s=max_s)


class BeltEventConverter:
    """Belt events (``BreathSample``, ``Gap``) as ``(t_s, values)`` arrays on a clock whose
    zero is ``origin_s`` (a ``time.monotonic()``; None: the first sample's time). Events from
    before the origin are dropped. A ``Gap`` becomes one NaN sample at its start, so the
    analyzer resets instead of bridging it. The one converter for ``breathe`` and practice."""

    def __init__(self, *, origin_s: float | None = None) -> None:
        self.origin_s = origin_s
        self.last_sample_t_s: float | None = None  # on this clock
        self.in_gap = False  # a Gap was reported and no sample has come since

    def convert(self, events, /) -> tuple[np.ndarray, np.ndarray]:
        from sensing.belts.base import BreathSample, Gap

        t, v = [], []
        for event in events:
            if isinstance(event, BreathSample):
                if self.origin_s is None:
                    self.origin_s = event.t_s
                if event.t_s >= self.origin_s:
                    t.append(event.t_s - self.origin_s)
                    v.append(event.value)
                    self.last_sample_t_s = t[-1]
                    self.in_gap = False
            elif isinstance(event, Gap) and self.origin_s is not None and event.start_s >= self.origin_s:
                t.append(event.start_s - self.origin_s)
                v.append(np.nan)
                self.in_gap = True
        order = np.argsort(t, kind="stable")
        return np.asarray(t, dtype=float)[order], np.asarray(v, dtype=float)[order]


class BeltBreathSource:
    """A live belt (``sensing.belts.BeltStream``) as a :class:`BreathSource`.

    Times are on the clock of a :class:`BeltEventConverter` (by default the first sample is
    0). :meth:`poll` never waits (a practice session calls it once per frame); :meth:`samples`
    waits up to ``poll_s`` for each chunk and stops after ``max_s``. When the belt gives up
    (its ``SourceError``, an unexpected failure in its thread included), or its stream ends,
    both stop: ``error`` holds the error, ``ended`` is True, and one warning is logged.
    """

    def __init__(self, stream, /, *, max_s: float | None = None, poll_s: float = DEFAULT_CHUNK_S,
                 origin_s: float | None = None) -> None:
        self.stream = stream
        self.rate_hz = None
        self.max_s = max_s
        self.poll_s = poll_s
        self.converter = BeltEventConverter(origin_s=origin_s)
        self.error: SourceError | None = None
        self.ended = False

    @property
    def reconnecting(self) -> bool:
        """A gap was reported and streaming has not resumed."""
        return self.converter.in_gap

    def poll(self, *, timeout_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Every sample the belt delivered since the last call (waiting up to ``timeout_s``)."""
        if self.ended:
            return np.empty(0), np.empty(0)
        try:
            events = self.stream.read(timeout_s=timeout_s)
        except SourceError as exc:
            self.error, self.ended = exc, True
            log.warning("the breathing belt stopped: %s", exc)
            return np.empty(0), np.empty(0)
        if not events and getattr(self.stream, "finished", False):
            self.ended = True
            log.warning("the breathing belt's stream ended")
        return self.converter.convert(events)

    def samples(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while not self.ended:
            t, v = self.poll(timeout_s=self.poll_s)
            if t.size:
                yield t, v
                if self.max_s is not None and t[-1] >= self.max_s:
                    return
