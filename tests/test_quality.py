"""Quality predictors, labels, Algorithm 1 and the quality-guided training methods."""
import csv
import json

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from conftest import REPO, TINY_CNN_BLSTM, run_cli
from sebench.data import DataDir
from sebench.quality.attack import algorithm1
from sebench.quality.labels import LabelScale, mos_from_csv
from sebench.models.store import load_model

TINY_QP = {
    "cnn": {"kind": "predictor", "name": "cnn", "channels": [8, 8, 8, 8], "kernel": 3, "fc": [16, 8]},
    "blstm": {"kind": "predictor", "name": "blstm", "hidden": 32, "layers": 1, "fc": [16, 8]},
    "cnn_blstm": {"kind": "predictor", "name": "cnn_blstm", "channels": [4, 4], "kernel": 3,
                  "hidden": 32, "layers": 1, "fc": [16, 8]},
    "pesqnet": {"kind": "predictor", "name": "pesqnet", "channels": [8, 8], "conv_out": 8,
                "hidden": 16, "fc": 16},
}


@pytest.fixture(scope="session")
def quality_data(tmp_path_factory):
    """SNR-controlled mixtures of espeak speech and white/pink noise, labelled by DNSMOS
    (utt2dnsmos_p808, ...) and by wideband PESQ (utt2pesq): a known quality order."""
    root = tmp_path_factory.mktemp("quality")
    run_cli("synth-corpus", "--out", root / "corpus", "--config", REPO / "conf/synth/tiny.yaml",
            "--noise_types", "[white,pink]")
    for name, num, seed in (("train", 60, 1), ("test", 20, 7)):
        split = "train" if name == "train" else "test"
        run_cli("simulate", "--clean", root / "corpus" / "data" / f"clean_{split}", "--noise",
                root / "corpus" / "data" / f"noise_{split}", "--out", root / name, "--num", num,
                "--snrs=-5,5,15,25,40", "--segment", 2.0, "--seed", seed)
        run_cli("label", root / name, "--source", "dnsmos", "--short-clips", "first_window",
                "--nj", 2)
        run_cli("label", root / name, "--source", "pesq", "--nj", 2)
    return root


def _train_qp(data, exp, name, label, *extra):
    cfg = exp.parent / f"{name}.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(yaml.safe_dump(TINY_QP[name]))
    return run_cli("train-qp", "--train", data / "train", "--valid", data / "test", "--qp-config",
                   cfg, "--label", label, "--exp", exp, "--test", data / "test",
                   "--train.epochs", 12, "--optim.q.lr", 3e-3, *extra)


@pytest.fixture(scope="session")
def cnn_qp(quality_data, tmp_path_factory):
    exp = tmp_path_factory.mktemp("qp") / "cnn"
    _train_qp(quality_data, exp, "cnn", "dnsmos_p808")
    return exp


def test_labels_are_written(quality_data):
    d = DataDir(quality_data / "test")
    assert not (quality_data / "test" / "utt2mos").exists()     # utt2mos is for human ratings
    for name in ("dnsmos_p808", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "pesq"):
        values = [float(v) for v in d.read(f"utt2{name}").values()]
        assert len(values) == 20 and all(1.0 <= v <= 5.0 for v in values)
    snr = {r["utt"]: float(r["snr_db"]) for r in csv.DictReader(open(quality_data / "test" / "meta.csv"))}
    pesq = {k: float(v) for k, v in d.read("utt2pesq").items()}
    assert np.corrcoef([snr[k] for k in sorted(pesq)], [pesq[k] for k in sorted(pesq)])[0, 1] > 0.8


@pytest.mark.parametrize("name", ["blstm", "cnn_blstm", "pesqnet"])
def test_predictor_fits_held_out_quality(quality_data, tmp_path, name):
    label = "pesq" if name == "pesqnet" else "dnsmos_p808"
    _train_qp(quality_data, tmp_path / name, name, label)
    acc = json.loads((tmp_path / name / "test_test" / "accuracy.json").read_text())
    assert acc["lcc"] > 0.8, acc
    assert (tmp_path / name / "test_test" / "scatter.png").is_file()


def test_cnn_predictor_fits_and_labels_other_dirs(cnn_qp, quality_data, tmp_path):
    acc = json.loads((cnn_qp / "test_test" / "accuracy.json").read_text())
    assert acc["lcc"] > 0.8 and acc["srcc"] > 0.8, acc
    valid = list(csv.DictReader(open(cnn_qp / "valid_log.csv")))
    assert "lcc" in valid[-1] and "srcc" in valid[-1]
    out = tmp_path / "labelled"
    run_cli("data", "subset", quality_data / "test", out, "--first", 5)
    run_cli("label", out, "--source", "qp", "--qp", cnn_qp)
    assert len(DataDir(out).read("utt2dnsmos_p808_pred")) == 5


