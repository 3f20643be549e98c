"""Semi-supervised (paper 000 §3.2.4): `gan` or `deepdream` started from a supervised SE model.

``method_options: {base: gan|deepdream, init_from: exp/supervised, ...}``; every other
option is the base method's. (Algorithm 1 as post-processing of a supervised model's output
is `sebench enhance robust_q:QP,after=MODEL`.)
"""
from sebench.errors import ConfigError


def base_method(cfg):
    """(the base method's class, the config it is built with: ``base`` taken out)."""
    from sebench.train.methods.deepdream import DeepDream
    from sebench.train.methods.gan import MetricGAN
    opts = dict(cfg.get("method_options") or {})
    base = opts.pop("base", "gan")
    bases = {"gan": MetricGAN, "deepdream": DeepDream}
    if base not in bases:
        raise ConfigError(f"semi: method_options.base must be gan or deepdream, got {base!r}")
    if not opts.get("init_from"):
        raise ConfigError("semi needs method_options.init_from: a supervised experiment or "
                          "model dir whose SE weights start the training")
    return bases[base], dict(cfg, method_options=opts)


def semi(cfg, trainer):
    """A factory: the base method, built with the remaining options."""
    method, cfg = base_method(cfg)
    return method(cfg, trainer)


semi.base_method = base_method     # for check_method_options (a factory has no `options`)
