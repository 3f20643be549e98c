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

    def __init__(self, conf, data="data", exp="exp", seed=0, seeds=None):
        self.conf, self.data, self.exp, self.seed = conf, data, exp, int(seed)
        self.seeds_override = seeds     # --seeds: every trained row's seeds
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

    def seeds_of(self, name):
        """The seeds of a repeated system (None: one run with the recipe's seed)."""
        system = self.recipe.systems[name]
        if system.command != "train":
            return None
        if self.seeds_override is not None and system.is_row:
            return self.seeds_override
        return system.seeds

    def runs(self, name):
        """[(label, experiment dir, seed)]: one per seed of a repeated system, else one."""
        seeds = self.seeds_of(name)
        if not seeds:
            return [("", os.path.join(self.exp, name), self.seed)]
        return [(f"seed{s}", os.path.join(self.exp, name, f"seed{s}"), s) for s in seeds]

    def exp_dir(self, name):
        """A system's experiment (its first seed's for a repeated system): what {exp:NAME}
        and {self} name."""
        return self.runs(name)[0][1] if name in self.recipe.systems else \
            os.path.join(self.exp, name)

    def search_dir(self, name):
        return os.path.join(self.exp, name, "search")

    def conf_file(self, rel, where):
        path = os.path.join(self.conf, rel)
        if not os.path.isfile(path):
            raise ConfigError(f"{where}: config file {rel} not found in {self.conf}")
        return path

    def data_dir(self, value):
        """A set name or a path below DATA; absolute paths and placeholders stay as given."""
        return value if value.startswith(("/", "{")) else os.path.join(self.data, value)

    def expand(self, text, where, system=None, set_name=None, self_dir=None):
        """Substitute the placeholders of one word (``self_dir``: which run {self} names)."""
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
                return self_dir or self.exp_dir(system)
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


def choose_trial(ctx, name):
    """Write a searched system's choice (sebench.recipe.search.write_choice)."""
    from sebench.recipe.search import draw_trials, write_choice
    if name not in ctx.recipe.systems or not ctx.recipe.systems[name].search:
        raise ConfigError(f"{ctx.recipe.source}: '{name}' is not a system with `search:`")
    system = ctx.recipe.systems[name]
    trials = draw_trials(system.search)
    folder = ctx.search_dir(name)
    dirs = [os.path.join(folder, f"trial{k}") for k in range(len(trials))]
    preset = ctx.conf_file(system.train["config"], f"{ctx.recipe.source}: system '{name}'")
    best, rows = write_choice(folder, preset, dirs, trials, system.search["select"])
    return best, rows, folder


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


def _train_words(ctx, system, exp_dir=None, seed=None, config=None):
    where = f"{ctx.recipe.source}: system '{system.name}'"
    train, kw = system.train, {"system": system.name}
    words = [system.command, "--config", config or ctx.conf_file(train["config"], where)]
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
    words += ["--exp", exp_dir or ctx.exp_dir(system.name),
              "--seed", str(ctx.seed if seed is None else seed)]
    return words + ctx.words(str(train.get("args") or ""), where, **kw)


def _search_items(ctx, system, stage):
    """The trials of a searched system, then the choice (sebench recipe choose)."""
    from sebench.recipe.search import draw_trials, override_words
    name, items = system.name, []
    for k, values in enumerate(draw_trials(system.search)):
        folder = os.path.join(ctx.search_dir(name), f"trial{k}")
        items.append(Item(stage, f"{name}.trial{k}", folder,
                          _train_words(ctx, system, folder) + override_words(values)))
    items.append(Item("before", f"{name}.search", ctx.search_dir(name),
                      ["recipe", "choose", name, "--conf", ctx.conf, "--data", ctx.data,
                       "--exp", ctx.exp, "--seed", str(ctx.seed)]))
    return items


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
        config = None
        if system.search:
            items += _search_items(ctx, system, stage)
            config = os.path.join(ctx.search_dir(name), "chosen.yaml")
        for label, folder, seed in ctx.runs(name):
            items.append(Item(stage, f"{name}.{label}" if label else name, folder,
                              _train_words(ctx, system, folder, seed, config)))
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
            for label, folder, _ in ctx.runs(name):
                out = os.path.join(ctx.exp, "enh", name, label, set_name)
                spec = ctx.words(system.enhance, where, system=name, set_name=set_name,
                                 self_dir=folder)
                items.append(Item("enhance", "/".join(filter(None, (name, label, set_name))),
                                  out, ["enhance", *spec, ctx.data_dir(set_name), "-o", out]))
    return items


