"""Config overlays: a recipe's ``conf/`` plus an overlay dir (``--confdir conf/smoke``) whose
YAML files hold only the keys that differ.

:func:`materialize` writes the *effective* config dir (every YAML file of ``conf/``, deep-merged
with the overlay's file of the same relative path when there is one) so that every stage reads
plain, complete files from one place, and the configs a run actually used sit beside its
results. A file is only rewritten when its content changes.

``leave_out`` (se.sh ``--leave_out_sets``) drops test sets a user does not have from the
effective ``eval.yaml`` (its ``sets:``, published rows, comparison columns and judges) and from
the ``sets:`` of ``recipe.yaml``'s systems, so no stage enhances, scores or reports them.
"""
import copy
import os

import yaml

from sebench.config import load_yaml
from sebench.errors import ConfigError
from sebench.utils.fileio import atomic_write_text

YAML_EXTENSIONS = (".yaml", ".yml")


def deep_merge(base, overlay):
    """Mappings merge key by key (recursively); any other overlay value replaces the base's."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _yaml_files(root, skip=None):
    """Relative paths of the YAML files under ``root`` (not below ``skip``)."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not (skip and os.path.samefile(os.path.join(folder, d),
                                                                          skip)))
        found += [os.path.relpath(os.path.join(folder, n), root) for n in sorted(names)
                  if n.endswith(YAML_EXTENSIONS)]
    return found


def effective(conf, overlay, rel):
    """(merged mapping, header comment) of ``conf/rel`` with ``overlay/rel`` over it."""
    base_path = os.path.join(conf, rel)
    over_path = os.path.join(overlay, rel) if overlay else None
    has_base, has_over = os.path.isfile(base_path), bool(over_path and os.path.isfile(over_path))
    if not has_base and not has_over:
        raise ConfigError(f"{base_path}: config file not found")
    data = load_yaml(base_path) if has_base else {}
    sources = [base_path] if has_base else []
    if has_over:
        data = deep_merge(data, load_yaml(over_path))
        sources.append(over_path)
    return data, "# effective config: " + " + ".join(sources) + " (merged by sebench recipe)\n"


def _without_sets(rel, data, leave_out, where):
    """``data`` of ``eval.yaml`` / ``recipe.yaml`` without the test sets in ``leave_out``."""
    if rel == "eval.yaml":
        sets = data.get("sets") if isinstance(data.get("sets"), dict) else {}
        unknown = [s for s in leave_out if s not in sets]
        if unknown:
            raise ConfigError(f"--leave_out_sets: {', '.join(unknown)} not a set of {where} "
                              f"(sets: {', '.join(sets)})")
        data["sets"] = {k: v for k, v in sets.items() if k not in leave_out}
        if not data["sets"]:
            raise ConfigError(f"--leave_out_sets: leaves no test set in {where}")
        first = next(iter(sets))
        if isinstance(data.get("published"), list):     # a row's set defaults to the first
            data["published"] = [p for p in data["published"] if not isinstance(p, dict)
                                 or (p.get("set") or first) not in leave_out]
        comparison = data.get("comparison")
        if isinstance(comparison, dict):
            if isinstance(comparison.get("columns"), dict):
                comparison["columns"] = {k: v for k, v in comparison["columns"].items()
                                         if k not in leave_out}
            if isinstance(comparison.get("judges"), dict) and \
                    comparison["judges"].get("set") in leave_out:
                del comparison["judges"]
    elif rel == "recipe.yaml" and isinstance(data.get("systems"), dict):
        for spec in data["systems"].values():
            if isinstance(spec, dict) and isinstance(spec.get("sets"), list):
                spec["sets"] = [s for s in spec["sets"] if s not in leave_out]
    return data


def materialize(conf, overlay, out, leave_out=()):
    """Write the effective config dir ``out`` (without the test sets ``leave_out``); returns
    the relative paths written or kept."""
    if not os.path.isdir(conf):
        raise ConfigError(f"{conf}: config dir not found")
    if overlay and not os.path.isdir(overlay):
        raise ConfigError(f"--confdir {overlay}: overlay dir not found")
    skip = overlay if overlay and os.path.commonpath(
        [os.path.abspath(overlay), os.path.abspath(conf)]) == os.path.abspath(conf) else None
    names = _yaml_files(conf, skip)
    if overlay:
        names += [n for n in _yaml_files(overlay) if n not in names]
    for rel in names:
        data, header = effective(conf, overlay, rel)
        if leave_out and rel in ("eval.yaml", "recipe.yaml"):
            data = _without_sets(rel, data, set(leave_out), os.path.join(conf, rel))
            header += f"# test sets left out (--leave_out_sets): {', '.join(leave_out)}\n"
        text = header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
        path = os.path.join(out, rel)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        atomic_write_text(path, text)
    return names
