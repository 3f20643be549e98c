"""Paper 002's PESQNet-mediated <1-1> protocol (``sebench/train/methods/pesqnet.py``) on a
tiny FCRN and PESQNet: whole-epoch accumulation of the FCRN's gradients, which network is
frozen in which epoch, true-PESQ labels from the cache, the alpha = 1 placebo, exact resume
after a SIGKILL in the middle of an accumulating epoch."""
import os
import re

import numpy as np
import pytest
import torch
from scipy.signal import fftconvolve

from conftest import run_cli, varied_speech, write_wav
from sebench.config import merge
from sebench.data import DataDir
from sebench.metrics.intrusive import pesq_wb
from sebench.models import build_model
from sebench.quality import build_predictor
from sebench.train.checkpoint import load
from sebench.train.config import DEFAULTS
from sebench.train.losses import JointDereverb
from sebench.train.methods import METHODS
from sebench.train.methods.pesqnet import PESQNetMediated
from sebench.train.trainer import Trainer

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]   # trainer runs of a few s each

FCRN = {"name": "fcrn", "fs": 16000, "filters": 4, "kernel": 5,
        "stft": {"n_fft": 512, "hop_length": 192, "win_length": 384, "window": "hann"},
        "feature": {"type": "magnitude", "normalize": True}}
PESQNET = {"kind": "predictor", "name": "pesqnet", "channels": [4, 4], "conv_out": 4,
           "hidden": 8, "fc": 8}
LR = 0.05


def make_set(folder, count, seed):
    """``count`` 0.75 s utterances: dry clean, reverberant clean (aligned), noisy = rev + noise."""
    rng = np.random.default_rng(seed)
    rir = np.exp(-np.arange(800) / 150.0) * rng.standard_normal(800) * 0.3
    rir[0] = 1.0
    scps = {"wav": {}, "clean": {}, "clean_rev": {}}
    for i in range(count):
        clean = varied_speech(0.75, seed=seed * 100 + i) * 3
        rev = fftconvolve(clean, rir)[:clean.size].astype(np.float32)
        noisy = rev + (0.03 * (1 + i % 3) * rng.standard_normal(clean.size)).astype(np.float32)
        utt = f"u{i:02d}"
        for field, audio in (("clean", clean), ("clean_rev", rev), ("wav", noisy)):
            scps[field][utt] = str(write_wav(folder / field / f"{utt}.wav", audio, subtype="FLOAT"))
    d = DataDir(folder)
    for field, scp in scps.items():
        d.write(f"{field}.scp", scp)
    d.write_utt2spk({u: u for u in scps["wav"]})
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pesqnet_data")
    return {"train": make_set(root / "train", 6, 1), "valid": make_set(root / "valid", 2, 2)}


class Probe(PESQNetMediated):
    """Records the weights before each step and the batch it trains on."""

    def train_step(self, batch):
        self.seen = getattr(self, "seen", [])
        self.seen.append({"epoch": self.trainer.state["epoch"], "keys": list(batch["keys"]),
                          "batch": {k: v.clone() for k, v in batch.items() if torch.is_tensor(v)},
                          **{n: {k: v.clone() for k, v in self.module(n).state_dict().items()}
                             for n in ("se", "pesqnet")}})
        return super().train_step(batch)


def config(**options):
    METHODS.register("pesqnet_probe", Probe)
    base = {"method": "pesqnet_probe", "model": FCRN,
            "method_options": dict({"pesqnet_model": PESQNET, "alpha": 0.0, "beta": 0.9}, **options),
            "data": {"segment": None, "batch_size": 2, "bucket_batches": 1},
            "optim": {"se": {"type": "sgd", "lr": LR, "accum_grad": "epoch"},
                      "pesqnet": {"type": "sgd", "lr": LR}},
            "train": {"epochs": 2, "checkpoint_every": 0, "log_every": 1, "grad_clip": 0.0,
                      "amp": False}}
    return merge(DEFAULTS, base)


def run(cfg, exp, data, valid=False):
    trainer = Trainer(cfg, str(exp), str(data["train"]), str(data["valid"]) if valid else None)
    trainer.run()
    return trainer


