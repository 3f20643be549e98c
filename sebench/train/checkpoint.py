"""Checkpoints: atomic save, load, and n-best weight averaging."""
import os
import random

import numpy as np
import torch

from sebench.errors import SebenchError
from sebench.utils.fileio import atomic_path


def rng_state():
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path, payload):
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load(path, map_location="cpu"):
    if not os.path.isfile(path):
        raise SebenchError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file
        raise SebenchError(f"{path}: cannot load checkpoint ({type(e).__name__}: {e})") from None


def average_states(states):
    """Element-wise mean of model state dicts (integer buffers are taken from the first)."""
    if not states:
        raise SebenchError("nothing to average")
    out = {}
    for key, value in states[0].items():
        if torch.is_floating_point(value):
            out[key] = sum(s[key].double() for s in states).div(len(states)).to(value.dtype)
        else:
            out[key] = value.clone()
    return out
