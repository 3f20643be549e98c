"""The items of each shared stage, for ``se.sh``: one ``sebench`` command line per item.

:func:`plan` turns ``conf/recipe.yaml`` and ``conf/eval.yaml`` (from the effective config
dir) into :class:`Item` records; ``sebench recipe plan STAGE`` prints them one per line as
``KIND<TAB>NAME<TAB>OUT<TAB>WORDS`` (WORDS shell-quoted), and ``se.sh`` adds what belongs to
the run rather than the declaration (``--nj``, ``--cmd``, ``--force``, GPU options) and runs
each through the job runner. Nothing here looks at what is already done: the list depends
only on the declarations, so its checksum tells ``se.sh`` whether a finished stage changed.
"""
import os
import shlex
from dataclasses import dataclass

from sebench.errors import ConfigError
from sebench.recipe.systems import INPUT, PLACEHOLDER, TRAIN_COMMANDS, Recipe, references
from sebench.results.policy import load_policy
from sebench.utils.schema import as_list

STAGES = ("simulate", "label", "qp", "train", "enhance", "score", "report", "pack")


@dataclass
class Item:
    kind: str           # the stage, or "before" for a system's preparatory command
    name: str           # system, set or system/set
    out: str            # the item's main output (experiment, data or score dir)
    words: list         # the sebench command line, without `sebench`

    def line(self):
        return "\t".join([self.kind, self.name, self.out, " ".join(map(shlex.quote, self.words))])


class Context:
    """Where things are: the effective config dir, data and exp roots, the seed."""

    def __init__(self, conf, data="data", exp="exp", seed=0):
        self.conf, self.data, self.exp, self.seed = conf, data, exp, int(seed)
        recipe_path = os.path.join(conf, "recipe.yaml")
        self.recipe = Recipe.load(recipe_path) if os.path.isfile(recipe_path) else Recipe({})
        eval_path = os.path.join(conf, "eval.yaml")
        self.eval_path = eval_path if os.path.isfile(eval_path) else None
        self.policy = load_policy(eval_path) if self.eval_path else None
        baseline = self.policy and self.policy.baseline
        if baseline and baseline not in self.recipe.systems:
            raise ConfigError(f"{eval_path}: significance baseline '{baseline}' is not a system "
                              f"of {recipe_path}")
        for set_name, judges in (self.policy.qp_unavailable.items() if self.policy else ()):
            from sebench.recipe.systems import install_hint, log
            modules = list(dict.fromkeys(m for ms in judges.values() for m in ms))
            log.warning("%s: %s not scored by %s: Python module(s) %s not installed (install: "
                        "%s)", eval_path, set_name, ", ".join(judges), ", ".join(modules),
                        install_hint(modules))
        for ev in (self.policy.sets if self.policy else ()):
            needed = [r for spec in self.policy.qp.get(ev.name, {}).values()
                      for r in references(spec)]
            for name, system in (self.recipe.systems.items() if needed else ()):
                if system.is_row and (system.sets is None or ev.name in system.sets):
                    # a row scored on this set needs the predictors the set is scored with
                    self.recipe.add_needs(name, needed, f"{eval_path}: sets.{ev.name}.qp")

    def exp_dir(self, name):
        return os.path.join(self.exp, name)

    def conf_file(self, rel, where):
        path = os.path.join(self.conf, rel)
        if not os.path.isfile(path):
            raise ConfigError(f"{where}: config file {rel} not found in {self.conf}")
        return path

    def data_dir(self, value):
        """A set name or a path below DATA; absolute paths and placeholders stay as given."""
        return value if value.startswith(("/", "{")) else os.path.join(self.data, value)

    def expand(self, text, where, system=None, set_name=None):
        """Substitute the placeholders of one word."""
        def sub(match):
            key, arg = match.group(1), match.group(2)
            if key == "exp" and arg:
                return self.exp_dir(arg)
            if key == "conf" and arg:
                return self.conf_file(arg, where)
            if key == "env" and arg:
                if not os.environ.get(arg):
                    raise ConfigError(f"{where}: {{env:{arg}}}: environment variable {arg} is "
                                      "not set (the recipe's run.sh says what it should name)")
                return os.environ[arg]
            if key == "self" and system:
                return self.exp_dir(system)
            if key == "set" and set_name:
                return set_name
            values = {"data": self.data, "exp": self.exp, "seed": str(self.seed)}
            if key in values:
                return values[key]
            raise ConfigError(f"{where}: {{{key}}} cannot be used here")
        return PLACEHOLDER.sub(sub, text)

    def words(self, text, where, **kw):
        try:
            parts = shlex.split(text)
        except ValueError as e:
            raise ConfigError(f"{where}: cannot split {text!r} ({e})") from None
        return [self.expand(w, where, **kw) for w in parts]


