"""Supervised training on paired (noisy, clean) data with a spectral or SI-SDR loss."""
import torch

from sebench.train.losses import SupervisedLoss
from sebench.train.methods.base import TrainingMethod


class Supervised(TrainingMethod):
    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        loss_cfg = cfg.get("loss") or {}
        self.loss = SupervisedLoss(loss_cfg.get("name", "mag_mse"), loss_cfg.get("beta", 0.0),
                                   loss_cfg.get("stft"))
        self.train_fields = self.valid_fields = self.loss.fields

    def build_models(self):
        return {"se": self.build_se()}

    def prepare(self, train_set):
        self.init_normalization(train_set)

    def train_step(self, batch):
        se = self.trainer.models["se"]
        with self.trainer.autocast():
            out = se(batch["wav"])
            loss = self.loss(self.model("se"), out, batch)
        self.trainer.optimize("se", loss)
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def valid_step(self, batch):
        out = self.model("se")(batch["wav"])
        return {"loss": float(self.loss(self.model("se"), out, batch))}
