"""Paper 003's spectrogram VAEs (the clean CAE and the mixture MAE) and their enhancer.

Magnitude spectrograms (window and DFT 1024, hop 256, Hann: 513 bins) are treated as 1-D
signals over time with the frequency bins as channels. Every layer is a 1-D convolution
(encoder) or transposed convolution (decoder) of kernel 7, stride 1, followed by BatchNorm
and softplus; the encoder's last softplus is followed by EQ-norm (each utterance's mean over
frames subtracted). CAE: ``channels: [512, 256, 128, 64]``; MAE: ``[512, 400, 300, 200, 100,
64]``; the decoder mirrors the encoder back to the bins. The paper does not say how the VAE's
variance is produced: here a parallel convolution of the last hidden layer gives the
log-variance (the EQ-normed softplus output is the mean). Two remedies for a posterior that
learns to be near-deterministic (which lets the MAE shrink its codes unopposed):
``posterior_std`` fixes sigma (UNIT, the model the paper cites, uses a fixed unit variance;
the log-variance head is then unused) and ``posterior_std_min`` floors the learned sigma.

The paper is also silent on input level. Linear magnitudes make a VAE level-sensitive: a CAE
trained on clean speech at one level reconstructs mixtures recorded at another poorly (at demo
size it did worse than silence). So each utterance is scaled to ``input_level_db`` dBFS RMS
(over its valid samples) before the STFT, and the enhancer undoes the gain on its output
(``input_level_db: null`` keeps raw levels).

``SelfSupervisedEnhancer`` (composite ``sse``, parts ``mae`` and ``cae``) is the inference
path D_c(E_m(|M|)) with the mixture's phase.
"""
import math

import torch
from torch import nn

from sebench.audio.stft import STFTConfig, istft, stft
from sebench.errors import ConfigError
from sebench.models.composite import Composite

PAPER_STFT = {"n_fft": 1024, "hop_length": 256, "win_length": 1024, "window": "hann"}


