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
    """LSTM over frames whose gates are 1-D convolutions along frequency.

    The input-to-gate convolution runs on all frames at once; only the hidden-to-gate one is
    recurrent, computed per frame as one matrix product with the unfolded hidden state (a
    small convolution per frame cost 4x more in dispatch than in arithmetic). The recurrence
    is one autograd node with a hand-written backward through time: the autograd graph of
    a Python frame loop had 15 nodes per frame and copied a full-size gradient per indexed
    frame (O(T**2)). Same parameters and values as the plain loop (tests/test_fcrn.py).
    """

    def __init__(self, c_in, hidden, kernel):
        super().__init__()
        self.hidden = hidden
        self.x2g = _freq_conv(c_in, 4 * hidden, kernel)
        self.h2g = _freq_conv(hidden, 4 * hidden, kernel, bias=False)
        self.pads = ((kernel - 1) // 2, kernel // 2)   # as _freq_conv pads, also for even N

    def forward(self, x):                       # (B, C, F, T)
        gx = self.x2g(x)                        # all input contributions at once
        weight = self.h2g[1].weight[..., 0]     # (4H, H, N)
        if torch.is_grad_enabled() and (gx.requires_grad or weight.requires_grad):
            h = _Recurrence.apply(gx, weight, self.pads[0])
        else:
            h = _recur(gx, weight, self.pads[0], keep=False)[0]
        return h.contiguous(memory_format=_layout(x))


def _recur(gx, weight, lo, keep):
    """The ConvLSTM recurrence: gates ``gx`` (B, 4H, F, T) -> hidden states (B, H, F, T).

    Inside, frames are (B*F, channels) matrices: gates = gx_k + unfold(h_{k-1}) @ W. With
    ``keep`` it also returns what the backward needs (per frame: activations, cell states,
    tanh of the cells, and the zero-padded hidden states); without, per-frame buffers are
    reused and only the output is T frames long.
    """
    b, gates4, f, t_len = gx.shape
    hidden, kernel = gates4 // 4, weight.shape[-1]
    w_cols = weight.to(gx.dtype).reshape(gates4, hidden * kernel).t()   # (H*N, 4H)
    steps = gx.permute(3, 0, 2, 1).reshape(t_len, b * f, gates4)        # one copy
    # hidden states, zero-padded along frequency as the convolution pads; slot 0 is h_{-1}
    h_pad = gx.new_zeros(t_len + 1, b, f + kernel - 1, hidden)
    acts = gx.new_empty(t_len if keep else 1, b * f, gates4)
    cells = gx.new_zeros(t_len + 1 if keep else 2, b * f, hidden)   # slot 0 is c_{-1} = 0
    tanh_c = gx.new_empty(t_len if keep else 1, b * f, hidden)
    for k in range(t_len):
        a, tc = acts[k if keep else 0], tanh_c[k if keep else 0]
        c_prev, c = cells[k if keep else k % 2], cells[k + 1 if keep else (k + 1) % 2]
        cols = h_pad[k].unfold(1, kernel, 1).reshape(b * f, hidden * kernel)
        torch.addmm(steps[k], cols, w_cols, out=a)
        i, fg, g, o = a.chunk(4, dim=1)
        torch.sigmoid(i, out=i)
        torch.sigmoid(fg, out=fg)
        torch.tanh(g, out=g)
        torch.sigmoid(o, out=o)
        torch.mul(fg, c_prev, out=c)
        c.addcmul_(i, g)
        torch.tanh(c, out=tc)
        torch.mul(o.view(b, f, hidden), tc.view(b, f, hidden), out=h_pad[k + 1, :, lo:lo + f])
    out = h_pad[1:, :, lo:lo + f].permute(1, 3, 2, 0)                   # (B, H, F, T)
    return out, (acts, cells, tanh_c, h_pad)


class _Recurrence(torch.autograd.Function):
    """Backpropagation through time for ``_recur``: one autograd node for the sequence."""

    @staticmethod
    def forward(ctx, gx, weight, lo):
        out, saved = _recur(gx, weight, lo, keep=True)
        ctx.save_for_backward(weight, *saved)
        ctx.lo = lo
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        weight, acts, cells, tanh_c, h_pad = ctx.saved_tensors
        lo = ctx.lo
        t_len, rows, gates4 = acts.shape
        hidden, kernel = gates4 // 4, weight.shape[-1]
        b, f = h_pad.shape[1], rows // h_pad.shape[1]
        w = weight.to(acts.dtype)
        # dh_{k-1} = the transposed convolution of d(gates_k): windows of the gate gradients
        # (zero-padded by N-1) times the kernel flipped along frequency
        w_back = w.flip(-1).permute(0, 2, 1).reshape(gates4 * kernel, hidden)
        dy = grad_out.permute(3, 0, 2, 1).reshape(t_len, rows, hidden)
        dact = acts * (1 - acts)                       # sigmoid' for i, f, o
        g_all = acts[:, :, 2 * hidden:3 * hidden]
        dact[:, :, 2 * hidden:3 * hidden] = 1 - g_all * g_all   # tanh' for g
        out_coef = acts[:, :, 3 * hidden:] * (1 - tanh_c * tanh_c)   # dh -> dc via h = o tanh c
        dgates = torch.empty_like(acts)
        padded = acts.new_zeros(b, f + 2 * (kernel - 1), gates4)
        dc = acts.new_zeros(rows, hidden)
        dh_rec = None
        for k in range(t_len - 1, -1, -1):
            dh = dy[k] if dh_rec is None else dy[k] + dh_rec
            dc.addcmul_(dh, out_coef[k])
            i, fg, g, _ = acts[k].chunk(4, dim=1)
            di, df, dg, do = dgates[k].chunk(4, dim=1)
            torch.mul(dc, g, out=di)
            torch.mul(dc, cells[k], out=df)
            torch.mul(dc, i, out=dg)
            torch.mul(dh, tanh_c[k], out=do)
            dgates[k].mul_(dact[k])                    # through the activations
            dc.mul_(fg)
            if k:
                padded[:, kernel - 1:kernel - 1 + f] = dgates[k].view(b, f, gates4)
                cols = padded[:, lo:lo + f + kernel - 1].unfold(1, kernel, 1)
                dh_rec = cols.reshape(rows, gates4 * kernel) @ w_back
        # the weight gradient, batched over frames in chunks of bounded memory
        d_cols = acts.new_zeros(hidden * kernel, gates4)
        chunk = max(1, (1 << 24) // (rows * hidden * kernel))
        for k in range(0, t_len, chunk):
            n = min(chunk, t_len - k)
            cols = h_pad[k:k + n].unfold(2, kernel, 1)       # the inputs of frames k..k+n-1
            d_cols.addmm_(cols.reshape(n * rows, hidden * kernel).t(),
                          dgates[k:k + n].reshape(n * rows, gates4))
        d_weight = d_cols.t().reshape(gates4, hidden, kernel)
        d_gx = dgates.view(t_len, b, f, gates4).permute(1, 3, 2, 0)
        return d_gx, d_weight.to(weight.dtype), None


def _layout(x):
    channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if channels_last else torch.contiguous_format


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
        if features.device.type == "cpu":   # oneDNN's N x 1 convolutions: 1.8x faster NHWC
            features = features.contiguous(memory_format=torch.channels_last)
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
