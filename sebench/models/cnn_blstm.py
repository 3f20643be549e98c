"""Paper 000's mask estimator: 4 Conv2d (9x9), 2 BLSTM, FC + LeakyReLU, FC + sigmoid mask.

Input ``(batch, frames, bins)`` features of the noisy magnitude; the mask multiplies the
noisy STFT (noisy phase kept). ``mask_floor`` raises mask values below it, so that a
reference-free training signal cannot erase speech (paper 000, "mask clamping").
"""
from torch import nn

from sebench.models.base import STFTModel


class CNNBLSTM(STFTModel):
    def __init__(self, fs=16000, stft=None, feature=None, channels=(32, 32, 32, 1), kernel=9,
                 lstm_hidden=200, lstm_layers=2, fc_hidden=300, mask_floor=0.0):
        stft = dict({"n_fft": 512, "hop_length": 256, "win_length": 512}, **(stft or {}))
        super().__init__(fs, stft, feature)
        self.mask_floor = float(mask_floor)
        layers, c_in = [], 1
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.LeakyReLU(0.01)]
            c_in = c_out
        self.cnn = nn.Sequential(*layers)
        bins = self.num_bins
        self.blstm = nn.LSTM(bins * c_in, lstm_hidden, num_layers=lstm_layers, batch_first=True,
                             bidirectional=True)
        self.fc = nn.Sequential(nn.Linear(2 * lstm_hidden, fc_hidden), nn.LeakyReLU(0.01),
                                nn.Linear(fc_hidden, bins), nn.Sigmoid())

    def estimate(self, spec, features):
        x = self.cnn(features.unsqueeze(1))            # (B, C, T, F)
        b, c, t, f = x.shape
        x, _ = self.blstm(x.permute(0, 2, 1, 3).reshape(b, t, c * f))
        mask = self.fc(x).transpose(1, 2)               # (B, F, T)
        if self.mask_floor > 0:
            mask = mask.clamp(min=self.mask_floor)
        return spec * mask, mask
