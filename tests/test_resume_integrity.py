"""Issue 31: nothing silently wrong when a training resumes. A mid-epoch kill resumes exactly
for every method that draws from torch's RNG; a rerun with another config stops naming the
changed keys (log cadence and loader workers excepted) and writes no config.yaml it did not
use; two trainings into one --exp cannot both resume it; a kill between an epoch-end
validation and its checkpoint leaves no duplicate valid_log.csv row; --print-config fails on
unknown method_options as a run does.

A kill is the trainer's own fault injection (SEBENCH_KILL_AFTER_STEP) with the SIGKILL made
an exception, so each run stays in this process (a subprocess costs seconds of imports)."""
import csv
import multiprocessing
import os
import time

import numpy as np
import pytest
import torch
import yaml

import fake_method
from conftest import REPO, varied_speech, write_wav
from sebench.config import merge
from sebench.data import DataDir
from sebench.errors import ConfigError, SebenchError
from sebench.train.checkpoint import load
from sebench.train.config import DEFAULTS
from sebench.train.config_change import changed_keys
from sebench.train.experiment import train_experiment
from sebench.train.lock import experiment_lock
from sebench.train.trainer import Trainer

pytestmark = pytest.mark.timeout(120)


class Killed(Exception):
    """Stands for the SIGKILL of SEBENCH_KILL_AFTER_STEP."""


def _sigkill(pid, sig):
    raise Killed(f"killed after step {os.environ['SEBENCH_KILL_AFTER_STEP']}")


def killed_run(monkeypatch, after_step, *args):
    """``train_experiment(*args)`` killed after step ``after_step``."""
    with monkeypatch.context() as m:
        m.setenv("SEBENCH_KILL_AFTER_STEP", str(after_step))
        m.setattr(os, "kill", _sigkill)
        with pytest.raises(Killed):
            train_experiment(*args)


def exported(exp):
    """Every tensor of every exported model."""
    out = {}
    for folder in sorted(p for p in os.listdir(exp) if p.startswith("model")):
        for k, v in torch.load(os.path.join(exp, folder, "model.pt"), weights_only=True).items():
            out[f"{folder}/{k}"] = v
    return out


def assert_same_exports(a, b):
    wa, wb = exported(a), exported(b)
    assert wa and wa.keys() == wb.keys()
    differ = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not differ, f"{len(differ)} of {len(wa)} exported tensors differ: {differ[:3]}"


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def steps(path):
    return [r["step"] for r in rows(path)]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- the methods that draw from torch's RNG ----------------------------------------------------


class FakeDropout(fake_method.FakeTwoNet):
    """The fake two-network method with dropout on g's input: a torch draw every step."""

    def train_step(self, batch):
        batch["paired"]["wav"] = torch.nn.functional.dropout(batch["paired"]["wav"], 0.5)
        return super().train_step(batch)


@pytest.fixture(scope="module")
def fake_dirs(tmp_path_factory):
    fake_method.register()
    from sebench.train.methods import METHODS
    METHODS.register("fake_dropout", FakeDropout)
    return fake_method.make_data(tmp_path_factory.mktemp("fake"))


def fake_streams(dirs):
    return {"paired": dirs["paired"], "unpaired": dirs["unpaired"]}


SPEC_VAE = {"name": "spec_vae", "fs": 16000,
            "stft": {"n_fft": 256, "hop_length": 64, "win_length": 256},
            "channels": [8, 8], "kernel": 3}


@pytest.fixture(scope="module")
def speech_dirs(tmp_path_factory):
    """12 clean and 12 noisy 0.5 s clips (cae, mae), 12 vqvae triples (wav, clean, noise)."""
    root = tmp_path_factory.mktemp("speech")
    rng = np.random.default_rng(0)
    dirs = {}
    for name in ("clean", "mix"):
        scp = {}
        for i in range(12):
            wave = varied_speech(0.5, seed=i + (20 if name == "mix" else 0))
            if name == "mix":
                wave = wave + (0.02 * rng.standard_normal(wave.size)).astype(np.float32)
            scp[f"u{i}"] = str(write_wav(root / name / "audio" / f"u{i}.wav", wave))
        DataDir(root / name).write("wav.scp", scp)
        dirs[name] = str(root / name)
    triples = {f: {} for f in ("wav", "clean", "noise")}
    for i in range(12):
        clean = varied_speech(0.5, seed=40 + i)
        noise = (0.05 * rng.standard_normal(clean.size)).astype(np.float32)
        for f, wave in (("clean", clean), ("noise", noise), ("wav", clean + noise)):
            triples[f][f"u{i}"] = str(write_wav(root / "vq" / "audio" / f"{f}{i}.wav", wave))
    for f, scp in triples.items():
        DataDir(root / "vq").write(f"{f}.scp", scp)
    dirs["vq"] = str(root / "vq")
    return dirs


