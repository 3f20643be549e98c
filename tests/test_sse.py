"""Paper 003: spectrogram VAEs, their loss terms, the CAE/MAE methods, spectral subtraction."""
import numpy as np
import pytest
import torch

from conftest import REPO, run_cli, varied_speech, write_wav
from sebench.errors import ConfigError
from sebench.models import build_model, count_parameters
from sebench.models.spec_vae import EQNorm, SpecVAE
from sebench.models.specsub import SpectralSubtraction
from sebench.train.losses import LOSSES
from sebench.train.methods.sse import fit_length, noise_only, noise_rows

TINY = {"name": "spec_vae", "stft": {"n_fft": 256, "hop_length": 64, "win_length": 256},
        "channels": [32, 16], "kernel": 3}


def conv_params(cin, cout, k, bn=True):
    return cin * cout * k + cout + (2 * cout if bn else 0)


def expected_params(sizes, k=7):
    """Encoder blocks, the mean head (conv+BN), the log-variance conv, mirrored decoder."""
    enc = sum(conv_params(a, b, k) for a, b in zip(sizes[:-2], sizes[1:-1]))
    heads = conv_params(sizes[-2], sizes[-1], k) + conv_params(sizes[-2], sizes[-1], k, bn=False)
    rev = sizes[::-1]
    dec = sum(conv_params(a, b, k) for a, b in zip(rev[:-1], rev[1:]))
    return enc + heads + dec


@pytest.mark.parametrize("channels", [[512, 256, 128, 64], [512, 400, 300, 200, 100, 64]])
def test_paper_shapes_and_parameter_counts(channels):
    model = build_model({"name": "spec_vae", "channels": channels})
    assert model.stft_cfg.n_fft == 1024 and model.stft_cfg.hop_length == 256
    assert count_parameters(model) == expected_params([513] + channels)
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d))]
    assert all(c.kernel_size == (7,) and c.stride == (1,) for c in convs)
    decoder_out = [c.out_channels for c in model.decoder.modules()
                   if isinstance(c, torch.nn.ConvTranspose1d)]
    assert decoder_out == channels[-2::-1] + [513]
    model.eval()
    mag, _ = model.magnitude(torch.randn(2, 4000))
    out = model(mag)
    assert mag.shape[1] == 513 and out["mu"].shape == (2, 64, mag.shape[-1])
    assert out["recon"].shape == mag.shape and bool((out["recon"] >= 0).all())   # softplus


def test_eq_norm_removes_the_per_utterance_mean():
    torch.manual_seed(0)
    x = torch.randn(3, 8, 20) + torch.arange(3.0)[:, None, None] * 5
    y = EQNorm()(x)
    assert torch.allclose(y.mean(-1), torch.zeros(3, 8), atol=1e-5)
    assert not torch.allclose(x.mean(-1), torch.zeros(3, 8), atol=0.5)
    assert torch.allclose(y - x, (y - x)[..., :1].expand_as(x), atol=1e-5)   # one shift per row
    mask = torch.ones(3, 20)
    mask[0, 12:] = 0          # padding frames do not count
    y = EQNorm()(x, mask)
    assert torch.allclose(y[0, :, :12].mean(-1), torch.zeros(8), atol=1e-5)
    # the encoder's mean is EQ-normed: zero over frames for every utterance
    model = SpecVAE(**{k: v for k, v in TINY.items() if k != "name"}).eval()
    mu, _ = model.encode(model.magnitude(torch.randn(2, 3000))[0])
    scale = mu.abs().max()
    assert torch.allclose(mu.mean(-1) / scale, torch.zeros_like(mu.mean(-1)), atol=1e-5)


