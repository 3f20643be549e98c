"""Probes of paper 003's trained VAEs on a paired test set: where the enhancer's ceiling is and
whether the MAE's codes collapsed (``bench/sse_probe.py`` prints them).

- ``ceiling``: D_c(E_c(|S|)) with the mixture's phase, the best D_c(E_m(y)) can do (perfect codes);
- ``cae_on_mixture``: D_c(E_c(|Y|)), the CAE alone on the mixture;
- ``enhanced``: D_c(E_m(|Y|)), the method's output; ``noisy``: the input itself;
- ``silence_db``: the mean power of D_c(0) relative to the mean power of clean speech frames
  (both at the model's input level): what "decode to silence" can reach at best;
- ``latent``: per VAE, its mean head's BatchNorm gamma/beta (mean over channels), the mean
  posterior log-variance and the within-utterance code std (over frames, averaged over
  channels and utterances): the CAE's on clean speech, the MAE's on the mixtures.
"""
import math

import numpy as np
import torch

from sebench.audio.io import read
from sebench.audio.stft import istft
from sebench.data import DataDir
from sebench.metrics.composite import composite
from sebench.metrics.intrusive import pesq_wb, si_sdr
from sebench.models.spec_vae import enhance_spectrogram

SYSTEMS = ("noisy", "ceiling", "cae_on_mixture", "enhanced")


@torch.no_grad()
def oracle_codes_estimate(cae, clean, mixture):
    """D_c(E_c(|S|)) with the mixture phase, at the mixture's scale: (samples,) arrays."""
    s = torch.as_tensor(clean, dtype=torch.float32)[None]
    y = torch.as_tensor(mixture, dtype=torch.float32)[None]
    mag, _ = cae.magnitude(s)
    _, spec_y = cae.magnitude(y)
    est_mag = cae.decode(cae.encode(mag)[0]) / cae.level_gain(s)[:, :, None]
    phase = spec_y / spec_y.abs().clamp_min(1e-8)
    return istft(est_mag * phase, cae.stft_cfg, length=y.shape[-1])[0].numpy()


@torch.no_grad()
def silence_floor_db(cae, clean_waves, frames=100):
    """10 log10(mean |D_c(0)|^2 / mean |S|^2 over clean frames above -40 dB of the utterance's
    loudest): how loud "silence" decodes, against speech, at the normalised level."""
    zero = torch.zeros(1, cae.latent_dim, frames)
    floor = cae.decode(zero)[:, :, frames // 4: -frames // 4].pow(2).mean()
    speech = []
    for wave in clean_waves:
        mag, _ = cae.magnitude(torch.as_tensor(wave, dtype=torch.float32)[None])
        energy = mag.pow(2).mean(1)[0]
        speech.append(energy[energy > energy.max() * 1e-4])
    return 10 * math.log10(float(floor) / float(torch.cat(speech).mean()))


@torch.no_grad()
def latent_stats(vae, waves):
    """The VAE's latent statistics on ``waves`` (see the module docstring)."""
    bn = vae.mean_head[1]
    logvars, stds = [], []
    for wave in waves:
        mag, _ = vae.magnitude(torch.as_tensor(wave, dtype=torch.float32)[None])
        mu, logvar = vae.encode(mag)
        logvars.append(float(logvar.mean()))
        stds.append(float(mu.std(-1).mean()))
    return {"bn_gamma": float(bn.weight.mean()), "bn_beta": float(bn.bias.mean()),
            "logvar": float(np.mean(logvars)), "code_std": float(np.mean(stds))}


def score(clean, estimate, fs):
    """SI-SDR, PESQ-WB and COVL of one estimate."""
    pesq = pesq_wb(clean, estimate, fs)
    return {"sisdr": si_sdr(clean, estimate), "pesq_wb": pesq,
            "covl": composite(clean, estimate, fs, pesq_value=pesq)["covl"]}


def probe(sse, test_dir, limit=None, systems=SYSTEMS):
    """All probes of a trained ``sse`` composite (its parts ``mae``, ``cae``) on the paired
    data dir ``test_dir`` (wav.scp, clean.scp); ``limit``: the first N utterances;
    ``systems``: the outputs scored (the CAE-only ones repeat for MAEs sharing a CAE)."""
    mae, cae = sse.parts["mae"].eval(), sse.parts["cae"].eval()
    data = DataDir(test_dir)
    wav, ref = data.read("wav.scp"), data.read("clean.scp")
    keys = sorted(wav)[:limit] if limit else sorted(wav)
    scores = {name: [] for name in systems}
    cleans, mixtures = [], []
    for key in keys:
        mixture, fs = read(wav[key])
        clean, _ = read(ref[key])
        cleans.append(clean)
        mixtures.append(mixture)
        y = torch.as_tensor(mixture, dtype=torch.float32)[None]
        outputs = {"noisy": lambda: mixture,
                   "ceiling": lambda: oracle_codes_estimate(cae, clean, mixture),
                   "cae_on_mixture": lambda: enhance_spectrogram(cae, cae, y)["wave"][0].numpy(),
                   "enhanced": lambda: enhance_spectrogram(mae, cae, y)["wave"][0].numpy()}
        with torch.no_grad():
            for name in systems:
                scores[name].append(score(clean, outputs[name](), fs))
    means = {name: {m: float(np.mean([row[m] for row in rows])) for m in rows[0]}
             for name, rows in scores.items()}
    return {"utterances": len(keys), "scores": means,
            "silence_db": silence_floor_db(cae, cleans),
            "latent": {"cae": latent_stats(cae, cleans), "mae": latent_stats(mae, mixtures)}}


def format_probe(result):
    """The probe as a few Markdown tables."""
    lines = [f"{result['utterances']} utterances", "",
             "| output | SI-SDR (dB) | PESQ-WB | COVL |", "|---|---|---|---|"]
    for name, s in result["scores"].items():
        lines.append(f"| {name} | {s['sisdr']:.2f} | {s['pesq_wb']:.3f} | {s['covl']:.3f} |")
    lines += ["", f"||D_c(0)||^2 vs mean clean-frame energy: {result['silence_db']:.1f} dB", "",
              "| VAE | BN gamma | BN beta | mean log-variance | code std |", "|---|---|---|---|---|"]
    for name, s in result["latent"].items():
        lines.append(f"| {name} | {s['bn_gamma']:.3f} | {s['bn_beta']:.3f} | {s['logvar']:.2f} "
                     f"| {s['code_std']:.3f} |")
    return "\n".join(lines)
