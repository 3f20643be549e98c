"""Distill-MOS (Stahl & Gamper, Microsoft; the ``distillmos`` package, MIT, its weights inside
the wheel) as a differentiable quality predictor: a teacher for deepdream (and gan's label
source through ``sebench label --source qp``) whose score has gradients to the waveform.

It is optional and installed without its declared dependencies (``make distillmos``):
``distillmos`` 0.9.1 requires torchaudio, which has no build for the pinned CPU torch, and
``xls-r-sqa`` (its transformer head) requires torchaudio and transformers. The model code
uses neither: torchaudio only serves the package's command-line file-list inference
(``torchaudio.load`` / ``Resample``), and only ``xls_r_sqa.config`` and ``sqa_model`` (pure
torch) are imported. ``distillmos/sqa.py`` imports torchaudio at module level, so it is
imported here with a stand-in module that fails on any use, removed again right after.
Input: 16 kHz waveforms; the model peak-normalises each clip and scores 7.68 s windows.
"""
import contextlib
import io
import sys
import types

import torch

from sebench.errors import ConfigError
from sebench.quality.predictors import QualityPredictor

SEQ_LEN = 122880      # distillmos.sqa.SEQ_LEN: the model's 7.68 s window
INSTALL = ("pip install --no-deps distillmos==0.9.1 xls-r-sqa==0.1.0 (or `make distillmos`; "
           "their torchaudio requirement is not needed, see sebench/quality/distillmos.py)")


class _Unavailable(types.ModuleType):
    def __getattr__(self, name):
        raise ConfigError(f"torchaudio.{name}: torchaudio is not installed (sebench uses only "
                          "Distill-MOS's model, never its file-list inference)")


def model_class():
    """``distillmos.ConvTransformerSQAModel``, imported without torchaudio if need be."""
    try:
        from distillmos import ConvTransformerSQAModel
        return ConvTransformerSQAModel
    except ModuleNotFoundError as e:
        if e.name != "torchaudio":
            raise ConfigError(f"predictor distillmos needs the distillmos package ({e.name} is "
                              f"missing): {INSTALL}") from None
    for name in [n for n in sys.modules if n == "distillmos" or n.startswith("distillmos.")]:
        del sys.modules[name]                      # the failed import's leftovers
    sys.modules["torchaudio"] = _Unavailable("torchaudio")
    try:
        from distillmos import ConvTransformerSQAModel
    finally:
        del sys.modules["torchaudio"]
    return ConvTransformerSQAModel


class DistillMOSQ(QualityPredictor):
    """Registry name ``distillmos``: MOS 1-5 per utterance, output on the linear 0-1 scale of
    the other predictors ((MOS - 1) / 4), so the quality-guided methods use it unchanged."""

    def __init__(self, fs=16000, label=None, **kw):
        if int(fs) != 16000:
            raise ConfigError(f"predictor distillmos scores 16 kHz audio, got fs {fs}")
        label = dict({"name": "distillmos", "norm": "linear", "lo": 1.0, "hi": 5.0}, **(label or {}))
        super().__init__(fs=fs, label=label, **kw)
        with contextlib.redirect_stdout(io.StringIO()):      # it prints where it loaded from
            self.net = model_class()(load_weights=True)

    @staticmethod
    def _dithered(clip):
        """The clip padded to the model's window with a fixed -100 dBFS dither: the model's
        compressed STFT takes sqrt(re^2 + im^2), whose gradient is NaN on exactly zero bins
        (its own zero padding, digital silence); the dither keeps every bin non-zero."""
        n = max(clip.shape[-1], SEQ_LEN)
        gen = torch.Generator().manual_seed(0)
        dither = 1e-5 * torch.randn(n, generator=gen).to(clip.device, clip.dtype)
        return torch.nn.functional.pad(clip, (0, n - clip.shape[-1])) + dither

    def forward(self, wave, lengths=None):
        lengths = [wave.shape[-1]] * wave.shape[0] if lengths is None else lengths.tolist()
        mos = torch.cat([self.net(self._dithered(wave[i:i + 1, :int(n)])).reshape(1)
                         for i, n in enumerate(lengths)])
        return (mos - self.label["lo"]) / (self.label["hi"] - self.label["lo"])

    def forward_mag(self, mag, frame_lengths=None):
        raise ConfigError("predictor distillmos scores waveforms: Algorithm 1 (robust_q) needs "
                          "a magnitude predictor (cnn, blstm, cnn_blstm)")
