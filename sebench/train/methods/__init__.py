"""Training-method registry: YAML ``method:`` -> a small module on the shared trainer
(the contract is ``sebench/train/methods/base.py``)."""
from sebench.utils.registry import Registry

METHODS = Registry("training method", {
    "supervised": "sebench.train.methods.supervised:Supervised",
    "qp": "sebench.train.methods.qp:QualityRegression",
    "deepdream": "sebench.train.methods.deepdream:DeepDream",
    "gan": "sebench.train.methods.gan:MetricGAN",
    "robust_q": "sebench.train.methods.robust_q:RobustQ",
    "semi": "sebench.train.methods.semi:semi",
    "cae": "sebench.train.methods.sse:CleanAutoencoder",      # paper 003
    "mae": "sebench.train.methods.sse:MixtureAutoencoder",    # paper 003
    "grl": "sebench.train.methods.grl:GradientReversalTraining",   # paper 004
    "vqvae": "sebench.train.methods.vqvae:VQVAETraining",          # paper 001, stage 1
    "vq_triplet": "sebench.train.methods.vq_triplet:VQTripletSE",   # paper 001, stage 2
    "pesqnet": "sebench.train.methods.pesqnet:PESQNetMediated",
    # issue 20's real-data baselines
    "nytt": "sebench.train.methods.nytt:NoisyTargetTraining",
    "mixit": "sebench.train.methods.mixit:MixtureInvariantTraining",
    "remixit": "sebench.train.methods.remixit:RemixIT",
})


def check_method_options(cfg):
    """The check of ``method_options`` that building the method makes (unknown keys, value
    types), without building it: ``--print-config`` and the CLI fail where a run would."""
    from sebench.config import check_section
    method = METHODS.get(cfg["method"])
    if hasattr(method, "base_method"):          # a factory (semi): its base method's options
        method, cfg = method.base_method(cfg)
    check_section(cfg.get("method_options"), method.options, "method_options")


def build_method(cfg, trainer):
    """The method object for ``cfg["method"]`` (a class or a factory function)."""
    return METHODS.get(cfg["method"])(cfg, trainer)
