"""Noisy-target training (NyTT; Fujimura et al., EUSIPCO 2021) and its enhanced-target
iteration (EnhTT).

No clean speech: a real noisy recording y gets an extra noise n from the ``noise`` stream
(``--train train=REAL --train noise=NOISE``) at an SNR drawn from ``snr`` (dB, relative to
y, seeded per step); the model maps y + g n back to y with the ``loss:`` terms (``mag_mse``
by default; the terms' ``clean`` is the target). Since the added noise is independent of y,
the expected loss is minimised by removing it, and the model learns to remove noise.

``target_update_every: N`` > 0 (EnhTT, ours as a switch): at steps N, 2N, ... a frozen copy
of the SE model is taken, and from then on the target is that copy's output on y instead of
y itself (the input stays y + g n). The copy is a model of the checkpoint, so resume is
exact. Validation adds a fixed noise per utterance (seeded by its key) to ``--valid``.
"""
import copy

import torch

from sebench.errors import ConfigError
from sebench.train.losses import build_loss
from sebench.train.methods.base import TrainingMethod
from sebench.train.noise_mix import check_snr_range, training_noise, validation_noise


class NoisyTargetTraining(TrainingMethod):
    options = {"snr": [-5.0, 5.0], "target_update_every": 0, "init_from": None}
    streams = {"train": ("wav",), "noise": ("wav",)}
    valid_fields = ("wav",)
    reads_loss = True

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        self.snr = check_snr_range(self.opts["snr"], "snr")
        if self.snr is None:
            raise ConfigError("method_options.snr: NyTT needs an SNR range [lo, hi] in dB")
        if int(self.opts["target_update_every"]) < 0:
            raise ConfigError("method_options.target_update_every must be >= 0 (0: plain NyTT)")
        self.loss = build_loss(cfg.get("loss"))
        self.target_updates = []       # steps at which the target network was refreshed

    def build_models(self):
        se = self.build_se()
        models = {"se": se}
        if int(self.opts["target_update_every"]):
            models["target"] = copy.deepcopy(se).requires_grad_(False)
        return models

    def prepare(self, train_set):
        self.init_normalization(train_set)

    def _uses_model_target(self):
        every = int(self.opts["target_update_every"])
        return bool(every) and self.trainer.state["step"] >= every

    def _refresh_target(self):
        every, step = int(self.opts["target_update_every"]), self.trainer.state["step"]
        if every and step and step % every == 0:
            self.module("target").load_state_dict(self.module("se").state_dict())
            self.target_updates.append(step)

    @torch.no_grad()
    def target(self, wav):
        """The training target for noisy recordings ``wav``: y itself, or the frozen copy's
        estimate of it (EnhTT, once the first copy was taken)."""
        if not self._uses_model_target():
            return wav
        net = self.module("target").eval()
        return net(wav)["wave"]

    def pair(self, batch, noise):
        """The pseudo-pair the loss terms read: input y + g n, target (``clean``) y or f(y)."""
        target = self.target(batch["wav"])
        return {"wav": batch["wav"] + noise, "clean": target, "clean_rev": target,
                "lengths": batch["lengths"], "keys": batch["keys"]}

    def train_step(self, batch):
        self._refresh_target()
        data, noise_batch = batch["train"], batch["noise"]
        noise, snrs = training_noise(data, noise_batch, self.cfg["seed"],
                                     self.trainer.state["step"], self.snr, "nytt-snr")
        pair = self.pair(data, noise)
        with self.trainer.autocast():
            out = self.net("se")(pair["wav"])
            loss = self.loss(out, pair, self.module("se")).mean()
        self.trainer.optimize("se", loss)
        return {"loss": float(loss.detach()), "snr": float(snrs.mean())}

    def state_dict(self):
        return {"target_updates": list(self.target_updates)}

    def load_state_dict(self, state):
        self.target_updates = list(state.get("target_updates", []))

    @torch.no_grad()
    def valid_step(self, batch):
        noise = validation_noise(batch, self.trainer.streams["noise"].dataset, self.cfg["seed"],
                                 self.snr, "nytt-valid")
        pair = self.pair(batch, noise)
        out = self.module("se")(pair["wav"])
        return {"loss": float(self.loss(out, pair, self.module("se")).mean())}
