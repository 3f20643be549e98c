"""MetricGAN-style training (paper 000 §3.2.2): SE and a quality discriminator D alternate.

L_D = E_x[(D(x) - MOS_x)^2 + (D(SE(x)) - MOS_SE(x))^2] with MOS from ``label_metric``
(a DNSMOS score, or ``pesq`` for paired data), recomputed for
the current SE outputs; L_SE = E[(D(SE(x)) - MOS_max)^2]. D starts from random weights.
DNSMOS labels of the noisy inputs are cached by content (never rescored); outputs are
scored in worker processes. With ``async_labels`` D trains on a replay buffer of labelled
past outputs (MetricGAN+'s historical set) while the newest outputs are being scored.
Staleness is bounded: ``max_label_age`` (in SE steps) drops older outputs from the buffer
and makes the step wait (backpressure) for outputs that would otherwise age past it, so D
never learns from outputs more than that many SE updates old; ``max_pending`` caps the
audio queued for scoring (memory stays flat). ``label_age`` / ``label_age_max`` in
train_log.csv are the ages of the outputs D learnt from. ``async_labels: false`` waits
every step (exact MetricGAN order, bit-exact resume); with ``max_label_age: 0`` as well, D
learns from the current outputs only (paper 000's L_D, no history).
"""
import time

import torch

from sebench.errors import ConfigError
from sebench.quality import build_predictor
from sebench.quality.labeller import INTRUSIVE_LABELS, Labeller
from sebench.simulate.seeding import item_rng
from sebench.train.methods.base import TrainingMethod
from sebench.train.methods.common import clips, pad

D_DEFAULT = {"kind": "predictor", "name": "cnn", "label": {"norm": "linear", "lo": 1.0, "hi": 5.0}}


