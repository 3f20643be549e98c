"""One training per experiment dir at a time: an exclusive ``flock`` on ``EXP/.lock``.

The lock file holds the PID of the training that owns it, so a second ``sebench train`` into
the same ``--exp`` stops at once naming it instead of "resuming" the same checkpoint. The
kernel drops the lock when the owner exits, however it ends (a kill -9 included), so a rerun
after a kill is never blocked by a stale file. Forked children (data loader workers) close
their copy at once: a worker that outlives a killed trainer by seconds must not hold it.
"""
import contextlib
import errno
import fcntl
import os

from sebench.errors import SebenchError
from sebench.utils.log import get_logger

log = get_logger("sebench.train")
LOCK_NAME = ".lock"
_held = set()          # descriptors of the locks this process holds


def _close_in_child():
    for fd in _held:
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


@contextlib.contextmanager
def experiment_lock(exp):
    """Hold ``EXP/.lock`` for the ``with`` block; SebenchError when another process holds it."""
    os.makedirs(exp, exist_ok=True)
    path = os.path.join(exp, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                # a file system without locks (some network mounts): train unprotected
                log.warning("%s: cannot lock (%s): nothing stops a second training into %s",
                            path, e.strerror, exp)
                yield
                return
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise SebenchError(f"{exp}: another training is running into this experiment dir "
                               f"(PID {holder}, lock {path}); wait for it or stop it, or give "
                               "another --exp") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held.add(fd)
        yield
    finally:
        _held.discard(fd)
        os.close(fd)