@pytest.mark.slow
def test_label_scales_and_human_mos_csv(tmp_path):
    for norm in ("linear", "sigmoid"):
        scale = LabelScale(norm, 1.0, 5.0)
        y = torch.tensor([1.2, 2.5, 4.8])
        torch.testing.assert_close(scale.denormalize(scale.normalize(y)), y)
        assert 0 <= float(scale.normalize(torch.tensor(1.0))) < float(scale.normalize(torch.tensor(5.0))) <= 1
    (tmp_path / "r.csv").write_text("file,rating\na,0\na,50\nb,100\nc,75\n")
    assert mos_from_csv(tmp_path / "r.csv", "file", "rating") == {"a": 2.0, "b": 5.0, "c": 4.0}
    d = DataDir(tmp_path / "iub")
    d.write("wav.scp", {"a": "/x/a.wav", "b": "/x/b.wav"})
    run_cli("label", tmp_path / "iub", "--source", "csv", "--csv", tmp_path / "r.csv",
            "--key-column", "file", "--score-column", "rating")
    assert d.read("utt2mos") == {"a": "2.0000", "b": "5.0000"}
    p = run_cli("label", tmp_path / "iub", "--source", "csv", "--csv", tmp_path / "r.csv",
                "--key-column", "name", check=False)
    assert p.returncode == 1 and "no column" in p.stderr


def test_algorithm1_raises_q_and_keeps_signals_non_negative(cnn_qp, quality_data):
    q, _ = load_model(cnn_qp)
    wav = sorted(DataDir(quality_data / "test").read("wav.scp").values())[0]
    mag = q.magnitude(torch.tensor(sf.read(wav, dtype="float32")[0])[None])
    frozen = [p.requires_grad for p in q.parameters()]
    y, noise, history = algorithm1(q, mag, 1.0, steps=15, lr=0.1)
    assert float(history[-1][0]) > float(history[0][0]) + 0.05
    assert float(y.min()) >= 0 and float(noise.min()) >= 0
    assert torch.all(y <= mag + 1e-6)                        # only subtracts
    assert [p.requires_grad for p in q.parameters()] == frozen


def test_deepdream_lowers_its_loss_and_changes_the_se(cnn_qp, quality_data, tmp_path):
    exp = tmp_path / "dd"
    run_cli("train", "--method", "deepdream", "--train", quality_data / "train", "--valid",
            quality_data / "test", "--model-config", TINY_CNN_BLSTM, "--exp", exp,
            "--method_options.qp", cnn_qp, "--model.mask_floor", 0.05, "--train.epochs", 3,
            "--data.batch_size", 4, "--optim.se.lr", 3e-3, "--data.valid_max_utts", 8)
    valid = list(csv.DictReader(open(exp / "valid_log.csv")))
    assert float(valid[-1]["loss"]) < float(valid[0]["loss"])
    assert float(valid[-1]["teacher"]) > float(valid[0]["teacher"])
    se, _ = load_model(exp)
    x = torch.tensor(sf.read(sorted(DataDir(quality_data / "test").read("wav.scp").values())[0],
                             dtype="float32")[0])[None]
    out = se(x)
    assert float(out["mask"].detach().min()) >= 0.05 - 1e-6                # the mask floor holds
    assert float((out["wave"].detach() - x).abs().max()) > 1e-3            # the SE output changed


def _gan_trainer(quality_data, tmp_path, method="gan", steps=2, **options):
    from sebench.config import merge
    from sebench.train.config import DEFAULTS
    from sebench.train.trainer import Trainer
    cfg = merge(DEFAULTS, {"method": method, "model": yaml.safe_load(TINY_CNN_BLSTM.read_text()),
                           "method_options": dict({"async_labels": False,
                                                   "d_model": TINY_QP["cnn"]}, **options),
                           "optim": {"default": {"lr": 1e-3}},
                           "data": {"batch_size": 2, "segment": None},
                           "train": {"max_steps": steps, "epochs": 0, "amp": False,
                                     "log_every": 1}})
    return Trainer(cfg, str(tmp_path / method), str(quality_data / "train"), None, "cpu")


def _params(trainer):
    return {k: {n: p.detach().clone() for n, p in m.named_parameters()}
            for k, m in trainer._modules.items()}


def _changed(before, trainer, name):
    after = dict(trainer.module(name).named_parameters())
    return any(not torch.equal(before[name][n], after[n]) for n in before[name])


@pytest.mark.parametrize("order", [["d", "se"], ["se", "d"]])
def test_gan_updates_both_networks_in_the_configured_order(quality_data, tmp_path, order):
    trainer = _gan_trainer(quality_data, tmp_path, order=order)
    calls, optimize = [], trainer.optimize
    trainer.optimize = lambda name, loss: (calls.append(name), optimize(name, loss))
    before = _params(trainer)
    trainer.run()
    assert calls == order * 2
    assert _changed(before, trainer, "se") and _changed(before, trainer, "d")
    log = list(csv.DictReader(open(tmp_path / "gan" / "train_log.csv")))
    assert {"d_loss", "loss", "time_se", "time_d", "time_label", "grad_norm_se",
            "grad_norm_d"} <= set(log[0])


