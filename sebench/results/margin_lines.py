"""Paper 001's Fig. 5 as published: the average triplet margin against global SNR with one
line per VQ-VAE (one per paired-data fraction), from the folders ``sebench vq-margin`` wrote
(``summary.json`` and ``margin.csv`` each). Lines with more negative slopes mean a better
learnt speech/noise split. Writes the PNG and a Markdown table (mean margin per SNR bin,
slope, Pearson r, the standard deviation of the margins, as the paper's caption gives)."""
import csv
import json
import os

import numpy as np

from sebench.errors import ConfigError, SebenchError
from sebench.utils.fileio import atomic_path, atomic_write_text


def parse_runs(items):
    """``["10=exp/vqvae_p10/margin", ...]`` -> ``[("10", path), ...]``."""
    runs = []
    for item in items:
        label, eq, path = item.partition("=")
        if not eq or not label.strip() or not path.strip():
            raise ConfigError(f"expected LABEL=MARGIN_DIR, got {item!r}")
        runs.append((label.strip(), path.strip()))
    if not runs:
        raise ConfigError("no LABEL=MARGIN_DIR given")
    return runs


def load_run(path):
    """(summary dict, margins array) of one ``sebench vq-margin`` output folder."""
    summary_file = os.path.join(path, "summary.json")
    csv_file = os.path.join(path, "margin.csv")
    for f in (summary_file, csv_file):
        if not os.path.isfile(f):
            raise SebenchError(f"{f}: missing (run sebench vq-margin ... --out {path} first)")
    with open(summary_file, encoding="utf-8") as f:
        summary = json.load(f)
    with open(csv_file, newline="", encoding="utf-8") as f:
        margins = np.array([float(r["margin"]) for r in csv.DictReader(f)])
    return summary, margins


def plot_margin_runs(runs, out_png, param="paired %", skip_missing=False):
    """One line per run (mean margin per SNR bin against the bin centre); returns the
    ``[(label, summary, std)]`` plotted, and writes the table beside the PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loaded = []
    for label, path in runs:
        if skip_missing and not os.path.isfile(os.path.join(path, "summary.json")):
            continue
        summary, margins = load_run(path)
        loaded.append((label, summary, float(margins.std())))
    if not loaded:
        return loaded
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, summary, std in loaded:
        bins = summary["mean_margin_by_snr_bin"]
        centres = [float(b) + summary["bin_db"] / 2 for b in bins]
        ax.plot(centres, list(bins.values()), "o-",
                label=f"{param} {label} (slope {summary['slope_per_db']:+.4f}/dB, std {std:.2f})")
    ax.set_xlabel("global SNR (dB)")
    ax.set_ylabel("average d(e, q_s) - d(e, q_n)")
    ax.set_title("Triplet margin vs global SNR per VQ-VAE", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    edges = sorted({b for _, s, _ in loaded for b in s["mean_margin_by_snr_bin"]}, key=float)
    head = [param, "utterances", "slope/dB", "pearson", "std"] + [f"{b} dB" for b in edges]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, s, std in loaded:
        per_bin = s["mean_margin_by_snr_bin"]
        cells = [label, str(s["utterances"]), f"{s['slope_per_db']:+.5f}", f"{s['pearson']:+.3f}",
                 f"{std:.3f}"] + [f"{per_bin[b]:.4f}" if b in per_bin else "–" for b in edges]
        lines.append("| " + " | ".join(cells) + " |")
    atomic_write_text(os.path.splitext(out_png)[0] + ".md",
                      f"SNR bins of {loaded[0][1]['bin_db']:g} dB (lower edge)\n\n"
                      + "\n".join(lines) + "\n")
    return loaded
