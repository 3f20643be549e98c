"""The ``model/`` folder that `sebench enhance` and `sebench pack` read."""
import json
import os

import torch
import yaml

from sebench.errors import SebenchError
from sebench.models import build_model
from sebench.utils.fileio import atomic_path, atomic_write_text
from sebench.version import provenance

MODEL_FILE, CONFIG_FILE, INFO_FILE = "model.pt", "model.yaml", "info.json"


def export_model(folder, model_cfg, weights, state=None, source=""):
    os.makedirs(folder, exist_ok=True)
    with atomic_path(os.path.join(folder, MODEL_FILE)) as tmp:
        torch.save(weights, tmp)
    atomic_write_text(os.path.join(folder, CONFIG_FILE),
                      yaml.safe_dump(dict(model_cfg), sort_keys=False))
    info = {"source": source, "provenance": provenance()}
    if state:
        info.update(step=state.get("step"), epoch=state.get("epoch"), best=state.get("best"),
                    best_step=state.get("best_step"))
    atomic_write_text(os.path.join(folder, INFO_FILE), json.dumps(info, indent=2) + "\n")


def resolve_model_dir(path):
    """An experiment dir (uses its model/), a model dir, or a packed zip (extracted)."""
    if os.path.isfile(path) and path.endswith(".zip"):
        from sebench.enhance.pack import unpack
        return unpack(path)
    if os.path.isdir(os.path.join(path, "model")) and not os.path.isfile(os.path.join(path, MODEL_FILE)):
        path = os.path.join(path, "model")
    if not os.path.isfile(os.path.join(path, MODEL_FILE)):
        raise SebenchError(f"{path}: not a model (no {MODEL_FILE}); give an experiment dir, its "
                           "model/ folder or a packed .zip")
    return path


def load_model(path, device="cpu"):
    folder = resolve_model_dir(path)
    with open(os.path.join(folder, CONFIG_FILE)) as f:
        cfg = yaml.safe_load(f)
    if cfg.get("kind") == "predictor":
        from sebench.quality import build_predictor
        model = build_predictor(cfg)
    else:
        model = build_model(cfg)
    state = torch.load(os.path.join(folder, MODEL_FILE), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.to(device).eval(), cfg
