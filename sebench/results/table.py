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
    return f"{entry['mean']:.2f}" + (f" ({entry['failures']} failed)" if entry.get("failures") else "")


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
    found = 0
    for system in systems:
        row = [policy.display(system)]
        for s in policy.sets:
            path = os.path.join(score_dir(scores, system, s.name), "summary.json")
            summary = _read_json(path) if os.path.isfile(path) else None
            found += summary is not None
            row += [_cell(summary, m) for m in s.columns]
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


def write_results(policy, scores, systems, out, qp=(), curves=(), data=None):
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
    lines += accuracy_table(policy, qp, out)
    lines += curves_section(curves, out)
    prov = provenance()
    lines += [f"_sebench {prov['sebench']}, git {prov['git_commit']}_", ""]
    text = "\n".join(lines)
    atomic_write_text(out, text)
    return text
