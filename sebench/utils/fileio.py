"""Atomic file output: write to a temporary file in the same folder, then rename.

A killed job therefore never leaves a half-written result that a rerun would
mistake for a finished one.
"""
import contextlib
import os
import tempfile

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # Keep the real extension last so libraries that infer the format from it still work.
    ext = os.path.splitext(path)[1] if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp" + ext,
                               dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results must stay shareable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text):
    with atomic_path(path, suffix="") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def sync_filesystem(path):
    """Flush the file system holding ``path`` to disk (Linux ``syncfs``; ``sync`` elsewhere).

    One call after a batch of atomically renamed files replaces an fsync per file: a killed
    job loses nothing either way, and after a power cut the batch is redone because its
    completion record is written after this call.
    """
    import ctypes

    folder = os.path.abspath(path)
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        libc = ctypes.CDLL(None)   # the process's own symbols, libc's among them
        fd = os.open(folder, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()
