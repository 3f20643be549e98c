"""Paper 001: the split-codebook VQ-VAE (quantisation, straight-through gradients, separation
after training), its triplet losses (zero when the margin is met, gradients only to SE), the
five SE presets (Unpaired-* read both streams) and WADA-SNR."""
import os

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from conftest import REPO
from sebench.config import merge
from sebench.data import DataDir
from sebench.models import build_model
from sebench.models.store import load_model
from sebench.train.config import DEFAULTS
from sebench.train.losses import LOSSES
from sebench.train.vq_losses import embedding_distances

pytestmark = pytest.mark.timeout(180)
FS = 16000
PRESETS = ("baseline", "paired_embedding", "paired_feature", "unpaired_embedding",
           "unpaired_feature")


def conf(path):
    return yaml.safe_load(open(os.path.join(REPO, "conf", path)))


def tiny_vqvae(**over):
    cfg = {k: v for k, v in conf("models/vqvae_tiny.yaml").items() if k != "kind"}
    torch.manual_seed(0)
    return build_model(dict(cfg, **over))


def speech_like(rng, n):
    """Voiced harmonic bursts (f0 100-220 Hz) with syllable-rate gaps: sparse in T-F like speech."""
    t = np.arange(n) / FS
    f0 = rng.uniform(100, 220)
    wave = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)) / h for h in range(1, 16))
    envelope = np.clip(np.sin(2 * np.pi * rng.uniform(2, 4) * t + rng.uniform(0, 6.3)), 0, None)
    return (wave * envelope ** 2).astype(np.float32)


def make_set(root, count, seed, fields=("wav", "clean", "noise"), seconds=1.0):
    """Mixtures of speech-like signals and white/low-passed noise at SNR U[-5, 15] dB."""
    rng = np.random.default_rng(seed)
    scps = {f: {} for f in fields}
    n = int(seconds * FS)
    for i in range(count):
        clean = speech_like(rng, n)
        noise = rng.standard_normal(n).astype(np.float32)
        if i % 2:
            noise = np.convolve(noise, np.ones(8) / 8, mode="same").astype(np.float32)
        snr = rng.uniform(-5, 15)
        noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (snr / 10))
        scale = 0.5 / np.abs(clean + noise).max()
        audio = {"clean": clean * scale, "noise": noise * scale, "wav": (clean + noise) * scale}
        for f in fields:
            path = os.path.join(root, "audio", f"{f}_{i:03d}.wav")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            sf.write(path, audio[f], FS, subtype="FLOAT")
            scps[f][f"u{i:03d}"] = path
    d = DataDir(root)
    for f, scp in scps.items():
        d.write(f"{f}.scp", scp)
    return str(root)


def train(cfg, exp, train_dirs, valid):
    from sebench.train.trainer import Trainer
    trainer = Trainer(cfg, str(exp), train_dirs, valid, "cpu")
    trainer.run()
    return trainer


def vqvae_config(steps=60):
    cfg = merge(DEFAULTS, {k: v for k, v in conf("train/vqvae.yaml").items()})
    return merge(cfg, {"model": conf("models/vqvae_tiny.yaml"),
                       "data": {"segment": 0.5, "batch_size": 2, "num_workers": 0,
                                "bucket_batches": 2},
                       "optim": {"vqvae": {"lr": 3e-3}},
                       "method_options": {"restart_every": 20},
                       "train": {"epochs": 0, "max_steps": steps, "checkpoint_every": steps,
                                 "log_every": 20, "valid_every": steps,
                                 "early_stop_patience": None}})


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny convolutions run several times faster on one thread than on two busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("vq")
    return {"train": make_set(root / "train", 16, 1), "valid": make_set(root / "valid", 4, 2),
            "real": make_set(root / "real", 6, 3, fields=("wav",))}


@pytest.fixture(scope="module")
def trained_vqvae(data, tmp_path_factory):
    exp = tmp_path_factory.mktemp("vqexp") / "vqvae"
    trainer = train(vqvae_config(), exp, data["train"], data["valid"])
    return exp, trainer


