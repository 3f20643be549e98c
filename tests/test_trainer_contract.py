"""The trainer's method contract with a fake two-network method on tiny linear models:
per-optimiser accumulation (N and whole epochs), hook order, two data streams with exact
resume after a real SIGKILL, several exports, option schemas, per-network schedules, early
stopping by a metric, AMP scale changes during accumulation, non-finite skips."""
import csv
import json
import os
import subprocess
import sys

import pytest
import torch

import fake_method
from conftest import REPO, TINY_CNN_BLSTM
from sebench.errors import ConfigError, SebenchError
from sebench.models.store import ENHANCING_KINDS, load_model, pack, unpack
from sebench.train.checkpoint import load
from sebench.train.config import parse_train_dirs
from sebench.train.distributed import DistContext
from sebench.train.optim import Optimization

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    fake_method.register()
    return fake_method.make_data(tmp_path_factory.mktemp("fake"))


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def h_grad(state, wav, target=0.5):
    """h's loss gradient for one batch at ``state``, by autograd on a fresh copy (the oracle)."""
    h = fake_method.BlockLinear()
    h.load_state_dict(state)
    ((h(wav)["wave"] - target * wav) ** 2).mean().backward()
    return h.lin.weight.grad


def test_accumulation_per_optimiser_including_whole_epochs(dirs, tmp_path):
    cfg = fake_method.config(optim={"g": {"accum_grad": 2}, "h": {"accum_grad": "epoch"}})
    trainer = fake_method.run(cfg, tmp_path / "acc", dirs)
    slots = trainer.optim.slots
    # 12 paired utterances in batches of 2: 6 steps per epoch, 2 epochs
    assert trainer.state["step"] == 12
    assert (slots["g"].updates, slots["h"].updates) == (6, 2)
    seen = trainer.method.seen
    g = [s["g"]["lin.weight"] for s in seen]
    assert all(torch.equal(g[i], g[i + 1]) for i in (0, 2, 4))        # g: every second step
    assert not any(torch.equal(g[i], g[i + 1]) for i in (1, 3))
    h = [s["h"]["lin.weight"] for s in seen]
    assert all(torch.equal(h[0], w) for w in h[:6])                    # h: fixed in epoch 0
    assert all(torch.equal(h[6], w) for w in h[6:]) and not torch.equal(h[0], h[6])
    # the epoch's update is -lr x the mean of its six batches' gradients (SGD, no clipping)
    grads = torch.stack([h_grad(seen[0]["h"], s["wav"]) for s in seen[:6]])
    torch.testing.assert_close(h[6], h[0] - 0.1 * grads.mean(0), rtol=1e-5, atol=1e-7)
    log = rows(tmp_path / "acc" / "train_log.csv")
    assert {"loss", "h_loss", "lr_g", "lr_h", "grad_norm_g"} <= set(log[1])
    assert [r["grad_norm_h"] for r in log if r.get("grad_norm_h")] and \
        sum(1 for r in log if r.get("grad_norm_h")) == 2             # once per epoch