def test_kl_matches_the_closed_form():
    torch.manual_seed(0)
    mu, logvar = torch.randn(2, 4, 6), torch.randn(2, 4, 6)
    mask = torch.ones(2, 6)
    mask[1, 3:] = 0
    out = LOSSES.build("vae_kl")({"mu": mu, "logvar": logvar, "mask": mask})
    dist = torch.distributions
    kl = dist.kl_divergence(dist.Normal(mu, (0.5 * logvar).exp()), dist.Normal(0.0, 1.0))
    assert torch.allclose(out[0], kl[0].mean(), atol=1e-6)
    assert torch.allclose(out[1], kl[1, :, :3].mean(), atol=1e-6)
    zero = LOSSES.build("vae_kl")({"mu": torch.zeros(1, 4, 6), "logvar": torch.zeros(1, 4, 6),
                                   "mask": torch.ones(1, 6)})
    assert float(zero) == 0.0


def test_cycle_loss_has_no_gradient_into_the_frozen_cae():
    torch.manual_seed(0)
    cfg = {k: v for k, v in TINY.items() if k != "name"}
    mae, cae = SpecVAE(**cfg).train(), SpecVAE(**cfg).eval()
    for p in cae.parameters():
        p.requires_grad_(False)
    mag, _ = mae.magnitude(torch.randn(2, 3000))
    mask = torch.ones(2, mag.shape[-1])
    out = dict(mae(mag, mask, cycle_through=cae), mag=mag, mask=mask)
    LOSSES.build("vae_cycle", latent_weight=0.5)(out).mean().backward()
    assert all(p.grad is None for p in cae.parameters())
    # the MAE's encoder learns through the CAE's decoder and encoder, its decoder from M_hat
    assert mae.encoder[0][0].weight.grad.abs().sum() > 0
    assert mae.decoder[0][0].weight.grad.abs().sum() > 0
    before = {k: v.clone() for k, v in cae.state_dict().items()}
    mae(mag, mask, cycle_through=cae)            # a frozen CAE in eval mode keeps its BN stats
    assert all(torch.equal(before[k], v) for k, v in cae.state_dict().items())


def test_noise_example_loss_pulls_the_clean_path_to_silence():
    out = {"mag": torch.ones(1, 4, 5), "recon": torch.ones(1, 4, 5), "clean": torch.full((1, 4, 5), 2.0),
           "mask": torch.ones(1, 5)}
    assert float(LOSSES.build("vae_noise", silence_weight=0.5)(out)) == pytest.approx(2.0)


