"""Loss terms: small modules with a per-utterance reduction, named in a registry.

A term is called as ``term(out, batch, model)`` with the model's output dict, the batch
(``lengths`` masks the padding) and the bare model (spectral terms use its STFT when it has
one, otherwise their ``stft`` option), and returns one value per utterance, shape (batch,).
``fields`` names the batch fields it reads. Methods combine terms themselves, or the
top-level config does it for the methods that read it (``supervised``)::

    loss: {name: joint_dereverb, beta: 0.9}            # one term
    loss: [{name: sisdr, weight: 0.8}, {name: mag_mse, weight: 0.2}]

Registered terms:

- ``mag_mse``: mean (|S_hat| - |S|)^2 over T-F bins (paper 000's supervised baseline)
- ``complex_mse``: mean |S_hat - S|^2 (paper 002's J_joint, dry target); ``target: clean_rev``
  gives J_noise (the reverberant target)
- ``joint_dereverb``: beta * J_joint + (1 - beta) * J_noise (paper 002 eq. 7; beta = 0 is plain
  denoising, 0.9 with reverberant data; needs clean_rev.scp unless beta = 1)
- ``sisdr``: negative SI-SDR in dB, zero-mean signals (paper 004's L_SI-SDR)
- ``compressed_mse``: MSE of power-law compressed spectra, |S|^c (c = 0.3), blending the
  compressed complex spectra (weight ``complex_weight``) and magnitudes (Braun & Tashev 2021)
- ``vae_recon``, ``vae_kl``, ``vae_cycle``, ``vae_noise``: paper 003's terms on a
  spectrogram VAE's outputs (``sebench/train/vae_losses.py``)
- ``mask_bce``: BCE of a branch's mask against the noise (or clean) IRM/IBM in the model's
  learned domain (paper 004's L_adv; ``sebench/train/mask_loss.py``)
- ``vq_reconstruction``, ``vq_codebook``, ``vq_triplet_embedding``, ``vq_triplet_feature``:
  paper 001's VQ-VAE and triplet terms (``sebench/train/vq_losses.py``)

A new term is a ``LossTerm`` subclass plus one ``LOSSES.register(name, "module:Class")``.
"""
import torch
from torch import nn

from sebench.audio.stft import STFTConfig, stft
from sebench.errors import ConfigError
from sebench.utils.registry import Registry

LOSSES = Registry("loss", {
    "mag_mse": "sebench.train.losses:MagMSE",
    "complex_mse": "sebench.train.losses:ComplexMSE",
    "joint_dereverb": "sebench.train.losses:JointDereverb",
    "sisdr": "sebench.train.losses:NegSISDR",
    "compressed_mse": "sebench.train.losses:CompressedMSE",
    # paper 003's spectrogram-VAE terms (sebench/train/vae_losses.py)
    "vae_recon": "sebench.train.vae_losses:VAERecon",
    "vae_kl": "sebench.train.vae_losses:VAEKL",
    "vae_cycle": "sebench.train.vae_losses:VAECycle",
    "vae_noise": "sebench.train.vae_losses:VAENoise",
    "mask_bce": "sebench.train.mask_loss:MaskBCE",
    # paper 001 (split-codebook VQ-VAE and its triplet losses): sebench/train/vq_losses.py
    "vq_reconstruction": "sebench.train.vq_losses:VQReconstruction",
    "vq_codebook": "sebench.train.vq_losses:VQCodebook",
    "vq_triplet_embedding": "sebench.train.vq_losses:TripletEmbedding",
    "vq_triplet_feature": "sebench.train.vq_losses:TripletFeature",
})


def frame_mask(lengths, frames, hop, device):
    """(batch, frames) 1 for frames whose centre lies inside the true signal, its last sample
    included: a centred STFT of L samples has 1 + L // hop frames, and the last one (centre
    L when hop divides L) is real signal. Leaving it out let generative models (paper 003's
    VAEs) output anything there, a loud click at every utterance's end."""
    centres = torch.arange(frames, device=device) * hop
    return (centres[None, :] <= lengths[:, None].to(device)).float()