def method_run(name, fake_dirs, speech_dirs, tmp_path):
    """(config, train dirs, valid dir) of a 2-epoch run of 6 batches an epoch."""
    train = {"epochs": 2, "checkpoint_every": 3, "log_every": 1, "amp": False, "grad_clip": 0.0}
    if name == "dropout":
        cfg = fake_method.config(method="fake_dropout", train=train)
        return cfg, fake_streams(fake_dirs), None
    if name == "vqvae":
        cfg = merge(DEFAULTS, yaml.safe_load(open(REPO / "conf" / "train" / "vqvae.yaml")))
        model = yaml.safe_load(open(REPO / "conf" / "models" / "vqvae_tiny.yaml"))
        # a fast usage EMA and restarts every step: codes unused for a few steps are
        # re-drawn from the batch with torch.randint
        model.update(usage_decay=0.5, dead_threshold=0.05)
        cfg = merge(cfg, {"model": model, "method_options": {"restart_every": 1},
                          "data": {"segment": 0.25, "batch_size": 2, "num_workers": 0,
                                   "bucket_batches": 2},
                          "optim": {"vqvae": {"lr": 3e-3}},
                          "train": dict(train, early_stop_patience=None)})
        return cfg, speech_dirs["vq"], None
    cfg = merge(DEFAULTS, {"method": "cae", "model": dict(SPEC_VAE, kind="vae"),
                           "data": {"segment": 0.25, "batch_size": 2, "bucket_batches": 2},
                           "optim": {"default": {"lr": 1e-3}}, "train": train})
    if name == "cae":
        return cfg, speech_dirs["clean"], None
    cae = tmp_path / "cae_for_mae"          # mae: a second VAE through a frozen CAE
    train_experiment(merge(cfg, {"train": {"epochs": 1}}), str(cae), speech_dirs["clean"], None,
                     "cpu")
    cfg = merge(cfg, {"method": "mae", "method_options": {"cae": str(cae)}})
    return cfg, {"mix": speech_dirs["mix"]}, None


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dropout", "cae", "mae", "vqvae"])
def test_mid_epoch_kill_resumes_exactly_for_methods_that_sample(name, fake_dirs, speech_dirs,
                                                                tmp_path, monkeypatch):
    """Killed after step 5 of 12 (checkpoint at step 3, batch 3 of epoch 0's 6): the exports
    equal an uninterrupted run's. On 41213da the resumed iterator drew from torch's RNG
    after the checkpoint's state was restored, and every later sample was shifted."""
    cfg, train_dirs, valid = method_run(name, fake_dirs, speech_dirs, tmp_path)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    train_experiment(cfg, a, train_dirs, valid, "cpu")
    killed_run(monkeypatch, 5, cfg, b, train_dirs, valid, "cpu")
    state = load(os.path.join(b, "checkpoints", "latest.pt"))["state"]
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (3, 0, 3)
    train_experiment(cfg, b, train_dirs, valid, "cpu")
    assert_same_exports(a, b)
    log_a, log_b = rows(os.path.join(a, "train_log.csv")), rows(os.path.join(b, "train_log.csv"))
    assert [r["loss"] for r in log_a] == [r["loss"] for r in log_b]
    if name == "vqvae":       # the restarts after the checkpoint are what is tested
        assert sum(float(r["restarts"]) for r in log_a if int(r["step"]) > 3) > 0


# -- a resume with another config, two trainings at once --------------------------------------


