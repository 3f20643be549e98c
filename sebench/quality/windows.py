"""Scoring long recordings in windows, so a predictor's memory does not grow with the file.

A recording no longer than the window is scored whole (exactly as before); a longer one is
scored in ``ceil(length / window)`` windows of the full window length, spread evenly from
its start to its end (overlapping a little), one window at a time, and the scores are
averaged, as DNSMOS averages its 9 s windows. ``train-qp`` trains on random crops of the
same length (``data.max_seconds``), so the predictor is validated on what it learnt from.
"""
import math

import numpy as np
import torch

DEFAULT_WINDOW_SECONDS = 10.0


def window_starts(length, window):
    if length <= window:
        return [0]
    count = math.ceil(length / window)
    return [int(s) for s in np.linspace(0, length - window, count).round()]


def score_in_windows(q, wave, lengths=None, window=None):
    """``(B, T)`` padded waves -> ``(B,)`` scores; ``window`` in samples (None: whole)."""
    if window is None or wave.shape[-1] <= window:
        return q(wave, lengths)
    scores = []
    for b in range(wave.shape[0]):
        n = int(lengths[b]) if lengths is not None else wave.shape[-1]
        parts = [q(wave[b:b + 1, s:min(s + window, n)]) for s in window_starts(n, window)]
        scores.append(torch.cat(parts).mean())
    return torch.stack(scores)


def window_samples(seconds, fs):
    return int(round(float(seconds) * fs)) if seconds else None
