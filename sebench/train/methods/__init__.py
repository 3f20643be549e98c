"""Training-method registry: YAML ``method:`` -> a small module on the shared trainer."""
import importlib

from sebench.errors import ConfigError

METHODS = {
    "supervised": "sebench.train.methods.supervised:Supervised",
}


def method_class(name):
    if name not in METHODS:
        raise ConfigError(f"unknown training method {name!r}; known: {', '.join(sorted(METHODS))}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)