def test_gan_default_asynchronous_labels_fill_the_replay_buffer(quality_data, tmp_path):
    """The default path: D learns from labelled past outputs while new ones are scored."""
    trainer = _gan_trainer(quality_data, tmp_path, steps=3, async_labels=True, replay_per_step=2)
    before = _params(trainer)
    trainer.run()
    gan = trainer.method
    assert gan.replay and all(1.0 <= mos <= 5.0 for _, mos, _ in gan.replay)
    assert gan.labeller.misses >= len(gan.replay)
    assert _changed(before, trainer, "se") and _changed(before, trainer, "d")
    from sebench.errors import ConfigError
    with pytest.raises(ConfigError, match="method_options.order: entries are 'd' and 'se'"):
        _gan_trainer(quality_data, tmp_path, order=["d", "g"])


def test_semi_starts_from_the_supervised_weights_and_trains(trained_exp, quality_data, tmp_path):
    trainer = _gan_trainer(quality_data, tmp_path, method="semi", steps=1, base="gan",
                           init_from=str(trained_exp))
    sup = torch.load(trained_exp / "model" / "model.pt", weights_only=True)
    start = trainer.module("se").state_dict()
    assert all(torch.equal(sup[k], start[k]) for k in sup)           # starts from supervised
    trainer.run()
    end = trainer.module("se").state_dict()
    assert any(not torch.equal(sup[k], end[k]) for k in sup)         # and trains
    assert torch.equal(end["feat_mean"], sup["feat_mean"])           # statistics kept
    p = run_cli("train", "--method", "semi", "--train", quality_data / "train", "--model-config",
                TINY_CNN_BLSTM, "--exp", tmp_path / "x", check=False)
    assert p.returncode == 1 and "init_from" in p.stderr


def test_robust_q_training_and_enhancement_raise_bak(cnn_qp, quality_data, tmp_path):
    exp = tmp_path / "rq"
    cfg = tmp_path / "cnn.yaml"
    cfg.write_text(yaml.safe_dump(TINY_QP["cnn"]))
    run_cli("train-qp", "--method", "robust_q", "--train", quality_data / "train", "--qp-config",
            cfg, "--label", "dnsmos_p808", "--exp", exp, "--method_options.init_from", cnn_qp,
            "--method_options.attack_steps", 5, "--train.epochs", 1, "--data.batch_size", 4,
            "--train.log_every", 1, "--optim.q.lr", 1e-3)
    log = list(csv.DictReader(open(exp / "train_log.csv")))
    assert all(float(r["attack_gain"]) > 0 for r in log)        # each attack raised Q
    assert all(1 <= float(r["mos_attacked"]) <= 5 for r in log)  # and DNSMOS labelled it
    # noisy clips (-5, 5, 15 dB SNR): Algorithm 1 with the robust Q raises DNSMOS BAK on average
    meta = list(csv.DictReader(open(quality_data / "test" / "meta.csv")))
    keys = [r["utt"] for r in meta if float(r["snr_db"]) in (-5.0, 5.0, 15.0)][:6]
    (tmp_path / "keys").write_text("".join(k + "\n" for k in keys))
    run_cli("data", "subset", quality_data / "test", tmp_path / "noisy", "--utt-list",
            tmp_path / "keys")
    run_cli("enhance", "--robust-q", exp, tmp_path / "noisy", "-o", tmp_path / "enh",
            "--rq-steps", 20, "--rq-lr", 0.5)
    from sebench.metrics.dnsmos import get_dnsmos
    dnsmos = get_dnsmos()
    noisy, enh = DataDir(tmp_path / "noisy").read("wav.scp"), DataDir(tmp_path / "enh").read("wav.scp")
    gain = [dnsmos(sf.read(enh[k], dtype="float32")[0], short_clips="first_window")["bak"] -
            dnsmos(sf.read(noisy[k], dtype="float32")[0], short_clips="first_window")["bak"]
            for k in keys]
    assert np.mean(gain) > 0.02, gain


def test_labeller_gives_true_pesq_cached_by_estimate_and_reference():
    from conftest import varied_speech
    from sebench.errors import ConfigError
    from sebench.metrics.intrusive import pesq_wb
    from sebench.quality.labeller import Labeller
    clean = varied_speech(2.0, seed=1)
    rng = np.random.default_rng(0)
    noisy = [clean + 0.001 * rng.standard_normal(clean.size).astype(np.float32),
             clean + 0.005 * rng.standard_normal(clean.size).astype(np.float32)]
    other = varied_speech(2.0, seed=5)
    labeller = Labeller("pesq", workers=1)
    try:
        scores = labeller.label_now(noisy, [clean, clean])
        assert scores == [pesq_wb(clean, n, 16000) for n in noisy] and scores[0] > scores[1]
        # the same estimate against another reference is another label, not a cache hit
        against_other = labeller.label_now(noisy[:1], [other])[0]
        assert against_other < scores[0] - 1.0 and labeller.misses == 3
        assert labeller.label_now(noisy, [clean, clean]) == scores and labeller.hits == 2
        labeller.submit(noisy[1:], ["payload"], [clean])
        assert labeller.collect(wait=True) == [("payload", scores[1])]
        with pytest.raises(ConfigError, match="needs the clean reference"):
            labeller.label_now(noisy)
    finally:
        labeller.close()