def _simulate(ctx):
    items = []
    for i, (name, spec) in enumerate(ctx.recipe.simulate.items()):
        where = f"{ctx.recipe.source}: simulate.{name}"
        out = ctx.data_dir(name)
        words = ["simulate"]
        for key in ("clean", "noise", "rir"):
            if spec.get(key):
                words += [f"--{key}", ctx.expand(ctx.data_dir(str(spec[key])), where)]
        words += ["--config", ctx.conf_file(spec["config"], where),
                  "--seed", str(int(spec.get("seed", ctx.seed + i + 1))), "--out", out]
        words += ctx.words(str(spec.get("args") or ""), where)
        items.append(Item("simulate", name, out, words))
    return items


def _label(ctx):
    items = []
    for i, spec in enumerate(ctx.recipe.label):
        where = f"{ctx.recipe.source}: label[{i}]"
        for set_name in as_list(spec["sets"], f"{where}.sets"):
            out = ctx.data_dir(set_name)
            items.append(Item("label", set_name, out, ["label", out] + ctx.words(spec["args"], where)))
    return items


def _train_words(ctx, system):
    where = f"{ctx.recipe.source}: system '{system.name}'"
    train, kw = system.train, {"system": system.name}
    words = [system.command, "--config", ctx.conf_file(train["config"], where)]
    if train.get("model"):
        words += [TRAIN_COMMANDS[system.command], ctx.conf_file(train["model"], where)]
    data = train["data"]
    if isinstance(data, dict):
        for stream, set_name in data.items():
            words += ["--train", f"{stream}={ctx.expand(ctx.data_dir(set_name), where, **kw)}"]
    else:
        words += ["--train", ctx.expand(ctx.data_dir(data), where, **kw)]
    if train.get("valid"):
        words += ["--valid", ctx.expand(ctx.data_dir(train["valid"]), where, **kw)]
    words += ["--exp", ctx.exp_dir(system.name), "--seed", str(ctx.seed)]
    return words + ctx.words(str(train.get("args") or ""), where, **kw)


def _training(ctx, selected, stage):
    items = []
    for name in selected:
        if ctx.recipe.training_stage(name) != stage:
            continue
        system, out = ctx.recipe.systems[name], ctx.exp_dir(name)
        for i, text in enumerate(system.before, 1):
            where = f"{ctx.recipe.source}: system '{name}' before[{i}]"
            items.append(Item("before", f"{name}.before{i}", out,
                              ctx.words(text, where, system=name)))
        items.append(Item(stage, name, out, _train_words(ctx, system)))
    return items


def _rows(ctx, selected):
    return [n for n in ctx.recipe.systems if n in selected and ctx.recipe.systems[n].is_row]


def _row_sets(ctx, name):
    system = ctx.recipe.systems[name]
    if system.sets is None:
        return [s.name for s in ctx.policy.sets]
    for set_name in system.sets:
        ctx.policy.set(set_name)          # an unknown set is an error naming the known ones
    return system.sets


