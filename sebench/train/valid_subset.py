"""Validation subsets: a seeded draw stratified across speakers (and noise types / SNRs).

Taking the first N sorted keys picks one or two speakers (keys sort by speaker), so early
stopping, LR halving and the best checkpoint would follow those speakers alone. Here every
speaker gets a share proportional to its utterances (at least one when N >= #speakers,
largest remainders for the rest); inside a speaker the utterances are taken round-robin
over the (``utt2noise``, ``utt2snr`` in 5 dB bins) strata where those files exist. The
chosen keys are written to the experiment dir and read back on resume, so a resumed run
validates on exactly the same utterances even if the seed-to-subset mapping changes.
"""
import math
import os

import numpy as np

from sebench.data.datadir import DataDir
from sebench.errors import SebenchError
from sebench.simulate.seeding import item_rng
from sebench.utils.fileio import atomic_write_text

SNR_BIN_DB = 5.0


def _strata(ddir, keys):
    """key -> (noise, snr bin) for the secondary strata present in the data dir."""
    noise = ddir.read("utt2noise") if ddir.has("utt2noise") else {}
    snr = ddir.read_float("utt2snr") if ddir.has("utt2snr") else {}
    return {k: (noise.get(k), math.floor(snr[k] / SNR_BIN_DB) if k in snr else None)
            for k in keys}


def allocate(sizes, n, order):
    """Per-group quotas summing to ``n``: proportional to ``sizes``, >= 1 each when n >= #groups,
    never above a group's size; ``order`` (a permutation) breaks ties."""
    sizes = np.asarray(sizes, dtype=float)
    exact = n * sizes / sizes.sum()
    quota = np.minimum(np.floor(exact), sizes).astype(int)
    if n >= len(sizes):
        quota = np.maximum(quota, 1)
    rank = np.empty(len(order), int)
    rank[np.asarray(order)] = np.arange(len(order))
    while quota.sum() > n:      # the minimum of one pushed the total over: take from the
        over = [g for g in range(len(sizes)) if quota[g] > 1]       # most over-served
        quota[max(over, key=lambda g: (quota[g] - exact[g], -rank[g]))] -= 1
    while quota.sum() < n:      # largest remainders first
        room = [g for g in range(len(sizes)) if quota[g] < sizes[g]]
        quota[max(room, key=lambda g: (exact[g] - quota[g], -rank[g]))] += 1
    return quota


def _round_robin(keys, strata, rng):
    """The keys of one speaker, shuffled, then interleaved across their strata."""
    groups = {}
    for k in rng.permutation(sorted(keys)):
        groups.setdefault(strata[k], []).append(str(k))
    queues = [groups[s] for s in sorted(groups, key=repr)]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    out = []
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


def stratified_subset(data_dir, keys, n, seed, salt="valid"):
    """``n`` of ``keys`` (all of them when n is None or >= len(keys)), sorted."""
    keys = sorted(keys)
    if n is None or int(n) >= len(keys):
        return keys
    n = int(n)
    ddir = DataDir(data_dir)
    utt2spk = ddir.utt2spk()
    strata = _strata(ddir, keys)
    speakers = {}
    for k in keys:
        speakers.setdefault(utt2spk.get(k, k), []).append(k)
    names = sorted(speakers)
    rng = item_rng(seed, 0, "subset", salt)
    quota = allocate([len(speakers[s]) for s in names], n, rng.permutation(len(names)))
    chosen = []
    for i, (spk, q) in enumerate(zip(names, quota)):
        if q:
            chosen += _round_robin(speakers[spk], strata, item_rng(seed, i, "subset", salt, spk))[:q]
    return sorted(chosen)


def recorded_subset(record, data_dir, keys, n, seed, salt="valid"):
    """The subset recorded in ``record`` when it exists (a resume), else a fresh stratified
    draw written there atomically (``record`` None: draw only)."""
    if record and os.path.isfile(record):
        with open(record, encoding="utf-8") as f:
            chosen = [line.strip() for line in f if line.strip()]
        missing = sorted(set(chosen) - set(keys))
        if missing:
            raise SebenchError(f"{record}: {len(missing)} recorded validation keys are not in "
                               f"{data_dir} (first: {missing[0]}); the validation set changed "
                               "since this experiment started: use --force or a new --exp")
        return chosen
    chosen = stratified_subset(data_dir, keys, n, seed, salt)
    if record:
        atomic_write_text(record, "".join(k + "\n" for k in chosen))
    return chosen
