"""Process memory tuning for array-heavy loops (glibc).

Simulation makes a dozen temporary arrays of a few hundred KB per item. glibc serves blocks
that size from mmap or trims them off the heap as soon as they are freed, so every new array
page-faults fresh zeroed pages, which costs more than the arithmetic on them (half of
`sebench simulate`'s time per 3 s mixture). Raising the mmap and trim thresholds keeps freed
memory in the process for the next item; peak memory stays what the largest item needs.
"""
import ctypes

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # mallopt(3) parameter numbers


def reuse_freed_memory(mmap_mb=32, trim_mb=256):
    """Keep freed blocks up to ``mmap_mb`` (and ``trim_mb`` of free heap) for reuse.

    A no-op returning False where the C library has no ``mallopt`` (macOS, Windows).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_mb << 20)
                and mallopt(_M_TRIM_THRESHOLD, trim_mb << 20))