def sample_mask(lengths, samples, device):
    return (torch.arange(samples, device=device)[None, :] < lengths[:, None].to(device)).float()


def masked_mean_per_utt(err, mask, bins="half"):
    """err (B, F, T), mask (B, T) -> (B,): each utterance's mean over its valid bins.

    ``bins``: ``half`` averages the F = K/2 + 1 stored bins; ``full`` is paper 002's
    1/(L K) sum over all K = 2 (F - 1) bins of the Hermitian spectrum (bins 1..K/2-1 stand
    for their mirror images too). full / half = F (e_0 + e_N + 2 M) / (K (e_0 + e_N + M))
    with e_0, e_N the DC and Nyquist errors and M the inner bins' sum: 1 when the edge bins
    carry an average bin's error, at most F/(K/2) = 257/256 (no error there), at least
    F/K = 257/512 (all error there)."""
    if bins not in BIN_MODES:
        raise ConfigError(f"bins must be one of {', '.join(BIN_MODES)}, got {bins!r}")
    if bins == "full":
        weight = torch.full((err.shape[1],), 2.0, device=err.device, dtype=err.dtype)
        weight[0] = weight[-1] = 1.0
        err = err * weight[None, :, None]
        width = 2 * (err.shape[1] - 1)
    else:
        width = err.shape[1]
    return (err * mask[:, None, :]).sum((1, 2)) / (mask.sum(1) * width).clamp_min(1)


BIN_MODES = ("half", "full")


def neg_sisdr(est, ref, lengths, eps=1e-8):
    """(B,) negative SI-SDR in dB over each utterance's true length, zero-mean."""
    mask = sample_mask(lengths, est.shape[-1], est.device)
    n = mask.sum(-1, keepdim=True).clamp_min(1)
    est = (est - (est * mask).sum(-1, keepdim=True) / n) * mask
    ref = (ref - (ref * mask).sum(-1, keepdim=True) / n) * mask
    scale = (est * ref).sum(-1, keepdim=True) / ((ref ** 2).sum(-1, keepdim=True) + eps)
    target = scale * ref
    ratio = (target ** 2).sum(-1) / (((est - target) ** 2).sum(-1) + eps)
    return -10 * torch.log10(ratio + eps)


class LossTerm(nn.Module):
    fields = ("wav", "clean")

    def forward(self, out, batch, model=None):
        raise NotImplementedError


class SpectralTerm(LossTerm):
    """Spectra of the estimate (the model's ``spec`` output when it has one) and targets."""

    def __init__(self, stft=None):
        super().__init__()
        self.stft_cfg = STFTConfig(**(stft or {}))

    def spectra(self, out, batch, model, targets):
        cfg = getattr(model, "stft_cfg", self.stft_cfg)
        est = out.get("spec")
        if est is None:
            est = stft(out["wave"], cfg)
        mask = frame_mask(batch["lengths"], est.shape[-1], cfg.hop_length, est.device)
        return est, [stft(batch[t], cfg) for t in targets], mask


class MagMSE(SpectralTerm):
    def forward(self, out, batch, model=None):
        est, (clean,), mask = self.spectra(out, batch, model, ["clean"])
        return masked_mean_per_utt((est.abs() - clean.abs()) ** 2, mask)


class ComplexMSE(SpectralTerm):
    def __init__(self, target="clean", stft=None, bins="half"):
        super().__init__(stft)
        if target not in ("clean", "clean_rev"):
            raise ConfigError(f"loss complex_mse: target must be clean or clean_rev, got {target!r}")
        if bins not in BIN_MODES:
            raise ConfigError(f"loss complex_mse: bins must be half or full, got {bins!r}")
        self.target, self.bins = target, bins
        self.fields = ("wav", target)

    def forward(self, out, batch, model=None):
        est, (ref,), mask = self.spectra(out, batch, model, [self.target])
        return masked_mean_per_utt((est - ref).abs() ** 2, mask, self.bins)


