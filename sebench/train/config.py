"""The trainer's config: defaults, and the checks that need the method (its optimisers,
streams, validation terms) and therefore run when the trainer is built.

Sections of ``sebench train`` (see ``DEFAULTS``):

- ``optim.<name>``: one per optimiser the method declares, or an explicit ``optim.default``
  (``<name>`` wins key by key). Keys: ``type`` (adam, adamw, radam, sgd), ``accum_grad``
  (N or ``epoch``; default ``train.accum_grad``), ``grad_clip`` (default ``train.grad_clip``),
  everything else goes to the torch optimiser (``lr``, ``betas``, ``weight_decay``...).
  An entry naming no optimiser of the method is an error.
- ``scheduler``: flat keys are every optimiser's schedule; ``scheduler.<name>`` overrides
  them for one optimiser. ``monitor`` names the validation term a plateau schedule watches.
- ``train.best_by``: one criterion or a list; the first picks ``best.pt``, the n-best
  average, the export and early stopping; the others keep ``best_<key>.pt``. A criterion is
  ``valid_loss``, ``valid:<term>`` (a term of ``valid_step``) or ``metric:<name>`` (a
  background validation metric), optionally ending in ``:min`` or ``:max``
  (default ``train.best_mode``).
"""
import copy
import os
from collections import namedtuple

from sebench.config import (CHANNEL, COUNT, NON_NEGATIVE, OPTIONAL_SECONDS, OPTIONAL_STEPS,
                            AnyOf, OneOf, Range, merge)
from sebench.errors import ConfigError

DEFAULTS = {
    "method": "supervised",
    "seed": 0,
    "model": {},                       # the model config (name, sizes, stft, feature)
    "method_options": {},              # checked against the method's `options`
    "loss": {},                        # only for methods that read it: {name, ...} or [{name, weight}]
    "data": {"segment": 3.0, "batch_size": 8, "num_workers": 0, "bucket_batches": 20,
             "valid_segment": None, "valid_batch_size": 1, "valid_max_utts": 200,
             "norm_utts": 200,
             "max_seconds": None,    # cap on a training crop even when segment is null (memory)
             "channel": None,        # multi-channel files: None refuses, an index or 'mean'
             "skip_bad": False},     # leave out files the scan finds unusable (else an error)
    "optim": {"__free__": True},       # optim.<name> per declared optimiser, or optim.default
    "scheduler": {"__free__": True, "kind": "constant", "factor": 0.5, "patience": 5,
                  "min_lr": 0.0, "step_size": 1000, "gamma": 0.5, "warmup": 0,
                  "monitor": "loss"},
    # fp32 and no clipping unless a preset opts in (and says why): the papers' arithmetic
    "train": {"epochs": 10, "max_steps": None, "accum_grad": 1, "grad_clip": None, "amp": False,
              "log_every": 10, "valid_every": None, "checkpoint_every": 100,
              "keep_checkpoints": 2, "early_stop_patience": None, "best_by": ["valid_loss"],
              "best_mode": "min", "average_nbest": 1, "valid_metrics": "",
              "valid_metric_utts": 8,
              "deterministic": True},   # deterministic kernels (sebench/train/determinism.py)
}

#: value rules (sebench.config): checked with the types before anything is built or read;
#: the rules that need the method (optimisers, criteria) run when the trainer is built
CHECKS = {
    "seed": NON_NEGATIVE, "data.segment": OPTIONAL_SECONDS, "data.batch_size": COUNT,
    "data.num_workers": NON_NEGATIVE, "data.bucket_batches": COUNT,
    "data.valid_segment": OPTIONAL_SECONDS, "data.valid_batch_size": COUNT,
    "data.valid_max_utts": OPTIONAL_STEPS, "data.norm_utts": COUNT,
    "data.max_seconds": OPTIONAL_SECONDS, "data.channel": CHANNEL,
    "scheduler.factor": Range(0, 1, lo_open=True, hi_open=True),
    "scheduler.patience": NON_NEGATIVE, "scheduler.min_lr": NON_NEGATIVE,
    "scheduler.step_size": COUNT, "scheduler.gamma": Range(0, lo_open=True),
    "scheduler.warmup": NON_NEGATIVE, "train.epochs": NON_NEGATIVE,
    "train.max_steps": OPTIONAL_STEPS,
    "train.accum_grad": AnyOf(Range(1, type=int), OneOf("epoch")),
    "train.grad_clip": Range(0, none=True), "train.log_every": COUNT,
    "train.valid_every": OPTIONAL_STEPS, "train.checkpoint_every": Range(0, none=True),
    "train.keep_checkpoints": COUNT, "train.early_stop_patience": OPTIONAL_STEPS,
    "train.best_mode": OneOf("min", "max"),
    "train.average_nbest": COUNT, "train.valid_metric_utts": COUNT,
}


def check_schedule(cfg):
    """Cross-checks the per-key rules cannot express."""
    if not cfg["train"]["epochs"] and not cfg["train"]["max_steps"]:
        raise ConfigError("option train.epochs: 0 needs train.max_steps (training would never end)")


#: optimiser keys the trainer reads (the rest go to the torch optimiser)
TRAINER_OPTIM_KEYS = ("type", "accum_grad", "grad_clip")
SCHEDULER_KEYS = tuple(k for k in DEFAULTS["scheduler"] if not k.startswith("__"))


