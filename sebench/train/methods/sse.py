"""Paper 003's self-supervised enhancement: a clean autoencoder (``cae``), then a mixture
autoencoder (``mae``) that shares its latent space through the frozen CAE.

``cae`` trains a spectrogram VAE (``sebench.models.spec_vae``, ``kind: vae``) on clean
speech (stream ``clean``): L_CAE = L_recon + kl_weight * KL.

``mae`` trains a second VAE on mixtures (stream ``mix``) with the CAE of another experiment
(``method_options.cae``) frozen: L_MAE = L_M + L_cyc + L_N + kl_weight * KL, where mixture
clips get L_M + L_cyc and noise-only clips L_N (``sebench/train/vae_losses.py``). Noise-only
clips come from

- ``noise_share`` > 0: a second stream ``noise`` (``--train noise=DIR``); that share of the
  training clips (exactly, over the steps) is taken from it in place of mixtures;
- ``noise_threshold_db``: clips of the mixture stream whose mean power is below this many dB
  full scale (the paper's energy threshold; silent stretches of real recordings).

Remedies for the MAE's collapse to small codes (options, off by default; the paper-size
preset's choice is in docs/papers/003.md): ``noise_level: in_mixture`` scales noise-only clips
to the level the same noise has inside a mixture (stream clips: ``input_level_db`` minus
10 log10(1 + 10^(SNR/10)), SNR drawn per clip from ``noise_snr_range``; thresholded glimpses:
the batch's mixture gain) instead of normalising them like mixtures; ``init_from_cae`` starts
E_m/D_m from E_c/D_c (every tensor whose name and shape match); the model's
``posterior_std``/``posterior_std_min`` (``sebench.models.spec_vae``) fix or floor sigma.

It exports the enhancer D_c(E_m(.)) with the mixture phase as one ``composite`` model
(``model/``, name ``sse``; ``sebench enhance EXP`` runs it) and the MAE alone (``model_mae/``).
"""
import math

import torch

from sebench.errors import ConfigError
from sebench.models.spec_vae import SpecVAE, enhance_spectrogram
from sebench.simulate.seeding import item_rng
from sebench.train.losses import LOSSES, frame_mask, sample_mask
from sebench.train.methods.base import Export, TrainingMethod
from sebench.utils.log import get_logger

log = get_logger("sebench.train")


def build_vae(cfg, what):
    from sebench.models import build_model
    model = build_model(cfg)
    if not isinstance(model, SpecVAE):
        raise ConfigError(f"method {what}: the model must be a spec_vae (kind: vae), got "
                          f"{cfg.get('name')!r}")
    return model


def vae_config(cfg):
    return dict(cfg, kind="vae")


def noise_only(wave, lengths, threshold_db):
    """(B,) bool: clips whose mean power over their true length is below ``threshold_db`` dBFS."""
    valid = sample_mask(lengths, wave.shape[-1], wave.device).to(wave.dtype)
    power = (wave ** 2 * valid).sum(-1) / valid.sum(-1).clamp_min(1)
    return 10 * torch.log10(power + 1e-12) < float(threshold_db)


def noise_rows(step, share, batch_size):
    """How many clips of step ``step``'s batch come from the noise stream: the count that
    keeps the running total at floor(steps * share * batch_size) (exact share, resumable)."""
    total = share * batch_size
    return int(math.floor((step + 1) * total + 1e-9) - math.floor(step * total + 1e-9))


def fit_length(wave, lengths, samples):
    """Zero-pad or crop a batch to ``samples`` (to stack clips of two streams)."""
    if wave.shape[-1] >= samples:
        return wave[:, :samples], lengths.clamp_max(samples)
    return torch.nn.functional.pad(wave, (0, samples - wave.shape[-1])), lengths


def in_mixture_level_db(level_db, snr_db):
    """The level of the noise inside a mixture normalised to ``level_db`` at ``snr_db``."""
    return level_db - 10.0 * math.log10(1.0 + 10.0 ** (snr_db / 10.0))


def copy_matching(target, source):
    """Copy every tensor of ``source``'s state whose name and shape ``target`` shares;
    returns how many were copied."""
    own = target.state_dict()
    shared = {k: v for k, v in source.state_dict().items()
              if k in own and own[k].shape == v.shape}
    target.load_state_dict(shared, strict=False)
    return len(shared)


