"""Paper 001's loss terms (registered in ``sebench.train.losses.LOSSES``).

Training the split-codebook VQ-VAE (``model`` is the VQ-VAE, ``out`` its forward):

- ``vq_reconstruction``: MSE of the decoded log-power spectra against the degraded input
  (from q_d), the clean speech (from q_s) and the noise (from q_n); weights ``d, s, n``.
- ``vq_codebook``: the VQ loss d(sg(e), q_k) plus ``beta`` x the commitment loss
  d(e, sg(q_k)) for k in d, s, n (van den Oord et al. 2017), with the cosine distance.

Training SE through the *frozen* VQ-VAE (``out`` is the SE model's output; the VQ-VAE is
attached with ``bind``; gradients reach only the SE model):

- ``vq_triplet_embedding`` (eq. 18): max(d(e, q_s) - d(e, q_n) + m, 0) per T-F bin, cosine d,
  on the embedding e of the enhanced log-power spectrogram.
- ``vq_triplet_feature`` (eq. 19): max(d(f, f_s) - d(f, f_n) + m, 0) per T-F bin, where f is
  the enhanced log-power feature and f_s, f_n are decoded from q_s, q_n. A bin's feature is a
  scalar, where a cosine distance is undefined, so d here is the squared difference (the
  reconstruction distance of eq. 6); the paper does not say which d it used.
"""
import torch

from sebench.errors import ConfigError
from sebench.models.vqvae import HALVES, cosine_distance
from sebench.train.losses import LossTerm, frame_mask


def masked_bin_mean(err, mask):
    """err (B, T, F) per bin, mask (B, T) -> (B,) each utterance's mean over its valid bins."""
    return (err * mask[:, :, None]).sum((1, 2)) / (mask.sum(1) * err.shape[2]).clamp_min(1)


def valid_frames(model, batch, frames, device):
    return frame_mask(batch["lengths"], frames, model.stft_cfg.hop_length, device)


class VQReconstruction(LossTerm):
    fields = ("wav", "clean", "noise")

    def __init__(self, d=1.0, s=1.0, n=1.0):
        super().__init__()
        self.weights = {"d": float(d), "s": float(s), "n": float(n)}

    def forward(self, out, batch, model=None):
        parts = self.parts(out, batch, model)
        return sum(w * parts[f"rec_{k}"] for k, w in self.weights.items() if w)

    def parts(self, out, batch, model):
        """{rec_d, rec_s, rec_n}: each reconstruction error alone (for the logs)."""
        targets = {"d": out["f"], "s": model.wave_features(batch["clean"], out["floor"]),
                   "n": model.wave_features(batch["noise"], out["floor"])}
        mask = valid_frames(model, batch, out["f"].shape[2], out["f"].device)
        return {f"rec_{k}": masked_bin_mean(((out[f"f_{k}"] - targets[k]) ** 2)[:, 0], mask)
                for k in HALVES}


class VQCodebook(LossTerm):
    fields = ("wav",)

    def __init__(self, beta=0.25):
        super().__init__()
        self.beta = float(beta)

    def forward(self, out, batch, model=None):
        e = out["e"]
        mask = valid_frames(model, batch, e.shape[2], e.device)
        total = 0
        for k in HALVES:
            q = out[f"q_{k}"]
            vq = cosine_distance(e.detach(), q)
            commit = cosine_distance(e, q.detach())
            total = total + masked_bin_mean(vq + self.beta * commit, mask)
        return total


class VQTriplet(LossTerm):
    """Base of the triplet terms: the frozen VQ-VAE comes from ``bind``."""
    fields = ("wav",)

    def __init__(self, margin=0.2):
        super().__init__()
        self.margin = float(margin)
        self._vqvae = None             # a tuple, so the frozen model is no submodule of the loss

    def bind(self, vqvae):
        vqvae.eval()
        for p in vqvae.parameters():
            p.requires_grad_(False)
        self._vqvae = (vqvae,)
        return self

    @property
    def vqvae(self):
        if self._vqvae is None:
            raise ConfigError(f"loss {type(self).__name__}: no VQ-VAE bound (the vq_triplet "
                              "method binds method_options.vqvae)")
        return self._vqvae[0]

    def distances(self, spec):
        """(d_pos, d_neg) per T-F bin, (B, T, F), for the enhanced STFT ``spec``."""
        raise NotImplementedError

    def forward(self, out, batch, model=None):
        d_pos, d_neg = self.distances(out["spec"])
        mask = valid_frames(self.vqvae, batch, d_pos.shape[1], d_pos.device)
        return masked_bin_mean(torch.relu(d_pos - d_neg + self.margin), mask)

    def margin_of(self, spec, lengths):
        """(B,) the embedding triplet margin of an enhanced STFT (see ``triplet_margin``)."""
        return triplet_margin(self.vqvae, self.vqvae.embed(spec), lengths)

def embedding_distances(vqvae, e):
    """(d(e, q_s), d(e, q_n)) per T-F bin, (B, T, F), for unit-norm embeddings e."""
    return cosine_distance(e, vqvae.quantize(e, "s")[0]), cosine_distance(e, vqvae.quantize(e, "n")[0])


def triplet_margin(vqvae, out, lengths):
    """(B,) the average embedding triplet margin d(e, q_s) - d(e, q_n) over valid bins, from
    a VQ-VAE forward ``out`` (the paper's Fig. 5: it should fall as the SNR rises)."""
    d_pos, d_neg = embedding_distances(vqvae, out["e"])
    mask = frame_mask(lengths, d_pos.shape[1], vqvae.stft_cfg.hop_length, d_pos.device)
    return masked_bin_mean(d_pos - d_neg, mask)


class TripletEmbedding(VQTriplet):
    def distances(self, spec):
        return embedding_distances(self.vqvae, self.vqvae.embed(spec)["e"])


class TripletFeature(VQTriplet):
    def distances(self, spec):
        v = self.vqvae
        f, e = v.embed(spec).values()
        f_s = v.decode(v.quantize(e, "s")[0])
        f_n = v.decode(v.quantize(e, "n")[0])
        return ((f - f_s) ** 2)[:, 0], ((f - f_n) ** 2)[:, 0]
