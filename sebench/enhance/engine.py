"""Chunked, batched inference with any registered model.

Files longer than ``chunk`` seconds are cut into chunks that overlap by ``overlap`` seconds
and cross-faded back together (complementary sin^2/cos^2 ramps), so memory depends on the
chunk length, not the file length. Channels of a multi-channel file are enhanced as a batch.
"""
import math

import numpy as np
import torch


def _ramps(overlap):
    t = (np.arange(overlap) + 0.5) / overlap
    return np.sin(0.5 * np.pi * t) ** 2          # fade-in; 1 - fade-in is the fade-out


class Enhancer:
    def __init__(self, model, device="cpu", chunk=30.0, overlap=1.0, chunk_batch=4):
        self.model, self.device = model, torch.device(device)
        self.fs = int(model.fs)
        self.chunk = int(round(chunk * self.fs)) if chunk else None
        self.overlap = int(round(overlap * self.fs))
        self.chunk_batch = int(chunk_batch)
        # oracle enhancers read the clean reference too (whole files: they are cheap)
        self.needs_reference = bool(getattr(model, "needs_reference", False))
        if self.chunk is not None and self.overlap >= self.chunk:
            raise ValueError("overlap must be shorter than the chunk")

    def _tensor(self, batch):
        return torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)

    @torch.no_grad()   # not inference_mode: Algorithm 1 re-enables gradients inside
    def _run(self, batch, reference=None):
        if self.needs_reference:
            return self.model(self._tensor(batch), self._tensor(reference))["wave"].float().cpu().numpy()
        return self.model(self._tensor(batch))["wave"].float().cpu().numpy()

    def enhance(self, audio, reference=None):
        """``(channels, samples)`` at the model rate -> same shape (``reference``: the clean
        signal, same shape, for enhancers that need it)."""
        audio = np.asarray(audio, dtype=np.float32)
        n = audio.shape[-1]
        if self.needs_reference:
            return self._run(audio, reference)
        if self.chunk is None or n <= self.chunk:
            return self._run(audio)
        hop = self.chunk - self.overlap
        starts = list(range(0, max(1, math.ceil((n - self.overlap) / hop)) * hop, hop))
        out = np.zeros_like(audio)
        weight = np.zeros(n, dtype=np.float32)
        fade_in = _ramps(self.overlap).astype(np.float32)
        pieces = []
        for s in starts:
            seg = audio[:, s:s + self.chunk]
            if seg.shape[-1] < self.chunk:           # the last chunk: pad, trim afterwards
                seg = np.pad(seg, ((0, 0), (0, self.chunk - seg.shape[-1])))
            pieces.append(seg)
        for i in range(0, len(pieces), self.chunk_batch):
            group = pieces[i:i + self.chunk_batch]
            channels = group[0].shape[0]
            enhanced = self._run(np.concatenate(group, axis=0))
            for j in range(len(group)):
                s = starts[i + j]
                e = min(n, s + self.chunk)
                w = np.ones(self.chunk, dtype=np.float32)
                if s > 0:
                    w[:self.overlap] = fade_in
                if s + self.chunk < n:
                    w[-self.overlap:] = 1.0 - fade_in
                w = w[:e - s]
                out[:, s:e] += enhanced[j * channels:(j + 1) * channels, :e - s] * w
                weight[s:e] += w
        return out / np.maximum(weight, 1e-8)

    def enhance_many(self, audios):
        """A list of equally long ``(channels, samples)`` arrays as one batch."""
        channels = [a.shape[0] for a in audios]
        out = self._run(np.concatenate(audios, axis=0))
        return np.split(out, np.cumsum(channels)[:-1], axis=0)
