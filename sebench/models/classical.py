"""Weightless (classical) enhancers: the ``classical`` model kind.

``{kind: classical, name: NAME, ...options}`` builds ``CLASSICAL[name](**options)``: an
``nn.Module`` with ``fs`` whose ``forward(wave (batch, samples))`` returns
``{"wave": estimate}``, like a trained SE model but with nothing to load. Baselines such
as spectral subtraction (paper 003) register here; ``sebench enhance
classical:NAME,key=value`` runs one without any model dir.
"""
from sebench.utils.registry import Registry

CLASSICAL = Registry("classical enhancer", {
    "specsub": "sebench.models.specsub:SpectralSubtraction",   # paper 003's baseline
    "oracle_mask": "sebench.models.oracle:OracleMask",   # paper 004's references (needs --ref)
})


def build_classical(cfg):
    cfg = dict(cfg)
    return CLASSICAL.build(cfg.pop("name", None), **cfg)
