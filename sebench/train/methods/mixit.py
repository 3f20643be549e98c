"""Mixture invariant training (MixIT; Wisdom et al., NeurIPS 2020), speech-enhancement setting.

A mixture of mixtures x = y + n sums a real noisy recording y (``train`` stream) and a
noise-only clip n (``noise`` stream; scaled to a drawn ``snr`` relative to y, or added as
recorded with ``snr: null``). The model (``n_sources: M`` >= 2, e.g. ``cnn_blstm`` with
``n_sources: 3``) separates x into M sources, and the loss is the minimum over the 2^M
assignments of sources to the two mixtures of the summed per-mixture losses
(``sebench.train.mixit_loss``: negative SNR soft-thresholded at ``snr_max`` = 30 dB, the
paper's tau, or ``sisdr``). As in the paper's SE variant, the model's designated speech
slots (the first ``speech_sources``, default 1) must go with the noisy-speech mixture
(``constrain_speech``), so they learn speech and the others noise; the exported model
enhances with the sum of its speech slots (its ``wave`` output), so `sebench enhance` runs
it like any SE model. Validation adds a fixed noise per ``--valid`` utterance.
"""
import torch

from sebench.errors import ConfigError
from sebench.train.methods.base import TrainingMethod
from sebench.train.mixit_loss import LOSSES, assignments, mixit_loss
from sebench.train.noise_mix import check_snr_range, training_noise, validation_noise


class MixtureInvariantTraining(TrainingMethod):
    options = {"snr": [-5.0, 5.0], "loss": "snr", "snr_max": 30.0, "constrain_speech": True,
               "init_from": None}
    streams = {"train": ("wav",), "noise": ("wav",)}
    valid_fields = ("wav",)

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        self.snr = check_snr_range(self.opts["snr"], "snr")
        if self.opts["loss"] not in LOSSES:
            raise ConfigError(f"method_options.loss must be one of {sorted(LOSSES)}, "
                              f"got {self.opts['loss']!r}")

    def build_models(self):
        se = self.build_se()
        m, k = getattr(se, "n_sources", 1), getattr(se, "speech_sources", 1)
        if m < 2 or m <= k:
            raise ConfigError(f"method mixit needs a model with more sources than speech slots "
                              f"(e.g. cnn_blstm with n_sources: 3), got n_sources {m}, "
                              f"speech_sources {k}")
        self.mixing = assignments(m, range(k) if self.opts["constrain_speech"] else ())
        return {"se": se}

    def prepare(self, train_set):
        self.init_normalization(train_set)

    def loss(self, net, batch, noise):
        mixtures = torch.stack([batch["wav"], noise], dim=1)          # (B, 2, T)
        out = net(mixtures.sum(1))
        loss, best = mixit_loss(out["sources"], mixtures, batch["lengths"], self.mixing,
                                self.opts["loss"], self.opts["snr_max"])
        return loss.mean(), best

    def train_step(self, batch):
        data = batch["train"]
        noise, _ = training_noise(data, batch["noise"], self.cfg["seed"],
                                  self.trainer.state["step"], self.snr, "mixit-snr")
        with self.trainer.autocast():
            loss, _ = self.loss(self.net("se"), data, noise)
        self.trainer.optimize("se", loss)
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def valid_step(self, batch):
        noise = validation_noise(batch, self.trainer.streams["noise"].dataset, self.cfg["seed"],
                                 self.snr, "mixit-valid")
        loss, _ = self.loss(self.module("se"), batch, noise)
        return {"loss": float(loss)}
