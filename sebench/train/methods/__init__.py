"""Training-method registry: YAML ``method:`` -> a small module on the shared trainer."""
import importlib

from sebench.errors import ConfigError

METHODS = {
    "supervised": "sebench.train.methods.supervised:Supervised",
    "qp": "sebench.train.methods.qp:QualityRegression",
    "deepdream": "sebench.train.methods.deepdream:DeepDream",
    "gan": "sebench.train.methods.gan:MetricGAN",
    "robust_q": "sebench.train.methods.robust_q:RobustQ",
    "semi": "sebench.train.methods.semi:Semi",
}


def method_class(name):
    if name not in METHODS:
        raise ConfigError(f"unknown training method {name!r}; known: {', '.join(sorted(METHODS))}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)