def fcrn_grad(se_state, q_state, batch, alpha, beta=0.9):
    """The FCRN's J_total gradient for one batch at given weights (the oracle, by autograd)."""
    se, q = build_model(FCRN), build_predictor(PESQNET)
    se.load_state_dict(se_state)
    q.load_state_dict(q_state)
    out = se(batch["wav"])
    j_mse = JointDereverb(beta)(out, batch, se)
    est = q(out["wave"], batch["lengths"])
    loss = (alpha * j_mse + (1 - alpha) * (est - 4.64) ** 2).mean()
    names = [n for n, _ in se.named_parameters()]
    grads = torch.autograd.grad(loss, list(se.parameters()))
    return dict(zip(names, grads))


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory):
    root = tmp_path_factory.mktemp("pesqnet_runs")
    return {alpha: run(config(alpha=alpha), root / f"alpha{alpha}", data) for alpha in (0.0, 1.0)}


def params(state, model):
    names = {n for n, _ in model.named_parameters()}
    return {k: v for k, v in state.items() if k in names}


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_odd_epoch_is_one_update_of_the_accumulated_gradients(runs, alpha):
    trainer = runs[alpha]
    seen = trainer.method.seen
    odd = [s for s in seen if s["epoch"] == 0]
    assert len(odd) == 3 and len(seen) == 6                 # 6 utterances, batches of 2
    assert trainer.optim.slots["se"].updates == 1            # epoch tau = 1 only
    assert all(torch.equal(odd[0]["se"][k], s["se"][k]) for s in odd for k in odd[0]["se"])
    # the one update is -lr x the mean of the three per-batch gradients (SGD, no clipping)
    grads = [fcrn_grad(odd[0]["se"], odd[0]["pesqnet"], s["batch"], alpha) for s in odd]
    after = seen[3]["se"]
    for name in grads[0]:
        total = sum(g[name] for g in grads)
        torch.testing.assert_close(after[name], odd[0]["se"][name] - LR * total / 3,
                                   rtol=1e-4, atol=1e-7)


def test_pesqnet_frozen_in_odd_epochs_and_fcrn_in_even_ones(runs):
    trainer = runs[0.0]
    seen, final = trainer.method.seen, trainer.module("se").state_dict()
    odd, even = seen[:3], seen[3:]
    q0 = odd[0]["pesqnet"]
    assert all(torch.equal(q0[k], s["pesqnet"][k]) for s in odd + even[:1] for k in q0)
    assert trainer.optim.slots["pesqnet"].updates == 3      # every step of epoch tau = 2
    changed = [any(not torch.equal(a["pesqnet"][k], b["pesqnet"][k]) for k in q0)
               for a, b in zip(even, even[1:])]
    assert all(changed)
    se1 = even[0]["se"]
    assert all(torch.equal(se1[k], s["se"][k]) for s in even for k in se1)
    assert all(torch.equal(se1[k], final[k]) for k in se1)
    assert not any(torch.equal(se1[k], odd[0]["se"][k]) for k in params(se1, trainer.module("se")))


def test_placebo_differs_from_alpha_zero_only_through_the_loss(runs):
    a0, a1 = runs[0.0].method.seen, runs[1.0].method.seen
    # same start, same batches in the same order, same schedule
    assert [s["keys"] for s in a0] == [s["keys"] for s in a1]
    for n in ("se", "pesqnet"):
        assert all(torch.equal(a0[0][n][k], a1[0][n][k]) for k in a0[0][n])
    # each FCRN's update is its own loss's gradient (checked above for both alphas); the
    # placebo's does not involve PESQNet at all, so it equals the pure J_MSE gradient
    g_mse = fcrn_grad(a1[0]["se"], a1[0]["pesqnet"], a1[0]["batch"], 1.0)
    g_pq = fcrn_grad(a0[0]["se"], a0[0]["pesqnet"], a0[0]["batch"], 0.0)
    assert any(not torch.allclose(g_mse[k], g_pq[k]) for k in g_mse)
    w0, w1 = runs[0.0].module("se").state_dict(), runs[1.0].module("se").state_dict()
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)


def test_epoch_grad_sum_applies_the_sum_of_the_batch_gradients(data, tmp_path):
    cfg = config(alpha=0.5, epoch_grad="sum")
    cfg["train"]["epochs"] = 1
    trainer = run(cfg, tmp_path / "sum", data)
    seen = trainer.method.seen
    grads = [fcrn_grad(seen[0]["se"], seen[0]["pesqnet"], s["batch"], 0.5) for s in seen]
    after = trainer.module("se").state_dict()
    for name in grads[0]:
        torch.testing.assert_close(after[name], seen[0]["se"][name] - LR * sum(g[name] for g in grads),
                                   rtol=1e-4, atol=1e-6)


