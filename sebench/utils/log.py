"""Logging in the ESPnet style: ``date (module:line) LEVEL: message`` on stderr.

Progress bars share stderr with log lines and the final error line, and neither may be
glued to a bar: on a terminal, log lines are written above the live bars (tqdm.write) and
an error first ends the bar's line; in a job log or CI (stderr not a terminal), every bar
refresh is a whole line of its own, so the stream is always at the start of a line. The
CLI closes the live bars before it prints an error (:func:`end_progress_line`).
"""
import logging
import os
import sys

_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


class _BarAwareHandler(logging.StreamHandler):
    """Writes above live progress bars on a terminal instead of after a bar's text."""

    def emit(self, record):
        if _live_bars() and _is_tty(self.stream):
            from tqdm import tqdm
            try:
                tqdm.write(self.format(record), file=self.stream)
            except Exception:  # noqa: BLE001 - logging must never raise
                self.handleError(record)
            return
        super().emit(record)


def setup_logging(verbose=False):
    level = logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger("sebench")
    if not root.handlers:
        handler = _BarAwareHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return root


def get_logger(name):
    return logging.getLogger(name if name.startswith("sebench") else f"sebench.{name}")


class _LineStream:
    """A file for tqdm in logs: each refresh (``\\r`` + bar) becomes one whole line."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        line = text.replace("\r", "").rstrip(" ")
        if line.strip():
            self.stream.write(line if line.endswith("\n") else line + "\n")

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return False


def progress(iterable=None, **kwargs):
    """A tqdm bar that also behaves in job logs: refreshed rarely when stderr is not a TTY,
    each refresh on a line of its own."""
    from tqdm import tqdm

    interactive = _is_tty(sys.stderr)
    kwargs.setdefault("mininterval", 0.5 if interactive else 30.0)
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("disable", os.environ.get("SEBENCH_NO_PROGRESS") == "1")
    if not interactive:
        kwargs.setdefault("file", _LineStream(sys.stderr))
    return tqdm(iterable, **kwargs)


def end_progress_line():
    """Before a message that must start a line (the CLI's error): close the live bars, which
    ends their line (or clears it) and keeps a bar's last state from following the message."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", ())):
        try:
            bar.close()
        except Exception:  # noqa: BLE001 - a broken bar must not hide the error
            pass


def _live_bars():
    tqdm = sys.modules.get("tqdm")
    if tqdm is None:
        return False
    bars = list(getattr(tqdm.tqdm, "_instances", ()))
    return any(not getattr(bar, "disable", True) for bar in bars)


def _is_tty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
