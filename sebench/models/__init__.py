"""SE model registry: YAML ``name:`` -> model class.

A model config is ``{name: cnn_blstm, fs: 16000, stft: {...}, feature: {...}, <sizes>}``;
``build_model(cfg)`` returns the module. Every model maps a noisy waveform batch
``(batch, samples)`` to a dict with at least ``wave`` (the estimate, same length).
Saving, loading and packing trained models (of every kind) is ``sebench.models.store``.
"""
from sebench.errors import ConfigError
from sebench.utils.registry import Registry

#: name -> "module:Class" (imported on first use, so listing models costs nothing)
MODELS = Registry("model", {
    "cnn_blstm": "sebench.models.cnn_blstm:CNNBLSTM",
    "fcrn": "sebench.models.fcrn:FCRN",
    "gru": "sebench.models.gru:GRUGain",
    "dprnn": "sebench.models.dprnn:DPRNNMasker",
    "spec_vae": "sebench.models.spec_vae:SpecVAE",            # paper 003 CAE/MAE (kind vae)
    "split_vqvae": "sebench.models.vqvae:SplitVQVAE",     # kind vqvae (paper 001)
})


def model_class(name):
    return MODELS.get(name)


def build_model(cfg):
    cfg = {k: v for k, v in dict(cfg).items() if k != "kind"}
    name = cfg.pop("name", None)
    if name is None:
        raise ConfigError("model config has no `name:` (one of " + ", ".join(MODELS.names()) + ")")
    return MODELS.build(name, **cfg)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