@pytest.mark.slow
def test_resume_with_a_changed_config_stops_naming_the_keys(fake_dirs, tmp_path, monkeypatch):
    cfg = fake_method.config(train={"epochs": 3, "checkpoint_every": 2})
    exp, dirs = str(tmp_path / "exp"), fake_streams(fake_dirs)
    killed_run(monkeypatch, 5, cfg, exp, dirs, None, "cpu", False, "first command")
    written = open(os.path.join(exp, "config.yaml")).read()
    for change, key in (({"optim": {"g": {"lr": 0.05}}}, "optim.g.lr 0.1 -> 0.05"),
                        ({"data": {"batch_size": 3}}, "data.batch_size 2 -> 3"),
                        ({"train": {"grad_clip": 1.0}}, "train.grad_clip 0.0 -> 1.0")):
        with pytest.raises(ConfigError) as e:
            train_experiment(merge(cfg, change), exp, dirs, None, "cpu", False, "second command")
        message = str(e.value)
        assert key in message and "--force" in message and "--exp" in message
        assert "\n" not in message and "latest.pt" in message
        # nothing was written: config.yaml still describes the run the checkpoint holds
        assert open(os.path.join(exp, "config.yaml")).read() == written
        assert load(os.path.join(exp, "checkpoints", "latest.pt"))["state"]["step"] == 4
    # the options that cannot change results may differ: the rerun resumes and finishes
    assert changed_keys(cfg, merge(cfg, {"data": {"num_workers": 4}})) == []
    older = {k: v for k, v in cfg.items() if k != "train"}     # written before the option
    older["train"] = {k: v for k, v in cfg["train"].items() if k != "deterministic"}
    assert changed_keys(older, cfg) == []
    neutral = merge(cfg, {"train": {"log_every": 3, "checkpoint_every": 5}})
    train_experiment(neutral, exp, dirs, None, "cpu", False, "neutral rerun")
    assert "neutral rerun" in open(os.path.join(exp, "config.yaml")).read()
    assert load(os.path.join(exp, "checkpoints", "latest.pt"))["state"]["step"] == 18
    # --force starts over with the new config
    changed = merge(cfg, {"optim": {"g": {"lr": 0.05}}})
    train_experiment(changed, exp, dirs, None, "cpu", True, "forced")
    assert yaml.safe_load(open(os.path.join(exp, "config.yaml")))["optim"]["g"]["lr"] == 0.05
    assert os.path.isfile(os.path.join(exp, ".done"))


def test_a_model_size_change_is_named_not_a_size_mismatch(speech_dirs, tmp_path, monkeypatch):
    """The issue's `internal error: RuntimeError: size mismatch` of a resized model."""
    cfg = merge(DEFAULTS, {"method": "cae", "model": dict(SPEC_VAE, kind="vae"),
                           "data": {"segment": 0.25, "batch_size": 2, "bucket_batches": 2},
                           "optim": {"default": {"lr": 1e-3}},
                           "train": {"epochs": 1, "checkpoint_every": 2, "amp": False}})
    exp = str(tmp_path / "exp")
    killed_run(monkeypatch, 3, cfg, exp, speech_dirs["clean"], None, "cpu")
    with pytest.raises(ConfigError, match=r"model\.channels \[8, 8\] -> \[16, 8\]"):
        train_experiment(merge(cfg, {"model": {"channels": [16, 8]}}), exp,
                         speech_dirs["clean"], None, "cpu")


def test_second_training_into_a_locked_experiment_stops_naming_the_holder(fake_dirs, tmp_path):
    cfg = fake_method.config()
    exp = str(tmp_path / "exp")
    with experiment_lock(exp):
        with pytest.raises(SebenchError, match=rf"another training .*\(PID {os.getpid()}\b"):
            train_experiment(cfg, exp, fake_streams(fake_dirs), None, "cpu")
        assert not os.path.exists(os.path.join(exp, "config.yaml"))
        # --force does not take the dir from under the running training either
        with pytest.raises(SebenchError, match="another training"):
            train_experiment(cfg, exp, fake_streams(fake_dirs), None, "cpu", True)
    # released with the holder: the same command now trains
    train_experiment(cfg, exp, fake_streams(fake_dirs), None, "cpu")
    assert os.path.isfile(os.path.join(exp, ".done"))


def test_a_config_the_trainer_refuses_is_not_written(fake_dirs, tmp_path):
    cfg = fake_method.config(optim={"zz": {"lr": 0.1}})
    exp = tmp_path / "exp"
    with pytest.raises(ConfigError, match="optim.zz: method fake2 has no optimiser"):
        train_experiment(cfg, str(exp), fake_streams(fake_dirs), None, "cpu")
    assert not (exp / "config.yaml").exists()