class CleanAutoencoder(TrainingMethod):
    options = {"kl_weight": 0.001}       # lambda_1 (the paper gives no value)
    streams = {"clean": ("wav",)}

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        self.recon, self.kl = LOSSES.build("vae_recon"), LOSSES.build("vae_kl")

    def build_models(self):
        return {"cae": build_vae(self.cfg["model"], "cae")}

    def optimizers(self):
        return {"cae": ["cae"]}

    def losses(self, net, batch):
        model = self.module("cae")
        mag, _ = model.magnitude(batch["wav"], batch["lengths"])
        mask = frame_mask(batch["lengths"], mag.shape[-1], model.stft_cfg.hop_length, mag.device)
        out = dict(net(mag, mask), mag=mag, mask=mask)
        recon, kl = self.recon(out).mean(), self.kl(out).mean()
        return recon + self.opts["kl_weight"] * kl, {"recon": float(recon.detach()), "kl": float(kl.detach())}

    def train_step(self, batch):
        loss, terms = self.losses(self.net("cae"), batch)
        self.trainer.optimize("cae", loss)
        return dict(terms, loss=float(loss.detach()))

    @torch.no_grad()
    def valid_step(self, batch):
        loss, terms = self.losses(self.module("cae"), batch)
        return dict(terms, loss=float(loss))

    def enhance(self, wave):     # D_c(E_c(.)): a CAE only reconstructs its input
        return enhance_spectrogram(self.module("cae"), self.module("cae"), wave)["wave"]

    def exports(self):
        return {"cae": Export("cae", vae_config(self.cfg["model"]))}


