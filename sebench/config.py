"""Configuration: defaults < ``--config FILE.yaml`` < command-line overrides.

Every command owns a nested dict of defaults. A YAML file given with ``--config``
is merged over them, then explicit flags (``--seed 3``) and dotted overrides
(``--train.lr 1e-4`` or ``--train.lr=1e-4``) are applied last. Keys that are not in
the defaults are rejected (a typo must not be silently ignored), except below a
section whose default is an empty dict, which is free-form (model parameters).
The resolved config is saved beside every result with :func:`save_config`.

Checking values (before any work starts)
----------------------------------------
Types come from the defaults: a value must have its default's type (bool, int, float,
str, list, or a section = mapping). Ints are accepted for floats, integral floats (``2.0``,
``1e4``) for ints and numbers for text; a list's elements must match the default list's
element type. ``null`` is accepted only where the default is ``None`` or a rule says
``none=True``. Ranges and choices are declared next to a command's defaults as a dict of
dotted keys -> rules, and checked by :func:`resolve` (or :func:`check_values` on any
sub-config, e.g. a training method's options)::

    CHECKS = {"data.batch_size": Range(1),                  # int (from the default), >= 1
              "train.lr": Range(0, lo_open=True),           # > 0
              "train.max_steps": Range(1, type=int, none=True),   # default None: give the type
              "subtype": OneOf("PCM_16", "FLOAT"),
              "snr_range": Interval(),                      # [lo, hi] with lo <= hi
              "snrs": ListOf(Range(), none=True)}
    cfg = resolve(DEFAULTS, config_file, flags, overrides, checks=CHECKS)

Shared rules: ``COUNT`` (>= 1), ``NON_NEGATIVE``, ``OPTIONAL_SECONDS`` (> 0 or null),
``OPTIONAL_STEPS`` (integer >= 1 or null), ``CHANNEL`` (index, 'mean' or null).
A rule is any callable ``rule(value) -> None | str`` (the string says what is wrong); a
rule's ``none`` attribute (default False) allows ``null``. Every failure is one
:class:`~sebench.errors.ConfigError` line ``option KEY: PROBLEM``.
"""
import copy
import io
import os
import re

import yaml

from sebench.errors import ConfigError

_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-4`` (no dot) as text; read it as the number everyone means."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"), list("-+0123456789."))


