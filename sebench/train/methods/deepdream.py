"""DeepDream-like training (paper 000 §3.2.1): a frozen predictor Q teaches SE on unpaired
real noisy speech z: L_SE = E_z[(Q(SE(z)) - MOS_max)^2]. Only SE is updated; its mask floor
keeps it from erasing speech. Q's own estimate is logged beside the independent metric
(background DNSMOS) so the fooling effect shows and cannot pick the checkpoint.
"""
import torch

from sebench.train.methods.base import TrainingMethod
from sebench.train.methods.common import load_predictor


class DeepDream(TrainingMethod):
    options = {"qp": None, "target": None, "init_from": None}
    teacher_guided = True

    def build_models(self):
        q = load_predictor(self.opts["qp"], frozen=True)
        self.scale = q.scale
        self.target = self.quality_target(self.scale)
        return {"se": self.build_se(), "q": q}

    def prepare(self, train_set):
        self.init_normalization(train_set)

    def teacher_loss(self, se, q, batch):
        out = se(batch["wav"])
        score = q(out["wave"], batch["lengths"])
        return ((score - self.target) ** 2).mean(), score

    def train_step(self, batch):
        self.module("q").eval()
        with self.trainer.autocast():
            loss, score = self.teacher_loss(self.net("se"), self.module("q"), batch)
        self.trainer.optimize("se", loss)
        return {"loss": float(loss.detach()),
                "teacher": float(self.scale.denormalize(score.detach()).mean())}

    @torch.no_grad()
    def valid_step(self, batch):
        loss, score = self.teacher_loss(self.module("se"), self.module("q"), batch)
        return {"loss": float(loss), "teacher": float(self.scale.denormalize(score).mean())}
