"""Quality labels for audio produced during training (GAN targets, robust-Q attacks, PESQNet).

A label is a DNSMOS score (``p808``, ``ovrl``, ``sig``, ``bak``: non-intrusive) or true
wideband PESQ (``pesq``, ITU-T P.862.2: needs the clean reference). Labels are cached by a
hash of the estimate's samples (and of the reference's), so unchanged audio (the noisy
inputs, which recur every epoch) is scored once. Scoring runs in a pool of worker processes
(one thread each): ``submit`` returns at once and ``collect`` gathers what is finished, so
a method can train on labels as they arrive (a replay buffer) instead of waiting.
"""
import hashlib
import multiprocessing as mp
import os

import numpy as np

from sebench.errors import ConfigError

#: label name -> (DNSMOS key, models needed); ``pesq`` is intrusive and needs no model
DNSMOS_LABELS = {"p808": ("p808", ("p808",)), "ovrl": ("ovrl", ("p835",)),
                 "sig": ("sig", ("p835",)), "bak": ("bak", ("p835",))}
INTRUSIVE_LABELS = ("pesq",)
LABELS = tuple(DNSMOS_LABELS) + INTRUSIVE_LABELS
_worker = None


def _init_worker(label):
    global _worker
    os.environ["OMP_NUM_THREADS"] = "1"
    if label in DNSMOS_LABELS:
        from sebench.metrics.dnsmos import DNSMOS
        _worker = DNSMOS(threads=1)


def _score(args):
    audio, reference, fs, which = args
    if not np.any(audio):
        return float("nan")
    if which == "pesq":
        from sebench.metrics.intrusive import MetricError, pesq_wb
        n = min(len(audio), len(reference))
        try:
            return pesq_wb(np.asarray(reference[:n], np.float64), np.asarray(audio[:n], np.float64),
                           fs)
        except MetricError:
            return float("nan")
    # short training clips: one window of the tiled clip (7x cheaper than all windows of a
    # 2 s clip tiled to 16 s; mean difference ~0.03-0.06 MOS)
    key, models = DNSMOS_LABELS[which]
    return float(_worker(audio, fs, models=models, short_clips="first_window")[key])


def digest(audio):
    return hashlib.sha1(np.ascontiguousarray(audio, dtype=np.float32).tobytes()).hexdigest()


class Labeller:
    """``max_pending``: at most this many estimates wait for a worker at once (``submit``
    blocks on the oldest beyond it), so queued audio stays bounded however slow scoring is."""

    def __init__(self, label="p808", workers=1, fs=16000, max_pending=None):
        if label not in LABELS:
            raise ConfigError(f"label metric must be one of {', '.join(LABELS)}, got {label!r}")
        if max_pending is not None and int(max_pending) < 1:
            raise ConfigError(f"max_pending must be >= 1 (or null), got {max_pending!r}")
        self.label, self.fs = label, int(fs)
        self.intrusive = label in INTRUSIVE_LABELS
        self.max_pending = None if max_pending is None else int(max_pending)
        self.cache, self.pending = {}, []
        self.pool = mp.get_context("fork").Pool(int(workers), initializer=_init_worker,
                                                initargs=(label,))
        self.hits = self.misses = 0

    def _key(self, estimate, reference):
        if self.intrusive and reference is None:
            raise ConfigError(f"label {self.label} needs the clean reference of every estimate")
        key = digest(estimate)
        return key if reference is None or not self.intrusive else key + "|" + digest(reference)

    def _references(self, estimates, references):
        return [None] * len(estimates) if references is None else list(references)

    def label_now(self, estimates, references=None, cache=True):
        """Scores for a list of 1-D arrays, waiting for them (cached ones cost nothing).
        ``cache=False``: do not keep the new scores (audio that never recurs, e.g. SE outputs,
        would grow the cache and the checkpoint without bound)."""
        references = self._references(estimates, references)
        keys = [self._key(a, r) for a, r in zip(estimates, references)]
        todo = {}
        for k, a, r in zip(keys, estimates, references):
            if k not in self.cache and k not in todo:
                todo[k] = (a, r)
        self.hits += len(estimates) - len(todo)
        self.misses += len(todo)
        scores = {}
        if todo:
            scores = dict(zip(todo, self.pool.map(_score, [(a, r, self.fs, self.label)
                                                           for a, r in todo.values()])))
            if cache:
                self.cache.update(scores)
        return [self.cache[k] if k in self.cache else scores[k] for k in keys]

    def unscored(self):
        """How many submitted estimates are still waiting for (or in) a worker."""
        return sum(1 for _, _, job, _ in self.pending if job is not None and not job.ready())

    def submit(self, estimates, payloads, references=None, cache=True):
        """Queue estimates for scoring; ``collect`` returns (payload, score) once scored."""
        for audio, ref, payload in zip(estimates, self._references(estimates, references), payloads):
            key = self._key(audio, ref)
            if key in self.cache:
                self.hits += 1
                self.pending.append((payload, key, None, cache))
                continue
            if self.max_pending is not None:      # backpressure: wait for the oldest first
                for _, _, job, _ in self.pending:
                    if self.unscored() < self.max_pending:
                        break
                    if job is not None:
                        job.wait()
            self.misses += 1
            self.pending.append((payload, key, self.pool.apply_async(
                _score, ((audio, ref, self.fs, self.label),)), cache))

    def collect(self, wait=False, wait_for=None):
        """(payload, score) of the finished estimates, in submission order; ``wait`` waits
        for all, ``wait_for(payload)`` for those it is true of."""
        done, left = [], []
        for payload, key, job, cache in self.pending:
            if job is None:
                done.append((payload, self.cache[key]))
            elif wait or job.ready() or (wait_for is not None and wait_for(payload)):
                score = job.get()
                if cache:
                    self.cache[key] = score
                done.append((payload, score))
            else:
                left.append((payload, key, job, cache))
        self.pending = left
        return done

    def close(self):
        self.pool.terminate()
        self.pool.join()