def _enhance(ctx, selected):
    items = []
    for name in _rows(ctx, selected):
        system = ctx.recipe.systems[name]
        if system.enhance == INPUT:
            continue
        for set_name in _row_sets(ctx, name):
            where = f"{ctx.recipe.source}: system '{name}' enhance"
            out = os.path.join(ctx.exp, "enh", name, set_name)
            spec = ctx.words(system.enhance, where, system=name, set_name=set_name)
            items.append(Item("enhance", f"{name}/{set_name}", out,
                              ["enhance", *spec, ctx.data_dir(set_name), "-o", out]))
    return items


def _score(ctx, selected):
    items = []
    for name in _rows(ctx, selected):
        system = ctx.recipe.systems[name]
        for set_name in _row_sets(ctx, name):
            ev = ctx.policy.set(set_name)
            enh = (ctx.data_dir(set_name) if system.enhance == INPUT
                   else os.path.join(ctx.exp, "enh", name, set_name))
            out = os.path.join(ctx.exp, "scores", name, set_name)
            words = ["score", "--enh", enh]
            if ev.reference:
                words += ["--ref", ctx.data_dir(set_name)]
            words += ["--metrics", ",".join(ev.metrics), "--out", out]
            for qp_name, spec in ctx.policy.qp.get(set_name, {}).items():
                words += ["--qp", f"{qp_name}=" + ctx.expand(
                    spec, f"{ctx.eval_path}: sets.{set_name}.qp.{qp_name}", set_name=set_name)]
            words += ctx.words(ev.score_args, f"{ctx.eval_path}: sets.{set_name}.score_args",
                               set_name=set_name)
            items.append(Item("score", f"{name}/{set_name}", out, words))
    return items


def _report(ctx, selected):
    rows = _rows(ctx, selected)
    if not rows:
        return []
    out = os.path.join(ctx.exp, "RESULTS.md")
    words = ["report", "--eval", ctx.eval_path, "--scores", os.path.join(ctx.exp, "scores"),
             "--systems", ",".join(rows), "--out", out]
    if any(s.breakdown for s in ctx.policy.sets):
        words += ["--data", ctx.data]
    trained = [n for n in selected if ctx.recipe.systems[n].train]
    for name in trained:
        if ctx.recipe.systems[name].command == "train-qp":
            words += ["--qp", f"{name}={ctx.exp_dir(name)}"]
    curves = [os.path.join(ctx.exp_dir(n), "learning_curves.png") for n in trained]
    if curves:
        words += ["--curves", ",".join(curves)]
    return [Item("report", "RESULTS.md", out, words)]


def _pack(ctx, selected):
    items = []
    for name in selected:
        system = ctx.recipe.systems[name]
        if system.command == "train" and system.is_row:
            out = os.path.join(ctx.exp, "packed", f"{name}.zip")
            items.append(Item("pack", name, out, ["pack", ctx.exp_dir(name), out]))
    return items


def plan(ctx, stage, systems="default"):
    """The items of ``stage`` for the selected systems (with their dependencies)."""
    if stage not in STAGES:
        raise ConfigError(f"unknown stage '{stage}' (stages: {', '.join(STAGES)})")
    if stage == "simulate":
        return _simulate(ctx)
    if stage == "label":
        return _label(ctx)
    selected = ctx.recipe.select(systems)
    if stage in ("qp", "train"):
        return _training(ctx, selected, stage)
    if stage == "pack":
        return _pack(ctx, selected)
    if ctx.policy is None:          # nothing to evaluate without conf/eval.yaml
        return []
    return {"enhance": _enhance, "score": _score, "report": _report}[stage](ctx, selected)


def write_plans(ctx, out, systems="default"):
    """``OUT/<stage>.tsv`` for every stage (empty when the stage has nothing to do), all
    computed before any is written, so a declaration error leaves the old plans in place."""
    from sebench.utils.fileio import atomic_write_text
    plans = {stage: plan(ctx, stage, systems) for stage in STAGES}
    for stage, items in plans.items():
        atomic_write_text(os.path.join(out, f"{stage}.tsv"),
                          "".join(item.line() + "\n" for item in items))
