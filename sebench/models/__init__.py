"""SE model registry: YAML ``name:`` -> model class.

A model config is ``{name: cnn_blstm, fs: 16000, stft: {...}, feature: {...}, <sizes>}``;
``build_model(cfg)`` returns the module. Every model maps a noisy waveform batch
``(batch, samples)`` to a dict with at least ``wave`` (the estimate, same length).
"""
import importlib

from sebench.errors import ConfigError

#: name -> "module:Class" (imported on first use, so listing models costs nothing)
MODELS = {
    "cnn_blstm": "sebench.models.cnn_blstm:CNNBLSTM",
    "fcrn": "sebench.models.fcrn:FCRN",
    "gru": "sebench.models.gru:GRUGain",
    "dprnn": "sebench.models.dprnn:DPRNNMasker",
}


def model_class(name):
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    module, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def build_model(cfg):
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    if name is None:
        raise ConfigError("model config has no `name:` (one of " + ", ".join(sorted(MODELS)) + ")")
    cls = model_class(name)
    try:
        return cls(**cfg)
    except TypeError as e:
        raise ConfigError(f"model {name}: {e}") from None


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