def _score(ctx, selected):
    items = []
    for name in _rows(ctx, selected):
        system = ctx.recipe.systems[name]
        for set_name in _row_sets(ctx, name):
            for label, _, _ in ctx.runs(name):
                items.append(_score_item(ctx, system, set_name, label))
    return items


def _score_item(ctx, system, set_name, label):
    name, ev = system.name, ctx.policy.set(set_name)
    enh = (ctx.data_dir(set_name) if system.enhance == INPUT
           else os.path.join(ctx.exp, "enh", name, label, set_name))
    out = os.path.join(ctx.exp, "scores", name, label, set_name)
    words = ["score", "--enh", enh]
    if ev.reference:
        words += ["--ref", ctx.data_dir(set_name)]
    words += ["--metrics", ",".join(ev.metrics), "--out", out]
    for qp_name, spec in ctx.policy.qp.get(set_name, {}).items():
        words += ["--qp", f"{qp_name}=" + ctx.expand(
            spec, f"{ctx.eval_path}: sets.{set_name}.qp.{qp_name}", set_name=set_name)]
    words += ctx.words(ev.score_args, f"{ctx.eval_path}: sets.{set_name}.score_args",
                       set_name=set_name)
    return Item("score", "/".join(filter(None, (name, label, set_name))), out, words)


def _combine(ctx, rows):
    """A repeated row's seeds combined into SCORES/<system>/<set>/ (what the report reads)."""
    items = []
    for name in rows:
        runs = ctx.runs(name)
        if len(runs) == 1 and not runs[0][0]:
            continue
        for set_name in _row_sets(ctx, name):
            out = os.path.join(ctx.exp, "scores", name, set_name)
            dirs = [f"{label}={os.path.join(ctx.exp, 'scores', name, label, set_name)}"
                    for label, _, _ in runs]
            items.append(Item("combine", f"{name}/{set_name}", out,
                              ["score-stats", "seeds", "--runs", ",".join(dirs), "--out", out]))
    return items


def _report(ctx, selected):
    rows = _rows(ctx, selected)
    if not rows:
        return []
    combine = _combine(ctx, rows)
    out = os.path.join(ctx.exp, "RESULTS.md")
    words = ["report", "--eval", ctx.eval_path, "--scores", os.path.join(ctx.exp, "scores"),
             "--systems", ",".join(rows), "--out", out]
    if any(s.breakdown for s in ctx.policy.sets):
        words += ["--data", ctx.data]
    trained = [n for n in selected if ctx.recipe.systems[n].train]
    for name in trained:
        if ctx.recipe.systems[name].command == "train-qp":
            words += ["--qp", f"{name}={ctx.exp_dir(name)}"]
    curves = [os.path.join(folder, "learning_curves.png") for n in trained
              for _, folder, _ in ctx.runs(n)]
    if curves:
        words += ["--curves", ",".join(curves)]
    for name in trained:
        if ctx.recipe.systems[name].search:
            words += ["--search", f"{name}={ctx.search_dir(name)}"]
    return combine + [Item("report", "RESULTS.md", out, words)]


def _pack(ctx, selected):
    items = []
    for name in selected:
        system = ctx.recipe.systems[name]
        if system.command == "train" and system.is_row:
            for label, folder, _ in ctx.runs(name):
                tag = f"{name}_{label}" if label else name
                out = os.path.join(ctx.exp, "packed", f"{tag}.zip")
                items.append(Item("pack", tag, out, ["pack", folder, out]))
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