# -- quantisation and gradients ------------------------------------------------------------------

def test_quantize_picks_cosine_nearest_codeword_within_the_half():
    model = tiny_vqvae()
    e = torch.randn(2, model.codebook.shape[1], 5, 7)
    codes = model.codebook.detach().numpy()
    flat = e.permute(0, 2, 3, 1).reshape(-1, e.shape[1]).numpy()
    cos = (flat / np.linalg.norm(flat, axis=1, keepdims=True)) @ \
        (codes / np.linalg.norm(codes, axis=1, keepdims=True)).T
    half = model.half
    for which, lo, hi in (("s", 0, half), ("n", half, 2 * half), ("d", 0, 2 * half)):
        q, idx = model.quantize(e, which)
        expected = lo + np.argmax(cos[:, lo:hi], axis=1)
        np.testing.assert_array_equal(idx.reshape(-1).numpy(), expected)
        assert idx.min() >= lo and idx.max() < hi
        # the quantised vector is that codeword, unit-normalised
        unit = codes[expected] / np.linalg.norm(codes[expected], axis=1, keepdims=True)
        np.testing.assert_allclose(q.permute(0, 2, 3, 1).reshape(-1, e.shape[1]).detach(), unit,
                                   rtol=1e-5, atol=1e-6)
    # the speech and noise halves pick different codes for the same embedding
    assert not torch.equal(model.quantize(e, "s")[1], model.quantize(e, "n")[1])


def test_shapes_and_parameter_count_match_the_architecture():
    c, dim, k = 8, 8, 16
    model = tiny_vqvae()
    conv = lambda cin, cout, size=3: cin * cout * size * size + cout    # noqa: E731
    bn = 2 * c + 2 * c + 2 * dim                                        # encoder BatchNorms
    res = conv(dim, c) + conv(c, dim, 1)
    encoder = conv(1, c) + conv(c, c) + conv(c, dim) + bn + 2 * res
    decoder = 2 * res + conv(dim, c) + conv(c, c) + conv(c, 1) + 4 * c  # two BatchNorms of c
    assert sum(p.numel() for p in model.parameters()) == encoder + decoder + k * dim
    out = model(torch.randn(2, 3000))
    frames, bins = 1 + 3000 // 128, 129
    assert out["e"].shape == (2, dim, frames, bins)                 # one embedding per T-F bin
    assert torch.allclose(out["e"].norm(dim=1), torch.ones(2, frames, bins), atol=1e-5)
    for key in ("f", "f_s", "f_n", "f_d"):
        assert out[key].shape == (2, 1, frames, bins)


def test_gradients_pass_the_straight_through_estimator():
    model = tiny_vqvae()
    wave = torch.randn(2, 2000) * 0.1
    out = model(wave)
    out["f_s"].pow(2).mean().backward()
    first_conv = model.encoder[0][0].weight
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0
    # the codebook learns only through the VQ term, not through the decoder
    assert model.codebook.grad is None or model.codebook.grad.abs().sum() == 0
    model.zero_grad()
    batch = {"wav": wave, "lengths": torch.tensor([2000, 2000])}
    LOSSES.build("vq_codebook")(model(wave), batch, model).sum().backward()
    assert model.codebook.grad.abs().sum() > 0


def test_dead_codes_are_restarted_from_embeddings():
    model = tiny_vqvae()
    model.usage[:3] = 0.0
    e = torch.nn.functional.normalize(torch.randn(1, model.codebook.shape[1], 4, 5), dim=1)
    assert model.restart_dead_codes(e) == 3
    flat = e.permute(0, 2, 3, 1).reshape(-1, e.shape[1])
    for i in range(3):
        assert torch.isclose(flat, model.codebook.data[i]).all(1).any()
    assert model.restart_dead_codes(e) == 0


# -- a trained tiny VQ-VAE -----------------------------------------------------------------------

