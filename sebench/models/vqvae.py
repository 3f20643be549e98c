"""Paper 001's split-codebook VQ-VAE: separates a log-power spectrogram into speech and noise
codes (Xia, Xu & Kumar, §3.1-3.3).

Encoder: 3 x (Conv2d + BatchNorm2d + ReLU), then 2 residual blocks; every T-F bin of the
log-power spectrogram becomes an L-dimensional embedding e (stride 1, so T and F are kept).
The codebook has K vectors: the first K/2 are C_s (speech), the rest C_n (noise), and
C_d = C_s u C_n. Quantisation picks the cosine-nearest codeword within a half (eq. 16).
Embeddings and codewords are compared *and decoded* on the unit sphere (both l2-normalised),
so the cosine distance 1 - cos(e, c) is the quantiser's metric and the VQ/commitment losses
are cosine distances too (the paper switched d() to cosine "for stability"; normalised codes
as in ViT-VQGAN are the usual way to make that consistent). Decoding uses the
straight-through estimator q_st = e + sg(q - e). Decoder: the mirror image (2 residual
blocks, 3 ConvTranspose2d, BatchNorm2d + ReLU between).

Features: log-power spectra, floored ``dynamic_range_db`` below the mixture's peak bin
(the paper's "scaled to a 40 dB dynamic range"; clean and noise targets use the mixture's
floor so their levels stay comparable), then per-bin normalisation from the training data.

Dead codes (codewords no embedding picks, a known VQ failure): random restart, as in Jukebox
(Dhariwal et al. 2020): ``usage`` keeps an exponential moving average of how often each code
is picked; ``restart_dead_codes`` re-seeds codes whose usage fell below ``dead_threshold``
with embeddings drawn at random from the current batch.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from sebench.models.base import STFTModel

HALVES = ("s", "n", "d")


class ResBlock(nn.Module):
    """x + Conv1x1(ReLU(Conv3x3(ReLU(x)))) (van den Oord et al. 2017)."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, hidden, 3, padding=1),
                                  nn.ReLU(), nn.Conv2d(hidden, channels, 1))

    def forward(self, x):
        return x + self.body(x)


def conv_bn_relu(cin, cout, transpose=False):
    conv = (nn.ConvTranspose2d if transpose else nn.Conv2d)(cin, cout, 3, padding=1)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU())


def cosine_distance(a, b, dim=1, eps=1e-8):
    """1 - cos(a, b) along ``dim``."""
    return 1 - F.cosine_similarity(a, b, dim=dim, eps=eps)


def perplexity(indices, size):
    """exp(entropy) of the code histogram: 1 = one code used, ``size`` = all used evenly."""
    counts = torch.bincount(indices.reshape(-1), minlength=size).float()
    p = counts / counts.sum().clamp_min(1)
    return float(torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum()))


