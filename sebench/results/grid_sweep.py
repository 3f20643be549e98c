"""A declared hyper-parameter grid, trained and compared on the validation set
(``sebench grid-sweep``): paper 001's triplet weight x margin, which the paper leaves open.

The grid is a YAML file::

    grid:                              # dotted `sebench train` options -> values to try
      method_options.weight: [0.3, 1.0, 3.0]
      method_options.margin: [0.1, 0.2, 0.5]
    criterion: loss                    # a column of valid_log.csv
    mode: min                          # min | max

Every combination is one ``sebench train`` run (``OUT/<name>``; a finished run, marked by
its ``.done``, is kept); each run's best validation value of ``criterion`` is read from its
``valid_log.csv``. ``OUT/table.md`` lists every point and ``OUT/chosen.json`` the best one.
"""
import csv
import itertools
import json
import math
import os

from sebench.config import load_yaml
from sebench.errors import ConfigError, SebenchError
from sebench.utils.fileio import atomic_write_text

SWEEP_KEYS = ("grid", "criterion", "mode")


def load_grid(path):
    spec = load_yaml(path)
    unknown = sorted(set(spec) - set(SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(SWEEP_KEYS)})")
    grid = spec.get("grid") or {}
    if not grid or not all(isinstance(v, list) and v for v in grid.values()):
        raise ConfigError(f"{path}: grid must map options to non-empty lists of values")
    mode = spec.get("mode", "min")
    if mode not in ("min", "max"):
        raise ConfigError(f"{path}: mode must be min or max, got {mode!r}")
    return {"grid": grid, "criterion": str(spec.get("criterion") or "loss"), "mode": mode}


def points(grid):
    """Every combination as [(option, value), ...], in the grid's order."""
    keys = list(grid)
    return [list(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def point_name(point):
    return "_".join(f"{key.rsplit('.', 1)[-1]}{value:g}" if isinstance(value, (int, float))
                    else f"{key.rsplit('.', 1)[-1]}{value}" for key, value in point)


def best_value(exp_dir, criterion, mode):
    """The best validation value of ``criterion`` in ``exp_dir/valid_log.csv``, and its step."""
    path = os.path.join(exp_dir, "valid_log.csv")
    if not os.path.isfile(path):
        raise SebenchError(f"{path}: missing (the run validated nothing)")
    best = None
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                value = float(row.get(criterion, ""))
            except ValueError:
                continue
            if math.isfinite(value) and (best is None or (value < best[0] if mode == "min"
                                                          else value > best[0])):
                best = (value, int(float(row.get("step") or 0)))
    if best is None:
        raise SebenchError(f"{path}: no finite value of {criterion!r}")
    return best


def collect(out, spec):
    """Rows {name, options, value, step} of every point, and the chosen row."""
    rows = []
    for point in points(spec["grid"]):
        name = point_name(point)
        value, step = best_value(os.path.join(out, name), spec["criterion"], spec["mode"])
        rows.append({"name": name, "options": dict(point), "value": value, "step": step})
    pick = min if spec["mode"] == "min" else max
    return rows, pick(rows, key=lambda r: r["value"])


def write_report(out, spec, rows, chosen, title):
    keys = list(spec["grid"])
    lines = [f"# {title}", "",
             f"Best validation {spec['criterion']} ({spec['mode']}) of each run; chosen: "
             + ", ".join(f"{k} = {v}" for k, v in chosen["options"].items()), "",
             "| " + " | ".join(keys) + f" | {spec['criterion']} | step | chosen |",
             "|" + "---|" * (len(keys) + 3)]
    for r in rows:
        lines.append("| " + " | ".join(str(r["options"][k]) for k in keys) +
                     f" | {r['value']:.6g} | {r['step']} | {'*' if r is chosen else ''} |")
    atomic_write_text(os.path.join(out, "table.md"), "\n".join(lines) + "\n")
    atomic_write_text(os.path.join(out, "chosen.json"),
                      json.dumps({"options": chosen["options"], "criterion": spec["criterion"],
                                  "mode": spec["mode"], "value": chosen["value"],
                                  "run": chosen["name"]}, indent=1) + "\n")