def qp_defaults():
    """``sebench train-qp``: method qp, whole utterances (labels are per utterance)."""
    cfg = copy.deepcopy(DEFAULTS)
    cfg["method"] = "qp"
    # whole utterances, but a random max_seconds crop of longer ones: memory is bounded by
    # batch_size x max_seconds, not by the longest file
    cfg["data"].update(segment=None, batch_size=4, max_seconds=10.0)
    cfg["train"].update(epochs=20, amp=False)
    return cfg


def optimizer_config(cfg, name):
    """``optim.default`` merged with ``optim.<name>``; trainer keys resolved."""
    optim = cfg.get("optim") or {}
    if name not in optim and "default" not in optim:
        raise ConfigError(f"optim.{name} is not configured: method {cfg['method']} trains an "
                          f"optimiser {name!r}; give optim.{name} (e.g. --optim.{name}.lr 1e-3) "
                          "or optim.default")
    out = dict(optim.get("default") or {}, **(optim.get(name) or {}))
    accum = out.get("accum_grad", cfg["train"]["accum_grad"])
    if accum != "epoch" and not (isinstance(accum, int) and not isinstance(accum, bool) and accum >= 1):
        raise ConfigError(f"optim.{name}.accum_grad must be a positive integer or 'epoch', "
                          f"got {accum!r}")
    out["accum_grad"] = accum
    out.setdefault("grad_clip", cfg["train"]["grad_clip"])
    out.setdefault("type", "adam")
    return out


def check_sections(cfg, optimizers):
    """Entries of ``optim`` and ``scheduler`` that name no optimiser of the method."""
    for section, flat in (("optim", ()), ("scheduler", SCHEDULER_KEYS)):
        for key, value in (cfg.get(section) or {}).items():
            if key in flat or key == "default" and section == "optim":
                continue
            if key not in optimizers:
                raise ConfigError(f"{section}.{key}: method {cfg['method']} has no optimiser "
                                  f"{key!r} (its optimisers: {', '.join(optimizers)})")
            if section == "scheduler":
                unknown = sorted(set(value or {}) - set(SCHEDULER_KEYS))
                if unknown:
                    raise ConfigError(f"unknown config key 'scheduler.{key}.{unknown[0]}' "
                                      f"(known here: {', '.join(SCHEDULER_KEYS)})")


def scheduler_config(cfg, name):
    sched = cfg.get("scheduler") or {}
    flat = {k: sched[k] for k in SCHEDULER_KEYS if k in sched}
    return merge(flat, sched.get(name) or {}, strict=False)


Criterion = namedtuple("Criterion", "source key mode")   # source: valid | metric


def parse_criteria(train_cfg):
    """``train.best_by`` -> [Criterion]; the first is the primary."""
    specs = train_cfg["best_by"]
    specs = [specs] if isinstance(specs, str) else list(specs or [])
    if not specs:
        raise ConfigError("train.best_by: give at least one criterion (e.g. valid_loss)")
    out = []
    for spec in specs:
        text, mode = str(spec), train_cfg["best_mode"]
        if text.endswith((":min", ":max")):
            text, mode = text[:-4], text[-3:]
        if text == "valid_loss":
            out.append(Criterion("valid", "loss", mode))
        elif text.startswith(("valid:", "metric:")) and text.split(":", 1)[1]:
            source, key = text.split(":", 1)
            out.append(Criterion(source, key, mode))
        else:
            raise ConfigError(f"train.best_by {spec!r}: expected valid_loss, valid:TERM or "
                              "metric:NAME (optionally ending in :min or :max)")
        if mode not in ("min", "max"):
            raise ConfigError(f"train.best_mode must be min or max, got {mode!r}")
    return out


def criterion_name(c):
    return "valid_loss" if c == Criterion("valid", "loss", c.mode) else f"{c.source}:{c.key}"


def parse_train_dirs(values, streams):
    """``--train DIR`` (one-stream methods) or ``--train NAME=DIR`` per stream -> {stream: dir}.

    ``values``: a path, a list of such arguments, or a {stream: dir} dict."""
    names = list(streams)
    if isinstance(values, dict):
        dirs = {k: os.fspath(v) for k, v in values.items()}
    else:
        values = [values] if isinstance(values, (str, os.PathLike)) else list(values)
        dirs = {}
        for value in map(os.fspath, values):
            name, eq, path = value.partition("=")
            if not eq or os.path.exists(value) or not name.isidentifier():
                if len(names) != 1 or names[0] in dirs:
                    raise ConfigError(f"--train {value}: this method reads streams "
                                      f"{', '.join(names)}: give --train NAME=DIR for each")
                name, path = names[0], value
            if name in dirs:
                raise ConfigError(f"--train {name}=...: given twice")
            dirs[name] = path
    unknown = [k for k in dirs if k not in streams]
    if unknown:
        raise ConfigError(f"--train {unknown[0]}=...: this method reads streams "
                          f"{', '.join(names)}")
    missing = [k for k in names if k not in dirs]
    if missing:
        raise ConfigError(f"no training data for stream {missing[0]!r}: give --train "
                          f"{missing[0]}=DIR (streams: {', '.join(names)})")
    return {k: dirs[k] for k in names}
