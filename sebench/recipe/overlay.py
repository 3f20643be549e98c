"""Config overlays: a recipe's ``conf/`` plus an overlay dir (``--confdir conf/smoke``) whose
YAML files hold only the keys that differ.

:func:`materialize` writes the *effective* config dir (every YAML file of ``conf/``, deep-merged
with the overlay's file of the same relative path when there is one) so that every stage reads
plain, complete files from one place, and the configs a run actually used sit beside its
results. A file is only rewritten when its content changes.
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


def materialize(conf, overlay, out):
    """Write the effective config dir ``out``; returns the relative paths written or kept."""
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
        text = header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
        path = os.path.join(out, rel)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        atomic_write_text(path, text)
    return names
