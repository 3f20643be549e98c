"""Helpers shared by the quality-guided methods."""
import numpy as np
import torch

from sebench.errors import ConfigError


def load_predictor(path, device="cpu", frozen=True):
    """A trained quality predictor (experiment dir, model dir or zip), or the name of one
    whose weights ship with its package (``sebench.quality.PRETRAINED``: distillmos)."""
    from sebench.models.store import load_model
    from sebench.quality import PRETRAINED, build_predictor
    if not path:
        raise ConfigError("this method needs a trained quality predictor: "
                          "method_options.qp=EXP_DIR (from `sebench train-qp`)")
    if str(path) in PRETRAINED:
        q = build_predictor({"name": str(path)}).to(device).eval()
    else:
        q, _ = load_model(path, device, kinds={"predictor"})
    if frozen:
        q.eval()
        for p in q.parameters():
            p.requires_grad_(False)
    return q


def init_from(model, path):
    """Copy weights (and input statistics) of a trained model of the same architecture."""
    from sebench.models.store import load_model
    trained, _ = load_model(path)
    try:
        model.load_state_dict(trained.state_dict())
    except RuntimeError as e:
        raise ConfigError(f"init_from {path}: its model does not match this one's config ({e})") from None


def clips(wave, lengths):
    """Batch tensor -> list of 1-D float32 numpy arrays, each trimmed to its true length."""
    w = wave.detach().float().cpu().numpy()
    return [np.ascontiguousarray(w[i, :int(n)]) for i, n in enumerate(lengths.tolist())]


def pad(arrays):
    """List of 1-D arrays -> (batch tensor, lengths)."""
    n = max(len(a) for a in arrays)
    out = torch.zeros(len(arrays), n)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = torch.as_tensor(a)
    return out, torch.tensor([len(a) for a in arrays])




def correlation_summary(pred, true):
    """LCC, SRCC, MSE, MAE between predictions and labels (label scale)."""
    from scipy.stats import pearsonr, spearmanr
    p, t = np.asarray(pred, float), np.asarray(true, float)
    if p.size < 3 or np.std(p) == 0 or np.std(t) == 0:
        return {"mse": float(np.mean((p - t) ** 2)) if p.size else float("nan")}
    return {"lcc": float(pearsonr(p, t)[0]), "srcc": float(spearmanr(p, t)[0]),
            "mse": float(np.mean((p - t) ** 2)), "mae": float(np.mean(np.abs(p - t)))}
