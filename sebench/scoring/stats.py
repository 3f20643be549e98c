"""Predictor accuracy (LCC, SRCC, MSE, MAE + scatter plot) and Wilcoxon significance tables."""
import math
import os

import numpy as np

from sebench.data.datadir import read_kv
from sebench.errors import SebenchError


def _paired(pred_file, true_file):
    pred, true = read_kv(pred_file), read_kv(true_file)
    keys = sorted(set(pred) & set(true))
    pairs = [(float(pred[k]), float(true[k])) for k in keys]
    pairs = [(p, t) for p, t in pairs if math.isfinite(p) and math.isfinite(t)]
    if len(pairs) < 3:
        raise SebenchError(f"{pred_file} and {true_file} share {len(pairs)} finite key(s); need 3")
    p, t = map(np.asarray, zip(*pairs))
    return p, t


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
    """Wilcoxon signed-rank p-values between two systems' per-utterance scores (score dirs)."""
    from scipy.stats import wilcoxon

    rows = []
    for m in metrics:
        fa, fb = os.path.join(dir_a, f"utt2{m}"), os.path.join(dir_b, f"utt2{m}")
        if not (os.path.isfile(fa) and os.path.isfile(fb)):
            raise SebenchError(f"utt2{m} missing in {dir_a} or {dir_b}")
        a, b = _paired(fa, fb)
        diff = a - b
        p = float(wilcoxon(a, b).pvalue) if np.any(diff != 0) else 1.0
        rows.append({"metric": m, "n": int(a.size), "mean_a": float(a.mean()),
                     "mean_b": float(b.mean()), "p_value": p})
    return rows
