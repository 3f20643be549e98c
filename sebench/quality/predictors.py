"""Paper 000's quality predictors: one score per utterance from its magnitude spectrogram.

- ``cnn``: 4 Conv2d (15 filters, 5x5, LeakyReLU), 2-D global average pooling -> 15 features,
  FC 50, FC 10 (LeakyReLU), FC 1 (the MetricGAN discriminator shape, single input)
- ``blstm`` (Quality-Net-like): 2 BLSTM (200), time-distributed FC 50, FC 10, FC 1, mean over frames
- ``cnn_blstm`` (MOSNet-like): the CNN front end without pooling over time, then the BLSTM head
Inputs of any length; padded frames are excluded from every pooling. Output: the score in the
normalised label space (see ``labels.py``); ``forward_mag`` takes a magnitude directly, which
Algorithm 1 and the reference-free SE losses need.

``feature`` picks the input (``log``: 0.1 log magnitude minus its utterance mean; ``log1p``;
``magnitude``: raw, as MetricGAN(-U)'s discriminator reads it). ``spectral_norm: true`` wraps
every convolution and Linear layer in spectral normalisation, as MetricGAN(-U)'s discriminator
does (a Lipschitz bound: smoother input gradients for the SE model and Algorithm 1); the
LSTMs of blstm / cnn_blstm are left as they are.
"""
import torch
from torch import nn

from sebench.audio.stft import STFTConfig, stft
from sebench.errors import ConfigError


def frames_of(lengths, hop, frames):
    if lengths is None:
        return None
    return torch.clamp(lengths // hop + 1, max=frames)


def masked_mean(x, frame_lengths, dim):
    """Mean over ``dim`` (the frame axis) ignoring frames beyond each item's length."""
    if frame_lengths is None:
        return x.mean(dim)
    t = x.shape[dim]
    mask = (torch.arange(t, device=x.device)[None, :] < frame_lengths[:, None].to(x.device)).float()
    shape = [x.shape[0]] + [1] * (x.dim() - 1)
    shape[dim] = t
    mask = mask.reshape(shape)
    return (x * mask).sum(dim) / mask.sum(dim).clamp_min(1)


class QualityPredictor(nn.Module):
    kind = "predictor"

    def __init__(self, fs=16000, stft=None, feature="log", level_norm=True, label=None,
                 spectral_norm=False):
        if feature not in ("log", "log1p", "magnitude"):
            raise ConfigError(f"predictor feature must be log, log1p or magnitude, got {feature!r}")
        if not isinstance(spectral_norm, bool):
            raise ConfigError(f"predictor spectral_norm must be true or false, got {spectral_norm!r}")
        super().__init__()
        self.spectral_norm = spectral_norm
        self.level_norm = bool(level_norm)
        self.fs = int(fs)
        self.stft_cfg = STFTConfig(**dict({"n_fft": 512, "hop_length": 256, "win_length": 512},
                                          **(stft or {})))
        self.feature = feature
        self.label = dict({"name": "mos", "norm": "linear", "lo": 1.0, "hi": 5.0}, **(label or {}))

    @property
    def num_bins(self):
        return self.stft_cfg.num_bins

    @property
    def scale(self):
        """The label scale the predictor's outputs live on (``denormalize`` reports them)."""
        from sebench.quality.labels import LabelScale
        return LabelScale(self.label["norm"], self.label["lo"], self.label["hi"])

    def _finish(self):
        """Called at the end of each subclass's ``__init__``, once every layer exists."""
        if self.spectral_norm:
            for module in list(self.modules()):
                if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(module)

    def magnitude(self, wave):
        return stft(wave, self.stft_cfg).abs()

    def features(self, mag):
        if self.feature == "log":        # log magnitude, floored at -100 dB (scaled to ~unit range)
            feat = 0.1 * torch.log(mag + 1e-5)
            if self.level_norm:          # playback level says nothing about quality: remove it
                feat = feat - feat.mean(dim=(1, 2), keepdim=True)
            return feat
        if self.feature == "log1p":
            return torch.log1p(mag)
        return mag

    def forward(self, wave, lengths=None):
        mag = self.magnitude(wave)
        return self.forward_mag(mag, frames_of(lengths, self.stft_cfg.hop_length, mag.shape[-1]))

    def forward_mag(self, mag, frame_lengths=None):
        raise NotImplementedError


def _cnn(channels, kernel):
    layers, c_in = [], 1
    for c_out in channels:
        layers += [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.LeakyReLU(0.01)]
        c_in = c_out
    return nn.Sequential(*layers)


class CNNQ(QualityPredictor):
    def __init__(self, channels=(15, 15, 15, 15), kernel=5, fc=(50, 10), **kw):
        super().__init__(**kw)
        self.cnn = _cnn(channels, kernel)
        dims = [channels[-1]] + list(fc)
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.01)]
        self.head = nn.Sequential(*layers, nn.Linear(dims[-1], 1))
        self._finish()

    def forward_mag(self, mag, frame_lengths=None):
        x = self.cnn(self.features(mag).transpose(1, 2).unsqueeze(1))   # (B, C, T, F)
        pooled = masked_mean(x.mean(-1), frame_lengths, dim=2)            # (B, C)
        return self.head(pooled).squeeze(-1)


class _BLSTMHead(nn.Module):
    def __init__(self, d_in, hidden, layers, fc):
        super().__init__()
        self.blstm = nn.LSTM(d_in, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        dims = [2 * hidden] + list(fc)
        mlp = []
        for a, b in zip(dims[:-1], dims[1:]):
            mlp += [nn.Linear(a, b), nn.LeakyReLU(0.01)]
        self.frame = nn.Sequential(*mlp, nn.Linear(dims[-1], 1))

    def forward(self, x, frame_lengths):                                 # (B, T, D)
        y, _ = self.blstm(x)
        return masked_mean(self.frame(y).squeeze(-1), frame_lengths, dim=1)


class BLSTMQ(QualityPredictor):
    def __init__(self, hidden=200, layers=2, fc=(50, 10), **kw):
        super().__init__(**kw)
        self.head = _BLSTMHead(self.num_bins, hidden, layers, fc)
        self._finish()

    def forward_mag(self, mag, frame_lengths=None):
        return self.head(self.features(mag).transpose(1, 2), frame_lengths)


class CNNBLSTMQ(QualityPredictor):
    def __init__(self, channels=(15, 15, 15, 15), kernel=5, hidden=200, layers=2, fc=(50, 10),
                 freq_pool=4, **kw):
        super().__init__(**kw)
        self.cnn = _cnn(channels, kernel)
        self.pool = nn.AvgPool2d((1, freq_pool))        # along frequency only, never time
        self.head = _BLSTMHead(channels[-1] * (self.num_bins // freq_pool), hidden, layers, fc)
        self._finish()

    def forward_mag(self, mag, frame_lengths=None):
        x = self.pool(self.cnn(self.features(mag).transpose(1, 2).unsqueeze(1)))  # (B, C, T, F')
        b, c, t, f = x.shape
        return self.head(x.permute(0, 2, 1, 3).reshape(b, t, c * f), frame_lengths)