class MetricGAN(TrainingMethod):
    options = {"label_metric": "p808", "label_workers": 1, "async_labels": True, "replay_size": 200,
               "replay_per_step": 4, "order": ["d", "se"], "d_steps": 1, "d_model": None,
               "target": None, "init_from": None, "label_per_step": None, "max_label_age": 2,
               "max_pending": 64}
    teacher_guided = True

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        bad = [p for p in self.opts["order"] if p not in ("d", "se")]
        if bad or not self.opts["order"]:
            raise ConfigError(f"method_options.order: entries are 'd' and 'se', got "
                              f"{self.opts['order']!r}")
        if self.opts["label_metric"] in INTRUSIVE_LABELS:    # e.g. true PESQ: paired data
            self.streams = {"train": ("wav", "clean")}
            self.valid_fields = ("wav",)
        for name in ("max_label_age", "max_pending"):
            value = self.opts[name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < (0 if name == "max_label_age" else 1)):
                raise ConfigError(f"method_options.{name}: an integer >= "
                                  f"{0 if name == 'max_label_age' else 1} or null, got {value!r}")
        self.replay = []          # [(audio array, MOS, SE step that produced it)] of past outputs
        self.labeller = None
        self._draws = 0

    def build_models(self):
        se = self.build_se()
        d = build_predictor(self.opts["d_model"] or D_DEFAULT)
        self.scale = d.scale
        self.target = self.quality_target(self.scale)
        self.labeller = Labeller(self.opts["label_metric"], self.opts["label_workers"], se.fs,
                                 max_pending=self.opts["max_pending"])
        return {"se": se, "d": d}

    def optimizers(self):
        return {"se": ["se"], "d": ["d"]}

    def prepare(self, train_set):
        self.init_normalization(train_set)

    def _d_step(self, batch, timing):
        se, d = self.module("se"), self.net("d")
        with torch.no_grad():
            enhanced = clips(se(batch["wav"])["wave"], batch["lengths"])
        noisy = clips(batch["wav"], batch["lengths"])
        refs = clips(batch["clean"], batch["lengths"]) if self.labeller.intrusive else None
        t0 = time.perf_counter()
        n_new = self.opts["label_per_step"] or len(enhanced)
        new_refs = refs[:n_new] if refs else None
        mos_x = self.labeller.label_now(noisy, refs)     # cached: each input scored once
        step, max_age = self.trainer.state["step"], self.opts["max_label_age"]
        outputs = enhanced[:n_new]
        if self.opts["async_labels"]:
            self.labeller.submit(outputs, [(a, step) for a in outputs], new_refs, cache=False)
            first = not self.replay                       # the very first step waits
            fresh = self.labeller.collect(wait_for=lambda p: first or (
                max_age is not None and step - p[1] >= max_age))
            fresh = [(a, s, at) for (a, at), s in fresh]
        else:
            fresh = list(zip(outputs, self.labeller.label_now(outputs, new_refs, cache=False),
                             [step] * len(outputs)))
        timing["label"] += time.perf_counter() - t0
        replay = self.replay + [(a, s, at) for a, s, at in fresh if s == s]
        if max_age is not None:
            replay = [r for r in replay if step - r[2] <= max_age]
        self.replay = replay[-int(self.opts["replay_size"]):]
        rng = item_rng(self.cfg["seed"], self._draws, "replay")
        self._draws += 1
        k = min(len(self.replay), int(self.opts["replay_per_step"]))
        picked = [self.replay[i] for i in rng.choice(len(self.replay), k, replace=False)] if k else []
        ages = [step - at for _, _, at in picked]
        audios = noisy + [a for a, _, _ in picked]
        labels = torch.tensor(mos_x + [s for _, s, _ in picked], dtype=torch.float32)
        t0 = time.perf_counter()
        wave, lengths = pad(audios)
        wave, lengths = wave.to(self.trainer.device), lengths.to(self.trainer.device)
        with self.trainer.autocast():
            pred = d(wave, lengths)
            loss = ((pred - self.scale.normalize(labels.to(pred.device))) ** 2).mean()
        self.trainer.optimize("d", loss)
        timing["d"] += time.perf_counter() - t0
        out = {"d_loss": float(loss.detach()),
               "replay_mos": float(labels[len(noisy):].mean()) if picked else float("nan")}
        if ages:      # absent (not NaN) while nothing is labelled, so log means stay finite
            out.update(label_age=sum(ages) / len(ages), label_age_max=max(ages))
        return out

    def _se_step(self, batch, timing):
        t0 = time.perf_counter()
        d = self.module("d")
        for p in d.parameters():
            p.requires_grad_(False)
        try:
            with self.trainer.autocast():
                out = self.net("se")(batch["wav"])
                score = d(out["wave"], batch["lengths"])
                loss = ((score - self.target) ** 2).mean()
            self.trainer.optimize("se", loss)
        finally:
            for p in d.parameters():
                p.requires_grad_(True)
        timing["se"] += time.perf_counter() - t0
        return float(loss.detach()), float(self.scale.denormalize(score.detach()).mean())

    def train_step(self, batch):
        timing = {"se": 0.0, "d": 0.0, "label": 0.0}
        out = {}
        for phase in self.opts["order"]:
            if phase == "d":
                for _ in range(int(self.opts["d_steps"])):
                    out.update(self._d_step(batch, timing))
            else:
                out["loss"], out["teacher"] = self._se_step(batch, timing)
        out.update({f"time_{k}": v for k, v in timing.items()})
        return out

    @torch.no_grad()
    def valid_step(self, batch):
        out = self.module("se")(batch["wav"])
        score = self.module("d")(out["wave"], batch["lengths"])
        return {"loss": float(((score - self.target) ** 2).mean()),
                "teacher": float(self.scale.denormalize(score).mean())}

    def state_dict(self):
        return {"replay": self.replay, "draws": self._draws,
                "label_cache": self.labeller.cache if self.labeller else {}}

    def load_state_dict(self, state):
        # replay entries of checkpoints without the producing step count as step 0 (too old)
        self.replay = [r if len(r) == 3 else (r[0], r[1], 0) for r in state["replay"]]
        self._draws = state["draws"]
        if self.labeller:
            self.labeller.cache.update(state["label_cache"])

    def close(self):
        if self.labeller:
            self.labeller.close()
