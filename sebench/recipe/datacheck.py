"""Stage 1's check that every data dir a recipe will read exists and is not empty.

A set that ``conf/recipe.yaml`` trains, simulates or labels from, or that ``conf/eval.yaml``
scores, has to come out of stage 1 (``DATA/local/<set>``, formatted to ``DATA/<set>`` by stage
2) unless a stage makes it (a ``simulate:`` output, a system's ``before`` command's ``--out``).
Without this check a partial corpus download is found only when the stage that reads the set
runs, hours of training later. Each missing set is one line naming the set, what needs it,
the corpus folder it comes from (``recipe.yaml``'s ``sources:``) and how to leave it out.
"""
import os
import re
import shlex

from sebench.errors import ConfigError
from sebench.utils.schema import as_list

#: ``{data}/NAME`` in a command string: a set read (or, after --out/-o, written) there
DATA_REF = re.compile(r"\{data\}/([^\s'\"{}]+)")
OUT_OPTIONS = ("--out", "-o")


def _set_name(value):
    """The set a declared data value names, or None (an absolute path, a placeholder)."""
    value = str(value)
    match = DATA_REF.fullmatch(value)
    if match:
        return match.group(1).rstrip("/")
    if value.startswith(("/", "{")) or "{" in value:
        return None
    return value.rstrip("/")


def _produced(ctx, selected):
    """Sets a stage writes: simulate outputs and the ``--out`` of systems' ``before``."""
    made = set(ctx.recipe.simulate)
    for name in selected:
        for text in ctx.recipe.systems[name].before:
            words = shlex.split(text)
            for option, value in zip(words, words[1:]):
                if option in OUT_OPTIONS and _set_name(value):
                    made.add(_set_name(value))
    return made


def needed_sets(ctx, selected):
    """{set: [what needs it, ...]} for the selected systems, in declaration order."""
    from sebench.recipe.plan import _row_sets, _rows
    needs = {}

    def need(value, why):
        name = _set_name(value)
        if name:
            needs.setdefault(name, []).append(why)

    for out, spec in ctx.recipe.simulate.items():
        for key in ("clean", "noise", "rir"):
            if spec.get(key):
                need(spec[key], f"simulate.{out}.{key}")
    for i, spec in enumerate(ctx.recipe.label):
        for set_name in as_list(spec["sets"], f"label[{i}].sets"):
            need(set_name, f"label[{i}]")
    for name in selected:
        system = ctx.recipe.systems[name]
        if system.train:
            data = system.train["data"]
            for value in (data.values() if isinstance(data, dict) else [data]):
                need(value, f"system {name}")
            if system.train.get("valid"):
                need(system.train["valid"], f"system {name}")
        texts = list(system.before) + [str(system.train.get("args") or "")
                                       if system.train else ""]
        for text in texts:
            for ref in DATA_REF.findall(text):
                need("{data}/" + ref, f"system {name}")
    if ctx.policy is not None:
        for name in _rows(ctx, selected):        # enhanced, or scored as it is (input)
            for set_name in _row_sets(ctx, name):
                need(set_name, "eval.yaml")
    return needs


def _exists(ctx, set_name):
    """Whether stage 1 (DATA/local/<set>) or stage 2 (DATA/<set>) has it with a non-empty
    list (wav.scp; rir.scp for a RIR set), or, for a path to a file, that file not empty."""
    for root in (os.path.join(ctx.data, "local"), ctx.data):
        path = os.path.join(root, set_name)
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            return True
        for name in ("wav.scp", "rir.scp"):
            scp = os.path.join(root, set_name, name)
            if os.path.isfile(scp) and os.path.getsize(scp) > 0:
                return True
    return False


def _leave_out_hint(ctx, set_name, why, selected, systems):
    if why == ["eval.yaml"]:
        return f"leave it out with --leave_out_sets {set_name}"
    users = {w.split()[1] for w in why if w.startswith("system ")}
    if any(not w.startswith(("system ", "eval.yaml")) for w in why):
        return (f"it is an input of stages 3-4: take it out of {ctx.recipe.source} with an "
                "overlay (--confdir DIR)")
    # the systems that need it and every system that depends on them
    out = set(users)
    changed = True
    while changed:
        changed = False
        for name in selected:
            if name not in out and any(d in out for d in ctx.recipe.deps[name]):
                out.add(name)
                changed = True
    keep = [n for n in (ctx.recipe.select(systems)) if n not in out]
    hint = (f"leave out {', '.join(sorted(users))} with --systems {','.join(keep)}" if keep
            else f"every selected system needs it ({', '.join(sorted(users))})")
    if "eval.yaml" in why:
        hint += f" and --leave_out_sets {set_name}"
    return hint


def missing_sets(ctx, systems="default"):
    """One line per set the selected systems need that stage 1 did not make (empty: none)."""
    selected = ctx.recipe.select(systems)
    made = _produced(ctx, selected)
    lines = []
    for set_name, why in needed_sets(ctx, selected).items():
        if set_name in made or _exists(ctx, set_name):
            continue
        why = list(dict.fromkeys(why))
        source = ctx.recipe.sources.get(set_name)
        source = (f"it comes from {os.path.expandvars(source)}" if source else
                  "local/data.sh makes it from the corpus roots of db.sh")
        lines.append(f"{os.path.join(ctx.data, 'local', set_name)}: set '{set_name}' is missing "
                     f"or empty after stage 1 (needed by {', '.join(why)}); {source}; "
                     f"{_leave_out_hint(ctx, set_name, why, selected, systems)}")
    return lines


def check_sets(ctx, systems="default"):
    """Raise a ConfigError listing every missing set (one line each)."""
    lines = missing_sets(ctx, systems)
    if lines:
        raise ConfigError("\n".join(lines))