@pytest.mark.slow
def test_speech_half_reconstructs_clean_better_than_noise_half(trained_vqvae, data):
    exp, _ = trained_vqvae
    model, cfg = load_model(exp, kinds={"vqvae"})
    assert cfg["kind"] == "vqvae"
    d = DataDir(data["valid"])
    clean_err, noise_err = [], []
    for key in d.keys:
        wav = torch.from_numpy(sf.read(d.read("wav.scp")[key], dtype="float32")[0])[None]
        clean = torch.from_numpy(sf.read(d.read("clean.scp")[key], dtype="float32")[0])[None]
        with torch.no_grad():
            out = model(wav)
            target = model.wave_features(clean, out["floor"])
        clean_err.append(float(((out["f_s"] - target) ** 2).mean()))
        noise_err.append(float(((out["f_n"] - target) ** 2).mean()))
    assert np.mean(clean_err) < 0.8 * np.mean(noise_err), (clean_err, noise_err)
    log = open(exp / "train_log.csv").read().splitlines()
    assert {"ppl_s", "ppl_n", "ppl_d", "restarts"} <= set(log[0].split(","))
    assert "margin" in open(exp / "valid_log.csv").read().splitlines()[0]


# -- triplet losses --------------------------------------------------------------------------------

def gru_config():
    """The tiny GRU SE model on the tiny VQ-VAE's STFT."""
    return dict(conf("models/gru_tiny.yaml"), stft=conf("models/vqvae_tiny.yaml")["stft"])


def tiny_gru():
    torch.manual_seed(1)
    return build_model(gru_config())


@pytest.mark.parametrize("name", ["vq_triplet_embedding", "vq_triplet_feature"])
def test_triplet_zero_when_margin_met_positive_otherwise_grads_only_to_se(name):
    vq, se = tiny_vqvae(), tiny_gru()
    wave = torch.randn(2, 4000) * 0.1
    batch = {"wav": wave, "lengths": torch.tensor([4000, 4000])}
    probe = LOSSES.build(name, margin=0.0).bind(vq)
    with torch.no_grad():
        d_pos, d_neg = probe.distances(se(wave)["spec"])
    valid = int((torch.arange(d_pos.shape[1]) * vq.stft_cfg.hop_length < 4000).sum())
    gap = (d_pos - d_neg)[:, :valid]   # frames whose centre lies inside the signal
    met = LOSSES.build(name, margin=-float(gap.max()) - 1e-3).bind(vq)
    assert float(met(se(wave), batch).detach().abs().max()) == 0.0
    loose = LOSSES.build(name, margin=-float(gap.min()) + 0.5).bind(vq)
    value = loose(se(wave), batch)
    # every bin is inside the margin: the loss is the mean of gap + m exactly
    torch.testing.assert_close(value, gap.mean((1, 2)) - float(gap.min()) + 0.5, rtol=1e-4,
                               atol=1e-5)
    assert (value > 0).all()
    value.sum().backward()
    assert all(p.grad is None for p in vq.parameters())
    assert all(not p.requires_grad for p in vq.parameters()) and not vq.training
    assert sum(float(p.grad.abs().sum()) for p in se.parameters() if p.grad is not None) > 0


def test_embedding_distances_are_cosine_distances_to_each_half():
    vq = tiny_vqvae()
    e = torch.nn.functional.normalize(torch.randn(1, vq.codebook.shape[1], 3, 4), dim=1)
    d_pos, d_neg = embedding_distances(vq, e)
    codes = torch.nn.functional.normalize(vq.codebook.detach(), dim=1)
    cos = torch.einsum("bltf,kl->btfk", e, codes)
    torch.testing.assert_close(d_pos, 1 - cos[..., :vq.half].max(-1).values)
    torch.testing.assert_close(d_neg, 1 - cos[..., vq.half:].max(-1).values)


# -- the five SE presets -------------------------------------------------------------------------

