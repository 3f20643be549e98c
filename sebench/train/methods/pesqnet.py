"""PESQNet-mediated training (paper 002 §III-C, §IV-B): an FCRN maximises wideband PESQ
through a non-intrusive PESQNet, the two networks trained in alternate epochs.

``protocol: alternate`` is the <1-1> second-stage fine-tuning. Epoch tau = 1, 2, ... (the
trainer's epoch + 1): in odd epochs the FCRN learns with PESQNet frozen from

    J_total = alpha * J_MSE + (1 - alpha) * (PESQNet(S_hat) - PESQ_max)^2,
    J_MSE   = beta * |S_hat - S|^2 + (1 - beta) * |S_hat - S_rev|^2     (eq. 7, clean_rev.scp)

with ``optim.se.accum_grad: epoch`` (the presets) so its gradients accumulate over the whole
epoch and apply in one update (their mean, as the paper says; ``epoch_grad: sum`` applies
their sum); in even epochs the FCRN is fixed and PESQNet learns (PESQNet - PESQ)^2 on the
current FCRN's outputs (and the noisy inputs, ``include_noisy``), labelled with true ITU-T
P.862.2 wideband PESQ against the dry clean speech. Labels are computed in worker
processes and cached by a hash of the audio and its reference, so an unchanged input (the
noisy ones every epoch, the outputs of a fixed FCRN) is scored once. ``alpha: 1`` is the
paper's placebo: the same schedule, PESQNet still trained, but the FCRN's loss is J_MSE only.

``protocol: pesqnet`` trains PESQNet alone on a fixed FCRN (protocol steps 2 and 3b, PESQNet
pre-training and first-stage fine-tuning); step 1 and 3a are ``supervised`` with
``loss: {name: joint_dereverb}``.

Options: ``protocol``, ``alpha``, ``beta``, ``target`` (PESQ_max, default the scale's top,
4.64), ``epoch_grad``, ``include_noisy``, ``label_workers``, ``init_from`` (the FCRN's start),
``pesqnet_from`` (a PESQNet model dir, or a pesqnet experiment: its ``model_pesqnet/``),
``pesqnet_model`` (PESQNet's config, a dict or YAML path; default ``conf/qp/pesqnet.yaml``).

``mse_bins``: ``half`` (J_MSE averaged over the n_fft/2 + 1 stored bins) or ``full`` (the
paper's 1/K sum over all K = n_fft bins of the Hermitian spectrum; see losses.py).

Validation terms: ``j_total_est`` (J_total with PESQNet's estimate: the paper's validation
loss, its Figs. 9 and 11), ``j_total_true`` (J_total with the *true* PESQ of the outputs in
place of the estimate, which the FCRN may have learnt to fool), ``j_mse``, ``pesqnet_est``,
``pesq`` (true), ``pesqnet_loss``, and PESQNet's accuracy on the validation outputs
(``pesqnet_mae``, ``pesqnet_lcc``...). ``loss`` is PESQNet's J_PESQ for ``protocol:
pesqnet``; for ``alternate`` it is chosen by ``valid_loss``: ``estimate`` (the paper keeps
"the DNS with the lowest validation loss and its PESQNet") or ``true_pesq`` (sebench's
alternative: select by the true PESQ). Exports: the FCRN as ``model/``, PESQNet as
``model_pesqnet/``, both from the selected checkpoint.
"""
import math
import os
from pathlib import Path

import torch

from sebench.config import load_yaml
from sebench.data.datadir import write_kv
from sebench.errors import ConfigError, SebenchError
from sebench.quality import build_predictor
from sebench.quality.labeller import Labeller
from sebench.scoring.stats import accuracy
from sebench.train.losses import JointDereverb
from sebench.train.methods.base import Export, TrainingMethod
from sebench.train.methods.common import clips, correlation_summary, pad

PESQNET_CONFIG = Path(__file__).resolve().parents[3] / "conf" / "qp" / "pesqnet.yaml"
PROTOCOLS = ("alternate", "pesqnet")
VALID_LOSSES = ("estimate", "true_pesq")


def fcrn_epoch(epoch):
    """True when the FCRN trains in the trainer's (0-based) ``epoch``: odd tau = epoch + 1."""
    return epoch % 2 == 0


