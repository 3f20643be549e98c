"""User-facing errors: one line naming the file or option and the problem."""
import errno as _errno


class SebenchError(Exception):
    """An error caused by the user's input (a file, a path, an option).

    The CLI prints it as one line and exits non-zero, without a traceback.
    """


class AudioError(SebenchError):
    """Audio that cannot be used: unreadable, empty, non-finite, wrong channel count..."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class ConfigError(SebenchError):
    """A bad configuration key or value."""


class OutputError(SebenchError):
    """An output that cannot be written: a full, read-only or unwritable disk.

    ``errno`` (when known) lets a batch tell a condition that fails every later write
    (no space, read-only) from one that concerns this file only."""

    #: errors after which every further write into the same place fails as well (EIO: the
    #: device itself failed)
    GLOBAL = frozenset({_errno.ENOSPC, _errno.EROFS, _errno.EDQUOT, _errno.EIO})

    def __init__(self, path, cause, code=None):
        self.path, self.cause, self.errno = str(path), cause, code
        super().__init__(f"cannot write {path}: {cause}")

    @property
    def stops_batch(self):
        return self.errno in self.GLOBAL
