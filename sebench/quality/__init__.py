"""Non-intrusive quality predictors (paper 000's cnn/blstm/cnn_blstm, paper 002's PESQNet),
their labels, Algorithm 1 (the attack / enhancement by a predictor) and DNSMOS labelling.

Registry: YAML ``name:`` of a config with ``kind: predictor`` -> class.
"""
import importlib

from sebench.errors import ConfigError

PREDICTORS = {
    "cnn": "sebench.quality.predictors:CNNQ",
    "blstm": "sebench.quality.predictors:BLSTMQ",
    "cnn_blstm": "sebench.quality.predictors:CNNBLSTMQ",
    "pesqnet": "sebench.quality.pesqnet:PESQNet",
}


def build_predictor(cfg):
    cfg = {k: v for k, v in dict(cfg).items() if k != "kind"}
    name = cfg.pop("name", None)
    if name not in PREDICTORS:
        raise ConfigError(f"unknown quality predictor {name!r}; known: {', '.join(sorted(PREDICTORS))}")
    module, cls = PREDICTORS[name].split(":")
    try:
        return getattr(importlib.import_module(module), cls)(**cfg)
    except TypeError as e:
        raise ConfigError(f"predictor {name}: {e}") from None
