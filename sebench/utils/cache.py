"""Where sebench keeps caches: ``$SEBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/sebench``,
else ``~/.cache/sebench``; one subfolder per kind (``scores``, ``scan``, ...)."""
import os


def cache_dir(kind):
    root = os.environ.get("SEBENCH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "sebench")
    return os.path.join(root, kind)
