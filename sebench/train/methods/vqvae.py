"""Paper 001 stage 1: the split-codebook VQ-VAE on paired (mixture, clean, noise) data.

The loss is the registered terms ``vq_reconstruction`` (weights ``rec_d``, ``rec_s``,
``rec_n`` of the degraded, clean and noise reconstructions) + ``vq_codebook`` (VQ +
``beta`` x commitment, each over the three halves): the paper's losses. Logs the
codebook perplexity of each half (``ppl_s``, ``ppl_n``, ``ppl_d``) and the number of dead
codes restarted (``restarts``); ``method_options.restart_every`` (steps, 0 = never) sets how
often dead codes are re-seeded (random restart, see ``sebench/models/vqvae.py``).
Exports ``kind: vqvae``.
"""
import torch

from sebench.errors import ConfigError
from sebench.train.losses import build_loss
from sebench.train.methods.base import Export, TrainingMethod


class VQVAETraining(TrainingMethod):
    options = {"rec_d": 1.0, "rec_s": 1.0, "rec_n": 1.0, "beta": 0.25, "restart_every": 50}
    streams = {"train": ("wav", "clean", "noise")}
    valid_fields = ("wav", "clean", "noise")

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        o = self.opts
        self.loss = build_loss([
            {"name": "vq_reconstruction", "d": o["rec_d"], "s": o["rec_s"], "n": o["rec_n"]},
            {"name": "vq_codebook", "beta": o["beta"]}])

    def build_models(self):
        from sebench.models import build_model
        if self.cfg["model"].get("name") != "split_vqvae":
            raise ConfigError("method vqvae trains model name: split_vqvae, got "
                              f"{self.cfg['model'].get('name')!r}")
        return {"vqvae": build_model(self.cfg["model"])}

    def optimizers(self):
        return {"vqvae": ["vqvae"]}

    def prepare(self, train_set):
        self.init_normalization(train_set, "vqvae")

    def train_step(self, batch):
        model = self.module("vqvae")
        out = self.net("vqvae")(batch["wav"])
        loss = self.loss(out, batch, model).mean()
        self.trainer.optimize("vqvae", loss)
        model.update_usage(torch.cat([out["idx_s"].flatten(), out["idx_n"].flatten()]))
        restarts = 0
        every = self.opts["restart_every"]
        if every and (self.trainer.state["step"] + 1) % every == 0:
            restarts = model.restart_dead_codes(out["e"].detach())
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                # each rank re-seeded from its own batch: keep rank 0's codebook everywhere
                torch.distributed.broadcast(model.codebook.data, 0)
                torch.distributed.broadcast(model.usage, 0)
        return {"loss": float(loss.detach()), "restarts": float(restarts),
                **model.perplexities(out)}

    @torch.no_grad()
    def valid_step(self, batch):
        from sebench.train.vq_losses import VQReconstruction, triplet_margin
        model = self.module("vqvae")
        out = model(batch["wav"])
        terms = {"loss": float(self.loss(out, batch, model).mean())}
        terms.update({k: float(v.mean()) for k, v in
                      VQReconstruction().parts(out, batch, model).items()})
        terms["margin"] = float(triplet_margin(model, out, batch["lengths"]).mean())
        return dict(terms, **model.perplexities(out))

    def exports(self):
        return {"vqvae": Export("vqvae", dict(self.cfg["model"], kind="vqvae"))}

    def enhance(self, wave):
        raise ConfigError("vqvae: a VQ-VAE does not enhance; leave train.valid_metrics empty")
