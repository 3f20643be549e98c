"""Paper 003's loss terms on spectrogram-VAE outputs (``sebench.models.spec_vae``).

Each term reads the method's forward dict ``out`` (``mag`` the input magnitude, ``mask``
(B, frames) the valid frames, and the VAE's outputs) and returns one value per utterance.
The paper's squared norms are taken as means over the valid bins (and latent units), so the
lambdas do not depend on the spectrogram size.

- ``vae_recon``: ||M - D(E(M))||^2 (L_CAE's and L_M's reconstruction)
- ``vae_kl``: closed-form KL(N(mu, sigma^2) || N(0, 1)) (L_KL-CAE, L_KL-MAE)
- ``vae_cycle``: ||M - D_m(E_c(D_c(h_M)))||^2 + latent_weight * ||h_M - E_c(D_c(h_M))||^2
  (L_cyc, eq. 1; latent_weight is lambda_2)
- ``vae_noise``: ||M_N - D_m(h_N)||^2 + silence_weight * ||D_c(h_N)||^2 on noise-only clips
  (L_N, eq. 2; silence_weight is lambda_3)
"""
from sebench.models.spec_vae import kl_to_standard_normal
from sebench.train.losses import LossTerm, masked_mean_per_utt


class VAERecon(LossTerm):
    fields = ("wav",)

    def forward(self, out, batch=None, model=None):
        return masked_mean_per_utt((out["recon"] - out["mag"]) ** 2, out["mask"])


class VAEKL(LossTerm):
    fields = ("wav",)

    def forward(self, out, batch=None, model=None):
        return masked_mean_per_utt(kl_to_standard_normal(out["mu"], out["logvar"]), out["mask"])


class VAECycle(LossTerm):
    fields = ("wav",)

    def __init__(self, latent_weight=1.0):
        super().__init__()
        self.latent_weight = float(latent_weight)

    def forward(self, out, batch=None, model=None):
        mask = out["mask"]
        recon = masked_mean_per_utt((out["cycle_recon"] - out["mag"]) ** 2, mask)
        latent = masked_mean_per_utt((out["z"] - out["h_cycle"]) ** 2, mask)
        return recon + self.latent_weight * latent


class VAENoise(LossTerm):
    fields = ("wav",)

    def __init__(self, silence_weight=1.0):
        super().__init__()
        self.silence_weight = float(silence_weight)

    def forward(self, out, batch=None, model=None):
        mask = out["mask"]
        recon = masked_mean_per_utt((out["recon"] - out["mag"]) ** 2, mask)
        return recon + self.silence_weight * masked_mean_per_utt(out["clean"] ** 2, mask)
