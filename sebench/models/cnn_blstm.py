"""Paper 000's mask estimator: 4 Conv2d (9x9), 2 BLSTM, FC + LeakyReLU, FC + sigmoid mask.

Input ``(batch, frames, bins)`` features of the noisy magnitude; the mask multiplies the
noisy STFT (noisy phase kept). ``mask_floor`` raises mask values below it, so that a
reference-free training signal cannot erase speech (paper 000, "mask clamping").

``n_sources: M`` > 1 (MixIT) makes the last layer estimate M masks, normalised by a
softmax over the sources so the sources always sum to the input (mixture consistency, as
MixIT's projection); ``sources`` (B, M, samples) is then part of the output and ``wave`` is
the speech estimate: the sum of the first ``speech_sources`` slots, which the training method
designates as speech. An exported model therefore enhances like a one-source model. The
softmax masks take no ``mask_floor`` (it would break the sum; a config with both is an error).
"""
import torch
from torch import nn

from sebench.errors import ConfigError
from sebench.models.base import STFTModel


class CNNBLSTM(STFTModel):
    def __init__(self, fs=16000, stft=None, feature=None, channels=(32, 32, 32, 1), kernel=9,
                 lstm_hidden=200, lstm_layers=2, fc_hidden=300, mask_floor=0.0, n_sources=1,
                 speech_sources=1):
        stft = dict({"n_fft": 512, "hop_length": 256, "win_length": 512}, **(stft or {}))
        super().__init__(fs, stft, feature)
        self.mask_floor = float(mask_floor)
        self.n_sources, self.speech_sources = int(n_sources), int(speech_sources)
        if self.n_sources < 1 or not 1 <= self.speech_sources <= self.n_sources:
            raise ConfigError(f"cnn_blstm: need n_sources >= 1 and 1 <= speech_sources <= "
                              f"n_sources, got {n_sources} and {speech_sources}")
        if self.n_sources > 1 and self.mask_floor > 0:
            raise ConfigError("cnn_blstm: mask_floor applies to one-source models; set "
                              "mask_floor: 0 with n_sources > 1 (its masks sum to one)")
        layers, c_in = [], 1
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.LeakyReLU(0.01)]
            c_in = c_out
        self.cnn = nn.Sequential(*layers)
        bins = self.num_bins
        self.blstm = nn.LSTM(bins * c_in, lstm_hidden, num_layers=lstm_layers, batch_first=True,
                             bidirectional=True)
        head = [nn.Linear(2 * lstm_hidden, fc_hidden), nn.LeakyReLU(0.01),
                nn.Linear(fc_hidden, bins * self.n_sources)]
        self.fc = nn.Sequential(*head, nn.Sigmoid()) if self.n_sources == 1 else nn.Sequential(*head)

    def _hidden(self, features):
        x = self.cnn(features.unsqueeze(1))            # (B, C, T, F)
        b, c, t, f = x.shape
        x, _ = self.blstm(x.permute(0, 2, 1, 3).reshape(b, t, c * f))
        return self.fc(x)                               # (B, T, F * M)

    def estimate(self, spec, features):
        mask = self._hidden(features).transpose(1, 2)   # (B, F, T)
        if self.mask_floor > 0:
            mask = mask.clamp(min=self.mask_floor)
        return spec * mask, mask

    def forward(self, wave):
        if self.n_sources == 1:
            return super().forward(wave)
        spec = self.analysis(wave)                      # (B, F, T)
        b, f, t = spec.shape
        logits = self._hidden(self.features(spec)).reshape(b, t, self.n_sources, f)
        masks = torch.softmax(logits, dim=2).permute(0, 2, 3, 1)   # (B, M, F, T), sum 1 over M
        specs = spec.unsqueeze(1) * masks
        sources = self.synthesis(specs.reshape(b * self.n_sources, f, t),
                                 wave.shape[-1]).reshape(b, self.n_sources, -1)
        k = self.speech_sources
        return {"wave": sources[:, :k].sum(1), "spec": specs[:, :k].sum(1), "noisy_spec": spec,
                "mask": masks[:, :k].sum(1), "sources": sources}
