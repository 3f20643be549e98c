"""Shared pieces of the STFT-domain models: analysis/synthesis, features, normalisation."""
import torch
from torch import nn

from sebench.audio.stft import STFTConfig, istft, stft
from sebench.errors import ConfigError

FEATURES = ("magnitude", "log1p", "logpower")


class STFTModel(nn.Module):
    """Base for models that estimate a (real or complex) mask on the noisy STFT.

    Subclasses implement ``estimate(noisy_spec, features) -> (est_spec, mask)``. Input
    normalisation statistics (per-bin mean and std of the features over the training data)
    are buffers, so they travel with the weights into checkpoints and packed models.
    """

    def __init__(self, fs=16000, stft=None, feature=None):
        super().__init__()
        self.fs = int(fs)
        self.stft_cfg = STFTConfig(**(stft or {}))
        feature = dict({"type": "log1p", "normalize": True}, **(feature or {}))
        if feature["type"] not in FEATURES:
            raise ConfigError(f"feature type must be one of {FEATURES}, got {feature['type']!r}")
        self.feature_type = feature["type"]
        self.normalize = bool(feature["normalize"])
        bins = self.stft_cfg.num_bins
        self.register_buffer("feat_mean", torch.zeros(bins))
        self.register_buffer("feat_std", torch.ones(bins))

    @property
    def num_bins(self):
        return self.stft_cfg.num_bins

    def analysis(self, wave):
        return stft(wave, self.stft_cfg)

    def synthesis(self, spec, length):
        return istft(spec, self.stft_cfg, length=length)

    def raw_features(self, spec):
        """``(batch, bins, frames)`` complex -> ``(batch, frames, bins)`` real features."""
        power = spec.real ** 2 + spec.imag ** 2
        if self.feature_type == "magnitude":
            feat = (power + 1e-12).sqrt()
        elif self.feature_type == "log1p":
            feat = torch.log1p((power + 1e-12).sqrt())
        else:
            feat = torch.log(power + 1e-8)
        return feat.transpose(1, 2)

    def features(self, spec):
        feat = self.raw_features(spec)
        if self.normalize:
            feat = (feat - self.feat_mean) / self.feat_std
        return feat

    def set_normalization(self, mean, std):
        self.feat_mean.copy_(torch.as_tensor(mean, dtype=self.feat_mean.dtype))
        self.feat_std.copy_(torch.as_tensor(std, dtype=self.feat_std.dtype).clamp_min(1e-5))

    def forward(self, wave):
        spec = self.analysis(wave)
        est, mask = self.estimate(spec, self.features(spec))
        return {"wave": self.synthesis(est, wave.shape[-1]), "spec": est, "noisy_spec": spec,
                "mask": mask}

    def estimate(self, spec, features):
        raise NotImplementedError
