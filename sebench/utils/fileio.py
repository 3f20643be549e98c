"""Atomic file output: write to a temporary file in the same folder, then rename.

A killed job therefore never leaves a half-written result that a rerun would mistake for a
finished one. Temporaries are hidden, named ``.<name>.<random>.tmp<ext>`` and held under an
exclusive ``flock`` while they are written. A killed writer's temporary stays behind, but the
first atomic write of any later process into that folder removes every temporary no live
process holds (:func:`remove_stale_temporaries`, which commands also call on their output
trees), and folder listings skip hidden files, so a leftover is never taken for audio.

A write that fails because the disk is full, read-only or not writable raises
:class:`~sebench.errors.OutputError` naming the path and the cause (libsndfile and torch
report these as "System error" or "enforce fail"; the folder is examined to say which),
and the target keeps its previous content.
"""
import contextlib
import errno
import fcntl
import os
import re
import tempfile

from sebench.errors import OutputError, SebenchError

_UMASK = os.umask(0)
os.umask(_UMASK)

#: ``.<name>.<8 random chars of mkstemp>.tmp<ext>``
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.[^./]+)?$")
#: folders this process has already cleaned of stale temporaries
_cleaned = set()


@contextlib.contextmanager
def atomic_path(path, suffix=None, fsync=False):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    ``fsync`` flushes the data to disk before the rename (checkpoints: a crash right after
    must not leave an empty file under the good name).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise OutputError(folder, e.strerror or str(e), e.errno) from None
    if folder not in _cleaned:
        _cleaned.add(folder)
        remove_stale_temporaries(folder)
    # Keep the real extension last so libraries that infer the format from it still work.
    ext = os.path.splitext(path)[1] if suffix is None else suffix
    fd, tmp = _locked_temporary(folder, "." + os.path.basename(path) + ".", ".tmp" + ext, path)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results must stay shareable
        os.replace(tmp, path)
    except BaseException as e:
        failure = write_failure(path, e)    # examined before the partial file is removed
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if failure is not None:
            raise failure from None
        raise
    finally:
        os.close(fd)


def _locked_temporary(folder, prefix, suffix, path):
    """mkstemp + flock; retried if a concurrent cleanup removed the file before it was locked."""
    while True:
        try:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
        except OSError as e:
            raise OutputError(path, e.strerror or str(e), e.errno) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:     # no locks on this filesystem: cleanups then never remove the file
            return fd, tmp
        if os.fstat(fd).st_nlink:
            return fd, tmp
        os.close(fd)


def remove_stale_temporaries(folder, recursive=False):
    """Remove the temporaries of killed writers below ``folder``; returns their paths.

    A temporary still locked by a live writer (another job writing into the same folder)
    is kept, as is everything that does not match the temporary-name pattern.
    """
    removed = []
    walk = os.walk(folder) if recursive else [(folder, None, None)]
    for root, _, names in walk:
        if names is None:
            try:
                names = [e.name for e in os.scandir(root) if e.is_file(follow_symlinks=False)]
            except OSError:
                return removed
        for name in names:
            if TEMP_NAME.match(name) and _remove_if_unlocked(os.path.join(root, name)):
                removed.append(os.path.join(root, name))
    return removed


def _remove_if_unlocked(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path)
        return True
    except OSError:     # held by a live writer, locks unsupported, or not removable
        return False
    finally:
        os.close(fd)


_WRITE_FAILURE_TEXT = ("inline_container", "PytorchStreamWriter", "file write failed")


def write_failure(path, exc):
    """An :class:`OutputError` for ``exc`` raised while writing ``path``, or None when ``exc``
    is not a write failure (a bug, bad audio, an interrupt) and should propagate as it is."""
    if isinstance(exc, (SebenchError, KeyboardInterrupt, SystemExit, GeneratorExit)):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if isinstance(exc, OSError) and exc.errno is not None:
        return OutputError(path, exc.strerror or os.strerror(exc.errno), exc.errno)
    library_write = type(exc).__name__ == "LibsndfileError" or (
        isinstance(exc, RuntimeError) and any(t in str(exc) for t in _WRITE_FAILURE_TEXT))
    if not library_write and not isinstance(exc, OSError):
        return None
    code = folder_problem(folder)
    if code is not None:
        return OutputError(path, os.strerror(code), code)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return OutputError(path, f"write failed ({detail})")


def folder_problem(folder):
    """errno of why nothing can be written into ``folder`` (read-only, no permission, no
    space left), or None when it looks writable."""
    try:
        st = os.statvfs(folder)
    except OSError as e:
        return e.errno
    if st.f_flag & os.ST_RDONLY:
        return errno.EROFS
    if not os.access(folder, os.W_OK):
        return errno.EACCES
    if st.f_bavail == 0 or (st.f_favail == 0 and st.f_files):
        return errno.ENOSPC
    return None


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
