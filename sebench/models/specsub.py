"""Power spectral subtraction (Berouti et al. 1979), paper 003's baseline: a ``classical``
enhancer (no weights).

Per utterance the noise power spectrum N is the mean power of its lowest-energy frames (the
``noise_quantile`` share of the frames, at least one; all-zero frames, e.g. padding, are left
out). Each bin's clean power estimate is ``max(|Y|^2 - over_subtraction * N, floor * |Y|^2)``:
never negative and never above the input, and the noisy phase is kept.
"""
import math

import torch
from torch import nn

from sebench.audio.stft import STFTConfig, istft, stft
from sebench.errors import ConfigError


class SpectralSubtraction(nn.Module):
    def __init__(self, fs=16000, stft=None, over_subtraction=2.0, floor=0.01,
                 noise_quantile=0.1):
        super().__init__()
        self.fs = int(fs)
        self.stft_cfg = STFTConfig(**(stft or {}))
        self.over_subtraction, self.floor = float(over_subtraction), float(floor)
        self.noise_quantile = float(noise_quantile)
        if self.over_subtraction < 0 or not 0.0 <= self.floor <= 1.0:
            raise ConfigError(f"specsub: over_subtraction must be >= 0 and floor in [0, 1], got "
                              f"{over_subtraction} and {floor}")
        if not 0.0 < self.noise_quantile <= 1.0:
            raise ConfigError(f"specsub: noise_quantile must be in (0, 1], got {noise_quantile}")

    def noise_power(self, power):
        """(B, bins, T) power -> (B, bins, 1): the mean of each row's lowest-energy frames."""
        energy = power.sum(1)                                         # (B, T)
        valid = energy > 0
        ranked = torch.where(valid, energy, torch.full_like(energy, math.inf))
        rank = ranked.argsort(-1).argsort(-1)                         # 0 = quietest frame
        count = (valid.sum(-1, keepdim=True).float() * self.noise_quantile).ceil().clamp_min(1)
        chosen = ((rank < count) & valid).to(power.dtype)[:, None, :]
        return (power * chosen).sum(-1, keepdim=True) / chosen.sum(-1, keepdim=True).clamp_min(1)

    def clean_power(self, power):
        noise = self.noise_power(power)
        return torch.maximum(power - self.over_subtraction * noise, self.floor * power)

    def forward(self, wave):
        spec = stft(wave, self.stft_cfg)
        power = spec.real ** 2 + spec.imag ** 2
        gain = (self.clean_power(power) / power.clamp_min(1e-20)).sqrt()
        est = spec * gain
        return {"wave": istft(est, self.stft_cfg, length=wave.shape[-1]), "spec": est}