class EQNorm(nn.Module):
    """Subtract each utterance's mean over (valid) frames: (B, C, T) -> (B, C, T)."""

    def forward(self, x, mask=None):
        if mask is None:
            return x - x.mean(-1, keepdim=True)
        m = mask[:, None, :].to(x.dtype)
        mean = (x * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp_min(1)
        return x - mean


def _block(conv, cin, cout, kernel):
    return nn.Sequential(conv(cin, cout, kernel, stride=1, padding=kernel // 2),
                         nn.BatchNorm1d(cout), nn.Softplus())


def kl_to_standard_normal(mu, logvar):
    """Closed-form KL(N(mu, exp(logvar)) || N(0, 1)) per element."""
    return 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar)


class SpecVAE(nn.Module):
    """A VAE on magnitude spectrograms (B, bins, frames); see the module docstring."""

    def __init__(self, fs=16000, stft=None, channels=(512, 256, 128, 64), kernel=7,
                 input_level_db=-25.0, posterior_std=None, posterior_std_min=None):
        super().__init__()
        self.fs = int(fs)
        self.input_level_db = None if input_level_db is None else float(input_level_db)
        for key, value in (("posterior_std", posterior_std),
                           ("posterior_std_min", posterior_std_min)):
            if value is not None and not float(value) > 0:
                raise ConfigError(f"spec_vae: {key} must be positive or null, got {value}")
        if posterior_std is not None and posterior_std_min is not None:
            raise ConfigError("spec_vae: set posterior_std (fixed) or posterior_std_min "
                              "(a floor), not both")
        self.posterior_std = None if posterior_std is None else float(posterior_std)
        self.posterior_std_min = None if posterior_std_min is None else float(posterior_std_min)
        self.stft_cfg = STFTConfig(**dict(PAPER_STFT, **(stft or {})))
        channels = [int(c) for c in channels]
        if not channels or int(kernel) % 2 == 0:
            raise ConfigError("spec_vae: channels must list at least the latent size and "
                              f"kernel must be odd, got channels {channels}, kernel {kernel}")
        sizes = [self.stft_cfg.num_bins] + channels
        self.latent_dim = channels[-1]
        self.encoder = nn.Sequential(*[_block(nn.Conv1d, a, b, kernel)
                                       for a, b in zip(sizes[:-2], sizes[1:-1])])
        self.mean_head = _block(nn.Conv1d, sizes[-2], sizes[-1], kernel)
        self.logvar_head = nn.Conv1d(sizes[-2], sizes[-1], kernel, padding=kernel // 2)
        # start with small posterior noise (std e^-3): at log-variance 0 the sampled noise
        # (std 1) swamps the EQ-normed means and the decoder learns only the average spectrum
        nn.init.constant_(self.logvar_head.bias, -6.0)
        self.eq_norm = EQNorm()
        rev = sizes[::-1]
        self.decoder = nn.Sequential(*[_block(nn.ConvTranspose1d, a, b, kernel)
                                       for a, b in zip(rev[:-1], rev[1:])])

    def level_gain(self, wave, lengths=None):
        """(B, 1) gains that bring each utterance's RMS over its valid samples to
        ``input_level_db`` dBFS (ones when level normalisation is off)."""
        if self.input_level_db is None:
            return torch.ones(wave.shape[0], 1, dtype=wave.dtype, device=wave.device)
        if lengths is None:
            power = wave.pow(2).mean(-1, keepdim=True)
        else:
            valid = (torch.arange(wave.shape[-1], device=wave.device)[None, :]
                     < lengths[:, None]).to(wave.dtype)
            power = (wave.pow(2) * valid).sum(-1, keepdim=True) \
                / valid.sum(-1, keepdim=True).clamp_min(1)
        target = 10.0 ** (self.input_level_db / 10.0)
        # silent input: the floor keeps the gain finite (it stays silent either way)
        return (target / power.clamp_min(1e-10)).sqrt()

    def magnitude(self, wave, lengths=None, gain=None):
        """(B, samples) -> (magnitude (B, bins, frames) of the level-normalised input,
        complex spectrogram of the input as given). ``gain`` (B, 1) replaces the
        normalising gain (noise clips placed at their in-mixture level)."""
        spec = stft(wave, self.stft_cfg)
        gain = self.level_gain(wave, lengths) if gain is None else gain
        return spec.abs() * gain[:, :, None], spec

    def encode(self, mag, mask=None):
        """(B, bins, T) -> (mean, log-variance), each (B, latent, T)."""
        hidden = self.encoder(mag)
        mu = self.eq_norm(self.mean_head(hidden), mask)
        if self.posterior_std is not None:
            return mu, torch.full_like(mu, 2.0 * math.log(self.posterior_std))
        logvar = self.logvar_head(hidden)
        if self.posterior_std_min is not None:
            logvar = logvar.clamp_min(2.0 * math.log(self.posterior_std_min))
        return mu, logvar

    def decode(self, z):
        return self.decoder(z)

    def forward(self, mag, mask=None, cycle_through=None):
        """One pass (a single call, so DDP sees one forward per backward).

        Returns ``mu``, ``logvar``, ``z`` (a sample in training mode, the mean in eval mode)
        and ``recon`` = D(z). With ``cycle_through`` (the other, frozen VAE; paper 003's
        cycle) also ``clean`` = D_other(z), ``h_cycle`` = E_other(clean) and ``cycle_recon``
        = D(h_cycle)."""
        mu, logvar = self.encode(mag, mask)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        out = {"mu": mu, "logvar": logvar, "z": z, "recon": self.decode(z)}
        if cycle_through is not None:
            out["clean"] = cycle_through.decode(z)
            out["h_cycle"] = cycle_through.encode(out["clean"], mask)[0]
            out["cycle_recon"] = self.decode(out["h_cycle"])
        return out


def enhance_spectrogram(mae, cae, wave):
    """D_c(E_m(|M|)) with the mixture phase: (B, samples) -> {"wave", "spec"}."""
    mag, spec = mae.magnitude(wave)
    clean_mag = cae.decode(mae.encode(mag)[0])
    phase = spec / spec.abs().clamp_min(1e-8)
    est = clean_mag * phase / mae.level_gain(wave)[:, :, None]
    return {"wave": istft(est, mae.stft_cfg, length=wave.shape[-1]), "spec": est}


class SelfSupervisedEnhancer(Composite):
    """Paper 003's inference: the MAE's encoder, then the CAE's decoder."""
    part_names = ("mae", "cae")

    def __init__(self, parts):
        super().__init__(parts)
        if parts["mae"].stft_cfg != parts["cae"].stft_cfg:
            raise ConfigError("composite sse: the MAE and CAE use different STFT settings")
        if parts["mae"].latent_dim != parts["cae"].latent_dim:
            raise ConfigError(f"composite sse: latent sizes differ (MAE {parts['mae'].latent_dim},"
                              f" CAE {parts['cae'].latent_dim})")

    def forward(self, wave):
        return enhance_spectrogram(self.parts["mae"], self.parts["cae"], wave)
