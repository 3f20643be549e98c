"""Improvement against a swept parameter, one line per system family (paper 001's Figs. 3-4:
absolute SI-SDR and PESQ improvement over the unprocessed input against the share of paired
training data, one line per configuration). Reads ``sebench score`` summaries of
``TEMPLATE.format(value)`` per value and series; writes the figure (one panel per metric) and
the same numbers as a Markdown table beside it."""
import os

from sebench.errors import ConfigError
from sebench.results.sweep import summary_path, sweep_values
from sebench.utils.fileio import atomic_path, atomic_write_text


def parse_series(text):
    """``"baseline=baseline_p{},emb=emb_p{}"`` -> ``[("baseline", "baseline_p{}"), ...]``."""
    series = []
    for item in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, template = item.partition("=")
        if not eq or not name.strip() or "{}" not in template:
            raise ConfigError(f"--series: expected NAME=SYSTEM_TEMPLATE with {{}} where the "
                              f"value goes (e.g. baseline=baseline_p{{}}), got {item!r}")
        series.append((name.strip(), template.strip()))
    if not series:
        raise ConfigError("--series: no series given")
    return series


def format_value(value):
    return f"{value:g}"


def collect(scores, set_name, values, series, metrics, reference=None, skip_missing=False):
    """``{series: [(value, system, {metric: mean or improvement})]}``; with ``reference`` (a
    system, e.g. ``noisy``) each mean minus the reference's. ``skip_missing`` leaves out the
    points not scored (a run of some systems) instead of failing."""
    ref = None
    if reference is not None:
        ref = sweep_values(scores, set_name, [(0.0, reference)], metrics)[0][2]
    found = {}
    for name, template in series:
        points = [(v, template.format(format_value(v))) for v in values]
        if skip_missing:
            points = [p for p in points if os.path.isfile(summary_path(scores, p[1], set_name))]
        rows = sweep_values(scores, set_name, points, metrics)
        if ref is not None:
            rows = [(v, s, {m: x - ref[m] for m, x in means.items()}) for v, s, means in rows]
        if rows:
            found[name] = rows
    return found


def plot_lines(found, metrics, out, param="value", title=None, reference=None):
    """One panel per metric, one line per series; the table goes to ``out`` with ``.md``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    label = (lambda m: f"{m.upper()} improvement over {reference}") if reference else \
        (lambda m: m.upper())
    fig, axes = plt.subplots(len(metrics), 1, figsize=(5.5, 2.6 * len(metrics)), squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics):
        for name, rows in found.items():
            ax.plot([r[0] for r in rows], [r[2][metric] for r in rows], "o-", label=name)
        if reference:
            ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xticks(sorted({r[0] for rows in found.values() for r in rows}))
        ax.set_ylabel(label(metric), fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(param)
    axes[0, 0].legend(fontsize=7)
    if title:
        axes[0, 0].set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    delta = " (improvement)" if reference else ""
    lines = [f"| series | {param} | system | " + " | ".join(f"{m}{delta}" for m in metrics) + " |",
             "|---|---|---|" + "---|" * len(metrics)]
    for name, rows in found.items():
        lines += [f"| {name} | {format_value(v)} | {s} | "
                  + " | ".join(f"{means[m]:.3f}" for m in metrics) + " |" for v, s, means in rows]
    atomic_write_text(os.path.splitext(out)[0] + ".md", "\n".join(lines) + "\n")
