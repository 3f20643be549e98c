"""Paper 004's end-to-end masking network: learnable filterbank + DPRNN encoder and decoder.

analysis Conv1d(1 -> 64, kernel 16, stride 8) + ReLU gives the mixture representation W;
the encoder E (channel-wise normalisation, pointwise conv, one DPRNN block) and the mask
decoder M (one DPRNN block, pointwise conv, PReLU, sigmoid) are separate modules so a
training branch (paper 004's adversarial noise-mask predictor) can attach to E's output;
synthesis ConvTranspose1d(64 -> 1, 16, 8) turns W * mask back into a waveform.

``decoder_block: false`` reads "E, M and D are all composed of one DPRNN block" the other
way the paper allows: its runtime size, 441K, is one block's worth, so M is then only the
pointwise conv + PReLU + sigmoid (440,961 parameters against 871,425 with both blocks).

``n_sources: M`` > 1 (MixIT) gives M masks, a softmax over the sources in the learned
domain; ``sources`` (B, M, samples) joins the output and ``wave`` is the sum of the first
``speech_sources`` (the designated speech slots), as for ``cnn_blstm``.
"""
import torch
from torch import nn

from sebench.errors import ConfigError


class DPRNNBlock(nn.Module):
    """Intra-chunk BLSTM then inter-chunk BLSTM, each with a linear projection, norm, residual."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.intra = nn.LSTM(channels, hidden, batch_first=True, bidirectional=True)
        self.intra_proj = nn.Linear(2 * hidden, channels)
        self.intra_norm = nn.GroupNorm(1, channels)
        self.inter = nn.LSTM(channels, hidden, batch_first=True, bidirectional=True)
        self.inter_proj = nn.Linear(2 * hidden, channels)
        self.inter_norm = nn.GroupNorm(1, channels)

    def forward(self, x):                                  # (B, C, K chunk, S chunks)
        b, c, k, s = x.shape
        y = x.permute(0, 3, 2, 1).reshape(b * s, k, c)
        y = self.intra_proj(self.intra(y)[0]).reshape(b, s, k, c).permute(0, 3, 2, 1)
        x = x + self.intra_norm(y)
        y = x.permute(0, 2, 3, 1).reshape(b * k, s, c)
        y = self.inter_proj(self.inter(y)[0]).reshape(b, k, s, c).permute(0, 3, 1, 2)
        return x + self.inter_norm(y)


def chunk(x, size):
    """(B, C, L) -> (B, C, size, S) with 50 % overlap, and the padded length."""
    hop = size // 2
    b, c, length = x.shape
    pad = (hop - (length - size) % hop) % hop if length > size else size - length
    x = nn.functional.pad(x, (hop, pad + hop))
    chunks = x.unfold(2, size, hop)                        # (B, C, S, size)
    return chunks.transpose(2, 3).contiguous(), length


def overlap_add(chunks, length):
    """Inverse of ``chunk`` (sums the overlapping halves, then trims)."""
    b, c, size, s = chunks.shape
    hop = size // 2
    out = nn.functional.fold(chunks.reshape(b, c * size, s), (1, (s - 1) * hop + size),
                             (1, size), stride=(1, hop))
    return out.reshape(b, c, -1)[..., hop:hop + length]


class DPRNNMasker(nn.Module):
    def __init__(self, fs=16000, filters=64, kernel=16, stride=8, hidden=128, chunk_size=100,
                 n_sources=1, speech_sources=1, decoder_block=True):
        super().__init__()
        self.fs, self.chunk_size = int(fs), int(chunk_size)
        self.n_sources, self.speech_sources = int(n_sources), int(speech_sources)
        if self.n_sources < 1 or not 1 <= self.speech_sources <= self.n_sources:
            raise ConfigError(f"dprnn: need n_sources >= 1 and 1 <= speech_sources <= "
                              f"n_sources, got {n_sources} and {speech_sources}")
        self.kernel, self.stride = int(kernel), int(stride)
        self.analysis = nn.Sequential(nn.Conv1d(1, filters, kernel, stride, bias=False), nn.ReLU())
        self.synthesis = nn.ConvTranspose1d(filters, 1, kernel, stride, bias=False)
        self.enc_norm = nn.GroupNorm(1, filters)   # channel-wise (global layer) normalisation
        self.enc_conv = nn.Conv1d(filters, filters, 1)
        self.enc_block = DPRNNBlock(filters, hidden)
        if not isinstance(decoder_block, bool):
            raise ConfigError(f"dprnn: decoder_block must be true or false, got {decoder_block!r}")
        self.dec_block = DPRNNBlock(filters, hidden) if decoder_block else None
        out = [nn.Conv1d(filters, filters * self.n_sources, 1), nn.PReLU()]
        self.dec_out = nn.Sequential(*out, nn.Sigmoid()) if self.n_sources == 1 else nn.Sequential(*out)

    def represent(self, wave):
        """(B, samples) -> the learned (non-negative) representation A(wave), (B, C, L)."""
        return self.analysis(self._pad(wave).unsqueeze(1))

    def encode(self, wave):
        """(B, samples) -> mixture representation W (B, C, L) and encoder output (B, C, L)."""
        mix = self.represent(wave)
        h, length = chunk(self.enc_conv(self.enc_norm(mix)), self.chunk_size)
        return mix, overlap_add(self.enc_block(h), length)

    def decode_mask(self, encoded):
        if self.dec_block is None:
            return self.dec_out(encoded)
        h, length = chunk(encoded, self.chunk_size)
        return self.dec_out(overlap_add(self.dec_block(h), length))

    def _pad(self, wave):
        rest = (wave.shape[-1] - self.kernel) % self.stride
        need = (self.stride - rest) % self.stride if wave.shape[-1] >= self.kernel \
            else self.kernel - wave.shape[-1]
        return nn.functional.pad(wave, (0, need))

    def forward(self, wave):
        mix, encoded = self.encode(wave)
        mask = self.decode_mask(encoded)
        if self.n_sources == 1:
            out = self.synthesis(mix * mask).squeeze(1)[..., :wave.shape[-1]]
            return {"wave": out, "mask": mask, "encoded": encoded, "mix_repr": mix}
        b, c, length = mix.shape
        masks = torch.softmax(mask.reshape(b, self.n_sources, c, length), dim=1)
        sources = self.synthesis((mix.unsqueeze(1) * masks).reshape(b * self.n_sources, c, length))
        sources = sources.reshape(b, self.n_sources, -1)[..., :wave.shape[-1]]
        k = self.speech_sources
        return {"wave": sources[:, :k].sum(1), "mask": masks[:, :k].sum(1), "encoded": encoded,
                "mix_repr": mix, "sources": sources}
