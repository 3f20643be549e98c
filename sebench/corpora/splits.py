"""Train/valid/test splits: by listed ids, or drawn from a seed (never from global state).

Every draw sorts its input first, so the result depends only on the ids and the seed, not on
the order a file system listed them in.
"""
import zlib

import numpy as np

from sebench.errors import ConfigError


def _rng(seed, label):
    # one stream per purpose, so adding a draw elsewhere never shifts this one
    return np.random.default_rng([int(seed), zlib.crc32(label.encode())])


def as_list(value):
    """An id list from a YAML list, a comma-separated string or None."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def check_listed(listed, present, what, where):
    """Every listed id must exist: a typo in a split list must not silently shrink a set."""
    missing = sorted(set(listed) - set(present))
    if missing:
        raise ConfigError(f"{what} {', '.join(missing)} not found in {where}")


def draw_fraction(ids, fraction, seed, label):
    """A seeded subset of ``round(fraction * n)`` ids (at least 1 when fraction > 0 and n > 1)."""
    ids = sorted(set(ids))
    if not 0.0 <= float(fraction) < 1.0:
        raise ConfigError(f"{label}: fraction must be in [0, 1), got {fraction}")
    n = int(round(float(fraction) * len(ids)))
    if fraction > 0 and len(ids) > 1:
        n = min(max(n, 1), len(ids) - 1)
    order = _rng(seed, label).permutation(len(ids))
    return {ids[i] for i in order[:n]}


def draw_counts(ids, counts, seed, label):
    """Disjoint seeded groups: ``{group: n}`` -> ``{group: sorted ids}``, in the order given."""
    ids = sorted(set(ids))
    need = sum(int(n) for n in counts.values())
    if need > len(ids):
        raise ConfigError(f"{label}: {need} needed ({counts}) but only {len(ids)} available")
    order = [ids[i] for i in _rng(seed, label).permutation(len(ids))]
    groups, start = {}, 0
    for group, n in counts.items():
        groups[group] = sorted(order[start:start + int(n)])
        start += int(n)
    return groups


def draw_count(ids, n, seed, label):
    """A seeded subset of exactly ``n`` ids."""
    return set(draw_counts(ids, {"x": n}, seed, label)["x"])

