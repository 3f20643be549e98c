"""The comparison table of every method (``comparison:`` in ``eval.yaml``), in RESULTS.md.

One row per system, from any number of experiments: what it learnt from (training data
paired / unpaired / both / none, its teacher), its SE model, parameter count and training
budget (:mod:`sebench.results.about`), then the chosen metric columns with the best value
of each marked in bold (direction-aware; the unprocessed input is never best; equal shown
values are all marked) and, for the headline metrics, the Wilcoxon signed-rank p-value
against the policy's baseline. A *teacher vs judge* group shows, on one set, the score of
every predictor column (DNSMOS, trained sebench predictors scored with ``sebench score
--qp``) and its change from the input, the system's own teacher marked: a teacher that
rises while the independent judges do not has been fooled.
"""
import json
import math
import os
from dataclasses import dataclass, field

from sebench.errors import ConfigError, SebenchError
from sebench.utils.schema import as_list, check_mapping

COMPARISON_KEYS = ("title", "note", "systems", "columns", "significance", "judges", "input",
                   "about")
TEACHER_MARK = "†"


@dataclass
class Comparison:
    columns: list                                   # [(set name, column)]
    title: str = "Comparison of every method"
    note: str = ""
    systems: list = None        # rows (None: the report's --systems; "all": the recipe's)
    significance: list = field(default_factory=list)
    judges: tuple = None                            # (set name, [columns])
    input: list = None                              # rows never best (None: derived)
    about: dict = field(default_factory=dict)       # system -> about override


def load_comparison(spec, policy, path):
    """The ``comparison:`` section of an eval.yaml, checked against its sets."""
    from sebench.results.about import check_override
    where = f"{path}: comparison"
    spec = check_mapping(spec or {}, where, COMPARISON_KEYS)
    columns = []
    chosen = check_mapping(spec.get("columns") or {}, f"{where}.columns")
    for ev in policy.sets:
        if chosen and ev.name not in chosen:
            continue
        computed = policy.computed(ev.name)
        for col in as_list(chosen.get(ev.name), f"{where}.columns.{ev.name}") or ev.columns:
            if col not in computed:
                raise ConfigError(f"{where}.columns.{ev.name}: '{col}' is not computed for "
                                  f"{ev.name} (computed: {', '.join(computed)})")
            columns.append((ev.name, col))
    for set_name in chosen:
        policy.set(set_name)
    comp = Comparison(columns, title=str(spec.get("title") or Comparison.title),
                      note=" ".join(str(spec.get("note") or "").split()))
    if spec.get("systems") is not None:      # "all": every row of the recipe, in its order
        comp.systems = ("all" if spec["systems"] == "all"
                        else as_list(spec["systems"], f"{where}.systems"))
    if spec.get("input") is not None:
        comp.input = as_list(spec["input"], f"{where}.input")
    sig = spec.get("significance")
    comp.significance = (as_list(sig, f"{where}.significance") if sig is not None
                         else list(policy.significance_metrics))
    shown = {c for _, c in columns}
    for m in comp.significance:
        if m not in shown:
            raise ConfigError(f"{where}.significance: '{m}' is not a column of the comparison")
    if comp.significance and not policy.baseline:
        raise ConfigError(f"{where}.significance needs significance.baseline (the system the "
                          "p-values compare against)")
    if spec.get("judges") is not None:
        judges = check_mapping(spec["judges"], f"{where}.judges", ("set", "columns"),
                               required=("set", "columns"))
        computed = policy.computed(str(judges["set"]))
        cols = as_list(judges["columns"], f"{where}.judges.columns")
        for col in cols:
            if col not in computed:
                raise ConfigError(f"{where}.judges.columns: '{col}' is not computed for "
                                  f"{judges['set']} (computed: {', '.join(computed)})")
        comp.judges = (str(judges["set"]), cols)
    about = check_mapping(spec.get("about") or {}, f"{where}.about")
    comp.about = {str(k): check_override(v, f"{where}.about.{k}") for k, v in about.items()}
    return comp


# --- where each row's scores and experiment are ---------------------------------------

@dataclass
class Row:
    name: str           # the row's label
    score_dir: str      # holds <set>/summary.json
    exp_root: str       # holds <system>/ (experiment) and conf/recipe.yaml
    system: str         # the system's name in its experiment


