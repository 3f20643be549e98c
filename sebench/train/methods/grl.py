"""Paper 004: gradient-reversal adversarial training of a masking network (and its ablation).

At training time a branch D (``sebench.models.grl.MaskBranch``) reads the SE model's encoder
output and predicts a mask in the learned domain, trained with BCE (``mask_bce``):

- ``mode: adv``: a gradient reversal layer in front of D; D predicts the noise IRM/IBM, so the
  encoder and analysis transform learn a representation D cannot read the noise from;
- ``mode: coop``: no reversal; D predicts the clean IRM/IBM (the paper's Coop ablation);
- ``mode: non_adv``: no branch; the SE loss alone (the paper's Non-Adv baseline).

L = beta * L_main + (1 - beta) * L_adv (eq. 6; L_main is the ``loss:`` section, SI-SDR by
default). One optimiser updates the SE model and D together, so clipping covers both. The
export is the SE model alone: run-time cost is the Non-Adv model's.
"""
import torch

from sebench.errors import ConfigError
from sebench.models.grl import MaskBranch
from sebench.train.losses import build_loss
from sebench.train.mask_loss import MaskBCE
from sebench.train.methods.base import TrainingMethod

MODES = ("adv", "coop", "non_adv")


class GradientReversalTraining(TrainingMethod):
    options = {"mode": "adv", "target": "irm", "beta": 0.8, "grl_lambda": 1.0,
               "ibm_threshold": 0.5, "branch_hidden": 0, "init_from": ""}
    reads_loss = True

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        o = self.opts
        if o["mode"] not in MODES:
            raise ConfigError(f"method_options.mode must be one of {MODES}, got {o['mode']!r}")
        if not 0 < o["beta"] <= 1:
            raise ConfigError(f"method_options.beta must be in (0, 1], got {o['beta']!r}")
        if o["grl_lambda"] < 0:
            raise ConfigError(f"method_options.grl_lambda must be >= 0, got {o['grl_lambda']!r}")
        self.main_loss = build_loss(cfg.get("loss"), default="sisdr")
        self.has_branch = o["mode"] != "non_adv"
        self.adv_loss = MaskBCE("noise" if o["mode"] == "adv" else "clean", o["target"],
                                o["ibm_threshold"]) if self.has_branch else None
        fields = self.main_loss.fields + (self.adv_loss.fields if self.has_branch else ())
        self.streams = {"train": tuple(dict.fromkeys(fields))}
        self.valid_fields = self.streams["train"]

    def build_models(self):
        se = self.build_se()
        if not (hasattr(se, "encode") and hasattr(se, "represent")):
            raise ConfigError(f"method grl needs a model with an encoder and a learned "
                              f"representation (name: dprnn), got {type(se).__name__}")
        models = {"se": se}
        if self.has_branch:
            hidden = self.opts["branch_hidden"] or se.enc_block.intra.hidden_size
            models["adv"] = MaskBranch(se.enc_conv.out_channels, hidden, se.chunk_size,
                                       reverse=self.opts["mode"] == "adv",
                                       grl_lambda=self.opts["grl_lambda"])
        return models

    def optimizers(self):
        return {"se": ["se", "adv"] if self.has_branch else ["se"]}

    def losses(self, se, branch, batch):
        out = se(batch["wav"])
        main = self.main_loss(out, batch, self.module("se")).mean()
        if branch is None:
            return main, main, None
        out["branch_mask"] = branch(out["encoded"])
        adv = self.adv_loss(out, batch, self.module("se")).mean()
        beta = self.opts["beta"]
        return beta * main + (1 - beta) * adv, main, adv

    def train_step(self, batch):
        with self.trainer.autocast():
            loss, main, adv = self.losses(self.net("se"),
                                          self.net("adv") if self.has_branch else None, batch)
        self.trainer.optimize("se", loss)
        return terms(loss, main, adv)

    @torch.no_grad()
    def valid_step(self, batch):
        # early stopping and the best checkpoint follow the SE loss (``loss``), not the sum
        _, main, adv = self.losses(self.module("se"),
                                   self.module("adv") if self.has_branch else None, batch)
        out = {"loss": float(main)}
        if adv is not None:
            out["adv_bce"] = float(adv)
        return out


def terms(loss, main, adv):
    out = {"loss": float(loss.detach()), "main": float(main.detach())}
    if adv is not None:
        out["adv_bce"] = float(adv.detach())
    return out
