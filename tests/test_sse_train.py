"""Paper 003 on the shared trainer: cae, then mae with a noise stream; the composite export."""
import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from conftest import run_cli, varied_speech, write_wav
from sebench.data import DataDir

pytestmark = pytest.mark.slow

TINY = {"name": "spec_vae", "fs": 16000,
        "stft": {"n_fft": 256, "hop_length": 64, "win_length": 256},
        "channels": [32, 16], "kernel": 3}
COMMON = ["--data.segment", 0.5, "--data.batch_size", 4, "--train.amp", "false",
          "--optim.default.lr", 1e-3, "--train.epochs", 2, "--train.log_every", 1]


def data_dir(folder, waves):
    scp = {}
    for i, w in enumerate(waves):
        scp[f"u{i:02d}"] = str(write_wav(folder / "audio" / f"u{i:02d}.wav", w))
    DataDir(folder).write("wav.scp", scp)
    return folder


@pytest.fixture(scope="module")
def sse_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sse")
    rng = np.random.default_rng(0)
    clean = [varied_speech(0.8, seed=i) for i in range(8)]
    noise = [(0.02 * rng.standard_normal(12800)).astype(np.float32) for _ in range(4)]
    mixes = [c + (0.02 * rng.standard_normal(c.size)).astype(np.float32)
             for c in (varied_speech(0.8, seed=20 + i) for i in range(8))]
    return {"clean": data_dir(root / "clean", clean), "noise": data_dir(root / "noise", noise),
            "mix": data_dir(root / "mix", mixes), "root": root}


@pytest.mark.timeout(180)
def test_cae_then_mae_export_one_composite_that_enhances(sse_data, tmp_path):
    model_cfg = tmp_path / "vae.yaml"
    model_cfg.write_text(yaml.safe_dump(TINY))
    cae = tmp_path / "cae"
    run_cli("train", "--method", "cae", "--train", sse_data["clean"], "--valid", sse_data["clean"],
            "--model-config", model_cfg, "--exp", cae, "--device", "cpu", *COMMON)
    cae_yaml = yaml.safe_load((cae / "model" / "model.yaml").read_text())
    assert cae_yaml["kind"] == "vae" and cae_yaml["channels"] == [32, 16]
    mae = tmp_path / "mae"
    run_cli("train", "--method", "mae", "--train", f"mix={sse_data['mix']}",
            "--train", f"noise={sse_data['noise']}", "--model-config", model_cfg,
            "--exp", mae, "--device", "cpu", "--method_options.cae", cae,
            "--method_options.noise_share", 0.5, *COMMON)
    cfg = yaml.safe_load((mae / "model" / "model.yaml").read_text())
    assert cfg["kind"] == "composite" and cfg["name"] == "sse"
    assert set(cfg["parts"]) == {"mae", "cae"}
    assert yaml.safe_load((mae / "model_mae" / "model.yaml").read_text())["kind"] == "vae"
    log = (mae / "train_log.csv").read_text().splitlines()
    header = log[0].split(",")
    shares = [float(row.split(",")[header.index("noise_clips")]) for row in log[1:]]
    assert np.mean(shares) == pytest.approx(0.5)            # half the clips were noise-only
    # the frozen CAE inside the composite is the trained CAE, unchanged (BN statistics too)
    from sebench.models.store import load_model
    composite, _ = load_model(mae)
    trained_cae, _ = load_model(cae)
    for k, v in trained_cae.state_dict().items():
        assert torch.equal(composite.parts["cae"].state_dict()[k], v), k
    # it reloads and enhances like any other model, through `sebench enhance`
    noisy = sse_data["root"] / "test"
    write_wav(noisy / "t.wav", varied_speech(1.3, seed=99)
              + 0.02 * np.random.default_rng(5).standard_normal(20800).astype(np.float32))
    run_cli("enhance", mae, noisy, "-o", tmp_path / "enh")
    out, fs = sf.read(tmp_path / "enh" / "t.wav")
    assert fs == 16000 and out.shape == (20800,) and np.isfinite(out).all() and np.abs(out).max() > 0
    # a VAE alone is not an enhancer: a one-line error
    proc = run_cli("enhance", cae, noisy, "-o", tmp_path / "enh2", check=False)
    assert proc.returncode != 0 and "vae model" in proc.stderr and "Traceback" not in proc.stderr


def mae_config(**options):
    from sebench.config import merge
    from sebench.train.config import DEFAULTS
    return merge(DEFAULTS, {"method": "mae", "model": TINY, "method_options": options,
                            "data": {"segment": 0.5, "batch_size": 4},
                            "optim": {"default": {"lr": 1e-3}}})


@pytest.mark.timeout(60)
def test_mae_needs_its_cae_and_the_noise_stream(sse_data, tmp_path):
    from sebench.errors import ConfigError
    from sebench.train.trainer import Trainer
    with pytest.raises(ConfigError, match="method_options.cae"):
        Trainer(mae_config(), str(tmp_path / "m1"), str(sse_data["mix"]))
    with pytest.raises(ConfigError, match="noise_share"):
        Trainer(mae_config(cae="x", noise_share=1.0), str(tmp_path / "m2"), str(sse_data["mix"]))
    with pytest.raises(ConfigError, match="stream 'noise'"):
        Trainer(mae_config(cae="x", noise_share=0.3), str(tmp_path / "m3"),
                [f"mix={sse_data['mix']}"])
