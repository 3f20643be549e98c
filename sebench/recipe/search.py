"""Repeated runs and hyper-parameter searches of one recipe system.

::

    systems:
      adv_irm:
        train: {config: train_grl.yaml, model: dprnn.yaml, data: train, valid: valid}
        seeds: [0, 1, 2]              # one experiment per seed: exp/adv_irm/seed<N>/
        search:                       # random search first, selected on the validation set
          space:
            optim.se.lr: loguniform 1e-4 1e-2
            method_options.beta: choice [0.6, 0.7, 0.8, 0.9]
          trials: 8                   # exp/adv_irm/search/trial<K>/
          seed: 0                     # the draw of the trials (not the trainings' seed)
          select: metric:covl:max     # valid:<term> or metric:<name>, then :min or :max

Trials are ordinary trainings run through the job runner; a trial's value is the best its
validation reached (``valid_log.csv`` for ``valid:<term>``, ``valid_metrics.csv`` for
``metric:<name>``), so the test set never takes part in the choice. The chosen trial's
settings become ``exp/<system>/search/chosen.yaml`` (the preset with them merged in), which
the system's own training(s) use as ``--config``; ``trials.md``/``trials.csv`` hold the
whole table. Each trial and seed is its own item, so a killed search reruns only what did
not finish.
"""
import csv
import math
import os

import numpy as np
import yaml

from sebench.config import load_yaml, parse_value, set_dotted
from sebench.errors import ConfigError, SebenchError
from sebench.utils.fileio import atomic_write_text
from sebench.utils.schema import check_mapping

SEARCH_KEYS = ("space", "trials", "seed", "select")
DISTRIBUTIONS = ("loguniform", "uniform", "randint", "choice")
DONE = ".done"


def check_seeds(value, where):
    """``seeds:`` -> a list of distinct non-negative ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value):
        raise ConfigError(f"{where}: expected a list of non-negative integer seeds, got {value!r}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: a seed is listed twice in {value}")
    return list(value)


def parse_seeds(text, where="--seeds"):
    """``0,1,2`` (the command line) -> [0, 1, 2]."""
    try:
        return check_seeds([int(s) for s in str(text).replace(",", " ").split()], where)
    except ValueError:
        raise ConfigError(f"{where}: expected comma-separated integers, got {text!r}") from None


def parse_distribution(text, where):
    """``loguniform 1e-4 1e-2`` | ``uniform A B`` | ``randint A B`` | ``choice [a, b]`` (or a
    YAML list) -> (kind, arguments)."""
    if isinstance(text, list):
        kind, args = "choice", text
    else:
        kind, _, rest = str(text).strip().partition(" ")
        if kind not in DISTRIBUTIONS:
            raise ConfigError(f"{where}: {text!r}: expected one of {', '.join(DISTRIBUTIONS)} "
                              "followed by its arguments")
        try:
            args = yaml.safe_load(rest) if kind == "choice" else [float(x) for x in rest.split()]
        except (ValueError, yaml.YAMLError):
            raise ConfigError(f"{where}: {text!r}: cannot read the arguments") from None
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise ConfigError(f"{where}: choice needs a non-empty list, e.g. choice [0.6, 0.8]")
        return kind, args
    if len(args) != 2 or not args[0] < args[1]:
        raise ConfigError(f"{where}: {kind} needs LOW HIGH with LOW < HIGH, got {text!r}")
    if kind == "loguniform" and args[0] <= 0:
        raise ConfigError(f"{where}: loguniform needs LOW > 0, got {args[0]}")
    if kind == "randint" and not all(float(a).is_integer() for a in args):
        raise ConfigError(f"{where}: randint needs integer bounds, got {text!r}")
    return kind, args


def check_search(spec, where):
    """``search:`` -> {space: {key: (kind, args)}, trials, seed, select: (source, key, mode)}."""
    spec = check_mapping(spec, where, SEARCH_KEYS, required=("space", "trials", "select"))
    space = check_mapping(spec["space"], f"{where}.space")
    if not space:
        raise ConfigError(f"{where}.space: name at least one option to search")
    trials = spec["trials"]
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise ConfigError(f"{where}.trials: expected a positive integer, got {trials!r}")
    seed = spec.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"{where}.seed: expected a non-negative integer, got {seed!r}")
    return {"space": {str(k): parse_distribution(v, f"{where}.space.{k}")
                      for k, v in space.items()},
            "trials": trials, "seed": seed,
            "select": parse_criterion(spec["select"], f"{where}.select")}


def parse_criterion(text, where):
    """``metric:covl:max`` / ``valid:loss`` (mode min) -> (source, key, mode)."""
    parts = str(text).split(":")
    mode = "min"
    if parts[-1] in ("min", "max"):
        mode = parts.pop()
    if len(parts) != 2 or parts[0] not in ("metric", "valid") or not parts[1]:
        raise ConfigError(f"{where}: {text!r}: expected metric:<name> or valid:<term>, "
                          "then :min or :max (e.g. metric:covl:max)")
    return parts[0], parts[1], mode


def draw_value(kind, args, rng):
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    if kind == "uniform":
        return float(rng.uniform(args[0], args[1]))
    if kind == "randint":
        return int(rng.integers(int(args[0]), int(args[1]) + 1))
    return float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))


def draw_trials(search):
    """[{key: value}] for each trial. Trial k's values depend on (seed, k) only, so adding
    trials to a search keeps the earlier ones (and their finished trainings)."""
    trials = []
    for k in range(search["trials"]):
        rng = np.random.default_rng([search["seed"], k])
        trials.append({key: draw_value(kind, args, rng)
                       for key, (kind, args) in sorted(search["space"].items())})
    return trials


def format_value(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def override_words(values):
    """{key: value} -> ``--key value`` words for a training command."""
    words = []
    for key, value in values.items():
        words += [f"--{key}", format_value(value) if not isinstance(value, (list, dict))
                  else yaml.safe_dump(value, default_flow_style=True).strip()]
    return words


# --- choosing a trial (after the trials trained) --------------------------------------

def _best_logged(path, column, mode):
    """The best value of ``column`` over a CSV log's rows (None: no such value)."""
    if not os.path.isfile(path):
        return None, f"no {os.path.basename(path)}"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    values = []
    for row in rows:
        try:
            v = float(row.get(column, ""))
        except ValueError:
            continue
        if math.isfinite(v):
            values.append(v)
    if not values:
        have = ", ".join(k for k in (rows[0] if rows else {}) if k not in ("step", "epoch"))
        return None, f"{os.path.basename(path)} has no value of {column} (it has: {have or 'no rows'})"
    return (max(values) if mode == "max" else min(values)), None


