"""User-facing errors: one line naming the file or option and the problem."""


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
