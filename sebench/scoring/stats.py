"""Predictor accuracy (LCC, SRCC, MSE, MAE + scatter plot) and Wilcoxon significance tables."""
import math
import os

import numpy as np

from sebench.data.datadir import read_kv
from sebench.errors import SebenchError


def _paired(pred_file, true_file):
    return _pair_values(read_kv(pred_file), read_kv(true_file), f"{pred_file} and {true_file}")


def _pair_values(pred, true, what):
    keys = sorted(set(pred) & set(true))
    pairs = [(float(pred[k]), float(true[k])) for k in keys]
    pairs = [(p, t) for p, t in pairs if math.isfinite(p) and math.isfinite(t)]
    if len(pairs) < 3:
        raise SebenchError(f"{what} share {len(pairs)} finite key(s); need 3")
    p, t = map(np.asarray, zip(*pairs))
    return p, t


def score_column(score_dir, metric):
    """``{key: value}`` of ``metric`` from ``score_dir/scores.csv``: the table the last
    ``sebench score`` wrote, never an ``utt2<metric>`` file an earlier run may have left. A
    folder without scores.csv (labels, hand-made files) is read from ``utt2<metric>``."""
    import csv
    path = os.path.join(score_dir, "scores.csv")
    if not os.path.isfile(path):
        kv_path = os.path.join(score_dir, f"utt2{metric}")
        if not os.path.isfile(kv_path):
            raise SebenchError(f"{score_dir}: neither scores.csv nor utt2{metric}")
        return read_kv(kv_path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if metric not in (reader.fieldnames or []):
                scored = [c for c in reader.fieldnames or [] if c not in ("key", "error",
                                                                          "warning")]
                raise SebenchError(f"{path}: no {metric} column (scored: "
                                   f"{', '.join(scored) or 'nothing'})")
            return {row["key"]: row[metric] for row in reader}
    except FileNotFoundError:    # removed since the check above
        raise SebenchError(f"{path}: missing (not a `sebench score` output)") from None


def accuracy(pred_file, true_file, plot=None, label="score"):
    """LCC (Pearson), SRCC (Spearman), MSE and MAE between predicted and true utt2<score>."""
    from scipy.stats import pearsonr, spearmanr

    p, t = _paired(pred_file, true_file)
    result = {"n": int(p.size), "lcc": float(pearsonr(p, t)[0]), "srcc": float(spearmanr(p, t)[0]),
              "mse": float(np.mean((p - t) ** 2)), "mae": float(np.mean(np.abs(p - t)))}
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.scatter(t, p, s=10, alpha=0.6)
        lo, hi = float(min(p.min(), t.min())), float(max(p.max(), t.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"true {label}")
        ax.set_ylabel(f"predicted {label}")
        ax.set_title(f"LCC {result['lcc']:.3f}  SRCC {result['srcc']:.3f}  MSE {result['mse']:.3f}")
        fig.tight_layout()
        os.makedirs(os.path.dirname(os.path.abspath(plot)), exist_ok=True)
        fig.savefig(plot, dpi=120)
        plt.close(fig)
    return result


def wilcoxon_table(dir_a, dir_b, metrics):
    """Wilcoxon signed-rank p-values between two systems' per-utterance scores (score dirs,
    read from their ``scores.csv``)."""
    from scipy.stats import wilcoxon

    rows = []
    for m in metrics:
        a, b = _pair_values(score_column(dir_a, m), score_column(dir_b, m),
                            f"{dir_a} and {dir_b} ({m})")
        diff = a - b
        p = float(wilcoxon(a, b).pvalue) if np.any(diff != 0) else 1.0
        rows.append({"metric": m, "n": int(a.size), "mean_a": float(a.mean()),
                     "mean_b": float(b.mean()), "p_value": p})
    return rows