class JointDereverb(SpectralTerm):
    def __init__(self, beta=0.0, stft=None, bins="half"):
        super().__init__(stft)
        if bins not in BIN_MODES:
            raise ConfigError(f"loss joint_dereverb: bins must be half or full, got {bins!r}")
        self.beta, self.bins = float(beta), bins
        self.fields = ("wav", "clean") if self.beta >= 1 else ("wav", "clean", "clean_rev")

    def forward(self, out, batch, model=None):
        targets = ["clean"] if self.beta >= 1 else ["clean", "clean_rev"]
        est, refs, mask = self.spectra(out, batch, model, targets)
        joint = masked_mean_per_utt((est - refs[0]).abs() ** 2, mask, self.bins)
        if self.beta >= 1:
            return joint
        noise = masked_mean_per_utt((est - refs[1]).abs() ** 2, mask, self.bins)
        return self.beta * joint + (1 - self.beta) * noise


class CompressedMSE(SpectralTerm):
    """(1 - a) mean (|S_hat|^c - |S|^c)^2 + a mean |S_hat^c - S^c|^2, X^c = |X|^c e^{j arg X}.

    Compression evens out the loud and the quiet bins (and utterances) that a linear
    magnitude MSE weighs by energy, so low-energy speech detail counts."""

    def __init__(self, power=0.3, complex_weight=0.3, stft=None, eps=1e-8):
        super().__init__(stft)
        if not 0 < float(power) <= 1 or not 0 <= float(complex_weight) <= 1:
            raise ConfigError(f"loss compressed_mse: need 0 < power <= 1 and 0 <= complex_weight"
                              f" <= 1, got {power} and {complex_weight}")
        self.power, self.complex_weight, self.eps = float(power), float(complex_weight), eps

    def forward(self, out, batch, model=None):
        est, (ref,), mask = self.spectra(out, batch, model, ["clean"])
        est_mag = (est.abs() + self.eps) ** self.power
        ref_mag = (ref.abs() + self.eps) ** self.power
        loss = masked_mean_per_utt((est_mag - ref_mag) ** 2, mask)
        if self.complex_weight > 0:
            # |X|^c e^{j arg X}. A second abs() node, not a shared one: sharing it reorders the
            # backward sums, and the demo's measured numbers (egs/mini/se1/README.md) moved
            est_c = est_mag * est / (est.abs() + self.eps)
            ref_c = ref_mag * ref / (ref.abs() + self.eps)
            err = masked_mean_per_utt((est_c - ref_c).abs() ** 2, mask)
            loss = (1 - self.complex_weight) * loss + self.complex_weight * err
        return loss


class NegSISDR(LossTerm):
    def forward(self, out, batch, model=None):
        return neg_sisdr(out["wave"], batch["clean"], batch["lengths"])


class WeightedSum(LossTerm):
    """sum_i weight_i * term_i, per utterance; ``terms`` {name: (weight, term)}."""

    def __init__(self, terms):
        super().__init__()
        self.weights = {name: float(w) for name, (w, _) in terms.items()}
        self.terms = nn.ModuleDict({name: t for name, (_, t) in terms.items()})
        self.fields = tuple(dict.fromkeys(f for t in self.terms.values() for f in t.fields))

    def forward(self, out, batch, model=None):
        return sum(self.weights[n] * t(out, batch, model) for n, t in self.terms.items())


def build_loss(spec, default="mag_mse"):
    """A term, or a ``WeightedSum`` of several, from ``{name, weight?, ...options}`` or a list."""
    if not spec:
        spec = {"name": default}
    items = [spec] if isinstance(spec, dict) else list(spec)
    terms = {}
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"loss: expected {{name: ..., weight: ...}} entries, got {item!r}")
        options = {k: v for k, v in item.items() if k not in ("name", "weight")}
        name = item["name"]
        key = name if name not in terms else f"{name}_{len(terms)}"
        terms[key] = (item.get("weight", 1.0), LOSSES.build(name, **options))
    if len(terms) == 1 and next(iter(terms.values()))[0] == 1.0:
        return next(iter(terms.values()))[1]
    return WeightedSum(terms)