class PESQNetMediated(TrainingMethod):
    options = {"protocol": "alternate", "alpha": 0.0, "beta": 0.9, "target": None,
               "epoch_grad": "mean", "include_noisy": True, "label_workers": 1,
               "init_from": None, "pesqnet_from": None, "pesqnet_model": None,
               "valid_loss": "estimate", "mse_bins": "half"}

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        o = self.opts
        if o["protocol"] not in PROTOCOLS:
            raise ConfigError(f"method_options.protocol must be one of {', '.join(PROTOCOLS)}, "
                              f"got {o['protocol']!r}")
        if o["epoch_grad"] not in ("mean", "sum"):
            raise ConfigError(f"method_options.epoch_grad must be mean or sum, got {o['epoch_grad']!r}")
        for key in ("alpha", "beta"):
            if not 0.0 <= o[key] <= 1.0:
                raise ConfigError(f"method_options.{key} must lie in [0, 1], got {o[key]}")
        if o["valid_loss"] not in VALID_LOSSES:
            raise ConfigError(f"method_options.valid_loss must be one of "
                              f"{', '.join(VALID_LOSSES)}, got {o['valid_loss']!r}")
        self.mse = JointDereverb(o["beta"], bins=o["mse_bins"])
        # clean: the reference of the true PESQ labels; clean_rev: J_noise (beta < 1)
        self.streams = {"train": self.mse.fields}
        self.valid_fields = self.mse.fields
        self.labeller = None
        self._valid_pairs = []          # (clip key, PESQNet estimate, true PESQ) of one validation

    # -- models -------------------------------------------------------------------------------
    def build_models(self):
        from sebench.train.methods.common import load_predictor
        se = self.build_se()
        if self.opts["pesqnet_from"]:
            path = self.opts["pesqnet_from"]
            if os.path.isdir(os.path.join(path, "model_pesqnet")):   # a pesqnet experiment
                path = os.path.join(path, "model_pesqnet")
            q = load_predictor(path, frozen=False)
            from sebench.models.store import read_config, resolve_model_dir
            self.pesqnet_cfg = read_config(resolve_model_dir(path))
        else:
            spec = self.opts["pesqnet_model"] or PESQNET_CONFIG
            self.pesqnet_cfg = spec if isinstance(spec, dict) else load_yaml(spec)
            q = build_predictor(self.pesqnet_cfg)
        self.scale = q.scale
        self.target = self.quality_target(self.scale)
        return {"se": se, "pesqnet": q}

    def optimizers(self):
        if self.opts["protocol"] == "pesqnet":
            return {"pesqnet": ["pesqnet"]}
        return {"se": ["se"], "pesqnet": ["pesqnet"]}

    def prepare(self, train_set):
        self.init_normalization(train_set)

    def labels(self, audios, references):
        """True wideband PESQ of each clip against its reference (cached by content)."""
        if self.labeller is None:
            self.labeller = Labeller("pesq", self.opts["label_workers"], self.module("se").fs)
            self.labeller.cache.update(getattr(self, "_restored_cache", {}))
        return self.labeller.label_now(audios, references)

    # -- training -------------------------------------------------------------------------------
    def train_step(self, batch):
        if self.opts["protocol"] == "alternate" and fcrn_epoch(self.trainer.state["epoch"]):
            return self._fcrn_step(batch)
        return self._pesqnet_step(batch)

    def _fcrn_step(self, batch):
        """J_total through the frozen PESQNet; alpha = 1 (placebo) leaves PESQNet out of it."""
        q, alpha = self.module("pesqnet"), self.opts["alpha"]
        for p in q.parameters():
            p.requires_grad_(False)
        try:
            with self.trainer.autocast():
                out = self.net("se")(batch["wav"])
                j_mse = self.mse(out, batch, self.module("se"))
                with torch.set_grad_enabled(alpha < 1):
                    est = q(out["wave"], batch["lengths"])
                j_pesqnet = (est - self.target) ** 2
                loss = (j_mse if alpha == 1 else alpha * j_mse + (1 - alpha) * j_pesqnet).mean()
            scale = 1.0
            if self.opts["epoch_grad"] == "sum" and self.trainer.optim["se"].accum == "epoch":
                scale = float(self.trainer.primary.batches_per_epoch())   # the trainer averages
            self.trainer.optimize("se", loss * scale)
        finally:
            for p in q.parameters():
                p.requires_grad_(True)
        return {"loss": float(loss.detach()), "j_mse": float(j_mse.detach().mean()),
                "pesqnet_est": float(self.scale.denormalize(est.detach()).mean())}

    def _enhanced_and_labels(self, batch, enhanced):
        """Clips PESQNet learns from or is validated on (the outputs, then the noisy inputs),
        their true PESQ, how many are outputs, and their keys; silent clips (no PESQ) are left
        out."""
        lengths = batch["lengths"]
        enhanced = clips(enhanced, lengths)
        refs = clips(batch["clean"], lengths)
        audios = enhanced + (clips(batch["wav"], lengths) if self.opts["include_noisy"] else [])
        labels = self.labels(audios, refs * (len(audios) // len(refs)))
        keys = list(batch["keys"]) + [f"{k}_noisy" for k in batch["keys"]]
        kept = [(a, y, k) for a, y, k in zip(audios, labels, keys) if not math.isnan(y)]
        n_enh = sum(1 for _, _, k in kept if not k.endswith("_noisy"))
        return [a for a, _, _ in kept], [y for _, y, _ in kept], n_enh, [k for _, _, k in kept]

    def _pesqnet_step(self, batch):
        with torch.no_grad():
            enhanced = self.module("se")(batch["wav"])["wave"]
        audios, labels, n_enh, _ = self._enhanced_and_labels(batch, enhanced)
        if not audios:
            return {}
        wave, lengths = pad(audios)
        wave, lengths = wave.to(self.trainer.device), lengths.to(self.trainer.device)
        target = self.scale.normalize(torch.tensor(labels, dtype=torch.float32, device=wave.device))
        with self.trainer.autocast():
            pred = self.net("pesqnet")(wave, lengths)
            loss = ((pred - target) ** 2).mean()
        self.trainer.optimize("pesqnet", loss)
        return {"pesqnet_loss": float(loss.detach()),
                "pesq": float(sum(labels[:n_enh]) / max(1, len(labels[:n_enh])))}

    # -- validation -------------------------------------------------------------------------------
    @torch.no_grad()
    def valid_step(self, batch):
        se, q = self.module("se"), self.module("pesqnet")
        out = se(batch["wav"])
        j_mse = float(self.mse(out, batch, se).mean())
        audios, labels, n_enh, keys = self._enhanced_and_labels(batch, out["wave"])
        if not audios:
            return {"j_mse": j_mse}
        wave, lengths = pad(audios)
        est = self.scale.denormalize(q(wave.to(self.trainer.device), lengths.to(wave.device)))
        est = est.float().cpu().tolist()
        self._valid_pairs += list(zip(keys, est, labels))
        enh_true, enh_est = labels[:n_enh], est[:n_enh]
        pesq = sum(enh_true) / len(enh_true) if enh_true else float("nan")
        pesqnet_loss = sum((e - y) ** 2 for e, y in zip(est, labels)) / len(labels)
        hi = self.scale.hi if self.opts["target"] is None else float(self.opts["target"])
        alpha, n = self.opts["alpha"], max(1, len(enh_true))
        j_total = {"estimate": alpha * j_mse + (1 - alpha) * sum((e - hi) ** 2 for e in enh_est) / n,
                   "true_pesq": alpha * j_mse + (1 - alpha) * sum((y - hi) ** 2 for y in enh_true) / n}
        loss = pesqnet_loss if self.opts["protocol"] == "pesqnet" else j_total[self.opts["valid_loss"]]
        return {"loss": loss, "j_mse": j_mse, "pesq": pesq, "pesqnet_loss": pesqnet_loss,
                "pesqnet_est": sum(enh_est) / max(1, len(enh_est)),
                "j_total_est": j_total["estimate"], "j_total_true": j_total["true_pesq"]}

    def valid_summary(self):
        """PESQNet's accuracy on this validation's clips; their predicted and true PESQ go to
        ``pesqnet_valid/utt2{pesqnet,pesq}`` with the scatter plot ``pesqnet_scatter.png``."""
        pairs, self._valid_pairs = self._valid_pairs, []
        if not pairs:
            return {}
        folder = os.path.join(self.trainer.exp_dir, "pesqnet_valid")
        os.makedirs(folder, exist_ok=True)
        write_kv(os.path.join(folder, "utt2pesqnet"), {k: f"{p:.4f}" for k, p, _ in pairs})
        write_kv(os.path.join(folder, "utt2pesq"), {k: f"{t:.4f}" for k, _, t in pairs})
        try:
            found = accuracy(os.path.join(folder, "utt2pesqnet"), os.path.join(folder, "utt2pesq"),
                             plot=os.path.join(self.trainer.exp_dir, "pesqnet_scatter.png"),
                             label="PESQ")
        except SebenchError:           # fewer than 3 scored clips
            found = correlation_summary([p for _, p, _ in pairs], [t for _, _, t in pairs])
        return {f"pesqnet_{k}": v for k, v in found.items() if k != "n"}

    def exports(self):
        return {"se": Export("se", self.cfg["model"]),
                "pesqnet": Export("pesqnet", self.pesqnet_cfg)}

    def state_dict(self):
        return {"label_cache": dict(self.labeller.cache) if self.labeller else
                getattr(self, "_restored_cache", {})}

    def load_state_dict(self, state):
        self._restored_cache = dict(state.get("label_cache") or {})
        if self.labeller:
            self.labeller.cache.update(self._restored_cache)

    def close(self):
        if self.labeller:
            self.labeller.close()
