"""Paper 002's PESQNet accuracy (Tables I-II, Figs. 7-8) and its training curves (Figs. 9-12).

``pesqnet_accuracy``: per test condition (a data dir with ``clean.scp``), the FCRN enhances
each noisy clip; PESQNet predicts the PESQ of the noisy input y and of the output s_hat; the
true ITU-T P.862.2 wideband PESQ of both against ``clean.scp`` is computed; the table has
MAE and LCC (Pearson) per condition for s_hat and y, in the paper's column order, and the
scatter plot shows predicted against true PESQ, noisy in red and enhanced in blue, one panel
per condition. Clips whose PESQ cannot be computed (silent) are left out and counted.

``training_curves``: from a <1-1> experiment's ``valid_log.csv`` (one row per validation,
``epoch`` = tau), J_total with PESQNet's estimate and PESQNet's MAE per tau (Figs. 9, 11)
and the mean true PESQ per tau (Figs. 10, 12).
"""
import csv
import math
import os

import numpy as np

from sebench.errors import SebenchError
from sebench.utils.fileio import atomic_write_text

KINDS = (("enhanced", "s_hat"), ("noisy", "y"))


def _stats(pred, true):
    from scipy.stats import pearsonr
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    mae = float(np.mean(np.abs(pred - true))) if pred.size else math.nan
    lcc = float(pearsonr(pred, true)[0]) if pred.size >= 3 and np.std(pred) > 0 \
        and np.std(true) > 0 else math.nan
    return {"n": int(pred.size), "mae": mae, "lcc": lcc}


def score_condition(se, q, data_dir, device="cpu"):
    """[(key, kind, predicted, true)] of one condition's clips; and the number left out."""
    import torch

    from sebench.audio.io import read
    from sebench.data import DataDir
    from sebench.metrics.intrusive import MetricError, pesq_wb

    d = DataDir(data_dir)
    wav, clean = d.read("wav.scp"), d.read("clean.scp") if d.has("clean.scp") else None
    if not clean:
        raise SebenchError(f"{data_dir}: no clean.scp (PESQNet's accuracy needs the reference)")
    rows, skipped = [], 0
    for key in sorted(wav):
        if key not in clean:
            raise SebenchError(f"{data_dir}/clean.scp: no reference for {key}")
        noisy, _ = read(wav[key], fs=q.fs)
        ref, _ = read(clean[key], fs=q.fs)
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(noisy, np.float32))[None].to(device)
            enhanced = se(x)["wave"][0, :noisy.shape[-1]].float().cpu().numpy()
        for kind, audio in (("enhanced", enhanced), ("noisy", noisy)):
            n = min(len(ref), len(audio))
            try:
                true = pesq_wb(np.asarray(ref[:n], np.float64), np.asarray(audio[:n], np.float64),
                               q.fs)
            except MetricError:
                skipped += 1
                continue
            with torch.no_grad():
                wave = torch.from_numpy(np.ascontiguousarray(audio, np.float32))[None].to(device)
                est = float(q.scale.denormalize(q(wave)).float().cpu()[0])
            rows.append((key, kind, est, float(true)))
    return rows, skipped


def pesqnet_accuracy(se_path, pesqnet_path, conditions, out_dir, title="", device="cpu"):
    """``conditions`` {name: data dir}: writes ``accuracy.md``, ``accuracy.json``,
    ``scatter.png`` and per condition ``<name>/utt2{pesqnet,pesq}_{enhanced,noisy}``;
    returns {condition: {kind: {n, mae, lcc}}}."""
    import json

    from sebench.data.datadir import write_kv
    from sebench.models.store import load_model
    from sebench.train.methods.common import load_predictor

    se, _ = load_model(se_path, device, kinds={"se"})
    q = load_predictor(os.path.join(pesqnet_path, "model_pesqnet")
                       if os.path.isdir(os.path.join(pesqnet_path, "model_pesqnet"))
                       else pesqnet_path, device)
    results, points = {}, {}
    for name, data_dir in conditions.items():
        rows, skipped = score_condition(se, q, data_dir, device)
        points[name] = rows
        results[name] = {"skipped": skipped}
        for kind, _ in KINDS:
            mine = [r for r in rows if r[1] == kind]
            results[name][kind] = _stats([r[2] for r in mine], [r[3] for r in mine])
            folder = os.path.join(out_dir, name)
            os.makedirs(folder, exist_ok=True)
            write_kv(os.path.join(folder, f"utt2pesqnet_{kind}"), {r[0]: f"{r[2]:.4f}" for r in mine})
            write_kv(os.path.join(folder, f"utt2pesq_{kind}"), {r[0]: f"{r[3]:.4f}" for r in mine})
    atomic_write_text(os.path.join(out_dir, "accuracy.json"), json.dumps(results, indent=1) + "\n")
    atomic_write_text(os.path.join(out_dir, "accuracy.md"), accuracy_markdown(results, title))
    scatter_plot(points, os.path.join(out_dir, "scatter.png"), title)
    return results