def test_hooks_run_in_order(dirs, tmp_path):
    cfg = fake_method.config(train={"valid_every": 4})
    trainer = fake_method.run(cfg, tmp_path / "hooks", dirs)
    expected = [("epoch_start", 0)]
    for step in range(12):
        expected.append(("step", step))
        if (step + 1) % 4 == 0:
            expected.append(("validation_end", step + 1))
        if (step + 1) % 6 == 0:
            expected.append(("epoch_end", step // 6))
            if step < 11:
                expected.append(("epoch_start", step // 6 + 1))
    assert trainer.method.events == expected


def _run_subprocess(cfg, exp, dirs, env=None):
    args = exp.parent / f"{exp.name}.json"
    args.write_text(json.dumps({"cfg": cfg, "exp": str(exp), "dirs": dirs}))
    return subprocess.run([sys.executable, str(REPO / "tests" / "fake_method.py"), str(args)],
                          capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_two_streams_resume_exactly_after_sigkill(dirs, tmp_path):
    # g updates every 3rd step and h once per epoch: the checkpoint at step 4 holds pending
    # gradients of both, and the unpaired stream (5 batches per epoch) is mid-cycle
    cfg = fake_method.config(optim={"g": {"accum_grad": 3}, "h": {"accum_grad": "epoch"}},
                             train={"valid_every": 5, "log_every": 3, "epochs": 3})
    a, b = tmp_path / "a", tmp_path / "b"
    assert _run_subprocess(cfg, a, dirs).returncode == 0
    killed = _run_subprocess(cfg, b, dirs, env=dict(os.environ, SEBENCH_KILL_AFTER_STEP="5"))
    assert killed.returncode != 0 and not (b / "model").exists()
    state = load(b / "checkpoints" / "latest.pt")
    assert state["state"]["step"] == 4 and state["state"]["streams"]["unpaired"] == \
        {"epoch": 0, "position": 4}
    assert state["optim"]["slots"]["g"]["pending"] == 1 and state["optim"]["slots"]["h"]["pending"] == 4
    resumed = _run_subprocess(cfg, b, dirs)
    assert resumed.returncode == 0 and "resumed from" in resumed.stderr
    for folder in ("model", "model_h"):
        wa, wb = (torch.load(x / folder / "model.pt", weights_only=True) for x in (a, b))
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), folder
    for log in ("train_log.csv", "valid_log.csv"):
        strip = [{k: v for k, v in r.items() if k != "data_share"} for r in rows(a / log)]
        assert strip == [{k: v for k, v in r.items() if k != "data_share"} for r in rows(b / log)]


def test_every_export_is_written_and_reloads(dirs, tmp_path):
    exp = tmp_path / "exports"
    fake_method.run(fake_method.config(method_options={"chain_export": True}), exp, dirs)
    best = load(exp / "checkpoints" / "best.pt")["models"]
    g, g_cfg = load_model(exp)
    h, h_cfg = load_model(exp / "model_h")
    assert (g_cfg["kind"], h_cfg["kind"]) == ("se", "vae")
    assert all(torch.equal(v, best["g"][k]) for k, v in g.state_dict().items())
    assert all(torch.equal(v, best["h"][k]) for k, v in h.state_dict().items())
    assert "best.pt" in (exp / "model_h" / "info.json").read_text()
    with pytest.raises(SebenchError, match="a vae model, but a .* model is needed"):
        load_model(exp / "model_h", kinds=ENHANCING_KINDS)
    chain, chain_cfg = load_model(exp / "model_chain", kinds=ENHANCING_KINDS)
    x = torch.randn(2, 64)
    with torch.no_grad():
        torch.testing.assert_close(chain(x)["wave"], h(g(x)["wave"])["wave"])
    root = os.path.dirname(unpack(pack(exp, tmp_path / "x.zip"), cache_dir=tmp_path / "cache"))
    assert sorted(os.listdir(root)) == ["learning_curves.png", "model", "model_chain", "model_h",
                                        "valid_log.csv"]
    assert torch.equal(load_model(os.path.join(root, "model_h"))[0].lin.weight, h.lin.weight)


def test_options_optimisers_streams_and_loss_are_checked(dirs, tmp_path):
    from sebench.train.trainer import Trainer

    def build(cfg, train=None):
        return Trainer(cfg, str(tmp_path / "x"), train or {"paired": dirs["paired"],
                                                          "unpaired": dirs["unpaired"]})

    with pytest.raises(ConfigError, match=r"unknown config key 'method_options.h_targte' "
                                          r"\(known here: chain_export, h_target\)"):
        build(fake_method.config(method_options={"h_targte": 1.0}))
    cfg = fake_method.config()
    cfg["optim"] = {"g": {"lr": 0.1}}
    with pytest.raises(ConfigError, match="optim.h is not configured"):
        build(cfg)
    cfg["optim"]["default"] = {"type": "sgd", "lr": 0.2}              # an explicit default
    assert build(cfg).optim.slots["h"].optimizer.param_groups[0]["lr"] == 0.2
    with pytest.raises(ConfigError, match="optim.d: method fake2 has no optimiser 'd'"):
        build(fake_method.config(optim={"d": {"lr": 1.0}}))
    with pytest.raises(ConfigError, match="scheduler.d: method fake2 has no optimiser 'd'"):
        build(fake_method.config(scheduler={"d": {"kind": "plateau"}}))
    with pytest.raises(ConfigError, match="optim.g.accum_grad must be a positive integer or 'epoch'"):
        build(fake_method.config(optim={"g": {"accum_grad": 0}}))
    with pytest.raises(ConfigError, match="loss: method fake2 does not read"):
        build(fake_method.config(loss={"name": "sisdr"}))
    with pytest.raises(ConfigError, match="streams paired, unpaired: give --train NAME=DIR"):
        build(fake_method.config(), [dirs["paired"]])
    with pytest.raises(ConfigError, match="no training data for stream 'unpaired'"):
        build(fake_method.config(), [f"paired={dirs['paired']}"])


def test_train_dirs_from_the_command_line():
    one = {"train": ("wav",)}
    two = {"paired": ("wav", "clean"), "unpaired": ("wav",)}
    assert parse_train_dirs(["data/x"], one) == {"train": "data/x"}
    assert parse_train_dirs(["train=data/x"], one) == {"train": "data/x"}
    assert parse_train_dirs(["unpaired=b", "paired=a"], two) == {"paired": "a", "unpaired": "b"}
    with pytest.raises(ConfigError, match="--train other=...: this method reads streams paired, unpaired"):
        parse_train_dirs(["paired=a", "other=b"], two)
    with pytest.raises(ConfigError, match="given twice"):
        parse_train_dirs(["paired=a", "paired=b"], two)


def test_unknown_method_option_is_a_one_line_error(paired_data, tmp_path, capsys):
    from sebench.cli.main import main
    code = main(["train-qp", "--method", "robust_q", "--train", str(paired_data / "train"),
                 "--qp-config", str(REPO / "conf" / "qp" / "cnn_tiny.yaml"), "--exp",
                 str(tmp_path / "rq"), "--method_options.attak_steps", "5"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "unknown config key 'method_options.attak_steps'" in err and "attack_steps" in err
    code = main(["train", "--method", "gan", "--train", str(paired_data / "train"),
                 "--model-config", str(TINY_CNN_BLSTM), "--exp", str(tmp_path / "g"),
                 "--loss.name", "sisdr"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "method gan does not read" in err


def test_each_scheduler_monitors_its_own_term(dirs, tmp_path):
    # h barely moves (lr 1e-30), so its validation term never improves: its plateau schedule
    # halves after each validation but the first; g's constant schedule is untouched
    cfg = fake_method.config(optim={"h": {"lr": 1e-30}}, train={"epochs": 3},
                             scheduler={"h": {"kind": "plateau", "patience": 1, "monitor": "h_loss"}})
    trainer = fake_method.run(cfg, tmp_path / "sched", dirs)
    assert trainer.optim.slots["h"].scheduler.lr == pytest.approx(0.25e-30)
    assert trainer.optim.slots["g"].scheduler.lr == pytest.approx(0.1)
    cfg = fake_method.config(scheduler={"g": {"kind": "plateau", "monitor": "d_loss"}})
    with pytest.raises(ConfigError, match="scheduler.g.monitor 'd_loss': valid_step gives h_loss, loss"):
        fake_method.run(cfg, tmp_path / "bad", dirs)


def test_best_by_a_metric_stops_early(dirs, tmp_path, monkeypatch):
    monkeypatch.setattr("sebench.train.validation.BackgroundScorer", fake_method.FakeScorer)
    cfg = fake_method.config(train={"epochs": 10, "valid_every": 2, "valid_metrics": "score",
                                    "best_by": ["metric:score:max", "valid:h_loss"],
                                    "early_stop_patience": 2})
    exp = tmp_path / "es"
    trainer = fake_method.run(cfg, exp, dirs)
    # 0.5, 0.6 (best, step 4), 0.55, 0.58: two validations without improvement -> stop at 8
    assert trainer.state["stopped"] and trainer.state["step"] == 8
    assert (trainer.state["best"], trainer.state["best_step"]) == (0.6, 4)
    assert [r["step"] for r in rows(exp / "valid_metrics.csv")] == ["2", "4", "6", "8"]
    best = load(exp / "checkpoints" / "step00000004.pt")["models"]["g"]
    assert all(torch.equal(v, best[k]) for k, v in load_model(exp)[0].state_dict().items())
    # the second criterion keeps its own best checkpoint
    second = trainer.state["criteria"]["valid:h_loss"]
    assert (exp / "checkpoints" / "best_valid_h_loss.pt").is_file() and second["step"] in (2, 4, 6, 8)


def _optimization(amp, accum_b=3):
    torch.manual_seed(0)
    modules = {"a": torch.nn.Linear(4, 1), "b": torch.nn.Linear(4, 1)}
    cfg = fake_method.config(optim={"a": {"type": "sgd", "lr": 0.1},
                                    "b": {"type": "sgd", "lr": 0.1, "accum_grad": accum_b}})
    opt = Optimization(cfg, {"a": ["a"], "b": ["b"]}, modules, False, DistContext())
    if amp:       # a CPU scaler whose scale doubles after every step: the B3 scenario
        opt.scaler = torch.amp.GradScaler("cpu", init_scale=16.0, growth_factor=2.0,
                                          growth_interval=1)
    return opt, modules


def test_scale_changes_during_accumulation_keep_gradients_exact():
    results = []
    for amp in (False, True):
        opt, modules = _optimization(amp)
        for step in range(3):
            x = torch.arange(4.0) + step
            for name in ("a", "b"):
                opt.backward(name, (modules[name](x) ** 2).sum())
                if opt.updates_at(name, step):
                    opt.step(name)
            opt.end_step()
        assert opt.slots["b"].updates == 1 and opt.slots["a"].updates == 3
        results.append({k: v.clone() for k, v in modules["b"].state_dict().items()})
        if amp:
            assert opt.scaler.get_scale() == 128.0            # it changed under b's sum
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])


@pytest.mark.parametrize("amp", [False, True])
def test_non_finite_update_is_skipped_and_counted(amp):
    opt, modules = _optimization(amp, accum_b=1)
    before = modules["a"].weight.detach().clone()
    opt.backward("a", modules["a"](torch.ones(4)).sum() * float("inf"))
    assert opt.step("a") is False
    assert torch.equal(modules["a"].weight, before) and opt.slots["a"].skipped == 1
    assert opt.take_norms() == {"skipped_a": 1.0}
    opt.end_step()
    opt.backward("a", modules["a"](torch.ones(4)).sum())
    assert opt.step("a") is True and not torch.equal(modules["a"].weight, before)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ddp_two_networks_follow_one_process_and_stop_together(dirs, tmp_path):
    """Two gloo processes with half the batch each: g accumulates under no_sync, h's whole
    epoch is averaged by hand at its update, and a metric's early stop on rank 0 reaches
    rank 1 at the same step (no hang). The weights follow the one-process run."""
    train = {"epochs": 10, "valid_every": 2, "valid_metrics": "score", "checkpoint_every": 0,
             "best_by": "metric:score:max", "early_stop_patience": 2}
    optim = {"g": {"accum_grad": 2}, "h": {"accum_grad": "epoch"}}
    one = fake_method.config(optim=optim, train=train)
    two = fake_method.config(optim=optim, train=train, data={"batch_size": 1})
    args = tmp_path / "two.json"
    args.write_text(json.dumps({"cfg": two, "exp": str(tmp_path / "two"), "dirs": dirs,
                                "fake_scorer": True}))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(REPO / "tests" / "fake_method.py"), str(args)],
                          capture_output=True, text=True, env=env, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    args.write_text(json.dumps({"cfg": one, "exp": str(tmp_path / "one"), "dirs": dirs,
                                "fake_scorer": True}))
    assert subprocess.run([sys.executable, str(REPO / "tests" / "fake_method.py"), str(args)],
                          capture_output=True, env=env).returncode == 0
    latest = {x: load(tmp_path / x / "checkpoints" / "latest.pt") for x in ("one", "two")}
    for x, payload in latest.items():
        assert payload["state"]["stopped"] and payload["state"]["step"] == 8, x
        assert payload["optim"]["slots"]["h"]["updates"] == 1, x      # epoch 0's, at step 6
    for name in ("g", "h"):       # the last weights (h's epoch update included) ...
        a, b = (latest[x]["models"][name] for x in ("one", "two"))
        assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a), name
    for folder in ("model", "model_h"):   # ... and the exported best (step 4)
        a, b = (torch.load(tmp_path / x / folder / "model.pt", weights_only=True)
                for x in ("one", "two"))
        assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a), folder