class MixtureAutoencoder(TrainingMethod):
    options = {"cae": None,                  # the trained CAE (experiment, model dir or zip)
               "kl_weight": 0.001,           # lambda_4
               "latent_weight": 1.0,         # lambda_2 (cycle: latent term)
               "silence_weight": 1.0,        # lambda_3 (noise example: D_c(h_N) -> 0)
               "noise_share": 0.0,           # share of training clips from the noise stream
               "noise_threshold_db": None,   # mixture clips below this dBFS are noise-only
               "noise_level": "normalised",  # or in_mixture (see the module docstring)
               "noise_snr_range": [-5.0, 20.0],   # mixture SNRs (dB) for in_mixture
               "init_from_cae": False}       # start E_m/D_m from E_c/D_c where shapes match

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        share = float(self.opts["noise_share"])
        if not 0.0 <= share < 1.0:
            raise ConfigError(f"method_options.noise_share must be in [0, 1), got {share}")
        if not self.opts["cae"]:
            raise ConfigError("method mae needs the trained clean autoencoder: "
                              "method_options.cae=EXP_DIR (from `sebench train --method cae`)")
        if self.opts["noise_level"] not in ("normalised", "in_mixture"):
            raise ConfigError("method_options.noise_level must be normalised or in_mixture, "
                              f"got {self.opts['noise_level']!r}")
        snrs = self.opts["noise_snr_range"]
        if not (isinstance(snrs, (list, tuple)) and len(snrs) == 2
                and float(snrs[0]) <= float(snrs[1])):
            raise ConfigError(f"method_options.noise_snr_range must be [low, high] dB, got {snrs}")
        self.streams = {"mix": ("wav",), "noise": ("wav",)} if share > 0 else {"mix": ("wav",)}
        self.valid_fields = ("wav",)
        self.recon = LOSSES.build("vae_recon")
        self.kl = LOSSES.build("vae_kl")
        self.cycle = LOSSES.build("vae_cycle", latent_weight=self.opts["latent_weight"])
        self.noise = LOSSES.build("vae_noise", silence_weight=self.opts["silence_weight"])

    def build_models(self):
        from sebench.models.store import load_model
        mae = build_vae(self.cfg["model"], "mae")
        cae, self.cae_cfg = load_model(self.opts["cae"], kinds={"vae"})
        if not isinstance(cae, SpecVAE):
            raise ConfigError(f"method_options.cae {self.opts['cae']}: not a spec_vae model")
        if cae.stft_cfg != mae.stft_cfg or cae.latent_dim != mae.latent_dim or cae.fs != mae.fs:
            raise ConfigError(f"method_options.cae {self.opts['cae']}: its rate, STFT or latent "
                              "size differs from this MAE's model config")
        if self.opts["noise_level"] == "in_mixture" and mae.input_level_db is None:
            raise ConfigError("method_options.noise_level in_mixture needs the model's "
                              "input_level_db (mixtures are not level-normalised)")
        if self.opts["init_from_cae"]:
            copied = copy_matching(mae, cae)
            log.info("init_from_cae: %d of the MAE's %d tensors started from the CAE", copied,
                     len(mae.state_dict()))
        for p in cae.parameters():
            p.requires_grad_(False)
        return {"mae": mae, "cae": cae}

    def optimizers(self):
        return {"mae": ["mae"]}

    def noise_gains(self, wave, lengths, is_noise, from_stream):
        """(B, 1) input gains: mixtures normalised; with ``noise_level: in_mixture`` noise
        rows at their in-mixture level (None: every row normalised)."""
        if self.opts["noise_level"] != "in_mixture" or not bool(is_noise.any()):
            return None
        model = self.module("mae")
        gain = model.level_gain(wave, lengths)
        # a thresholded glimpse is a stretch of a mixture recording: the mixtures' gain
        mixture = ~is_noise
        batch_gain = gain[mixture].log().mean().exp() if bool(mixture.any()) else None
        rng = item_rng(self.cfg["seed"], self.trainer.state["step"], "noise_level")
        low, high = (float(v) for v in self.opts["noise_snr_range"])
        rows = []
        for i in range(len(wave)):
            if is_noise[i] and from_stream[i]:
                snr = float(rng.uniform(low, high)) if high > low else low
                shift = in_mixture_level_db(model.input_level_db, snr) - model.input_level_db
                rows.append(gain[i] * 10.0 ** (shift / 20.0))
            elif is_noise[i] and batch_gain is not None:
                rows.append(batch_gain.reshape(1))
            else:
                rows.append(gain[i])
        return torch.stack(rows)

    def losses(self, net, wave, lengths, is_noise, gain=None):
        cae = self.module("cae").eval()          # frozen: BatchNorm keeps its statistics
        model = self.module("mae")
        mag, _ = model.magnitude(wave, lengths, gain)
        mask = frame_mask(lengths, mag.shape[-1], model.stft_cfg.hop_length, mag.device)
        out = dict(net(mag, mask, cycle_through=cae), mag=mag, mask=mask)
        noise = is_noise.to(mag.dtype)
        recon, cycle, kl = self.recon(out), self.cycle(out), self.kl(out)
        per_utt = (1 - noise) * (recon + cycle) + noise * self.noise(out) \
            + self.opts["kl_weight"] * kl
        terms = {"recon": float(recon.detach().mean()), "cycle": float(cycle.detach().mean()),
                 "kl": float(kl.detach().mean()), "noise_clips": float(noise.mean())}
        return per_utt.mean(), terms

    def _detected(self, wave, lengths):
        if self.opts["noise_threshold_db"] is None:
            return torch.zeros(len(wave), dtype=torch.bool, device=wave.device)
        return noise_only(wave, lengths, self.opts["noise_threshold_db"])

    def train_step(self, batch):
        mix = batch["mix"] if "noise" in self.streams else batch
        wave, lengths = mix["wav"], mix["lengths"]
        is_noise = self._detected(wave, lengths)
        from_stream = torch.zeros_like(is_noise)
        if "noise" in self.streams:
            k = min(len(wave), noise_rows(self.trainer.state["step"], self.opts["noise_share"],
                                          len(wave)))
            if k:
                noise_wave, noise_len = fit_length(batch["noise"]["wav"][:k],
                                                   batch["noise"]["lengths"][:k], wave.shape[-1])
                wave = torch.cat([noise_wave, wave[k:]])
                lengths = torch.cat([noise_len, lengths[k:]])
                is_noise = torch.cat([torch.ones(k, dtype=torch.bool, device=wave.device),
                                      is_noise[k:]])
                from_stream = torch.arange(len(wave), device=wave.device) < k
        gain = self.noise_gains(wave, lengths, is_noise, from_stream)
        loss, terms = self.losses(self.net("mae"), wave, lengths, is_noise, gain)
        self.trainer.optimize("mae", loss)
        return dict(terms, loss=float(loss.detach()))

    @torch.no_grad()
    def valid_step(self, batch):
        wave, lengths = batch["wav"], batch["lengths"]
        is_noise = self._detected(wave, lengths)
        gain = self.noise_gains(wave, lengths, is_noise, torch.zeros_like(is_noise))
        loss, terms = self.losses(self.module("mae"), wave, lengths, is_noise, gain)
        return dict(terms, loss=float(loss))

    def enhance(self, wave):
        return enhance_spectrogram(self.module("mae"), self.module("cae"), wave)["wave"]

    def exports(self):
        mae_cfg = vae_config(self.cfg["model"])
        cae_cfg = vae_config(self.cae_cfg)
        return {"sse": Export({"mae": "mae", "cae": "cae"},
                              {"kind": "composite", "name": "sse",
                               "parts": {"mae": mae_cfg, "cae": cae_cfg}}),
                "mae": Export("mae", mae_cfg)}
