"""RESULTS.md: one table of systems x (test set, metric) from ``sebench score`` outputs, laid out
by an :class:`~sebench.results.policy.EvalPolicy`, with significance against the policy's
baseline, predictor accuracy and learning curves."""
import glob
import json
import os

from sebench.errors import SebenchError


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _cell(summary, metric):
    entry = (summary or {}).get("metrics", {}).get(metric)
    if not entry or entry.get("mean") is None or entry.get("count", 0) == 0:
        return "–"
    seeds = entry.get("seeds") or {}
    spread = f" ± {seeds['std']:.2f}" if seeds.get("n", 0) > 1 else ""
    return f"{entry['mean']:.2f}{spread}" + (f" ({entry['failures']} failed)"
                                             if entry.get("failures") else "")


def _mean_and_spread(summary, metric):
    """(mean, std over seeds or 0, number of seeds) of a summary's metric, or None."""
    entry = (summary or {}).get("metrics", {}).get(metric)
    if not entry or entry.get("mean") is None or entry.get("count", 0) == 0:
        return None
    seeds = entry.get("seeds") or {}
    return entry["mean"], (seeds.get("std") or 0.0), seeds.get("n", 1)


def within_spread(cells, higher_better):
    """Names whose mean is not the column's best but lies within the seed spread of it:
    |mean - best| <= the larger of the two rows' std over seeds (rows of one seed have no
    spread; two such rows are never "within spread")."""
    known = {n: c for n, c in cells.items() if c is not None}
    if not known:
        return set()
    pick = max if higher_better else min
    best = pick(known, key=lambda n: known[n][0])
    b_mean, b_std, _ = known[best]
    return {n for n, (mean, std, _) in known.items()
            if n != best and max(std, b_std) > 0 and abs(mean - b_mean) <= max(std, b_std)}


def score_dir(scores, system, set_name):
    """A system's score dir of a set: ``scores`` is a root holding <system>/<set>/, or a
    mapping {system: folder holding <set>/} (systems from several experiments)."""
    if isinstance(scores, dict):
        return os.path.join(scores[system], set_name)
    return os.path.join(scores, system, set_name)


