"""Mixture invariant training's loss (Wisdom et al., NeurIPS 2020), exact and vectorised.

The model separates a mixture of mixtures x = x_1 + x_2 into M sources s_1..s_M. Each source
goes to exactly one of the two mixtures: an assignment is a binary 2 x M matrix A with one 1
per column, 2^M of them. The loss is min_A sum_n L(x_n, (A s)_n); every assignment is scored
at once as one batched tensor product, so the minimum is exact (no search heuristics).
``speech_slots`` fixes sources to the first mixture (the SE variant: the designated speech
source must go with the noisy-speech mixture, the noise-only mixture gets noise slots only).
"""
import itertools

import torch

from sebench.errors import ConfigError
from sebench.train.losses import neg_sisdr, sample_mask


def assignments(n_sources, speech_slots=()):
    """(K, 2, M) float tensor of every allowed 2 x M binary mixing matrix (one 1 per column);
    the sources in ``speech_slots`` always go to mixture 0."""
    fixed = set(int(i) for i in speech_slots)
    if any(not 0 <= i < n_sources for i in fixed):
        raise ConfigError(f"MixIT: speech slots {sorted(fixed)} outside 0..{n_sources - 1}")
    rows = [a for a in itertools.product((0, 1), repeat=n_sources)
            if all(a[i] == 0 for i in fixed)]
    out = torch.zeros(len(rows), 2, n_sources)
    for k, a in enumerate(rows):              # a[m]: the mixture that source m goes to
        out[k, list(a), list(range(n_sources))] = 1.0
    return out


def neg_snr_thresholded(est, ref, lengths, snr_max=30.0):
    """(...,) the paper's 10 log10(|ref - est|^2 + tau |ref|^2), tau = 10^(-snr_max/10):
    negative SNR soft-thresholded at ``snr_max`` dB so a near-perfect mixture stops
    dominating the gradient (and a silent reference stays finite)."""
    mask = sample_mask(lengths, est.shape[-1], est.device)
    mask = mask.reshape(mask.shape[:1] + (1,) * (est.dim() - 2) + mask.shape[1:])
    tau = 10.0 ** (-float(snr_max) / 10.0)
    err = (((ref - est) * mask) ** 2).sum(-1)
    power = ((ref * mask) ** 2).sum(-1)
    return 10.0 * torch.log10(err + tau * power + 1e-8)


LOSSES = {"snr": neg_snr_thresholded, "sisdr": None}


def mixit_loss(sources, mixtures, lengths, mixing, loss="snr", snr_max=30.0):
    """(per-utterance loss (B,), index of the best assignment (B,)).

    ``sources`` (B, M, T) estimates, ``mixtures`` (B, 2, T) the two references, ``mixing``
    (K, 2, M) from ``assignments``. The loss of an assignment is the sum over both mixtures.
    """
    if loss not in LOSSES:
        raise ConfigError(f"MixIT loss must be one of {sorted(LOSSES)}, got {loss!r}")
    remixed = torch.einsum("knm,bmt->bknt", mixing.to(sources), sources)   # (B, K, 2, T)
    b, k, n, t = remixed.shape
    refs = mixtures.unsqueeze(1).expand(b, k, n, t)
    if loss == "snr":
        per = neg_snr_thresholded(remixed, refs, lengths, snr_max)        # (B, K, 2)
    else:
        per = neg_sisdr(remixed.reshape(-1, t), refs.reshape(-1, t),
                        lengths.repeat_interleave(k * n)).reshape(b, k, n)
    total = per.sum(-1)                                                    # (B, K)
    best, index = total.min(dim=1)
    return best, index
