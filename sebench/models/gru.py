"""Paper 001's SE model: a stacked-GRU gain estimator in the style of NSNet (causal).

Log-power features -> FC -> stacked unidirectional GRUs -> FC -> sigmoid gain per bin.
Only past frames are used, so ``stream`` can enhance frame by frame with carried state.
"""
import torch
from torch import nn

from sebench.models.base import STFTModel


class GRUGain(STFTModel):
    def __init__(self, fs=16000, stft=None, feature=None, hidden=400, layers=3, fc_in=400,
                 mask_floor=0.0):
        stft = dict({"n_fft": 320, "hop_length": 160, "win_length": 320}, **(stft or {}))
        feature = dict({"type": "logpower"}, **(feature or {}))
        super().__init__(fs, stft, feature)
        self.mask_floor = float(mask_floor)
        self.inp = nn.Sequential(nn.Linear(self.num_bins, fc_in), nn.PReLU())
        self.gru = nn.GRU(fc_in, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Sequential(nn.Linear(hidden, self.num_bins), nn.Sigmoid())

    def gains(self, features, state=None):
        x, state = self.gru(self.inp(features), state)
        gain = self.out(x).transpose(1, 2)
        if self.mask_floor > 0:
            gain = gain.clamp(min=self.mask_floor)
        return gain, state

    def estimate(self, spec, features):
        gain, _ = self.gains(features)
        return spec * gain, gain

    @torch.no_grad()
    def stream(self, spec_frames, state=None):
        """Enhance STFT frames ``(batch, bins, n)`` given the previous call's state."""
        gain, state = self.gains(self.features(spec_frames), state)
        return spec_frames * gain, state
