"""Supervised losses. Padding is masked out with the batch's true lengths.

- ``mag_mse``: mean |(|S_hat| - |S|)|^2 over T-F bins (paper 000's supervised baseline)
- ``complex_mse``: mean |S_hat - S|^2 (paper 002's J_joint with a dry target)
- ``joint_dereverb``: beta * |S_hat - S|^2 + (1 - beta) * |S_hat - S_rev|^2 (paper 002 eq. 7;
  needs clean_rev.scp; beta = 0 is plain denoising, 0.9 with reverberant data)
- ``sisdr``: negative SI-SDR in dB, zero-mean signals (paper 004's L_SI-SDR)
Spectral losses use the model's own STFT when it has one, otherwise ``loss_stft``.
"""
import torch

from sebench.audio.stft import STFTConfig, stft
from sebench.errors import ConfigError

LOSSES = ("mag_mse", "complex_mse", "joint_dereverb", "sisdr")


def frame_mask(lengths, frames, hop, device):
    """(batch, frames) 1 for frames whose centre lies inside the true signal."""
    centres = torch.arange(frames, device=device) * hop
    return (centres[None, :] < lengths[:, None].to(device)).float()


def sample_mask(lengths, samples, device):
    return (torch.arange(samples, device=device)[None, :] < lengths[:, None].to(device)).float()


def _masked_mean(err, mask):
    """err (B, F, T), mask (B, T)."""
    return (err * mask[:, None, :]).sum() / (mask.sum() * err.shape[1]).clamp_min(1)


def neg_sisdr(est, ref, lengths, eps=1e-8):
    mask = sample_mask(lengths, est.shape[-1], est.device)
    n = mask.sum(-1, keepdim=True).clamp_min(1)
    est = (est - (est * mask).sum(-1, keepdim=True) / n) * mask
    ref = (ref - (ref * mask).sum(-1, keepdim=True) / n) * mask
    scale = (est * ref).sum(-1, keepdim=True) / ((ref ** 2).sum(-1, keepdim=True) + eps)
    target = scale * ref
    ratio = (target ** 2).sum(-1) / (((est - target) ** 2).sum(-1) + eps)
    return -(10 * torch.log10(ratio + eps)).mean()


class SupervisedLoss:
    def __init__(self, name="mag_mse", beta=0.0, loss_stft=None):
        if name not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {name!r}")
        self.name, self.beta = name, float(beta)
        self.stft_cfg = STFTConfig(**(loss_stft or {}))

    @property
    def fields(self):
        return ("wav", "clean", "clean_rev") if self.name == "joint_dereverb" and self.beta < 1 \
            else ("wav", "clean")

    def __call__(self, model, out, batch):
        lengths = batch["lengths"]
        if self.name == "sisdr":
            return neg_sisdr(out["wave"], batch["clean"], lengths)
        cfg = getattr(model, "stft_cfg", self.stft_cfg)
        est = out.get("spec")
        if est is None:
            est = stft(out["wave"], cfg)
        clean = stft(batch["clean"], cfg)
        mask = frame_mask(lengths, est.shape[-1], cfg.hop_length, est.device)
        if self.name == "mag_mse":
            return _masked_mean((est.abs() - clean.abs()) ** 2, mask)
        joint = _masked_mean((est - clean).abs() ** 2, mask)
        if self.name == "complex_mse" or self.beta >= 1:
            return joint
        rev = stft(batch["clean_rev"], cfg)
        noise_only = _masked_mean((est - rev).abs() ** 2, mask)
        return self.beta * joint + (1 - self.beta) * noise_only
