"""Paper 001 Fig. 5: the average embedding triplet margin d(e, q_s) - d(e, q_n) of a trained
split-codebook VQ-VAE against the global SNR of each mixture of a paired data dir (it should
fall as the SNR rises: low SNR looks like noise codes). Writes ``margin.csv`` (per
utterance), ``summary.json`` (the least-squares slope in margin/dB, the Pearson correlation,
the mean per SNR bin) and ``margin_vs_snr.png``.
"""
import csv
import io
import json
import os

import numpy as np
import torch

from sebench.errors import SebenchError
from sebench.utils.fileio import atomic_path, atomic_write_text


def global_snr_db(clean, noise):
    """10 log10(sum clean^2 / sum noise^2) over the whole utterance."""
    return float(10 * np.log10(np.sum(clean.astype(np.float64) ** 2) /
                               max(np.sum(noise.astype(np.float64) ** 2), 1e-20)))


def margins(vqvae_path, data_dir, max_utts=None, progress=True):
    """[(key, global SNR dB, margin)] for the utterances of a data dir with clean and noise."""
    from tqdm import tqdm

    from sebench.audio.io import read
    from sebench.data import DataDir
    from sebench.models.store import load_model
    from sebench.train.vq_losses import triplet_margin

    model, _ = load_model(vqvae_path, kinds={"vqvae"})
    d = DataDir(data_dir)
    for name in ("clean.scp", "noise.scp"):
        if not d.has(name):
            raise SebenchError(f"{data_dir}: no {name} (the margin-vs-SNR figure needs the "
                               "clean speech and the noise of each mixture)")
    wav, clean, noise = d.read("wav.scp"), d.read("clean.scp"), d.read("noise.scp")
    keys = [k for k in d.keys if k in clean and k in noise][:max_utts]
    rows = []
    for key in tqdm(keys, desc="margin", disable=not progress):
        x = read(wav[key], fs=model.fs)[0]
        snr = global_snr_db(read(clean[key], fs=model.fs)[0], read(noise[key], fs=model.fs)[0])
        with torch.no_grad():
            wave = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]
            out = model(wave)
            m = float(triplet_margin(model, out, torch.tensor([wave.shape[-1]]))[0])
        rows.append((key, snr, m))
    return rows


def summarise(rows, bin_db=5.0):
    snr = np.array([r[1] for r in rows])
    margin = np.array([r[2] for r in rows])
    if len(rows) < 2 or np.ptp(snr) == 0:
        raise SebenchError("the margin-vs-SNR summary needs at least two mixtures of "
                           "different SNR")
    slope = float(np.polyfit(snr, margin, 1)[0])
    bins = np.floor(snr / bin_db) * bin_db
    per_bin = {f"{b:g}": float(margin[bins == b].mean()) for b in sorted(set(bins))}
    return {"utterances": len(rows), "slope_per_db": slope,
            "pearson": float(np.corrcoef(snr, margin)[0, 1]), "bin_db": bin_db,
            "mean_margin_by_snr_bin": per_bin}


def plot(rows, summary, out_png, title="Triplet margin vs global SNR"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snr = np.array([r[1] for r in rows])
    margin = np.array([r[2] for r in rows])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.scatter(snr, margin, s=8, alpha=0.4, label="utterances")
    centres = [float(b) + summary["bin_db"] / 2 for b in summary["mean_margin_by_snr_bin"]]
    ax.plot(centres, list(summary["mean_margin_by_snr_bin"].values()), "o-", color="C3",
            label=f"mean per {summary['bin_db']:g} dB (slope {summary['slope_per_db']:.4f}/dB)")
    ax.set_xlabel("global SNR (dB)")
    ax.set_ylabel("d(e, q_s) - d(e, q_n)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def write_margin_report(vqvae_path, data_dir, out_dir, max_utts=None, bin_db=5.0):
    """The figure and its numbers in ``out_dir``; returns the summary."""
    os.makedirs(out_dir, exist_ok=True)
    rows = margins(vqvae_path, data_dir, max_utts)
    summary = summarise(rows, bin_db)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["utt", "snr_db", "margin"])
    writer.writerows((k, f"{s:.3f}", f"{m:.5f}") for k, s, m in rows)
    atomic_write_text(os.path.join(out_dir, "margin.csv"), text.getvalue())
    atomic_write_text(os.path.join(out_dir, "summary.json"), json.dumps(summary, indent=2) + "\n")
    plot(rows, summary, os.path.join(out_dir, "margin_vs_snr.png"))
    return summary