def locate(systems, scores):
    """Rows for ``systems`` (names or ``LABEL=SCORE_DIR``), a bare name looked up in each
    ``scores`` root in turn (first that has ``<name>/``; else the first root)."""
    rows = []
    for spec in systems:
        label, eq, path = spec.partition("=")
        if eq:
            path = os.path.normpath(path)
        else:
            found = [r for r in scores if os.path.isdir(os.path.join(r, label))]
            path = os.path.join((found or scores)[0], label)
        root = os.path.dirname(os.path.abspath(path))
        rows.append(Row(label, path, os.path.dirname(root), os.path.basename(path)))
    return rows


def _summary(row, set_name):
    path = os.path.join(row.score_dir, set_name, "summary.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _mean(summary, column):
    entry = (summary or {}).get("metrics", {}).get(column) or {}
    mean = entry.get("mean")
    return mean if entry.get("count", 0) and mean is not None and math.isfinite(mean) else None


def _recipe(exp_root, cache):
    from sebench.recipe.systems import Recipe
    if exp_root not in cache:
        path = os.path.join(exp_root, "conf", "recipe.yaml")
        cache[exp_root] = Recipe.load(path) if os.path.isfile(path) else None
    return cache[exp_root]


# --- the table -------------------------------------------------------------------------

def best_rows(values, higher_better, precision=2):
    """Indices of the best values as shown (rounded to ``precision``: equal shown values
    tie); None entries are not candidates."""
    shown = [None if v is None else round(v, precision) for v in values]
    candidates = [v for v in shown if v is not None]
    if not candidates:
        return set()
    best = max(candidates) if higher_better else min(candidates)
    return {i for i, v in enumerate(shown) if v == best}


def _params(n):
    if n is None:
        return "?"
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    if n >= 1e3:
        return f"{n / 1e3:.1f} k"
    return str(n)


def _p_value(row, baseline, set_name, column):
    from sebench.scoring.stats import wilcoxon_table
    if baseline is None or row is baseline:
        return None
    try:
        return wilcoxon_table(os.path.join(row.score_dir, set_name),
                              os.path.join(baseline.score_dir, set_name), [column])[0]["p_value"]
    except SebenchError:          # not scored on this set, or too few shared utterances
        return None


def _teacher_column(about, summary):
    """The column of a row's teacher in a score summary (learned teachers by model dir)."""
    if not about.teacher_path:
        return about.teacher
    from sebench.models.store import resolve_model_dir
    try:
        wanted = os.path.realpath(resolve_model_dir(about.teacher_path))
    except SebenchError:
        return about.teacher
    for col, path in ((summary or {}).get("predictors") or {}).items():
        if os.path.realpath(path) == wanted:
            return col
    return about.teacher


def comparison_section(policy, scores, systems):
    """RESULTS.md lines of the comparison (none when the policy has no ``comparison:``)."""
    from sebench.metrics import higher_is_better
    from sebench.results.about import apply_override, describe, teacher_name

    comp = policy.comparison
    if comp is None:
        return []
    recipes = {}
    if comp.systems == "all":
        recipe = _recipe(os.path.dirname(os.path.abspath(scores[0])), recipes)
        if recipe is None:
            raise SebenchError(f"comparison systems: all needs the recipe beside {scores[0]} "
                               "(../conf/recipe.yaml)")
        names = [n for n, s in recipe.systems.items() if s.is_row]
    else:
        names = comp.systems if comp.systems is not None else systems
    wanted = locate(names, scores)
    sets = list(dict.fromkeys([s for s, _ in comp.columns]
                              + ([comp.judges[0]] if comp.judges else [])))
    summaries = {r.name: {s: _summary(r, s) for s in sets} for r in wanted}
    rows = [r for r in wanted if any(summaries[r.name].values())]
    skipped = [r.name for r in wanted if r not in rows]
    if not rows:
        return [f"## {comp.title}", "", "No system of the comparison has scores yet "
                f"({', '.join(skipped)}).", ""]
    abouts = {}
    for r in rows:
        recipe = _recipe(r.exp_root, recipes)
        entry = recipe.systems.get(r.system) if recipe else None
        abouts[r.name] = describe(r.system, r.exp_root, recipe, entry.about if entry else None)
        apply_override(abouts[r.name], comp.about.get(r.name, {}))
    inputs = set(comp.input if comp.input is not None
                 else [r.name for r in rows if abouts[r.name].input])
    baseline = next((r for r in rows if r.name == policy.baseline), None)
    if baseline is None and policy.baseline:       # compared against without being a row
        baseline = locate([policy.baseline], scores)[0]
        baseline = baseline if os.path.isdir(baseline.score_dir) else None

    header = ["system", "data", "teacher", "model", "params", "steps", "training sets"]
    header += [f"{s}: {policy.display(c)}" for s, c in comp.columns]
    cells = {r.name: [] for r in rows}
    for set_name, col in comp.columns:
        values = [None if r.name in inputs else _mean(summaries[r.name][set_name], col)
                  for r in rows]
        best = best_rows(values, higher_is_better(col))
        for i, r in enumerate(rows):
            mean = _mean(summaries[r.name][set_name], col)
            text = "–" if mean is None else f"{mean:.2f}"
            if i in best:
                text = f"**{text}**"
            if col in comp.significance and mean is not None:
                p = _p_value(r, baseline, set_name, col)
                if p is not None:
                    text += f" (p {p:.2g}{'*' if p < policy.alpha else ''})"
            cells[r.name].append(text)
    judge_cols, inputs_judged = [], None
    if comp.judges:
        set_name, judge_cols = comp.judges
        header += [f"judge {set_name}: {policy.display(c)}" for c in judge_cols]
        inputs_judged = next((r for r in rows if r.name in inputs
                              and summaries[r.name][set_name]), None)
        for r in rows:
            summary = summaries[r.name][set_name]
            teacher_col = _teacher_column(abouts[r.name], summary)
            for col in judge_cols:
                mean = _mean(summary, col)
                ref = _mean(summaries[inputs_judged.name][set_name], col) if inputs_judged else None
                text = "–" if mean is None else f"{mean:.2f}"
                if mean is not None and ref is not None and r is not inputs_judged:
                    text += f" ({mean - ref:+.2f})"
                if col == teacher_col:
                    text += f" {TEACHER_MARK}"
                cells[r.name].append(text)

    lines = [f"## {comp.title}", ""]
    if comp.note:
        lines += [comp.note, ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        a = abouts[r.name]
        teacher = teacher_name(a.teacher, policy.names)
        steps = "+".join(str(s) for s in a.steps) or "–"
        about = [policy.display(r.name), a.data_kind if a.known else "?", teacher, a.model,
                 "–" if a.input else _params(a.params), steps, ", ".join(a.sets) or "–"]
        lines.append("| " + " | ".join(about + cells[r.name]) + " |")
    lines += [""] + _legend(comp, policy, inputs, baseline, judge_cols, inputs_judged, skipped)
    return lines


def _legend(comp, policy, inputs, baseline, judge_cols, inputs_judged, skipped):
    text = ("Means over utterances; **bold**: the best value of each column as shown "
            "(higher is better, lower for distances and errors; ties all marked")
    text += f"; {', '.join(sorted(inputs))} excluded)." if inputs else ")."
    if comp.significance and baseline is not None:
        text += (f" (p …): Wilcoxon signed-rank p-value of the per-utterance scores against "
                 f"{policy.display(baseline.name)}, * below {policy.alpha:g}.")
    elif comp.significance:
        text += f" No p-values: the baseline {policy.baseline} has no scores."
    text += (" Data: what the SE model was trained on (paired: clean references; unpaired: "
             "noisy/real recordings only; both; none). Steps: training steps of each trained "
             "part (a fine-tuned model adds its initialisation's).")
    if judge_cols:
        text += (f" Judge columns: each predictor's mean score of the enhanced "
                 f"{comp.judges[0]} outputs")
        text += (f" and its change from {policy.display(inputs_judged.name)}"
                 if inputs_judged else "")
        text += (f"; {TEACHER_MARK} marks the system's own teacher: a teacher that rises while "
                 "the independent judges do not has been fooled.")
    lines = [text, ""]
    if skipped:
        lines += [f"Not run (no scores): {', '.join(skipped)}.", ""]
    return lines
