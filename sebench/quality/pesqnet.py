"""Paper 002's PESQNet: a non-intrusive wideband-PESQ estimate from |S_hat| of a whole utterance.

The spectrogram is cut into blocks of W = 16 frames; each block goes through a small CNN
encoder, then parallel 1-D convolutions of kernel widths 1, 2, 4 and 8 with max-pooling over
the block's frames, concatenated; a BLSTM runs over the blocks; mean, std, min and max over
blocks feed FC layers; the output is 3.6 * sigmoid(x) + 1.04 (the 1.04-4.64 PESQ range).
"""
import torch
from torch import nn

from sebench.quality.predictors import QualityPredictor


class PESQNet(QualityPredictor):
    def __init__(self, block=16, channels=(16, 32), widths=(1, 2, 4, 8), conv_out=32,
                 hidden=64, fc=64, **kw):
        kw.setdefault("stft", {"n_fft": 512, "hop_length": 192, "win_length": 384})
        # the output is on the PESQ scale itself: no 0-1 normalisation unless asked for
        kw["label"] = dict({"name": "pesq", "norm": "none", "lo": 1.04, "hi": 4.64},
                           **(kw.get("label") or {}))
        super().__init__(**kw)
        self.block = int(block)
        layers, c_in = [], 1
        for c in channels:   # per block: conv over (freq, time), pool frequency by 4
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d((4, 1))]
            c_in = c
        self.encoder = nn.Sequential(*layers)
        freq = self.num_bins
        for _ in channels:
            freq //= 4
        d = c_in * freq
        self.branches = nn.ModuleList(nn.Conv1d(d, conv_out, w, padding=w // 2) for w in widths)
        self.blstm = nn.LSTM(conv_out * len(widths), hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(8 * hidden, fc), nn.ReLU(), nn.Linear(fc, 1))
        self._finish()

    def forward_mag(self, mag, frame_lengths=None):
        b, f, t = mag.shape
        w = self.block
        nblocks = max(1, -(-t // w))
        x = nn.functional.pad(self.features(mag), (0, nblocks * w - t))
        x = x.reshape(b, f, nblocks, w).permute(0, 2, 1, 3).reshape(b * nblocks, 1, f, w)
        x = self.encoder(x)                                           # (B*N, C, F', W)
        x = x.reshape(b * nblocks, -1, w)
        x = torch.cat([br(x)[..., :w].amax(-1) for br in self.branches], dim=-1)
        y, _ = self.blstm(x.reshape(b, nblocks, -1))                  # (B, N, 2H)
        if frame_lengths is not None:
            valid = (torch.arange(nblocks, device=y.device)[None, :] * w
                     < frame_lengths[:, None].to(y.device)).float()[..., None]
        else:
            valid = torch.ones(b, nblocks, 1, device=y.device)
        count = valid.sum(1).clamp_min(1)
        mean = (y * valid).sum(1) / count
        std = (((y - mean[:, None]) ** 2 * valid).sum(1) / count).clamp_min(1e-8).sqrt()
        big = torch.finfo(y.dtype).max
        ymin = torch.where(valid > 0, y, torch.full_like(y, big)).amin(1)
        ymax = torch.where(valid > 0, y, torch.full_like(y, -big)).amax(1)
        z = self.head(torch.cat([mean, std, ymin, ymax], dim=-1)).squeeze(-1)
        return 3.6 * torch.sigmoid(z) + 1.04
