"""A quiet console: MindMove's own lines on stderr, not the C++ logs of the libraries below it.

MediaPipe, TensorFlow Lite, absl and glog write from C++ straight to file descriptor 2
("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", "W0000 00:00:... ]
inference_feedback_manager.cc:114] ..."). No environment variable of MediaPipe 0.10.21
silences them (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL and absl's flags were tried: absl
writes everything before ``absl::InitializeLog()``, which MediaPipe never calls, and TFLite
logs through its own minimal logger), so :func:`quiet_native_logs` puts a pipe on
descriptor 2 while a command runs and a thread copies every line to the real stderr except
those of :data:`NATIVE_LOG_LINE`. Python's own stderr (warnings, MindMove's one-line errors,
logging) passes through unchanged. ``mindmove --verbose`` leaves descriptor 2 alone.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

# A line written by glog/absl ("W0000 00:00:1796573443.708425 2008 file.cc:114] ...": before
# absl is initialised the clock part is the Unix time in seconds), by TensorFlow
# Lite's minimal logger ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU."), or
# absl's notice that it logs to stderr before being initialised.
NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} [\d:.]+ +\d+ [\w./+-]+:\d+\] "
    rb"|INFO: Created TensorFlow Lite "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)
DRAIN_TIMEOUT_S = 5.0  # waiting for the last lines to be copied when the command ends


def _copy_lines(read_fd: int, write_fd: int) -> None:
    """Copy ``read_fd`` to ``write_fd`` line by line, dropping native log lines, until EOF."""
    pending = b""
    while chunk := os.read(read_fd, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        kept = b"".join(line + b"\n" for line in lines if not NATIVE_LOG_LINE.match(line))
        if kept:
            os.write(write_fd, kept)
    if pending and not NATIVE_LOG_LINE.match(pending):
        os.write(write_fd, pending)


@contextmanager
def quiet_native_logs(*, enabled: bool = True) -> Iterator[None]:
    """While the block runs, descriptor 2 drops the C++ libraries' log lines (see the module docstring)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    copier = threading.Thread(target=_copy_lines, args=(read_fd, real_stderr), name="mindmove-stderr", daemon=True)
    copier.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # the pipe's last writer is gone (unless a child still holds it)
        copier.join(DRAIN_TIMEOUT_S)
        if not copier.is_alive():  # else a child process still writes: the copier keeps both ends
            os.close(read_fd)
            os.close(real_stderr)