def results_table(policy, scores, systems):
    """The main table's Markdown lines; raises when no system has any summary."""
    header = ["system"] + [f"{s.name}: {policy.display(m)}" for s in policy.sets for m in s.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    from sebench.metrics import higher_is_better
    found, summaries = 0, {}
    for system in systems:
        for s in policy.sets:
            path = os.path.join(score_dir(scores, system, s.name), "summary.json")
            summaries[system, s.name] = _read_json(path) if os.path.isfile(path) else None
            found += summaries[system, s.name] is not None
    close = {}
    for s in policy.sets:
        for m in s.columns:
            cells = {n: _mean_and_spread(summaries[n, s.name], m) for n in systems}
            close[s.name, m] = within_spread(cells, higher_is_better(m))
    for system in systems:
        row = [policy.display(system)]
        for s in policy.sets:
            row += [_cell(summaries[system, s.name], m)
                    + (" ≈" if system in close[s.name, m] else "") for m in s.columns]
        lines.append("| " + " | ".join(row) + " |")
    if not found:
        where = ", ".join(sorted(set(map(os.path.dirname, scores.values())))) \
            if isinstance(scores, dict) else scores
        raise SebenchError(f"{where}: no <system>/<set>/summary.json for the given systems")
    from sebench.results.published import published_lines
    return lines + published_lines(policy)


def significance_table(policy, scores, systems):
    """p-values of the Wilcoxon signed-rank test of each system against the baseline."""
    from sebench.scoring.stats import wilcoxon_table

    cols = [(s, m) for s in policy.sets for m in s.columns if m in policy.significance_metrics]
    others = [sys_ for sys_ in systems if sys_ != policy.baseline]
    if not policy.baseline or not cols or not others:
        return []
    header = ["system"] + [f"{s.name}: {policy.display(m)}" for s, m in cols]
    lines = [f"## Significance against {policy.display(policy.baseline)}", "",
             f"Wilcoxon signed-rank p-values on per-utterance scores; * where p < {policy.alpha:g}.",
             "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for system in others:
        row = [policy.display(system)]
        for s, m in cols:
            try:
                p = wilcoxon_table(score_dir(scores, system, s.name),
                                   score_dir(scores, policy.baseline, s.name), [m])[0]["p_value"]
                row.append(f"{p:.2g}{' *' if p < policy.alpha else ''}")
            except SebenchError:      # a system or the baseline was not scored on this set
                row.append("–")
        lines.append("| " + " | ".join(row) + " |")
    return lines + [""]


def accuracy_files(spec):
    """``[NAME=]PATH`` -> [(name, accuracy.json)]; PATH may be an experiment dir, whose
    ``test_<set>/accuracy.json`` files are used (none: the predictor had no test set)."""
    name, _, path = spec.rpartition("=")
    if os.path.isdir(path):
        found = sorted(glob.glob(os.path.join(path, "test_*", "accuracy.json")))
        name = name or os.path.basename(os.path.normpath(path))
        if len(found) > 1:
            return [(f"{name} ({os.path.basename(os.path.dirname(f))[5:]})", f) for f in found]
        return [(name, f) for f in found]
    if not os.path.isfile(path):
        raise SebenchError(f"--qp {spec}: no such accuracy file or experiment dir")
    return [(name or os.path.dirname(path), path)]


def accuracy_table(policy, specs, out=None):
    """LCC/SRCC/MSE/MAE per predictor, then the scatter plots written beside each
    accuracy.json (linked relative to ``out``, the RESULTS.md)."""
    rows = [pair for spec in specs for pair in accuracy_files(spec)]
    if not rows:
        return []
    lines = ["## Quality predictor accuracy", "", "| predictor | n | LCC | SRCC | MSE | MAE |",
             "|---|---|---|---|---|---|"]
    for name, path in rows:
        acc = _read_json(path)
        lines.append(f"| {policy.display(name)} | {acc['n']} | {acc['lcc']:.3f} | "
                     f"{acc['srcc']:.3f} | {acc['mse']:.3f} | {acc['mae']:.3f} |")
    lines.append("")
    base = os.path.dirname(os.path.abspath(out)) if out else None
    for name, path in rows:
        scatter = os.path.join(os.path.dirname(os.path.abspath(path)), "scatter.png")
        if base and os.path.isfile(scatter):
            rel = os.path.relpath(scatter, base)
            lines += [f"### {policy.display(name)}", "", f"![{rel}]({rel})", ""]
    return lines


def curves_section(curves, out):
    """Learning-curve images (missing files are skipped: not every system has curves)."""
    lines = []
    base = os.path.dirname(os.path.abspath(out))
    for c in curves:
        if os.path.isfile(c):
            rel = os.path.relpath(os.path.abspath(c), base)
            lines += [f"### {os.path.basename(os.path.dirname(os.path.abspath(c)))}", "",
                      f"![{rel}]({rel})", ""]
    return (["## Learning curves", ""] + lines) if lines else []


def seed_table(policy, dirs, systems):
    """Per-seed means of the rows trained with several seeds."""
    rows = []
    for system in systems:
        for s in policy.sets:
            path = os.path.join(score_dir(dirs, system, s.name), "summary.json")
            summary = _read_json(path) if os.path.isfile(path) else {}
            for label in summary.get("seeds") or []:
                values = [summary["metrics"].get(m, {}).get("seeds", {}).get("values", {})
                          .get(label) for m in s.columns]
                cells = ["–" if v is None or v != v else f"{v:.2f}" for v in values]
                rows.append((s, [policy.display(system), label] + cells))
    if not rows:
        return []
    lines = ["## Seeds", "", "Each seed's mean over utterances (the main table shows their mean "
             "± std; the Wilcoxon tests use the per-utterance scores averaged over seeds).", ""]
    for s in policy.sets:
        mine = [cells for where, cells in rows if where is s]
        if mine:
            header = ["system", "seed"] + [policy.display(m) for m in s.columns]
            lines += [f"### {s.name}", "", "| " + " | ".join(header) + " |",
                      "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(c) + " |" for c in mine] + [""]
    return lines


def search_sections(policy, searches, out):
    """Each searched system's trial table and chosen config (EXP/<system>/search/)."""
    lines = []
    base = os.path.dirname(os.path.abspath(out))
    for spec in searches:
        name, _, folder = spec.partition("=")
        table = os.path.join(folder, "trials.md")
        if not os.path.isfile(table):
            continue
        with open(table, encoding="utf-8") as f:
            text = f.read().rstrip("\n")
        rel = os.path.relpath(os.path.join(os.path.abspath(folder), "chosen.yaml"), base)
        lines += [f"### Search: {policy.display(name)}", "", text, "",
                  f"The chosen trial's config: [{rel}]({rel}).", ""]
    return (["## Hyper-parameter searches (chosen on the validation set)", ""] + lines) \
        if lines else []


def write_results(policy, scores, systems, out, qp=(), curves=(), data=None, searches=()):
    """Write RESULTS.md; returns its text. ``scores``: a scores root or a list of them;
    ``systems``: names (looked up in the roots in turn) or ``LABEL=SCORE_DIR``."""
    from sebench.results.comparison import comparison_section, locate
    from sebench.utils.fileio import atomic_write_text
    from sebench.version import provenance

    roots = [scores] if isinstance(scores, str) else list(scores)
    located = locate(systems, roots)
    dirs = {r.name: r.score_dir for r in located}
    if policy.baseline and policy.baseline not in dirs:     # compared against, not a row
        dirs[policy.baseline] = locate([policy.baseline], roots)[0].score_dir
    systems = [r.name for r in located]
    lines = [f"# {policy.title}", ""]
    if policy.note:
        lines += [policy.note, ""]
    lines += results_table(policy, dirs, systems)
    seeded = seed_table(policy, dirs, systems)
    if seeded:
        lines += ["", "Rows trained with several seeds show mean ± std over the seeds; ≈ marks a "
                  "value within the seed spread of its column's best (the larger of the two "
                  "rows' std): not a difference."]
    lines += ["", "Means over utterances; per-utterance scores, 95 % CIs and failure reasons are in "
              f"`{'`, `'.join(roots)}/<system>/<set>/`. DNSMOS: P.808 and P.835 (calibrated) "
              "ONNX models from the speechmos wheel; PESQ-WB: ITU P.862.2 via `pesq`; SI-SDR "
              "zero-mean.", ""]
    lines += comparison_section(policy, roots, systems if policy.comparison is None
                                or policy.comparison.systems is not None
                                else [f"{r.name}={r.score_dir}" for r in located])
    from sebench.results.breakdown import breakdown_tables
    lines += breakdown_tables(policy, dirs, systems, data)
    lines += significance_table(policy, dirs, systems)
    lines += seeded
    lines += search_sections(policy, searches, out)
    lines += accuracy_table(policy, qp, out)
    lines += curves_section(curves, out)
    prov = provenance()
    lines += [f"_sebench {prov['sebench']}, git {prov['git_commit']}_", ""]
    text = "\n".join(lines)
    atomic_write_text(out, text)
    return text
