"""Finding a corpus's files in its release layout, and saying clearly when the layout is wrong.

Scanning uses ``os.scandir`` (one ``stat``-free pass per folder, folders in sorted order) so a
million-file tree costs seconds, and it yields files as it goes: nothing is decoded, nothing is
held. Hidden entries (``.``-prefixed, including macOS ``._*`` AppleDouble files that zip
archives made on a Mac carry) are skipped.
"""
import os
import re

from sebench.errors import SebenchError
from sebench.utils.log import get_logger

log = get_logger("corpora")


class LayoutError(SebenchError):
    """A corpus root that is missing or not in the release layout.

    The message is one line naming the root and the problem, then the expected tree.
    """

    def __init__(self, corpus, root, problem, tree):
        self.corpus, self.root, self.problem, self.tree = corpus, str(root), problem, tree
        super().__init__(f"{root}: {problem}")
        # printed after the one-line error by the CLI (SebenchError.details)
        self.details = f"expected layout of the {corpus} root:\n{tree.rstrip()}"


def check_root(corpus, root, tree):
    """The absolute root; a missing root or a file instead of a folder is a LayoutError."""
    if not root:
        raise LayoutError(corpus, "(empty)", "no corpus root given (--root)", tree)
    path = os.path.abspath(os.path.expanduser(str(root)))
    if not os.path.exists(path):
        raise LayoutError(corpus, path, "corpus root not found", tree)
    if not os.path.isdir(path):
        raise LayoutError(corpus, path, "corpus root is a file, not a folder", tree)
    return path


def find_dir(base, *names):
    """The first of ``base/name`` that is a folder (None if none is). A folder that holds
    nothing but one folder of the same name (as some unzip tools leave it) is descended."""
    for name in names:
        path = os.path.join(base, name)
        if os.path.isdir(path):
            inner = os.path.join(path, os.path.basename(name))
            if os.path.isdir(inner) and _only_entry(path) == os.path.basename(name):
                return inner
            return path
    return None


def _only_entry(path):
    try:
        entries = [e.name for e in os.scandir(path) if not e.name.startswith(".")]
    except OSError:
        return None
    return entries[0] if len(entries) == 1 else None


def is_hidden(name):
    return name.startswith(".")


def scan_files(folder, extensions, recursive=True):
    """Yield ``(relpath, abspath)`` of files under ``folder`` whose name ends with one of
    ``extensions`` (case-insensitive), folders visited in sorted order, files sorted."""
    extensions = tuple(e.lower() for e in extensions)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(folder, rel_dir) if rel_dir else folder
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as e:
            raise SebenchError(f"{abs_dir}: cannot list folder ({e.strerror})") from None
        subdirs = []
        for entry in entries:
            if is_hidden(entry.name):
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir():
                if recursive:
                    subdirs.append(rel)
            elif entry.name.lower().endswith(extensions):
                yield rel, entry.path
        stack.extend(reversed(subdirs))  # depth-first, in sorted order


def list_dirs(folder):
    """Names of the non-hidden sub-folders of ``folder``, sorted."""
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not is_hidden(e.name))
    except OSError as e:
        raise SebenchError(f"{folder}: cannot list folder ({e.strerror})") from None


def stem(relpath):
    """``a/b/c.wav`` -> ``a/b/c`` (also strips a doubled extension such as ``x.wav.wav``)."""
    base, ext = os.path.splitext(relpath)
    while ext and os.path.splitext(base)[1].lower() == ext.lower():
        base = os.path.splitext(base)[0]
    return base


def make_key(*parts):
    """A data-dir key from path parts: ``/`` -> ``-``, whitespace -> ``_``."""
    text = "-".join(p for p in parts if p)
    return re.sub(r"\s+", "_", text.replace("/", "-"))


def warn_left_out(corpus, folder, names, what="match no file name of the layout; left out"):
    """One warning naming the folder, how many of its files are affected and how (``what``,
    e.g. why they were left out), and the first of them; nothing when ``names`` is empty.
    Returns the count."""
    if names:
        log.warning("%s: %d file(s) in %s %s, e.g. %s", corpus, len(names), folder, what,
                    names[0])
    return len(names)
