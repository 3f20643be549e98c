"""Configuration: defaults < ``--config FILE.yaml`` < command-line overrides.

Every command owns a nested dict of defaults. A YAML file given with ``--config``
is merged over them, then explicit flags (``--seed 3``) and dotted overrides
(``--train.lr 1e-4`` or ``--train.lr=1e-4``) are applied last. Keys that are not in
the defaults are rejected (a typo must not be silently ignored), except below a
section whose default is an empty dict, which is free-form (model parameters).
The resolved config is saved beside every result with :func:`save_config`.
"""
import copy
import io
import os
import re

import yaml

from sebench.errors import ConfigError

_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def load_yaml(path):
    """Read a YAML mapping; a missing file or bad YAML is a ConfigError naming the file."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}".replace("\n", " ")) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def parse_value(text):
    """Parse a command-line value as YAML, also accepting ``1e-4`` as a float."""
    if isinstance(text, str) and _FLOAT_RE.match(text) and not text.lstrip("+-").isdigit():
        return float(text)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _coerce(key, default, value):
    """Keep the type of the default where a lossless conversion exists."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"option {key}: expected true/false, got {value!r}")
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, (int, float)) and not isinstance(value, (int, float)):
        raise ConfigError(f"option {key}: expected a number, got {value!r}")
    if isinstance(default, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def set_dotted(cfg, key, value, strict=True, _defaults=None):
    """Set ``a.b.c`` in a nested dict, checking the key exists when ``strict``."""
    parts = key.split(".")
    node = cfg
    for i, part in enumerate(parts[:-1]):
        if part not in node:
            if strict and not (node == {} or node.get("__free__")):
                raise ConfigError(f"unknown option --{key} (no section '{'.'.join(parts[:i + 1])}')")
            node[part] = {"__free__": True}
        if not isinstance(node[part], dict):
            raise ConfigError(f"option --{key}: '{'.'.join(parts[:i + 1])}' is not a section")
        node = node[part]
    last = parts[-1]
    free_form = node == {} or node.get("__free__", False)
    if strict and last not in node and not free_form:
        known = ", ".join(sorted(k for k in node if not k.startswith("__")))
        raise ConfigError(f"unknown option --{key} (known here: {known})")
    node[last] = _coerce(key, node.get(last), value)


def merge(base, override, strict=True, prefix=""):
    """Deep-merge ``override`` into a copy of ``base``."""
    out = copy.deepcopy(base)
    free = out == {} or bool(out.get("__free__"))   # decided before keys are added
    for key, value in (override or {}).items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(out.get(key), dict) and out[key]:
            out[key] = merge(out[key], value, strict and not free, prefix=dotted + ".")
        else:
            if strict and key not in out and not free:
                known = ", ".join(sorted(k for k in out if not k.startswith("__")))
                raise ConfigError(f"unknown config key '{dotted}' (known here: {known})")
            out[key] = _coerce(dotted, out.get(key), value)
    return out


def parse_overrides(args):
    """Turn ``['--a.b', '1', '--c=x']`` into ``[('a.b', 1), ('c', 'x')]``.

    Anything that is not an option is an error, so a misspelt positional is not lost.
    """
    pairs, i = [], 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise ConfigError(f"unexpected argument {arg!r}")
        key = arg[2:]
        if "=" in key:
            key, text = key.split("=", 1)
            i += 1
        elif i + 1 < len(args) and not (args[i + 1].startswith("--") and len(args[i + 1]) > 2):
            text = args[i + 1]
            i += 2
        else:
            raise ConfigError(f"option --{key} needs a value")
        pairs.append((key.replace("-", "_"), parse_value(text)))
    return pairs


def resolve(defaults, config_file=None, flags=None, overrides=()):
    """Resolve a config: defaults, then the YAML file, then flags, then dotted overrides.

    ``flags`` maps dotted keys to values from explicit command-line flags (``None`` = not given).
    """
    cfg = _mark_free(copy.deepcopy(defaults))
    if config_file:
        cfg = merge(cfg, load_yaml(config_file))
    for key, value in (flags or {}).items():
        if value is not None:
            set_dotted(cfg, key, value)
    for key, value in overrides:
        set_dotted(cfg, key, value)
    return strip_private(cfg)


def _mark_free(node):
    """Empty-dict sections of the defaults take any keys; mark them so they stay free-form
    after their first key arrives (the marker is stripped from the resolved config)."""
    if isinstance(node, dict):
        if not node:
            node["__free__"] = True
        for value in node.values():
            _mark_free(value)
    return node


def get_dotted(cfg, key):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def dump_config(cfg):
    clean = strip_private(cfg)
    buf = io.StringIO()
    yaml.safe_dump(clean, buf, sort_keys=False, default_flow_style=False)
    return buf.getvalue()


def strip_private(node):
    """A copy without the ``__private__`` markers (``__free__``) of a resolved config."""
    if isinstance(node, dict):
        return {k: strip_private(v) for k, v in node.items() if not str(k).startswith("__")}
    if isinstance(node, (list, tuple)):
        return [strip_private(v) for v in node]
    return node


def check_section(values, schema, section):
    """``values`` merged over ``schema`` (a section's defaults) with unknown keys rejected
    and types coerced, also when the schema is empty (a section that takes no keys)."""
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{section}: expected a mapping, got {values!r}")
    if not schema and values:
        raise ConfigError(f"unknown config key '{section}.{next(iter(values))}' ({section} takes "
                          "no keys here)")
    return merge(schema, values, strict=True, prefix=section + ".")


def save_config(cfg, path, command=None):
    """Write the resolved config with a provenance header (versions, git commit), atomically."""
    from sebench.utils.fileio import atomic_write_text
    from sebench.version import provenance

    prov = provenance()
    header = [f"# resolved config written by sebench {prov['sebench']} (git {prov['git_commit']})"]
    if command:
        header.append(f"# command: {command}")
    header.append("# versions: " + ", ".join(f"{k}={v}" for k, v in prov.items() if v))
    atomic_write_text(path, "\n".join(header) + "\n" + dump_config(cfg))
