"""A hyper-parameter sweep as a figure: one point per value (e.g. paper 004's Fig. 2, CSIG
vs CBAK of Adv-IRM for beta 0.6-0.9), read from the ``sebench score`` summaries of one
system per value, plus the same numbers as a Markdown table beside the PNG."""
import json
import os

from sebench.errors import ConfigError, SebenchError
from sebench.results.figure import save_figure
from sebench.utils.fileio import atomic_write_text


def parse_points(text):
    """``"0.6=sys_a,0.8=sys_b"`` -> ``[(0.6, "sys_a"), (0.8, "sys_b")]``."""
    points = []
    for item in (p for p in text.split(",") if p.strip()):
        value, eq, system = item.partition("=")
        try:
            points.append((float(value), system.strip()))
        except ValueError:
            raise ConfigError(f"--points: expected VALUE=SYSTEM, got {item!r}") from None
        if not eq or not system.strip():
            raise ConfigError(f"--points: expected VALUE=SYSTEM, got {item!r}")
    if len(points) < 2:
        raise ConfigError("--points: a sweep needs at least two VALUE=SYSTEM points")
    return sorted(points)


def summary_path(scores, system, set_name):
    return os.path.join(scores, system, set_name, "summary.json")


def scored_points(scores, set_name, points):
    """The points whose system has a summary (a run of a subset of the systems)."""
    return [p for p in points if os.path.isfile(summary_path(scores, p[1], set_name))]


def sweep_values(scores, set_name, points, metrics):
    """``[(value, system, {metric: mean})]`` from ``scores/<system>/<set>/summary.json``."""
    rows = []
    for value, system in points:
        path = summary_path(scores, system, set_name)
        if not os.path.isfile(path):
            raise SebenchError(f"{path}: missing (score {system} on {set_name} first)")
        with open(path, encoding="utf-8") as f:
            found = json.load(f).get("metrics", {})
        means = {}
        for m in metrics:
            mean = (found.get(m) or {}).get("mean")
            if mean is None:
                raise SebenchError(f"{path}: no {m} score (add it to the set's metrics)")
            means[m] = float(mean)
        rows.append((value, system, means))
    return rows


def plot_sweep(scores, set_name, points, x, y, out, param="value", title=None):
    """Write the ``x`` vs ``y`` scatter (each point labelled ``param=value``) to ``out`` (PNG)
    and its table to ``out`` with ``.md``; returns the rows."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sweep_values(scores, set_name, points, [x, y])
    fig, ax = plt.subplots(figsize=(5, 4))
    xs, ys = [r[2][x] for r in rows], [r[2][y] for r in rows]
    ax.plot(xs, ys, "o-", color="tab:blue")
    for value, _, means in rows:
        ax.annotate(f"{param}={value:g}", (means[x], means[y]), textcoords="offset points",
                    xytext=(5, 5), fontsize=9)
    ax.set_xlabel(x.upper())
    ax.set_ylabel(y.upper())
    ax.set_title(title or f"{x.upper()} vs {y.upper()} per {param} ({set_name})", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out)
    lines = [f"| {param} | system | {x} | {y} |", "|---|---|---|---|"]
    lines += [f"| {v:g} | {s} | {m[x]:.3f} | {m[y]:.3f} |" for v, s, m in rows]
    atomic_write_text(os.path.splitext(out)[0] + ".md", "\n".join(lines) + "\n")
    return rows