def _fmt(v):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"


def accuracy_markdown(results, title=""):
    lines = [f"# {title or 'PESQNet accuracy'}", "",
             "| condition | MAE(s_hat) | MAE(y) | LCC(s_hat) | LCC(y) | clips |",
             "|---|---|---|---|---|---|"]
    for name, r in results.items():
        e, y = r["enhanced"], r["noisy"]
        lines.append(f"| {name} | {_fmt(e['mae'])} | {_fmt(y['mae'])} | {_fmt(e['lcc'])} | "
                     f"{_fmt(y['lcc'])} | {e['n']} + {y['n']}"
                     + (f" ({r['skipped']} without PESQ)" if r["skipped"] else "") + " |")
    return "\n".join(lines) + "\n"


def _figure(ncols):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt, plt.subplots(1, ncols, figsize=(4.5 * ncols, 4.5), squeeze=False)


def _save(plt, fig, path):
    from sebench.results.figure import save_figure
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def scatter_plot(points, path, title=""):
    """Predicted against true PESQ per condition: noisy red, enhanced blue (Figs. 7-8)."""
    plt, (fig, axes) = _figure(len(points))
    for ax, (name, rows) in zip(axes[0], points.items()):
        for kind, color in (("noisy", "tab:red"), ("enhanced", "tab:blue")):
            mine = [r for r in rows if r[1] == kind]
            ax.scatter([r[3] for r in mine], [r[2] for r in mine], s=12, c=color, alpha=0.7,
                       label="y (noisy)" if kind == "noisy" else "s_hat (enhanced)")
        ax.plot([1.0, 4.64], [1.0, 4.64], "k--", lw=0.8)
        ax.set(xlabel="true PESQ (P.862.2)", ylabel="PESQNet estimate", title=name,
               xlim=(1.0, 4.7), ylim=(1.0, 4.7))
        ax.legend(loc="upper left", fontsize=8)
    if title:
        fig.suptitle(title)
    _save(plt, fig, path)


def read_valid_log(exp_dir):
    path = os.path.join(exp_dir, "valid_log.csv")
    if not os.path.isfile(path):
        raise SebenchError(f"{exp_dir}: no valid_log.csv (train the <1-1> system with --valid)")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    need = ("epoch", "j_total_est", "pesqnet_mae", "pesq")
    missing = [c for c in need if not rows or c not in rows[0]]
    if missing:
        raise SebenchError(f"{path}: no column {missing[0]} (a pesqnet experiment with "
                           "protocol alternate logs epoch, j_total_est, pesqnet_mae, pesq)")
    return rows


def training_curves(exp_dir, out_dir, label="validation set"):
    """Figs. 9-10 (or 11-12) from ``valid_log.csv``: writes ``loss_mae.png``, ``pesq.png``
    and ``curves.csv`` (tau, J_total with PESQNet's estimate, PESQNet MAE, true PESQ)."""
    rows = read_valid_log(exp_dir)

    def num(row, key):
        try:
            return float(row[key])
        except (TypeError, ValueError):
            return math.nan
    tau = [int(float(r["epoch"])) for r in rows]
    j_total = [num(r, "j_total_est") for r in rows]
    mae = [num(r, "pesqnet_mae") for r in rows]
    pesq = [num(r, "pesq") for r in rows]
    os.makedirs(out_dir, exist_ok=True)
    text = "tau,j_total_est,pesqnet_mae,pesq\n" + "".join(
        f"{t},{j:.6g},{m:.6g},{p:.6g}\n" for t, j, m, p in zip(tau, j_total, mae, pesq))
    atomic_write_text(os.path.join(out_dir, "curves.csv"), text)
    plt, (fig, axes) = _figure(1)
    ax = axes[0][0]
    ax.plot(tau, j_total, "o-", color="tab:blue", label="J_total (PESQNet's estimate)")
    ax.set(xlabel="epoch tau", ylabel="J_total", title=f"DNS and PESQNet on the {label}")
    ax2 = ax.twinx()
    ax2.plot(tau, mae, "s-", color="tab:green", label="PESQNet MAE")
    ax2.set_ylabel("MAE")
    ax.legend(loc="upper left", fontsize=8)
    ax2.legend(loc="upper right", fontsize=8)
    _save(plt, fig, os.path.join(out_dir, "loss_mae.png"))
    plt, (fig, axes) = _figure(1)
    ax = axes[0][0]
    ax.plot(tau, pesq, "o-", color="tab:blue")
    ax.set(xlabel="epoch tau", ylabel="mean true PESQ (P.862.2)",
           title=f"True PESQ on the {label}")
    _save(plt, fig, os.path.join(out_dir, "pesq.png"))
    return {"tau": tau, "j_total_est": j_total, "pesqnet_mae": mae, "pesq": pesq}
