"""Composite models: one enhancer built around several trained networks.

A composite config is ``{kind: composite, name: NAME, parts: {part: <model config>}, ...}``.
Its class (``COMPOSITES[name]``) receives the built parts and decides the forward pass,
e.g. paper 003's D_c(E_m(.)) takes the MAE's encoder and the CAE's decoder. The weights
of a composite model dir are the composite's state dict (``parts.<part>.<key>``); build one
from trained experiments with ``sebench.models.store.compose`` or, at enhancement time,
``sebench enhance composite:NAME,part=EXP,...``.
"""
from torch import nn

from sebench.errors import ConfigError
from sebench.utils.registry import Registry

COMPOSITES = Registry("composite model", {
    "chain": "sebench.models.composite:Chain",
    "sse": "sebench.models.spec_vae:SelfSupervisedEnhancer",   # paper 003: D_c(E_m(.))
})


class Composite(nn.Module):
    """Base: ``self.parts`` holds the networks; subclasses define ``forward(wave)``."""
    PREFIX = "parts."
    #: part names the class needs (None: any, in the given order)
    part_names = None

    def __init__(self, parts):
        super().__init__()
        if self.part_names is not None and set(parts) != set(self.part_names):
            raise ConfigError(f"{type(self).__name__} needs parts {', '.join(self.part_names)}, "
                              f"got {', '.join(parts) or 'none'}")
        self.parts = nn.ModuleDict(parts)
        rates = {int(p.fs) for p in parts.values() if hasattr(p, "fs")}
        if len(rates) > 1:
            raise ConfigError(f"the parts of a composite run at different rates {sorted(rates)}")
        self.fs = rates.pop() if rates else 16000


class Chain(Composite):
    """Enhancers applied one after the other, in the order the parts are given."""

    def forward(self, wave):
        out = {"wave": wave}
        for part in self.parts.values():
            out = part(out["wave"])
        return out


def build_composite(cfg):
    from sebench.models.store import build_from_config
    cfg = dict(cfg)
    name, parts = cfg.pop("name", None), cfg.pop("parts", None)
    if not parts:
        raise ConfigError(f"composite {name}: no `parts:`")
    return COMPOSITES.build(name, parts={p: build_from_config(c) for p, c in parts.items()}, **cfg)
