"""Paper 004's adversarial-branch loss: binary cross-entropy between the branch's mask and a
target mask computed in the SE model's learned domain (eq. 4-5).

With A the model's analysis transform (non-negative: Conv1d + ReLU), y the noisy input and
x the clean target, the noise IRM is M_n = A(y-x) / (A(x) + A(y-x)) and the clean IRM
A(x) / (A(x) + A(y-x)) (the Coop variant's target); an IBM thresholds the IRM. Targets are
labels: computed without gradient, so the analysis transform cannot shape its own target.
Bins where A(x) + A(y-x) is zero carry no information and are left out of the mean.
"""
import torch
from torch.nn import functional as F

from sebench.errors import ConfigError
from sebench.train.losses import LossTerm, frame_mask

SOURCES = ("noise", "clean")
KINDS = ("irm", "ibm")


def ratio_mask(clean_repr, noise_repr, source="noise", kind="irm", threshold=0.5, eps=1e-8):
    """(target mask, valid-bin mask) from the representations A(x) and A(y-x), both (B, C, L)."""
    total = clean_repr + noise_repr
    valid = (total > eps).float()
    mask = (noise_repr if source == "noise" else clean_repr) / total.clamp_min(eps)
    if kind == "ibm":
        mask = (mask > threshold).float()
    return mask * valid, valid


class MaskBCE(LossTerm):
    """BCE of ``out["branch_mask"]`` against the ``source`` (noise|clean) ``kind`` (irm|ibm)
    mask of the batch in ``model``'s learned domain (``model.represent``); per utterance."""

    fields = ("wav", "clean")

    def __init__(self, source="noise", kind="irm", threshold=0.5):
        super().__init__()
        if source not in SOURCES:
            raise ConfigError(f"loss mask_bce: source must be one of {SOURCES}, got {source!r}")
        if kind not in KINDS:
            raise ConfigError(f"loss mask_bce: kind must be one of {KINDS}, got {kind!r}")
        if not 0 < float(threshold) < 1:
            raise ConfigError(f"loss mask_bce: threshold must be in (0, 1), got {threshold!r}")
        self.source, self.kind, self.threshold = source, kind, float(threshold)

    def target(self, batch, model):
        if not hasattr(model, "represent"):
            raise ConfigError(f"loss mask_bce needs a model with a learned representation "
                              f"(dprnn), got {type(model).__name__}")
        with torch.no_grad():
            clean = model.represent(batch["clean"]).float()
            noise = model.represent(batch["wav"] - batch["clean"]).float()
        return ratio_mask(clean, noise, self.source, self.kind, self.threshold)

    def forward(self, out, batch, model=None):
        if "branch_mask" not in out:
            raise ConfigError("loss mask_bce scores a training branch's mask: use it through "
                              "`method: grl`, not as a loss of the SE output")
        target, valid = self.target(batch, model)
        pred = out["branch_mask"]
        stride = getattr(model, "stride", 1)
        valid = valid * frame_mask(batch["lengths"], valid.shape[-1], stride, valid.device)[:, None]
        with torch.autocast(pred.device.type, enabled=False):   # BCE is not autocast-safe
            bce = F.binary_cross_entropy(pred.float(), target, reduction="none")
        return (bce * valid).sum((1, 2)) / valid.sum((1, 2)).clamp_min(1)
