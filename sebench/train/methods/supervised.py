"""Supervised training on paired (noisy, clean) data with the configured loss terms
(``loss:`` section; ``mag_mse`` by default, see ``sebench/train/losses.py``).
``method_options.init_from``: start from a trained model of the same architecture (fine-tuning)."""
import torch

from sebench.train.losses import build_loss
from sebench.train.methods.base import TrainingMethod


class Supervised(TrainingMethod):
    options = {"init_from": None}
    reads_loss = True

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        self.loss = build_loss(cfg.get("loss"))
        self.streams = {"train": self.loss.fields}
        self.valid_fields = self.loss.fields

    def build_models(self):
        return {"se": self.build_se()}

    def prepare(self, train_set):
        self.init_normalization(train_set)

    def train_step(self, batch):
        with self.trainer.autocast():
            out = self.net("se")(batch["wav"])
            loss = self.loss(out, batch, self.module("se")).mean()
        self.trainer.optimize("se", loss)
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def valid_step(self, batch):
        out = self.module("se")(batch["wav"])
        return {"loss": float(self.loss(out, batch, self.module("se")).mean())}