def preset_config(name, vqvae_exp, steps=4):
    cfg = merge(DEFAULTS, conf(f"train/vq_{name}.yaml"))
    return merge(cfg, {"model": gru_config(),
                       "method_options": {"vqvae": str(vqvae_exp)},
                       "data": {"segment": 0.5, "batch_size": 2, "num_workers": 0,
                                "bucket_batches": 2},
                       "train": {"epochs": 0, "max_steps": steps, "checkpoint_every": steps,
                                 "log_every": 1, "valid_every": steps,
                                 "early_stop_patience": None, "amp": False}})


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_presets_train_and_export_unpaired_reads_both_streams(preset, trained_vqvae, data,
                                                               tmp_path):
    from sebench.train.trainer import Trainer
    vq_exp, _ = trained_vqvae
    cfg = preset_config(preset, vq_exp)
    streams = {"paired": data["train"]}
    if preset.startswith("unpaired"):
        streams["unpaired"] = data["real"]
    trainer = Trainer(cfg, str(tmp_path / preset), streams, data["valid"], "cpu")
    assert list(trainer.streams) == list(streams)
    seen = []
    if trainer.method.triplet is not None:
        forward = trainer.method.triplet.forward

        def record(out, batch, model=None):
            seen.append(list(batch["keys"]))
            return forward(out, batch, model)
        trainer.method.triplet.forward = record
    trainer.run()
    if preset == "baseline":
        assert not seen
    else:
        # 4 training steps, then the 4 validation utterances one by one; the triplet term
        # of Unpaired-* trains on the real stream, that of Paired-* on the paired batches
        source = data["real"] if preset.startswith("unpaired") else data["train"]
        assert len(seen) == 8 and all(set(k) <= set(DataDir(source).keys) for k in seen[:4])
        assert all(set(k) <= set(DataDir(data["valid"]).keys) for k in seen[4:])
    model, cfg_out = load_model(tmp_path / preset)
    assert cfg_out.get("kind", "se") == "se" and cfg_out["name"] == "gru"
    assert model(torch.zeros(1, 1600))["wave"].shape == (1, 1600)
    log = open(tmp_path / preset / "valid_log.csv").read().splitlines()[0]
    assert ("margin" in log) == (preset != "baseline")


