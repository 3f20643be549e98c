"""Paper 001 stage 2: SE trained with the supervised loss plus a triplet loss computed through
a frozen split-codebook VQ-VAE (Table 1's five systems are presets of this method).

``method_options``:

- ``vqvae``: the trained VQ-VAE (experiment dir, model dir or zip; ``kind: vqvae``)
- ``unsup``: ``none`` (Baseline), ``embedding`` (eq. 18) or ``feature`` (eq. 19)
- ``source``: ``paired`` (the triplet term on the paired batch: Paired-*) or ``unpaired``
  (on a second stream ``unpaired`` of real noisy recordings, ``wav`` only: Unpaired-*)
- ``weight``: the triplet term's weight; ``margin``: m (cosine distance units for eq. 18)

Streams: ``paired`` (``wav`` + the supervised loss's fields; the first, it defines the epoch)
and, for ``source: unpaired``, ``unpaired``. The supervised loss is the top-level ``loss:``
(``mag_mse`` by default). The VQ-VAE stays frozen (eval mode, no gradients; it is no model of
the trainer's, so it is neither trained nor checkpointed). Validation logs ``loss`` (the
supervised loss), ``triplet`` and ``margin`` (mean d(e, q_s) - d(e, q_n) of the enhanced
output) on the paired validation set.
"""
import torch

from sebench.errors import ConfigError
from sebench.train.losses import LOSSES, build_loss
from sebench.train.methods.base import TrainingMethod

UNSUP_TERMS = {"embedding": "vq_triplet_embedding", "feature": "vq_triplet_feature"}


class VQTripletSE(TrainingMethod):
    reads_loss = True
    options = {"vqvae": "", "unsup": "embedding", "source": "paired", "weight": 1.0,
               "margin": 0.2, "init_from": ""}

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        o = self.opts
        if o["unsup"] not in ("none", *UNSUP_TERMS):
            raise ConfigError(f"vq_triplet: method_options.unsup must be none, embedding or "
                              f"feature, got {o['unsup']!r}")
        if o["source"] not in ("paired", "unpaired"):
            raise ConfigError(f"vq_triplet: method_options.source must be paired or unpaired, "
                              f"got {o['source']!r}")
        if o["unsup"] != "none" and not o["vqvae"]:
            raise ConfigError("vq_triplet: method_options.vqvae (a trained VQ-VAE, from "
                              "`sebench train --method vqvae`) is needed unless unsup: none")
        self.loss = build_loss(cfg.get("loss"))
        self.streams = {"paired": tuple(dict.fromkeys(("wav", *self.loss.fields)))}
        if o["unsup"] != "none" and o["source"] == "unpaired":
            self.streams["unpaired"] = ("wav",)
        self.valid_fields = self.streams["paired"]
        self.triplet = None

    def build_models(self):
        se = self.build_se()
        if self.opts["unsup"] != "none":
            from sebench.models.store import load_model
            vqvae, _ = load_model(self.opts["vqvae"], self.trainer.device, kinds={"vqvae"})
            if vqvae.stft_cfg != se.stft_cfg or vqvae.fs != se.fs:
                raise ConfigError(f"vq_triplet: the VQ-VAE {self.opts['vqvae']} uses another "
                                  f"STFT ({vqvae.stft_cfg}) or rate than the SE model "
                                  f"({se.stft_cfg}); train both with the same")
            self.triplet = LOSSES.build(UNSUP_TERMS[self.opts["unsup"]],
                                        margin=self.opts["margin"]).bind(vqvae)
        return {"se": se}

    def prepare(self, train_set):
        self.init_normalization(train_set)

    def batches(self, batch):
        """(paired batch, the batch the triplet term reads)."""
        if "unpaired" in self.streams:
            return batch["paired"], batch["unpaired"]
        return batch, batch

    def train_step(self, batch):
        paired, unsup = self.batches(batch)
        se = self.net("se")
        with self.trainer.autocast():
            out = se(paired["wav"])
            sup = self.loss(out, paired, self.module("se")).mean()
            terms = {"sup": float(sup.detach())}
            loss = sup
            if self.triplet is not None:
                out_u = out if unsup is paired else se(unsup["wav"])
                triplet = self.triplet(out_u, unsup).mean()
                loss = sup + self.opts["weight"] * triplet
                terms["triplet"] = float(triplet.detach())
        self.trainer.optimize("se", loss)
        return dict(terms, loss=float(loss.detach()))

    @torch.no_grad()
    def valid_step(self, batch):
        se = self.module("se")
        out = se(batch["wav"])
        terms = {"loss": float(self.loss(out, batch, se).mean())}
        if self.triplet is not None:
            terms["triplet"] = float(self.triplet(out, batch).mean())
            terms["margin"] = float(self.triplet.margin_of(out["spec"], batch["lengths"]).mean())
        return terms
