"""Robust-Q (paper 000 §3.2.3): adversarial training of the quality predictor.

Each step attacks Q with Algorithm 1 on the batch (Y = max(|X| - N, 0) pushed towards
MOS_max), resynthesises Y with the noisy phase, labels it with DNSMOS (MOS_Y), and trains Q
on both (x, MOS_x) and (Y, MOS_Y), so Q stops rewarding what merely fools it. The trained
Q then enhances on its own: `sebench enhance robust_q:EXP` (or `--robust-q EXP`).
"""
import torch

from sebench.errors import ConfigError
from sebench.quality.attack import algorithm1_wave
from sebench.quality.labeller import DNSMOS_LABELS, Labeller
from sebench.train.methods.common import clips, init_from
from sebench.train.methods.qp import QualityRegression


class RobustQ(QualityRegression):
    options = {"label_file": "mos", "attack_label": "p808", "init_from": None, "attack_steps": 10,
               "attack_lr": 0.1, "attack_step": "normalized", "label_workers": 1, "target": None}

    def build_models(self):
        models = super().build_models()
        if self.opts["init_from"]:
            init_from(models["q"], self.opts["init_from"])
        if self.opts["attack_label"] not in DNSMOS_LABELS:
            raise ConfigError(f"method_options.attack_label: a DNSMOS label "
                              f"({', '.join(DNSMOS_LABELS)}), got {self.opts['attack_label']!r}")
        self.labeller = Labeller(self.opts["attack_label"], self.opts["label_workers"],
                                 models["q"].fs)
        self.target = self.quality_target(self.scale)
        return models

    def train_step(self, batch):
        q = self.module("q")
        attacked, history = algorithm1_wave(q, batch["wav"], self.target, self.opts["attack_steps"],
                                            self.opts["attack_lr"], batch["lengths"],
                                            self.opts["attack_step"])
        mos_y = torch.tensor(self.labeller.label_now(clips(attacked, batch["lengths"])),
                             device=attacked.device)
        keep = torch.isfinite(mos_y)
        with self.trainer.autocast():
            loss_x, _ = self.regression_loss(self.net("q"), batch["wav"],
                                             batch["lengths"], batch[self.field])
            loss_y = loss_x.new_zeros(())
            if keep.any():
                loss_y, _ = self.regression_loss(self.net("q"), attacked[keep],
                                                 batch["lengths"][keep], mos_y[keep])
            loss = loss_x + loss_y
        self.trainer.optimize("q", loss)
        gain = self.scale.denormalize(history[-1]) - self.scale.denormalize(history[0])
        return {"loss": float(loss.detach()), "loss_attacked": float(loss_y.detach()),
                "attack_gain": float(gain.mean()), "mos_attacked": float(mos_y[keep].mean())
                if keep.any() else float("nan")}

    def state_dict(self):
        return {"label_cache": self.labeller.cache}

    def load_state_dict(self, state):
        self.labeller.cache.update(state.get("label_cache", {}))

    def close(self):
        self.labeller.close()