def load_yaml(path):
    """Read a YAML mapping; a missing file or bad YAML is a ConfigError naming the file."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_Loader)
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


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coerce(key, default, value):
    """Check ``value`` against the type of its default; convert where lossless.

    ``None`` on either side passes here (whether null is allowed is decided by
    :func:`check_values` once every source has been merged)."""
    if default is None or value is None:
        return value
    if isinstance(default, dict):
        if isinstance(value, dict):
            return value
        raise ConfigError(f"option {key}: expected a section (a mapping of keys), got {value!r}")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"option {key}: expected true/false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"option {key}: expected an integer, got {value!r}")
    if isinstance(default, float):
        if _is_number(value):
            return float(value)
        raise ConfigError(f"option {key}: expected a number, got {value!r}")
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        if _is_number(value):
            return str(value)
        raise ConfigError(f"option {key}: expected text, got {value!r}")
    if isinstance(default, (list, tuple)):
        if isinstance(value, str) and default and all(isinstance(v, str) for v in default):
            value = [value]             # one text for a list of texts (`--train.best_by X`)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"option {key}: expected a list, got {value!r}")
        kinds = {type(v) for v in default}
        if len(kinds) == 1 and kinds <= {int, float, bool, str}:   # homogeneous: check elements
            sample = default[0]
            return [_coerce(f"{key}[{i}]", sample, v) for i, v in enumerate(value)]
        return list(value)
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


def resolve(defaults, config_file=None, flags=None, overrides=(), checks=None):
    """Resolve a config: defaults, then the YAML file, then flags, then dotted overrides.

    ``flags`` maps dotted keys to values from explicit command-line flags (``None`` = not
    given). ``checks`` maps dotted keys to rules (see the module docstring); types, nulls and
    rules are checked on the result, so a bad value fails before any work starts.
    """
    cfg = _mark_free(copy.deepcopy(defaults))
    if config_file:
        cfg = merge(cfg, load_yaml(config_file))
    for key, value in (flags or {}).items():
        if value is not None:
            set_dotted(cfg, key, value)
    for key, value in overrides:
        set_dotted(cfg, key, value)
    cfg = strip_private(cfg)
    check_values(cfg, defaults, checks)
    return cfg


def check_values(cfg, defaults, checks=None, prefix=""):
    """Check ``cfg`` against its defaults' types and nulls and the ``checks`` rules.

    ``prefix`` is prepended to key names in messages (``"method_options."``). A null free-form
    section (an empty-dict default, e.g. ``method_options:`` left empty in YAML) becomes ``{}``.
    """
    checks = checks or {}
    unknown = [k for k in checks if not _has_dotted(defaults, k)]
    if unknown:   # a programming error, but a cheap one to catch in every test that resolves
        raise KeyError(f"checks name keys that are not in the defaults: {unknown}")
    _check_node(cfg, defaults, checks, prefix, "")


def _has_dotted(node, key):
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _check_node(cfg, defaults, checks, prefix, path):
    for key, default in defaults.items():
        if str(key).startswith("__") or key not in cfg:
            continue
        dotted = f"{path}{key}"
        value, rule = cfg[key], checks.get(dotted)
        if value is None:
            if isinstance(default, dict) and not strip_private(default):
                cfg[key] = {}
            elif default is not None and not getattr(rule, "none", False):
                raise ConfigError(f"option {prefix}{dotted}: must be set (null is not allowed "
                                  f"here; default {default!r})")
            continue
        if isinstance(default, dict) and isinstance(value, dict):
            _check_node(value, default, checks, prefix, dotted + ".")
        if rule is not None:
            problem = rule(value)
            if problem:
                raise ConfigError(f"option {prefix}{dotted}: {problem}, got {value!r}")


class Range:
    """A number (or each number of a list) in [lo, hi]; ``lo_open``/``hi_open`` exclude the
    bound, ``type=int`` requires integers, ``none=True`` allows null. Never NaN or infinite."""

    def __init__(self, lo=None, hi=None, *, lo_open=False, hi_open=False, type=None, none=False):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open
        self.type, self.none = type, none

    def describe(self):
        kind = "an integer" if self.type is int else "a number"
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {self.hi}")
        return f"expected {kind}" + (" " + " and ".join(parts) if parts else "")

    def __call__(self, value):
        if isinstance(value, (list, tuple)):
            return next((p for p in map(self, value) if p), None)
        if not _is_number(value) or value != value or value in (float("inf"), float("-inf")):
            return self.describe()
        if self.type is int and not float(value).is_integer():
            return self.describe()
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            return self.describe()
        if self.hi is not None and (value > self.hi or (self.hi_open and value == self.hi)):
            return self.describe()
        return None


class OneOf:
    """One of the given values (``none=True`` also allows null)."""

    def __init__(self, *choices, none=False):
        self.choices, self.none = choices, none

    def __call__(self, value):
        if value in self.choices and not isinstance(value, bool):
            return None
        return "expected one of " + ", ".join(str(c) for c in self.choices)


class Interval:
    """``[lo, hi]``: two numbers with lo <= hi, both within ``Range(lo_bound, hi_bound)``."""

    def __init__(self, lo=None, hi=None, *, none=False):
        self.bounds, self.none = Range(lo, hi), none

    def __call__(self, value):
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            return "expected [low, high]"
        problem = self.bounds(list(value))
        if problem:
            return problem.replace("expected", "expected [low, high] with each", 1)
        if value[0] > value[1]:
            return "expected [low, high] with low <= high"
        return None


class ListOf:
    """A non-empty list whose every element passes ``rule``."""

    def __init__(self, rule, *, none=False):
        self.rule, self.none = rule, none

    def __call__(self, value):
        if not isinstance(value, (list, tuple)) or not value:
            return "expected a non-empty list"
        for item in value:
            problem = self.rule(item)
            if problem:
                return f"list item {item!r}: {problem}"
        return None


class Regex:
    """A valid regular expression (``none=True`` also allows null)."""

    def __init__(self, *, none=False):
        self.none = none

    def __call__(self, value):
        import re
        try:
            re.compile(value)
        except (re.error, TypeError) as e:
            return f"expected a regular expression ({e})"
        return None


class AnyOf:
    """Passes when any of the rules passes (e.g. a channel index or 'mean')."""

    def __init__(self, *rules, none=False):
        self.rules, self.none = rules, none

    def __call__(self, value):
        problems = [rule(value) for rule in self.rules]
        if all(problems):
            return " or ".join(p.replace("expected ", "", 1) if i else p
                               for i, p in enumerate(problems))
        return None


#: rules many commands share (rules hold no state, so one instance serves everywhere)
COUNT = Range(1)                                          # batch sizes, jobs, intervals
NON_NEGATIVE = Range(0)
OPTIONAL_SECONDS = Range(0, lo_open=True, none=True)      # a length, or null for "whole"
OPTIONAL_STEPS = Range(1, type=int, none=True)            # a step count, or null for "never"
CHANNEL = AnyOf(Range(0, type=int), OneOf("mean"), none=True)   # null: mono required


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
