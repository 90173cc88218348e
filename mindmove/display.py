"""Whether a window can open here, asked before anything starts.

OpenCV's windows (the practice, calibration and breathing windows) use its bundled Qt, whose
only platform plugin on Linux is X11 (xcb). Without an X display Qt does not raise: it prints
"could not load the Qt platform plugin" and aborts the whole process (exit 134), leaving a
half-started session behind. :func:`check_display` asks first, the way Qt's plugin connects
(``xcb_connect`` through libxcb, so a wrong ``DISPLAY``, a stopped X server and a refused
authorisation are all caught), and refuses with one line saying to add ``--no-window`` or to
start from the desktop. Other systems (Windows, macOS) always have a display.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

from core.errors import InputError

log = logging.getLogger(__name__)


def _xcb_connects(display: str) -> bool | None:
    """Whether libxcb connects to ``display`` (None when libxcb cannot be loaded to ask)."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return None
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:  # xcb_connect never returns NULL: a failed connection reports an error code
        return connection is not None and xcb.xcb_connection_has_error(connection) == 0
    finally:
        if connection is not None:
            xcb.xcb_disconnect(connection)


def check_display(*, window: str = "the window") -> None:
    """Refuse (:class:`InputError`, one line) to open ``window`` where no display can show it."""
    if not sys.platform.startswith("linux"):
        return
    display = os.environ.get("DISPLAY", "").strip()
    if not display:
        raise InputError(f"No display was found (DISPLAY is not set), so {window} cannot open. Start MindMove "
                         "from the computer's desktop, or add --no-window to run without it.")
    connects = _xcb_connects(display)
    if connects is None:
        log.info("libxcb not found: cannot check DISPLAY=%s before opening %s", display, window)
    elif not connects:
        raise InputError(f"The display {display} cannot be reached (no X server answers there, or it refused "
                         f"this user), so {window} cannot open. Start MindMove from the computer's desktop, "
                         "or add --no-window to run without it.")
