"""Per-item random generators derived from (seed, index, ...).

Every simulated item draws from its own generator, so an item's content does not depend on
which job produced it or on how many items came before: J shards reproduce one job exactly.
"""
import zlib

import numpy as np


def item_rng(seed, index, *salt):
    """A generator for item ``index``; ``salt`` strings separate independent streams."""
    words = [int(seed) & 0xFFFFFFFF, int(index)]
    words += [zlib.crc32(str(s).encode()) for s in salt]
    return np.random.default_rng(np.random.SeedSequence(words))


def draw_uniform(rng, spec):
    """``[lo, hi]`` -> U[lo, hi]; a scalar -> itself; ``{"choice": [...]}`` -> one of them."""
    if isinstance(spec, dict) and "choice" in spec:
        values = list(spec["choice"])
        return values[int(rng.integers(len(values)))]
    if isinstance(spec, (list, tuple)):
        lo, hi = float(spec[0]), float(spec[1])
        return float(rng.uniform(lo, hi)) if hi > lo else lo
    return spec
