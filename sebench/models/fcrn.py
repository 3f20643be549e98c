"""Paper 002's DNS model: the FCRN of Strake et al. (complex mask, frequency-only convolutions).

Input: the noisy complex spectrum as two channels (real, imaginary), normalised per bin by
the training data's magnitude standard deviation, with 3 zero bins appended (257 -> 260) so
two 2x1 poolings divide evenly. Encoder: convolutions with N x 1 kernels (along frequency),
F then 2F filters, max-pooling 2 x 1; bottleneck: a convolutional LSTM (N x 1 kernel along
frequency, recurrent over frames); decoder: 2 x 1 upsampling with additive skip
connections; output: a complex mask bounded to |M| <= 1, applied as S_hat = M * Y.
"""
import torch
from torch import nn

from sebench.models.base import STFTModel

PAD_BINS = 3


def _freq_conv(c_in, c_out, kernel, bias=True):
    """Conv2d with a kernel x 1 kernel and 'same' output size, also for even kernels (N = 24)."""
    return nn.Sequential(nn.ZeroPad2d((0, 0, (kernel - 1) // 2, kernel // 2)),
                         nn.Conv2d(c_in, c_out, (kernel, 1), bias=bias))


class ConvLSTM(nn.Module):
    """LSTM over frames whose gates are 1-D convolutions along frequency."""

    def __init__(self, c_in, hidden, kernel):
        super().__init__()
        self.hidden = hidden
        self.x2g = _freq_conv(c_in, 4 * hidden, kernel)
        self.h2g = _freq_conv(hidden, 4 * hidden, kernel, bias=False)

    def forward(self, x):                       # (B, C, F, T)
        gx = self.x2g(x)                        # all input contributions at once
        b, _, f, t = gx.shape
        h = gx.new_zeros(b, self.hidden, f)
        c = gx.new_zeros(b, self.hidden, f)
        out = []
        for k in range(t):
            i, fg, g, o = (gx[..., k] + self.h2g(h.unsqueeze(-1))[..., 0]).chunk(4, dim=1)
            c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            out.append(h)
        return torch.stack(out, dim=-1)         # (B, hidden, F, T)


def _conv(c_in, c_out, kernel):
    return nn.Sequential(_freq_conv(c_in, c_out, kernel), nn.LeakyReLU(0.2))


class FCRN(STFTModel):
    def __init__(self, fs=16000, stft=None, feature=None, filters=88, kernel=24):
        stft = dict({"n_fft": 512, "hop_length": 192, "win_length": 384}, **(stft or {}))
        feature = dict({"type": "magnitude"}, **(feature or {}))
        super().__init__(fs, stft, feature)
        f, n = int(filters), int(kernel)
        self.enc1 = nn.Sequential(_conv(2, f, n), _conv(f, f, n))
        self.enc2 = nn.Sequential(_conv(f, 2 * f, n), _conv(2 * f, 2 * f, n))
        self.pool = nn.MaxPool2d((2, 1))
        self.bottleneck = ConvLSTM(2 * f, f, n)
        self.up = nn.Upsample(scale_factor=(2, 1))
        self.dec2a, self.dec2b = _conv(f, 2 * f, n), _conv(2 * f, 2 * f, n)
        self.dec1a, self.dec1b = _conv(2 * f, f, n), _conv(f, f, n)
        self.out = _freq_conv(f, 2, n)

    def features(self, spec):
        x = spec / self.feat_std[:, None] if self.normalize else spec
        x = torch.stack([x.real, x.imag], dim=1)               # (B, 2, F, T)
        return nn.functional.pad(x, (0, 0, 0, PAD_BINS))

    def estimate(self, spec, features):
        e1 = self.enc1(features)                                # (B, F, 260, T)
        e2 = self.enc2(self.pool(e1))                           # (B, 2F, 130, T)
        z = self.bottleneck(self.pool(e2))                      # (B, F, 65, T)
        d2 = self.dec2b(self.dec2a(self.up(z)) + e2)
        d1 = self.dec1b(self.dec1a(self.up(d2)) + e1)
        m = self.out(d1)[:, :, :spec.shape[1]]                  # drop the padding bins
        mask = torch.complex(m[:, 0], m[:, 1])
        mag = mask.abs()
        mask = mask * (torch.tanh(mag) / mag.clamp_min(1e-8))   # |M| <= 1, phase kept
        return spec * mask, mask
