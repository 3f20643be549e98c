"""Checkpoints: atomic save, load, and n-best weight averaging.

A save writes a hidden temporary, checks it is a complete archive, flushes it to disk and
only then renames it over the previous file: a full or read-only disk, a kill or a crash
never leaves a damaged ``latest.pt``/``best.pt`` where the previous good one was.
"""
import contextlib
import os
import random
import shutil
import zipfile

import numpy as np
import torch

from sebench.errors import OutputError, SebenchError
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
    with _kept_on_failure(path), atomic_path(path, fsync=True) as tmp:
        torch.save(payload, tmp)
        _check_complete(tmp, path)


def copy(src, dst):
    """Copy a checkpoint atomically (``best.pt`` from a step file)."""
    with _kept_on_failure(dst), atomic_path(dst, fsync=True) as tmp:
        shutil.copyfile(src, tmp)
        _check_complete(tmp, dst)


def _check_complete(tmp, path):
    # torch archives end with the zip directory: a short write cannot pass this check
    if not zipfile.is_zipfile(tmp):
        raise OutputError(path, "the written checkpoint is incomplete (disk full?)")


@contextlib.contextmanager
def _kept_on_failure(path):
    """Say in the error that the previous file is still there (a rerun resumes from it)."""
    try:
        yield
    except OutputError as e:
        kept = "the previous one is kept" if os.path.isfile(path) else "nothing was written"
        raise OutputError(e.path, f"{e.cause} ({kept}; free the disk and rerun to resume)",
                          e.errno) from None


def load(path, map_location="cpu"):
    if not os.path.isfile(path):
        raise SebenchError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file
        raise SebenchError(f"{path}: cannot load checkpoint ({type(e).__name__}: {e})") from None


def load_config(path):
    """The resolved config a checkpoint was trained with (None when it holds none), without
    reading its tensors into memory."""
    if not os.path.isfile(path):
        raise SebenchError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file
        raise SebenchError(f"{path}: cannot load checkpoint ({type(e).__name__}: {e})") from None
    return payload.get("config") if isinstance(payload, dict) else None


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