@pytest.mark.slow
def test_unpaired_triplet_resumes_exactly_after_sigkill(trained_vqvae, data, tmp_path):
    """Killed after step 3 (checkpoint at 2), rerun: both streams resume where they were and
    the exported weights equal an uninterrupted run's bit for bit."""
    from conftest import run_cli
    vq_exp, _ = trained_vqvae
    cfg = preset_config("unpaired_embedding", vq_exp, steps=6)
    cfg["train"].update(checkpoint_every=2, log_every=2, valid_every=None)
    conf_path = tmp_path / "unpaired.yaml"
    conf_path.write_text(yaml.safe_dump({k: cfg[k] for k in ("method", "model", "method_options",
                                                             "loss", "data", "optim", "train")}))
    args = ("train", "--config", conf_path, "--train", f"paired={data['train']}", "--train",
            f"unpaired={data['real']}", "--valid", data["valid"], "--device", "cpu")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run_cli(*args, "--exp", tmp_path / "a", env=env)
    killed = run_cli(*args, "--exp", tmp_path / "b", check=False,
                     env=dict(env, SEBENCH_KILL_AFTER_STEP="3"))
    assert killed.returncode != 0 and not (tmp_path / "b" / "model").exists()
    resumed = run_cli(*args, "--exp", tmp_path / "b", env=env)
    assert "resumed from" in resumed.stderr
    wa, wb = (torch.load(x / "model" / "model.pt", weights_only=True)
              for x in (tmp_path / "a", tmp_path / "b"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    import csv
    logs = [[{k: r[k] for k in ("step", "sup", "triplet", "loss")}    # not the timings
             for r in csv.DictReader(open(x / "train_log.csv"))] for x in (tmp_path / "a", tmp_path / "b")]
    assert logs[0] == logs[1] and [r["step"] for r in logs[0]] == ["2", "4", "6"]


def test_unpaired_preset_needs_both_streams(data, tmp_path):
    from sebench.errors import ConfigError
    from sebench.train.trainer import Trainer
    cfg = preset_config("unpaired_embedding", tmp_path / "no_vqvae_needed_before_the_streams")
    with pytest.raises(ConfigError, match="unpaired"):
        Trainer(cfg, str(tmp_path / "x"), {"paired": data["train"]}, None, "cpu")


# -- WADA-SNR -------------------------------------------------------------------------------------

VBD_CLEAN = os.path.join(REPO, "..", "shared", "data", "vbd_test_subset", "clean")


@pytest.mark.skipif(not os.path.isdir(VBD_CLEAN), reason="../shared/data/vbd_test_subset absent")
@pytest.mark.parametrize("snr", [0, 10, 20])
def test_wada_snr_within_2_db_on_white_noise_mixtures(snr):
    from sebench.metrics.wada import wada_snr
    rng = np.random.default_rng(snr)
    errors = []
    for name in sorted(os.listdir(VBD_CLEAN))[:6]:
        clean, fs = sf.read(os.path.join(VBD_CLEAN, name), dtype="float64")
        noise = rng.standard_normal(len(clean))
        noise *= np.sqrt(np.sum(clean ** 2) / np.sum(noise ** 2) / 10 ** (snr / 10))
        errors.append(wada_snr(clean + noise) - snr)
    assert abs(np.mean(errors)) < 2.0, errors
    assert max(abs(e) for e in errors) < 3.0, errors


def test_wada_snr_is_monotone_gain_invariant_and_refuses_silence():
    from sebench.metrics.intrusive import MetricError
    from sebench.metrics.wada import g_table, wada_snr
    assert np.all(np.diff(g_table()) > 0)
    rng = np.random.default_rng(0)
    speech = np.concatenate([speech_like(rng, FS), np.zeros(FS // 2, np.float32)]).astype(float)
    noise = rng.standard_normal(len(speech))
    est = [wada_snr(speech + noise * np.sqrt(np.mean(speech ** 2) / 10 ** (s / 10)))
           for s in (-5, 5, 15, 25)]
    assert est == sorted(est) and est[-1] - est[0] > 15
    x = speech + 0.1 * noise
    assert wada_snr(x) == pytest.approx(wada_snr(7 * x), abs=1e-9)
    with pytest.raises(MetricError):
        wada_snr(np.zeros(100))


# -- the margin-vs-SNR figure ----------------------------------------------------------------------

@pytest.mark.slow
def test_vq_margin_cli_writes_figure_and_numbers(trained_vqvae, data, tmp_path):
    import json

    from conftest import run_cli
    from sebench.results.vq_margin import global_snr_db
    out = tmp_path / "margin"
    proc = run_cli("vq-margin", trained_vqvae[0], data["valid"], "--out", out, "--bin-db", "10")
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(proc.stdout.strip().splitlines()[-1])["utterances"] == 4
    rows = (out / "margin.csv").read_text().splitlines()
    assert rows[0] == "utt,snr_db,margin" and len(rows) == 5
    d = DataDir(data["valid"])
    key, snr, _ = rows[1].split(",")
    clean = sf.read(d.read("clean.scp")[key])[0]
    noise = sf.read(d.read("noise.scp")[key])[0]
    assert float(snr) == pytest.approx(global_snr_db(clean, noise), abs=1e-3)
    assert np.isfinite(summary["slope_per_db"]) and -1 <= summary["pearson"] <= 1
    assert (out / "margin_vs_snr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a data dir without the references: one line naming what is missing
    bad = run_cli("vq-margin", trained_vqvae[0], data["real"], "--out", tmp_path / "x",
                  check=False)
    assert bad.returncode != 0 and "no clean.scp" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_score_cli_wada_snr_without_reference(tmp_path):
    import csv

    from conftest import run_cli
    from sebench.metrics.wada import wada_snr
    root = make_set(tmp_path / "real", 2, 5, fields=("wav",))
    run_cli("score", "--enh", root, "--metrics", "wada_snr", "--out", tmp_path / "s")
    with open(tmp_path / "s" / "scores.csv") as f:
        rows = {r["key"]: r for r in csv.DictReader(f)}
    wav = sf.read(DataDir(root).read("wav.scp")["u000"])[0]
    assert float(rows["u000"]["wada_snr"]) == pytest.approx(wada_snr(wav), abs=1e-3)
