"""STFT/iSTFT helpers in torch, shared by every model so analysis settings live in one place."""
from dataclasses import asdict, dataclass

import torch

from sebench.errors import SebenchError


@dataclass
class STFTConfig:
    n_fft: int = 512
    hop_length: int = 256
    win_length: int = 512
    window: str = "hann"  # hann (periodic) | sqrt_hann | hamming
    center: bool = True

    @property
    def num_bins(self):
        return self.n_fft // 2 + 1

    def to_dict(self):
        return asdict(self)


def make_window(cfg, device=None, dtype=torch.float32):
    if cfg.window == "hann":
        w = torch.hann_window(cfg.win_length, periodic=True, dtype=dtype, device=device)
    elif cfg.window == "sqrt_hann":
        w = torch.hann_window(cfg.win_length, periodic=True, dtype=dtype, device=device).sqrt()
    elif cfg.window == "hamming":
        w = torch.hamming_window(cfg.win_length, periodic=True, dtype=dtype, device=device)
    else:
        raise ValueError(f"unknown window {cfg.window!r} (hann, sqrt_hann, hamming)")
    return w


def stft(wave, cfg):
    """``(batch, samples)`` or ``(samples,)`` -> complex ``(batch, bins, frames)``."""
    squeeze = wave.dim() == 1
    if squeeze:
        wave = wave.unsqueeze(0)
    if cfg.center and wave.shape[-1] <= cfg.n_fft // 2:     # torch's reflect padding needs more
        raise SebenchError(f"{wave.shape[-1]} samples are too short for the STFT (n_fft "
                           f"{cfg.n_fft} needs more than {cfg.n_fft // 2})")
    spec = torch.stft(wave, cfg.n_fft, cfg.hop_length, cfg.win_length,
                      window=make_window(cfg, wave.device, wave.dtype), center=cfg.center,
                      return_complex=True)
    return spec[0] if squeeze else spec


def istft(spec, cfg, length=None):
    """Complex ``(batch, bins, frames)`` -> ``(batch, samples)``; ``length`` trims/pads exactly."""
    squeeze = spec.dim() == 2
    if squeeze:
        spec = spec.unsqueeze(0)
    real_dtype = torch.float64 if spec.dtype == torch.complex128 else torch.float32
    wave = torch.istft(spec, cfg.n_fft, cfg.hop_length, cfg.win_length,
                       window=make_window(cfg, spec.device, real_dtype), center=cfg.center,
                       length=length)
    return wave[0] if squeeze else wave


def magnitude(spec, eps=0.0):
    return (spec.real ** 2 + spec.imag ** 2 + eps).sqrt() if eps else spec.abs()
