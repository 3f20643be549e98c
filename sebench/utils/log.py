"""Logging in the ESPnet style: ``date (module:line) LEVEL: message`` on stderr."""
import logging
import os
import sys

_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


def setup_logging(verbose=False):
    level = logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger("sebench")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return root


def get_logger(name):
    return logging.getLogger(name if name.startswith("sebench") else f"sebench.{name}")


def progress(iterable=None, **kwargs):
    """A tqdm bar that also behaves in job logs: refreshed rarely when stderr is not a TTY."""
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.5 if interactive else 30.0)
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("disable", os.environ.get("SEBENCH_NO_PROGRESS") == "1")
    return tqdm(iterable, **kwargs)
