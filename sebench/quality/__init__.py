"""Non-intrusive quality predictors (paper 000's cnn/blstm/cnn_blstm, paper 002's PESQNet),
their labels, Algorithm 1 (the attack / enhancement by a predictor) and DNSMOS labelling.

Registry: YAML ``name:`` of a config with ``kind: predictor`` -> class.
"""
from sebench.utils.registry import Registry

PREDICTORS = Registry("quality predictor", {
    "cnn": "sebench.quality.predictors:CNNQ",
    "blstm": "sebench.quality.predictors:BLSTMQ",
    "cnn_blstm": "sebench.quality.predictors:CNNBLSTMQ",
    "pesqnet": "sebench.quality.pesqnet:PESQNet",
    "distillmos": "sebench.quality.distillmos:DistillMOSQ",    # optional: make distillmos
})
#: predictors whose weights ship with their package: a name stands for a trained model
#: wherever a predictor path is asked for (method_options.qp, label --qp)
PRETRAINED = ("distillmos",)


def build_predictor(cfg):
    cfg = {k: v for k, v in dict(cfg).items() if k != "kind"}
    return PREDICTORS.build(cfg.pop("name", None), **cfg)