class SplitVQVAE(STFTModel):
    def __init__(self, fs=16000, stft=None, feature=None, channels=64, embedding_dim=64,
                 codebook_size=256, dynamic_range_db=40.0, usage_decay=0.99,
                 dead_threshold=1e-3):
        stft = dict({"n_fft": 320, "hop_length": 160, "win_length": 320}, **(stft or {}))
        feature = dict({"type": "logpower", "normalize": True}, **(feature or {}))
        super().__init__(fs, stft, feature)
        if codebook_size < 2 or codebook_size % 2:
            from sebench.errors import ConfigError
            raise ConfigError(f"vqvae: codebook_size must be even and >= 2, got {codebook_size}")
        self.dynamic_range_db = float(dynamic_range_db)
        self.half = codebook_size // 2
        self.usage_decay, self.dead_threshold = float(usage_decay), float(dead_threshold)
        c, dim = int(channels), int(embedding_dim)
        self.encoder = nn.Sequential(conv_bn_relu(1, c), conv_bn_relu(c, c), conv_bn_relu(c, dim),
                                     ResBlock(dim, c), ResBlock(dim, c))
        self.decoder = nn.Sequential(ResBlock(dim, c), ResBlock(dim, c),
                                     conv_bn_relu(dim, c, True), conv_bn_relu(c, c, True),
                                     nn.ConvTranspose2d(c, 1, 3, padding=1))
        self.codebook = nn.Parameter(torch.randn(codebook_size, dim))
        self.register_buffer("usage", torch.full((codebook_size,), 1.0 / self.half))

    # -- features ---------------------------------------------------------------------------
    def floor_of(self, spec):
        """(batch,) the log-power floor: ``dynamic_range_db`` below each utterance's peak bin."""
        power = spec.real ** 2 + spec.imag ** 2
        peak = torch.log(power.flatten(1).amax(1) + 1e-8)
        return peak - self.dynamic_range_db * math.log(10) / 10

    def log_power(self, spec, floor=None):
        """(batch, bins, frames) complex -> (batch, 1, frames, bins) normalised log-power."""
        floor = self.floor_of(spec) if floor is None else floor
        feat = torch.maximum(super().raw_features(spec), floor[:, None, None])
        if self.normalize:
            feat = (feat - self.feat_mean) / self.feat_std
        return feat.unsqueeze(1)

    def raw_features(self, spec):
        floor = self.floor_of(spec)
        return torch.maximum(super().raw_features(spec), floor[:, None, None])

    def wave_features(self, wave, floor=None):
        return self.log_power(self.analysis(wave), floor)

    # -- quantisation -----------------------------------------------------------------------
    def half_slice(self, which):
        return {"s": slice(0, self.half), "n": slice(self.half, 2 * self.half),
                "d": slice(0, 2 * self.half)}[which]

    def quantize(self, e, which):
        """e (batch, L, T, F) -> (unit-norm q, code indices into the whole codebook (B, T, F)):
        the cosine-nearest codeword of C_s, C_n or C_d."""
        sl = self.half_slice(which)
        codes = F.normalize(self.codebook[sl], dim=1)
        flat = F.normalize(e.permute(0, 2, 3, 1).reshape(-1, e.shape[1]), dim=1)
        idx = (flat @ codes.t()).argmax(1)            # max cosine = min cosine distance
        q = codes[idx].reshape(e.shape[0], e.shape[2], e.shape[3], -1).permute(0, 3, 1, 2)
        return q, idx.reshape(e.shape[0], e.shape[2], e.shape[3]) + sl.start

    def encode(self, feat):
        return self.encoder(feat)

    def embed(self, spec):
        """{"f": normalised log-power features, "e": unit-norm embeddings} of an STFT."""
        f = self.log_power(spec)
        return {"f": f, "e": F.normalize(self.encode(f), dim=1)}

    def decode(self, q):
        return self.decoder(q)

    def forward(self, wave):
        """Everything the losses need: input features ``f``, embedding ``e`` (unit norm),
        per half k in s/n/d the quantised ``q_k`` (unit norm, no gradient to e), the decoded
        ``f_k`` (through the straight-through estimator) and the ``idx_k`` codes."""
        spec = self.analysis(wave)
        floor = self.floor_of(spec)
        f = self.log_power(spec, floor)
        e = F.normalize(self.encode(f), dim=1)
        out = {"f": f, "e": e, "floor": floor}
        for k in HALVES:
            q, idx = self.quantize(e, k)
            out[f"q_{k}"], out[f"idx_{k}"] = q, idx
            out[f"f_{k}"] = self.decode(e + (q - e).detach())
        return out

    # -- codebook health ----------------------------------------------------------------------
    @torch.no_grad()
    def update_usage(self, indices):
        counts = torch.bincount(indices.reshape(-1), minlength=self.usage.numel()).float()
        share = torch.cat([counts[:self.half] / counts[:self.half].sum().clamp_min(1),
                           counts[self.half:] / counts[self.half:].sum().clamp_min(1)])
        self.usage.mul_(self.usage_decay).add_((1 - self.usage_decay) * share)

    @torch.no_grad()
    def restart_dead_codes(self, e):
        """Re-seed codes whose usage EMA is below ``dead_threshold`` with random embeddings
        of ``e`` (batch, L, T, F); returns how many were restarted."""
        dead = (self.usage < self.dead_threshold).nonzero().flatten()
        if dead.numel() == 0:
            return 0
        flat = e.permute(0, 2, 3, 1).reshape(-1, e.shape[1])
        pick = torch.randint(0, flat.shape[0], (dead.numel(),), device=flat.device)
        self.codebook.data[dead] = flat[pick].to(self.codebook.dtype)
        self.usage[dead] = 1.0 / self.half
        return int(dead.numel())

    def perplexities(self, out):
        return {f"ppl_{k}": perplexity(out[f"idx_{k}"] - self.half_slice(k).start,
                                       2 * self.half if k == "d" else self.half) for k in HALVES}
