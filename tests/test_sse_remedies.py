"""Paper 003's remedies for the MAE's code collapse (issue 28): a fixed or floored posterior
sigma, noise-only clips at their in-mixture level, E_m/D_m started from E_c/D_c."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sebench.errors import ConfigError
from sebench.models.spec_vae import SpecVAE
from sebench.models.store import export_model
from sebench.train.methods.sse import MixtureAutoencoder, copy_matching, in_mixture_level_db

STFT = {"n_fft": 256, "hop_length": 64, "win_length": 256}


def vae(channels=(32, 16), **kw):
    torch.manual_seed(0)
    return SpecVAE(stft=STFT, channels=channels, kernel=3, **kw)


def mag(batch=3, frames=40):
    return torch.rand(batch, 129, frames, generator=torch.Generator().manual_seed(1))


@pytest.mark.timeout(30)
@torch.no_grad()
def test_fixed_posterior_std_sets_the_variance_and_the_sampling_noise():
    model = vae(posterior_std=0.5).train()
    out = model(mag())
    assert torch.allclose(out["logvar"], torch.full_like(out["logvar"], 2 * math.log(0.5)))
    noise = (out["z"] - out["mu"]).std().item()
    assert noise == pytest.approx(0.5, rel=0.1)
    # the learned head (std e^-3 at start) would sample ~0.05
    assert (vae()(mag())["z"] - vae()(mag())["mu"]).std().item() < 0.1


@pytest.mark.timeout(30)
@torch.no_grad()
def test_posterior_std_min_floors_the_learned_variance():
    model = vae(posterior_std_min=0.2).train()
    out = model(mag())
    assert float(out["logvar"].detach().min()) == pytest.approx(2 * math.log(0.2), abs=1e-5)
    learned = vae().train()(mag())["logvar"]
    assert float(learned.max()) < 2 * math.log(0.2)    # without the floor it sits below
    # the mean path is untouched: eval-mode codes are the same
    assert torch.equal(vae(posterior_std_min=0.2).eval()(mag())["z"], vae().eval()(mag())["z"])


@pytest.mark.timeout(30)
def test_posterior_options_are_checked():
    with pytest.raises(ConfigError, match="posterior_std must be positive"):
        vae(posterior_std=0)
    with pytest.raises(ConfigError, match="not both"):
        vae(posterior_std=0.5, posterior_std_min=0.1)


@pytest.mark.timeout(30)
def test_in_mixture_level_is_below_the_mixture_level_by_the_snr_share():
    assert in_mixture_level_db(-25.0, 0.0) == pytest.approx(-25.0 - 10 * math.log10(2))
    assert in_mixture_level_db(-25.0, 10.0) == pytest.approx(-25.0 - 10 * math.log10(11))
    assert in_mixture_level_db(-25.0, -30.0) == pytest.approx(-25.0, abs=0.01)


@pytest.mark.timeout(30)
def test_copy_matching_copies_only_tensors_of_the_same_name_and_shape():
    cae, same = vae((32, 16)), vae((32, 16))
    torch.nn.init.constant_(same.encoder[0][0].weight, 3.0)
    assert copy_matching(same, cae) == len(cae.state_dict())
    for k, v in cae.state_dict().items():
        assert torch.equal(same.state_dict()[k], v), k
    deeper = vae((32, 24, 16))
    before = {k: v.clone() for k, v in deeper.state_dict().items()}
    copied = copy_matching(deeper, cae)
    assert 0 < copied < len(deeper.state_dict())
    assert torch.equal(deeper.encoder[0][0].weight, cae.encoder[0][0].weight)
    assert torch.equal(deeper.encoder[1][0].weight, before["encoder.1.0.weight"])   # 32->24


def method(tmp_path, model_channels=(32, 16), cae_channels=(32, 16), **options):
    cae = vae(cae_channels)
    cfg = {"kind": "vae", "name": "spec_vae", "stft": STFT, "channels": list(cae_channels),
           "kernel": 3}
    export_model(str(tmp_path / "cae"), cfg, cae.state_dict())
    model_cfg = dict(cfg, channels=list(model_channels))
    full = {"model": model_cfg, "seed": 7, "method_options": dict(options, cae=str(tmp_path / "cae"))}
    models = {}
    trainer = SimpleNamespace(state={"step": 0}, module=lambda name: models[name])
    m = MixtureAutoencoder(full, trainer)
    models.update(m.build_models())
    return m, models


@pytest.mark.timeout(60)
def test_init_from_cae_starts_the_mae_at_the_cae(tmp_path):
    m, models = method(tmp_path, init_from_cae=True)
    for k, v in models["cae"].state_dict().items():
        assert torch.equal(models["mae"].state_dict()[k], v), k
    m, models = method(tmp_path / "off")
    assert not torch.equal(models["mae"].encoder[0][0].weight, models["cae"].encoder[0][0].weight)


def rms_db(x):
    return 10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2))


@pytest.mark.timeout(60)
def test_in_mixture_noise_rows_sit_below_the_mixture_level(tmp_path):
    m, models = method(tmp_path, noise_level="in_mixture", noise_snr_range=[5.0, 10.0])
    rng = np.random.default_rng(0)
    wave = torch.as_tensor(rng.standard_normal((4, 8000)) * [[0.3], [0.01], [0.1], [0.001]],
                           dtype=torch.float32)
    lengths = torch.full((4,), 8000)
    is_noise = torch.tensor([True, True, False, False])
    from_stream = torch.tensor([True, False, False, False])
    gain = m.noise_gains(wave, lengths, is_noise, from_stream)
    levels = [rms_db(wave[i] * gain[i]) for i in range(4)]
    # stream noise: -25 dBFS minus 10 log10(1 + 10^(SNR/10)), SNR in [5, 10]
    assert in_mixture_level_db(-25, 10) - 0.01 <= levels[0] <= in_mixture_level_db(-25, 5) + 0.01
    assert levels[2] == pytest.approx(-25, abs=0.01) and levels[3] == pytest.approx(-25, abs=0.01)
    # a thresholded glimpse takes the batch's mixture gain (geometric mean), not its own
    mixture_gain = math.exp((math.log(float(gain[2])) + math.log(float(gain[3]))) / 2)
    assert float(gain[1]) == pytest.approx(mixture_gain, rel=1e-4)
    # the same step draws the same SNRs (seeded from the config's seed and the step)
    assert torch.equal(gain, m.noise_gains(wave, lengths, is_noise, from_stream))
    # normalised (the default): no override
    plain, _ = method(tmp_path / "plain")
    assert plain.noise_gains(wave, lengths, is_noise, from_stream) is None


@pytest.mark.timeout(60)
def test_noise_level_options_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="noise_level must be"):
        method(tmp_path, noise_level="raw")
    with pytest.raises(ConfigError, match="noise_snr_range"):
        method(tmp_path / "b", noise_snr_range=[10, 5])


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_probe_reports_the_ceilings_and_latent_statistics(tmp_path):
    from conftest import varied_speech, write_wav
    from sebench.data import DataDir
    from sebench.metrics.intrusive import si_sdr
    from sebench.models.spec_vae import SelfSupervisedEnhancer
    from sebench.models.spec_vae_probe import format_probe, probe
    rng = np.random.default_rng(3)
    wav, ref = {}, {}
    for i in range(2):
        clean = varied_speech(1.5, seed=i).astype(np.float32)
        mix = clean + 0.05 * rng.standard_normal(clean.size).astype(np.float32)
        wav[f"u{i}"] = str(write_wav(tmp_path / f"mix{i}.wav", mix))
        ref[f"u{i}"] = str(write_wav(tmp_path / f"clean{i}.wav", clean))
    DataDir(tmp_path).write("wav.scp", wav)
    DataDir(tmp_path).write("clean.scp", ref)
    sse = SelfSupervisedEnhancer({"mae": vae((32, 16)).eval(), "cae": vae((24, 16)).eval()})
    result = probe(sse, tmp_path)
    import soundfile as sf
    noisy = np.mean([si_sdr(sf.read(ref[k])[0], sf.read(wav[k])[0]) for k in sorted(wav)])
    assert result["utterances"] == 2
    assert result["scores"]["noisy"]["sisdr"] == pytest.approx(noisy, abs=1e-6)
    assert set(result["scores"]) == {"noisy", "ceiling", "cae_on_mixture", "enhanced"}
    for name in ("ceiling", "cae_on_mixture", "enhanced"):     # untrained nets: far below
        assert result["scores"][name]["sisdr"] < noisy
    assert math.isfinite(result["silence_db"])
    cae = sse.parts["cae"]
    assert result["latent"]["cae"]["bn_gamma"] == pytest.approx(float(cae.mean_head[1].weight.detach().mean()))
    assert result["latent"]["mae"]["logvar"] == pytest.approx(-6.0, abs=1.0)   # the head's init
    assert result["latent"]["mae"]["code_std"] > 0
    assert "| ceiling |" in format_probe(result)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_mae_trains_with_every_remedy_through_the_cli(tmp_path):
    import yaml

    from conftest import run_cli, varied_speech, write_wav
    from sebench.data import DataDir
    rng = np.random.default_rng(0)

    def data_dir(name, waves):
        DataDir(tmp_path / name).write("wav.scp", {
            f"u{i}": str(write_wav(tmp_path / name / f"u{i}.wav", w)) for i, w in enumerate(waves)})
        return tmp_path / name
    clean = data_dir("clean", [varied_speech(0.8, seed=i) for i in range(6)])
    mix = data_dir("mix", [varied_speech(0.8, seed=20 + i)
                           + (0.02 * rng.standard_normal(12800)).astype(np.float32)
                           for i in range(6)])
    noise = data_dir("noise", [(0.001 * rng.standard_normal(12800)).astype(np.float32)
                               for _ in range(3)])
    model = tmp_path / "vae.yaml"
    model.write_text(yaml.safe_dump({"name": "spec_vae", "stft": STFT, "channels": [32, 16],
                                     "kernel": 3}))
    common = ["--data.segment", 0.5, "--data.batch_size", 4, "--train.amp", "false",
              "--optim.default.lr", 1e-3, "--train.epochs", 0,
              "--train.max_steps", 4, "--train.log_every", 1, "--device", "cpu",
              "--model-config", model]
    run_cli("train", "--method", "cae", "--train", clean, "--exp", tmp_path / "cae", *common)
    run_cli("train", "--method", "mae", "--train", f"mix={mix}", "--train", f"noise={noise}",
            "--exp", tmp_path / "mae", "--method_options.cae", tmp_path / "cae",
            "--method_options.noise_share", 0.5, "--method_options.noise_level", "in_mixture",
            "--method_options.noise_snr_range", "[5, 10]", "--method_options.init_from_cae", "true",
            "--model.posterior_std_min", 0.2, *common)
    mae_cfg = yaml.safe_load((tmp_path / "mae" / "model_mae" / "model.yaml").read_text())
    assert mae_cfg["posterior_std_min"] == 0.2
    log = (tmp_path / "mae" / "train_log.csv").read_text().splitlines()
    header = log[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in log[1:]]
    assert len(rows) == 4 and all(math.isfinite(float(r["loss"])) for r in rows)
    assert np.mean([float(r["noise_clips"]) for r in rows]) == pytest.approx(0.5)
    # the exported MAE keeps its floor: no log-variance under log(0.2^2)
    from sebench.models.store import load_model
    trained, _ = load_model(tmp_path / "mae" / "model_mae")
    with torch.no_grad():
        _, logvar = trained.encode(mag(2, 30))
    assert float(logvar.min()) >= 2 * math.log(0.2) - 1e-5
    assert "init_from_cae" in (tmp_path / "mae" / "config.yaml").read_text()