def _sleeper(ready):
    ready.set()
    time.sleep(60)


def test_lock_is_released_when_the_training_fails(fake_dirs, tmp_path, monkeypatch):
    cfg = fake_method.config()
    exp = str(tmp_path / "exp")
    killed_run(monkeypatch, 1, cfg, exp, fake_streams(fake_dirs), None, "cpu")
    with experiment_lock(exp):       # would raise if the killed run still held it
        # a forked child (a loader worker) outliving its trainer does not keep the lock
        fork = multiprocessing.get_context("fork")
        ready = fork.Event()
        child = fork.Process(target=_sleeper, args=(ready,))
        child.start()
        assert ready.wait(60)         # the child runs (its fork hooks are done)
    try:
        with experiment_lock(exp):
            pass
    finally:
        child.kill()
        child.join()
    assert open(os.path.join(exp, ".lock")).read().strip() == str(os.getpid())


# -- validation rows and --print-config ----------------------------------------------------------


@pytest.mark.slow
def test_kill_between_epoch_validation_and_checkpoint_adds_no_duplicate_row(fake_dirs, tmp_path,
                                                                           monkeypatch):
    """Epoch 0 ends at step 6: latest.pt is saved at step 6 (checkpoint_every 3), then the
    epoch-end validation writes its row, then the kill comes before the epoch's checkpoint.
    The rerun validates step 6 again: one row, as in an uninterrupted run."""
    cfg = fake_method.config(train={"epochs": 2, "checkpoint_every": 3})
    dirs, valid = fake_streams(fake_dirs), fake_dirs["valid"]
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    train_experiment(cfg, a, dirs, valid, "cpu")
    save = Trainer.save

    def killed_at_epoch_checkpoint(self, name):
        if self.state["epoch"] == 1 and self.state["batch_in_epoch"] == 0:
            raise Killed("killed before the epoch's checkpoint")
        return save(self, name)
    with monkeypatch.context() as m:
        m.setattr(Trainer, "save", killed_at_epoch_checkpoint)
        with pytest.raises(Killed):
            train_experiment(cfg, b, dirs, valid, "cpu")
    assert steps(os.path.join(b, "valid_log.csv")) == ["6"]
    assert load(os.path.join(b, "checkpoints", "latest.pt"))["state"]["step"] == 6
    train_experiment(cfg, b, dirs, valid, "cpu")
    assert steps(os.path.join(b, "valid_log.csv")) == ["6", "12"]
    assert rows(os.path.join(a, "valid_log.csv")) == rows(os.path.join(b, "valid_log.csv"))
    assert_same_exports(a, b)


def test_print_config_rejects_unknown_method_options_as_a_run_does(tmp_path, capsys):
    from sebench.cli.main import main
    common = ["train", "--method", "cae", "--train", str(tmp_path / "absent"),
              "--model-config", str(tmp_path / "absent.yaml"), "--exp", str(tmp_path / "exp"),
              "--method_options.kl_wieght", "0.1"]
    assert main(common + ["--print-config"]) == 1
    printed = capsys.readouterr()
    assert "method_options" not in printed.out
    assert "unknown config key 'method_options.kl_wieght'" in printed.err
    assert "kl_weight" in printed.err and printed.err.count("\n") == 1
    # a real run gives the same error, before it writes anything
    assert main(common) == 1
    assert capsys.readouterr().err == printed.err
    assert not (tmp_path / "exp").exists()
    # semi checks its base method's options; train-qp checks its own
    assert main(["train", "--method", "semi", "--train", "x", "--exp", "e", "--print-config",
                 "--method_options.init_from", "exp/sup", "--method_options.base", "deepdream",
                 "--method_options.replay_size", "5"]) == 1
    assert "'method_options.replay_size'" in capsys.readouterr().err
    assert main(["train-qp", "--train", "x", "--qp-config", "q.yaml", "--exp", "e",
                 "--print-config", "--method_options.label", "mos"]) == 1
    assert "'method_options.label'" in capsys.readouterr().err
    # known options still print
    with pytest.raises(SystemExit) as done:
        main(["train", "--method", "cae", "--train", "x", "--exp", "e", "--print-config",
              "--method_options.kl_weight", "0.1"])
    assert done.value.code == 0 and "kl_weight: 0.1" in capsys.readouterr().out
