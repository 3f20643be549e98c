"""Resuming a training with another config: which keys differ from the checkpoint's.

A rerun of ``sebench train`` into an experiment dir with a checkpoint resumes it; the
checkpoint keeps the resolved config it was trained with, and a rerun whose config differs
stops (restored optimiser state, batches and shapes would silently mix two configs) — except
for the options below, which cannot change what the run computes.
"""
from sebench.errors import ConfigError

#: options a resume may change, each with why it cannot change the weights or the exports
RESULT_NEUTRAL = {
    # a train_log.csv row is the mean of the terms since the previous row: only the
    # cadence of the log changes, not a single update
    "train.log_every": "log cadence",
    # every crop and batch order is a function of (seed, epoch, index), never of the
    # worker that loads it (sebench/train/data.py)
    "data.num_workers": "loader processes",
    # a checkpoint holds everything a step depends on: resuming from any step is exact
    "train.checkpoint_every": "checkpoint cadence",
    # the same arithmetic with a fixed summation order (sebench/train/determinism.py): the
    # non-deterministic kernels were never bit-repeatable, so switching cannot break an exact
    # resume; checkpoints older than the option (no such key) resume too
    "train.deterministic": "kernel choice",
}


def _flat(cfg, prefix=""):
    out = {}
    for key, value in (cfg or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def changed_keys(old, new):
    """Dotted keys whose values differ between two configs (neutral options left out)."""
    a, b = _flat(old), _flat(new)
    return sorted(k for k in set(a) | set(b)
                  if k not in RESULT_NEUTRAL and (k not in a or k not in b or a[k] != b[k]))


def _short(cfg, key):
    value = _flat(cfg).get(key, "(unset)")
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_resume_config(old, new, checkpoint):
    """ConfigError naming the changed keys when ``new`` may not resume ``checkpoint``."""
    if old is None:
        raise ConfigError(f"{checkpoint}: holds no config to compare with (an older sebench "
                          "wrote it); rerun with --force to start over, or give a new --exp")
    keys = changed_keys(old, new)
    if keys:
        changes = "; ".join(f"{k} {_short(old, k)} -> {_short(new, k)}" for k in keys[:4])
        more = f" and {len(keys) - 4} more" if len(keys) > 4 else ""
        raise ConfigError(f"{checkpoint}: the config differs from the one this training "
                          f"started with ({changes}{more}); resuming would mix the two: start "
                          "over with --force (in a recipe: --force_stage of its training "
                          "stage), or give a new --exp")