def test_noise_only_detection_on_speech_and_silence():
    fs, clip = 16000, 4000
    speech = varied_speech(1.0, fs, seed=3)
    quiet = (1e-4 * np.random.default_rng(0).standard_normal(fs)).astype(np.float32)
    signal = np.concatenate([speech, quiet, speech[:fs // 2], quiet[:fs // 2]])
    clips = torch.from_numpy(signal).reshape(-1, clip)           # 0.25 s clips
    truth = torch.tensor([False] * 4 + [True] * 4 + [False] * 2 + [True] * 2)
    assert torch.equal(noise_only(clips, torch.full((len(clips),), clip), -50.0), truth)
    # padding does not count: a short loud clip in a long padded row is still speech
    padded = torch.zeros(1, 16000)
    padded[0, :4000] = clips[0]
    assert not noise_only(padded, torch.tensor([4000]), -50.0)[0]


def test_noise_rows_give_the_exact_share_over_steps():
    counts = [noise_rows(s, 0.3, 4) for s in range(100)]
    assert sum(counts) == 120 and set(counts) <= {1, 2}
    assert sum(noise_rows(s, 0.0, 4) for s in range(10)) == 0
    wave, lengths = fit_length(torch.ones(2, 10), torch.tensor([10, 6]), 4)
    assert wave.shape == (2, 4) and lengths.tolist() == [4, 4]
    wave, lengths = fit_length(torch.ones(2, 3), torch.tensor([3, 2]), 5)
    assert wave[:, 3:].abs().sum() == 0 and lengths.tolist() == [3, 2]


def speech_with_pauses(seconds=2.0, fs=16000):
    x = varied_speech(seconds, fs, seed=7)
    gate = (np.arange(x.size) // (fs // 4)) % 2 == 0      # speech and pauses, 0.25 s each
    return (x * gate).astype(np.float32)


def snr_db(clean, est):
    return 10 * np.log10(np.sum(clean ** 2) / np.sum((est - clean) ** 2))


def test_spectral_subtraction_raises_snr_on_stationary_noise():
    clean = speech_with_pauses()
    noise = np.random.default_rng(1).standard_normal(clean.size).astype(np.float32)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (5 / 10))
    noisy = clean + noise
    model = SpectralSubtraction(stft={"n_fft": 512, "hop_length": 128, "win_length": 512})
    out = model(torch.from_numpy(noisy)[None])["wave"][0].numpy()
    assert out.shape == noisy.shape
    assert snr_db(clean, out) > snr_db(clean, noisy) + 3.0


def test_spectral_subtraction_never_outputs_negative_power():
    model = SpectralSubtraction(over_subtraction=10.0, floor=0.0)
    torch.manual_seed(0)
    power = torch.rand(3, 257, 40) ** 4
    power[1, :, 30:] = 0          # padding: left out of the noise estimate
    clean = model.clean_power(power)
    assert bool((clean >= 0).all()) and bool((clean <= power).all())
    noise = model.noise_power(power)
    assert bool((noise[1] > 0).all())
    with pytest.raises(ConfigError, match="floor"):
        SpectralSubtraction(floor=-0.1)


@pytest.mark.slow
def test_specsub_runs_from_the_preset_through_the_factory(tmp_path):
    from sebench.enhance.factory import build_enhancer, check_enhancer
    from sebench.models.classical import CLASSICAL
    preset = REPO / "conf" / "enhance" / "specsub.yaml"
    check_enhancer(f"classical:{preset},over_subtraction=3")
    model = build_enhancer(f"classical:{preset},over_subtraction=3")
    assert isinstance(model, SpectralSubtraction) and model.over_subtraction == 3.0
    assert model.floor == 0.01
    with pytest.raises(ConfigError, match="classical enhancer specsub"):
        check_enhancer(f"classical:{preset},alpha=3")
    assert "specsub" in CLASSICAL
    noisy = write_wav(tmp_path / "in" / "a.wav", speech_with_pauses()
                      + 0.01 * np.random.default_rng(0).standard_normal(32000).astype(np.float32))
    run_cli("enhance", f"classical:{preset}", noisy.parent, "-o", tmp_path / "out")
    assert (tmp_path / "out" / "a.wav").is_file()


def test_input_level_is_normalised_and_the_gain_undone():
    """A VAE on linear magnitudes is level-sensitive: inputs are scaled to input_level_db
    (RMS over the valid samples) and the enhancer's output carries the input's level."""
    from sebench.models.spec_vae import enhance_spectrogram
    torch.manual_seed(0)
    model = SpecVAE(**{k: v for k, v in TINY.items() if k != "name"}).eval()
    wave = torch.randn(2, 4000) * torch.tensor([[0.01], [0.3]])
    mag, _ = model.magnitude(wave)
    assert torch.allclose(mag[0].pow(2).mean(), mag[1].pow(2).mean(), rtol=0.05)
    gain = model.level_gain(wave * torch.tensor([[1.0], [1.0]]), torch.tensor([4000, 2000]))
    rms = wave[1, :2000].pow(2).mean().sqrt()
    assert torch.isclose(gain[1, 0] * rms, torch.tensor(10 ** (-25 / 20)), rtol=1e-4)
    with torch.no_grad():
        quiet = enhance_spectrogram(model, model, wave)["wave"]
        loud = enhance_spectrogram(model, model, 4 * wave)["wave"]
    assert torch.allclose(loud, 4 * quiet, atol=1e-5)
    assert SpecVAE(input_level_db=None).level_gain(wave).eq(1).all()


def test_the_last_stft_frame_is_trained():
    """A centred STFT of L samples has 1 + L // hop frames; the last is real signal and must
    be in the loss (left out, the VAEs learned to emit a click there)."""
    from sebench.train.losses import frame_mask
    mask = frame_mask(torch.tensor([16000, 15000]), 126, 128, "cpu")
    assert mask[0].all() and mask[1].sum() == 1 + 15000 // 128
