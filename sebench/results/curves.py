"""Training curves of several experiments on shared axes: paper 000's Fig. 1 (deepdream and
the GAN-like scheme: the teacher's own score and DNSMOS OVRL of the validation subset against
steps) and Figs. 2-3 (the same for each teacher). A series is ``SOURCE:COLUMN`` of a log the
trainer writes: ``valid`` (valid_log.csv: loss terms, ``teacher``), ``metric``
(valid_metrics.csv: the background validation metrics, e.g. ``dnsmos_ovrl``) or ``train``
(train_log.csv)."""
import csv
import os

from sebench.errors import ConfigError, SebenchError
from sebench.results.figure import save_figure
from sebench.utils.fileio import atomic_write_text

LOGS = {"valid": "valid_log.csv", "metric": "valid_metrics.csv", "train": "train_log.csv"}


def parse_series(text):
    series = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        source, sep, column = item.partition(":")
        if not sep or source not in LOGS or not column:
            raise ConfigError(f"--series: {item!r}: expected SOURCE:COLUMN with SOURCE one of "
                              f"{', '.join(LOGS)} (e.g. metric:dnsmos_ovrl)")
        series.append((source, column))
    return series


def experiment_dir(path):
    """An experiment, or a repeated system's first seed (exp/<system>/seed<N>/)."""
    from sebench.results.about import _first_run
    return _first_run(path)


def read_series(exp_dir, source, column):
    """[(step, value)] of one column of one log ([] when the log or column is missing)."""
    path = os.path.join(exp_dir, LOGS[source])
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        points = []
        for row in csv.DictReader(f):
            try:
                points.append((int(float(row["step"])), float(row[column])))
            except (KeyError, TypeError, ValueError):
                continue
    return points


def collect(experiments, series, skip_missing=False):
    """{label: {(source, column): [(step, value)]}} for the experiments [(label, dir)]."""
    found = {}
    for label, path in experiments:
        folder = experiment_dir(path)
        if not os.path.isdir(folder):
            if skip_missing:
                continue
            raise SebenchError(f"{path}: no such experiment (train it, or --skip-missing)")
        found[label] = {s: read_series(folder, *s) for s in series}
    return found


def plot_curves(found, series, out, title=None):
    """One panel per series, one line per experiment; the numbers go to OUT.md too."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(series), figsize=(5.5 * len(series), 3.8), squeeze=False)
    for ax, key in zip(axes[0], series):
        for label, curves in found.items():
            points = curves[key]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        ax.set_title(f"{key[1]} ({LOGS[key[0]]})", fontsize=9)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, out, dpi=110)
    lines = [f"# {title or 'Training curves'}", "",
             "| experiment | series | steps | first | best (max) | last |", "|---|---|---|---|---|---|"]
    for label, curves in found.items():
        for key in series:
            points = curves[key]
            if points:
                values = [v for _, v in points]
                lines.append(f"| {label} | {key[0]}:{key[1]} | {len(points)} | {values[0]:.3f} | "
                             f"{max(values):.3f} (step {points[values.index(max(values))][0]}) | "
                             f"{values[-1]:.3f} |")
            else:
                lines.append(f"| {label} | {key[0]}:{key[1]} | 0 | – | – | – |")
    atomic_write_text(os.path.splitext(out)[0] + ".md", "\n".join(lines) + "\n")
    return lines
