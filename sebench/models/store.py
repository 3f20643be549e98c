"""Trained models on disk: export, resolve, load (by kind), pack and unpack.

A *model dir* holds ``model.yaml`` (the config, with its ``kind``), ``model.pt`` (the weights,
with any input-normalisation buffers; absent for weightless kinds) and ``info.json``
(where the weights came from, versions). An experiment exports its primary model to
``model/`` and any others to ``model_<name>/``. Everything that reads a trained model
(enhance, label, the quality-guided methods, pack) goes through this module.

Kinds (``model.yaml``'s ``kind:``, default ``se``) and what builds their architecture:

- ``se``: an SE model of ``sebench.models.MODELS`` (wave -> {"wave", ...})
- ``predictor``: a quality predictor of ``sebench.quality.PREDICTORS``
- ``vqvae``, ``vae``: auxiliary networks, also named in ``MODELS``
- ``composite``: ``{name, parts: {part: <model config>}, ...options}``, a class of
  ``sebench.models.composite.COMPOSITES`` built around its parts (e.g. D_c(E_m(.)))
- ``classical``: ``{name, ...options}`` of ``sebench.models.classical.CLASSICAL``; no weights

A new kind is one ``MODEL_KINDS.register(kind, "module:builder")`` where the builder maps a
config (without ``kind``) to an ``nn.Module``.
"""
import hashlib
import json
import os
import zipfile

import torch
import yaml

from sebench.errors import SebenchError
from sebench.utils.fileio import atomic_path, atomic_write_text
from sebench.utils.registry import Registry
from sebench.version import provenance

MODEL_FILE, CONFIG_FILE, INFO_FILE = "model.pt", "model.yaml", "info.json"
EXTRA_FILES = ("config.yaml", "RESULTS.md", "learning_curves.png", "valid_log.csv")

MODEL_KINDS = Registry("model kind", {
    "se": "sebench.models:build_model",
    "vqvae": "sebench.models:build_model",
    "vae": "sebench.models:build_model",
    "predictor": "sebench.quality:build_predictor",
    "composite": "sebench.models.composite:build_composite",
    "classical": "sebench.models.classical:build_classical",
})
#: kinds whose models have no trained weights (no model.pt)
WEIGHTLESS_KINDS = {"classical"}
#: kinds whose models map a noisy wave to {"wave": estimate}, i.e. can enhance
ENHANCING_KINDS = {"se", "composite", "classical"}


def kind_of(cfg):
    return (cfg or {}).get("kind") or "se"


def build_from_config(cfg):
    """The architecture a model config describes (weights not loaded)."""
    kind = kind_of(cfg)
    builder = MODEL_KINDS.get(kind)
    return builder({k: v for k, v in dict(cfg).items() if k != "kind"})


def export_model(folder, model_cfg, weights, state=None, source=""):
    """Write a model dir; ``weights`` None for a weightless kind."""
    os.makedirs(folder, exist_ok=True)
    model_cfg = dict({"kind": kind_of(model_cfg)}, **model_cfg)
    if weights is not None:
        with atomic_path(os.path.join(folder, MODEL_FILE)) as tmp:
            torch.save(weights, tmp)
    atomic_write_text(os.path.join(folder, CONFIG_FILE), yaml.safe_dump(model_cfg, sort_keys=False))
    info = {"source": source, "provenance": provenance()}
    if state:
        info.update(step=state.get("step"), epoch=state.get("epoch"), best=state.get("best"),
                    best_step=state.get("best_step"))
    atomic_write_text(os.path.join(folder, INFO_FILE), json.dumps(info, indent=2) + "\n")
    return folder


def resolve_model_dir(path):
    """An experiment dir (uses its model/), a model dir, or a packed zip (extracted)."""
    path = os.fspath(path)
    if os.path.isfile(path) and path.endswith(".zip"):
        return unpack(path)
    if os.path.isfile(os.path.join(path, "model", CONFIG_FILE)) and \
            not os.path.isfile(os.path.join(path, CONFIG_FILE)):
        path = os.path.join(path, "model")
    if not os.path.isfile(os.path.join(path, CONFIG_FILE)):
        raise SebenchError(f"{path}: not a model (no {CONFIG_FILE}); give an experiment dir, its "
                           "model/ folder or a packed .zip")
    return path