def trial_value(trial_dir, criterion):
    """(value, problem) of one finished trial for the criterion (source, key, mode)."""
    source, key, mode = criterion
    log = "valid_metrics.csv" if source == "metric" else "valid_log.csv"
    return _best_logged(os.path.join(trial_dir, log), key, mode)


def choose(trial_dirs, trials, criterion):
    """Index of the best trial and the table rows [(index, values, value, problem)]."""
    rows = []
    for k, (folder, values) in enumerate(zip(trial_dirs, trials)):
        if not os.path.isfile(os.path.join(folder, DONE)):
            rows.append((k, values, None, "not finished"))
            continue
        value, problem = trial_value(folder, criterion)
        rows.append((k, values, value, problem))
    scored = [r for r in rows if r[2] is not None]
    if not scored:
        problems = "; ".join(f"trial{k}: {p}" for k, _, _, p in rows)
        raise SebenchError(f"no trial has a validation value to choose by ({problems}); the "
                           f"criterion {':'.join(criterion)} needs train.valid_metrics (for "
                           "metric:) or the validation term (for valid:) in the trials' config")
    pick = max if criterion[2] == "max" else min
    best = pick(scored, key=lambda r: r[2])[0]
    return best, rows


def write_choice(search_dir, preset, trial_dirs, trials, criterion):
    """Choose, then write chosen.yaml (``preset`` with the chosen values), trials.md/.csv and
    the .done marker; returns (index, rows)."""
    best, rows = choose(trial_dirs, trials, criterion)
    cfg = load_yaml(preset) if preset else {}
    for key, value in trials[best].items():
        set_dotted(cfg, key, value if not isinstance(value, str) else parse_value(value),
                   strict=False)
    name = ":".join(criterion)
    header = (f"# chosen by sebench: trial{best} of {len(trials)} ({name} on the validation "
              f"set), settings merged into {preset}\n")
    atomic_write_text(os.path.join(search_dir, "chosen.yaml"),
                      header + yaml.safe_dump(cfg, sort_keys=False))
    keys = sorted(trials[0]) if trials else []
    md = [f"Random search: {len(trials)} trials, chosen by the best validation {name}; "
          f"chosen: **trial{best}**.", "",
          "| trial | " + " | ".join(keys) + f" | {name} |", "|---|" + "---|" * (len(keys) + 1)]
    with_csv = [["trial"] + keys + [name, "problem"]]
    for k, values, value, problem in rows:
        mark = "**" if k == best else ""
        cells = [format_value(values[key]) for key in keys]
        shown = f"{value:.4g}" if value is not None else f"– ({problem})"
        md.append(f"| {mark}trial{k}{mark} | " + " | ".join(cells) + f" | {mark}{shown}{mark} |")
        with_csv.append([f"trial{k}"] + cells + ["" if value is None else f"{value:.6g}",
                                                 problem or ""])
    atomic_write_text(os.path.join(search_dir, "trials.md"), "\n".join(md) + "\n")
    atomic_write_text(os.path.join(search_dir, "trials.csv"),
                      "".join(",".join(r) + "\n" for r in with_csv))
    atomic_write_text(os.path.join(search_dir, DONE), f"trial{best}\n")
    return best, rows
