"""Training a quality predictor: L_Q = E[(Q(x) - norm(y_x))^2] (paper 000 §3.1, PESQNet §III-B),
with labels y from the data dir's ``utt2<label_file>``."""
import torch

from sebench.quality import build_predictor
from sebench.quality.windows import score_in_windows, window_samples
from sebench.train.methods.base import Export, TrainingMethod
from sebench.train.methods.common import correlation_summary


class QualityRegression(TrainingMethod):
    options = {"label_file": "mos"}

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        self.field = f"label:{self.opts['label_file']}"
        self.streams = {"train": ("wav", self.field)}
        self.valid_fields = ("wav", self.field)
        label = dict((cfg["model"].get("label") or {}), name=self.opts["label_file"])
        self.model_cfg = dict(cfg["model"], kind="predictor", label=label)
        probe = build_predictor(self.model_cfg)
        self.scale = probe.scale
        # long validation files are scored in windows of the training crop (bounded memory)
        self.window = window_samples(cfg["data"].get("max_seconds"), probe.fs)
        self._pred, self._true = [], []

    def build_models(self):
        return {"q": build_predictor(self.model_cfg)}

    def optimizers(self):
        return {"q": ["q"]}

    def exports(self):
        return {"q": Export("q", self.model_cfg)}

    def regression_loss(self, q, wave, lengths, labels):
        pred = q(wave, lengths)
        return ((pred - self.scale.normalize(labels)) ** 2).mean(), pred

    def train_step(self, batch):
        with self.trainer.autocast():
            loss, _ = self.regression_loss(self.net("q"), batch["wav"], batch["lengths"],
                                           batch[self.field])
        self.trainer.optimize("q", loss)
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def valid_step(self, batch):
        pred = score_in_windows(self.module("q"), batch["wav"], batch["lengths"], self.window)
        loss = ((pred - self.scale.normalize(batch[self.field])) ** 2).mean()
        self._pred += self.scale.denormalize(pred).tolist()
        self._true += batch[self.field].tolist()
        return {"loss": float(loss)}

    def valid_summary(self):
        out = correlation_summary(self._pred, self._true)
        self._pred, self._true = [], []
        return out

    def enhance(self, wave):
        from sebench.errors import ConfigError
        raise ConfigError("a quality predictor has no enhanced output: train.valid_metrics "
                          "must stay empty for method qp")