def test_true_pesq_labels_come_from_the_cache_on_a_repeated_input(data, tmp_path):
    cfg = config(protocol="pesqnet")
    del cfg["optim"]["se"]
    trainer = run(cfg, tmp_path / "cache", data)
    labeller = trainer.method.labeller
    # epoch 1 scores 6 outputs of the fixed FCRN and the 6 noisy inputs; epoch 2 sees the
    # same audio again (whole utterances) and scores nothing
    assert (labeller.misses, labeller.hits) == (12, 12)
    assert trainer.optim.slots["pesqnet"].updates == 6 and "se" not in trainer.optim.slots
    d = DataDir(data["train"])
    import soundfile as sf
    noisy, _ = sf.read(d.read("wav.scp")["u00"], dtype="float32")
    clean, _ = sf.read(d.read("clean.scp")["u00"], dtype="float32")
    from sebench.quality.labeller import digest
    key = digest(noisy) + "|" + digest(clean)
    assert labeller.cache[key] == pytest.approx(pesq_wb(clean.astype(np.float64),
                                                        noisy.astype(np.float64), 16000))


def test_resume_after_sigkill_in_an_accumulating_epoch(data, tmp_path):
    import yaml
    conf = tmp_path / "pesqnet.yaml"
    cfg = config()
    cfg["method"] = "pesqnet"
    cfg["train"].update(epochs=2, checkpoint_every=2)
    conf.write_text(yaml.safe_dump({k: cfg[k] for k in ("method", "model", "method_options",
                                                        "data", "optim", "train")}))
    args = ("train", "--config", conf, "--train", data["train"], "--valid", data["valid"],
            "--device", "cpu")
    run_cli(*args, "--exp", tmp_path / "a")
    env = dict(os.environ, SEBENCH_KILL_AFTER_STEP="2")     # epoch tau = 1, 2 of 3 batches
    killed = run_cli(*args, "--exp", tmp_path / "b", check=False, env=env)
    assert killed.returncode != 0 and not (tmp_path / "b" / "model").exists()
    state = load(tmp_path / "b" / "checkpoints" / "latest.pt")
    assert state["state"]["step"] == 2 and state["optim"]["slots"]["se"]["pending"] == 2
    resumed = run_cli(*args, "--exp", tmp_path / "b")
    assert "resumed from" in resumed.stderr
    for folder in ("model", "model_pesqnet"):
        wa, wb = (torch.load(x / folder / "model.pt", weights_only=True)
                  for x in (tmp_path / "a", tmp_path / "b"))
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), folder
    rows = (tmp_path / "a" / "valid_log.csv").read_text().splitlines()
    assert rows == (tmp_path / "b" / "valid_log.csv").read_text().splitlines()
    assert {"loss", "j_mse", "pesq", "pesqnet_est", "pesqnet_lcc", "pesqnet_mae",
            "j_total_est", "j_total_true"} <= set(rows[0].split(","))
    # the paper's selection (valid_loss: estimate): J_total with PESQNet's estimate, alpha 0
    import csv
    for row in csv.DictReader(open(tmp_path / "a" / "valid_log.csv")):
        assert float(row["loss"]) == pytest.approx(float(row["j_total_est"]), rel=1e-4)
        assert float(row["j_total_true"]) != pytest.approx(float(row["j_total_est"]), rel=1e-4)
    # PESQNet's accuracy on the last validation: predicted vs true PESQ per clip, scatter plot
    pred = DataDir(tmp_path / "b" / "pesqnet_valid").read("utt2pesqnet")
    assert set(pred) == {"u00", "u01", "u00_noisy", "u01_noisy"}
    assert (tmp_path / "b" / "pesqnet_scatter.png").stat().st_size > 1000


@pytest.mark.parametrize("options, message", [
    ({"protocol": "alternating"}, "protocol must be one of alternate, pesqnet"),
    ({"alpha": 1.5}, "alpha must lie in [0, 1]"),
    ({"epoch_grad": "total"}, "epoch_grad must be mean or sum"),
    ({"alfa": 0.5}, "unknown config key 'method_options.alfa'"),
    ({"valid_loss": "pesq"}, "valid_loss must be one of estimate, true_pesq"),
    ({"mse_bins": "all"}, "bins must be half or full"),
])
def test_bad_options_are_one_line_errors(options, message):
    from sebench.errors import ConfigError
    with pytest.raises(ConfigError, match=re.escape(message)):
        PESQNetMediated({"method_options": options}, None)


def test_beta_below_one_reads_clean_rev_and_beta_one_does_not():
    assert PESQNetMediated({"method_options": {"beta": 0.9}}, None).streams == \
        {"train": ("wav", "clean", "clean_rev")}
    assert PESQNetMediated({"method_options": {"beta": 1.0}}, None).streams == \
        {"train": ("wav", "clean")}