def read_config(folder):
    with open(os.path.join(folder, CONFIG_FILE)) as f:
        return yaml.safe_load(f) or {}


def load_model(path, device="cpu", kinds=None):
    """(model in eval mode on ``device``, its config) of an experiment, model dir or zip.
    ``kinds``: the kinds the caller can use; another kind is a one-line error."""
    folder = resolve_model_dir(path)
    cfg = read_config(folder)
    kind = kind_of(cfg)
    if kinds is not None and kind not in kinds:
        raise SebenchError(f"{path}: a {kind} model, but a {' or '.join(sorted(kinds))} model "
                           "is needed here")
    model = build_from_config(cfg)
    if kind not in WEIGHTLESS_KINDS:
        weights = os.path.join(folder, MODEL_FILE)
        if not os.path.isfile(weights):
            raise SebenchError(f"{folder}: no {MODEL_FILE} (a {kind} model needs its weights)")
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval(), cfg


def compose(folder, name, parts, **options):
    """Write a ``composite`` model dir from trained model dirs: ``parts`` {part: path}."""
    from sebench.models.composite import Composite
    loaded = {p: load_model(path) for p, path in parts.items()}
    cfg = {"kind": "composite", "name": name,
           "parts": {p: dict(c, kind=kind_of(c)) for p, (_, c) in loaded.items()}, **options}
    model = build_from_config(cfg)
    state = {f"{Composite.PREFIX}{p}.{k}": v for p, (m, _) in loaded.items()
             for k, v in m.state_dict().items()}
    model.load_state_dict(state)
    return export_model(folder, cfg, model.state_dict(), source="composite of " + ", ".join(
        f"{p}={os.path.abspath(path)}" for p, path in parts.items()))


def model_dirs(exp_dir):
    """An experiment's exported model dirs: model/ first, then model_<name>/."""
    names = sorted(n for n in os.listdir(exp_dir) if n.startswith("model_")
                   and os.path.isfile(os.path.join(exp_dir, n, CONFIG_FILE)))
    return ["model"] + names


def pack(exp_dir, out_zip):
    """One zip with every exported model of an experiment (or one model dir) plus its
    config.yaml, RESULTS.md and learning curves."""
    model_dir = resolve_model_dir(exp_dir)
    base = os.path.basename(model_dir.rstrip("/"))
    exp = os.path.dirname(model_dir.rstrip("/")) if base == "model" else None
    folders = [(os.path.join(exp, n), n) for n in model_dirs(exp)] if exp else [(model_dir, "model")]
    with atomic_path(out_zip) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for folder, arc in folders:
            for name in (MODEL_FILE, CONFIG_FILE, INFO_FILE):
                if os.path.isfile(os.path.join(folder, name)):
                    z.write(os.path.join(folder, name), f"{arc}/{name}")
        for name in EXTRA_FILES if exp else ():
            if os.path.isfile(os.path.join(exp, name)):
                z.write(os.path.join(exp, name), name)
    return out_zip


def unpack(zip_path, cache_dir=None):
    """Extract once into a cache folder named by the zip's content hash; returns model/."""
    with open(zip_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    root = cache_dir or os.environ.get("SEBENCH_CACHE_DIR") or os.path.expanduser("~/.cache/sebench")
    target = os.path.join(root, "models", digest)
    model_dir = os.path.join(target, "model")
    if not os.path.isfile(os.path.join(model_dir, CONFIG_FILE)):
        tmp = target + f".tmp{os.getpid()}"
        try:
            with zipfile.ZipFile(zip_path) as z:
                if f"model/{CONFIG_FILE}" not in z.namelist():
                    raise SebenchError(f"{zip_path}: not a sebench model pack (no model/{CONFIG_FILE})")
                z.extractall(tmp)
        except zipfile.BadZipFile as e:
            raise SebenchError(f"{zip_path}: not a zip file ({e})") from None
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.replace(tmp, target)
        except OSError:   # another process unpacked it first
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    return model_dir
