"""The one root error type and the cases a caller may want to handle.

Every message says what was expected, what was found and what to do, in one line: the
command line prints ``str(error)`` as it is and exits non-zero.
"""


class MindMoveError(Exception):
    """Root of every error MindMove raises on purpose."""


class InputError(MindMoveError):
    """A file, folder or stream given to MindMove cannot be used as it is."""


class SourceError(MindMoveError):
    """A camera, video or sensor cannot be opened or stopped delivering."""


class ValidationError(MindMoveError):
    """A value (a range, a profile field, an exercise file) is outside what is allowed."""


class StoreError(MindMoveError):
    """The session store cannot be reached or refuses an operation."""


class AccessDenied(MindMoveError):
    """The signed-in user may not see or change this record."""
