"""The shared trainer with supervised training: learning, resume, averaging, DDP, logs."""
import csv
import os

import numpy as np
import pytest
import torch

from conftest import TINY_CNN_BLSTM, run_cli
from sebench.train.checkpoint import average_states, load
from sebench.train.data import BucketBatchSampler
from sebench.train.losses import build_loss, neg_sisdr
from sebench.train.schedulers import Scheduler


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def train(paired_data, exp, *extra, check=True, env=None):
    return run_cli("train", "--train", paired_data / "train", "--valid", paired_data / "valid",
                   "--model-config", TINY_CNN_BLSTM, "--exp", exp, "--data.batch_size", 4,
                   "--data.segment", 1.0, "--optim.se.lr", 1e-3, *extra, check=check, env=env)


def weights(exp):
    return torch.load(exp / "model" / "model.pt", weights_only=True)


def test_supervised_training_lowers_the_loss_and_exports(trained_exp, tmp_path, paired_data):
    exp = tmp_path / "exp"
    train(paired_data, exp, "--train.epochs", 6, "--optim.se.lr", 3e-3, "--train.log_every", 1)
    valid = rows(exp / "valid_log.csv")
    assert len(valid) == 6 and float(valid[-1]["loss"]) < 0.9 * float(valid[0]["loss"])
    assert float(rows(exp / "train_log.csv")[-1]["loss"]) < float(rows(exp / "train_log.csv")[0]["loss"])
    for name in ("config.yaml", "learning_curves.png", "model/model.pt", "model/model.yaml",
                 "checkpoints/latest.pt", "checkpoints/best.pt", ".done"):
        assert (exp / name).exists(), name
    # normalisation statistics were computed on the training data and travel with the weights
    assert float(weights(exp)["feat_std"].min()) > 0 and float(weights(exp)["feat_mean"].abs().sum()) > 0
    assert "git" in (exp / "config.yaml").read_text()
    # a finished experiment is not retrained
    before = (exp / "model" / "model.pt").stat().st_mtime_ns
    assert "already finished" in train(paired_data, exp, "--train.epochs", 6).stderr
    assert (exp / "model" / "model.pt").stat().st_mtime_ns == before


def test_kill_and_resume_equals_uninterrupted(paired_data, tmp_path):
    common = ("--train.max_steps", 7, "--train.epochs", 0, "--train.checkpoint_every", 2,
              "--train.valid_every", 3, "--train.log_every", 1)
    train(paired_data, tmp_path / "a", *common)
    env = dict(os.environ, SEBENCH_KILL_AFTER_STEP="5")
    killed = train(paired_data, tmp_path / "b", *common, check=False, env=env)
    assert killed.returncode != 0 and not (tmp_path / "b" / "model").exists()
    assert load(tmp_path / "b" / "checkpoints" / "latest.pt")["state"]["step"] == 4
    train(paired_data, tmp_path / "b", *common)     # the same command resumes
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # every logged column but the timing one (data_share) is identical, resumed row included
    for log in ("train_log.csv", "valid_log.csv"):
        ra, rb = rows(tmp_path / "a" / log), rows(tmp_path / "b" / log)
        assert [{k: v for k, v in r.items() if k != "data_share"} for r in ra] == \
            [{k: v for k, v in r.items() if k != "data_share"} for r in rb], log
    assert {"loss", "lr_se", "grad_norm_se"} <= set(rows(tmp_path / "b" / "train_log.csv")[0])
    assert [r["step"] for r in rows(tmp_path / "b" / "valid_log.csv")] == ["3", "6", "7"]


def test_nbest_averaging(paired_data, tmp_path):
    exp = tmp_path / "avg"
    train(paired_data, exp, "--train.epochs", 3, "--train.average_nbest", 2,
          "--train.keep_checkpoints", 1)
    state = load(exp / "checkpoints" / "latest.pt")["state"]
    steps = [s for _, s in state["nbest"]]
    assert len(steps) == 2
    expected = average_states([load(exp / "checkpoints" / f"step{s:08d}.pt")["models"]["se"]
                               for s in steps])
    got = weights(exp)
    assert all(torch.allclose(got[k].double(), expected[k].double(), atol=1e-7) for k in got)
    assert "average of steps" in (exp / "model" / "info.json").read_text()


def test_average_states_is_elementwise_mean():
    a = {"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor(7)}
    avg = average_states([a, b])
    assert torch.equal(avg["w"], torch.tensor([2.0, 4.0])) and int(avg["n"]) == 5


def test_background_validation_metrics(paired_data, tmp_path):
    exp = tmp_path / "metrics"
    train(paired_data, exp, "--train.epochs", 2, "--train.valid_metrics", "sisdr,stoi",
          "--train.valid_metric_utts", 2, "--train.best_by", "metric:sisdr",
          "--train.best_mode", "max")
    metric_rows = rows(exp / "valid_metrics.csv")
    assert [r["step"] for r in metric_rows] == [r["step"] for r in rows(exp / "valid_log.csv")]
    assert all(np.isfinite(float(r["sisdr"])) and 0 < float(r["stoi"]) <= 1 for r in metric_rows)
    best = max(metric_rows, key=lambda r: float(r["sisdr"]))
    assert load(exp / "checkpoints" / "latest.pt")["state"]["best_step"] == int(best["step"])


def test_plateau_scheduler_halves_and_stops():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = Scheduler(opt, "plateau", factor=0.5, patience=2, min_lr=3e-4)
    assert not sched.validated(1.0) and not sched.validated(1.1)
    assert not sched.validated(1.2) and sched.lr == pytest.approx(5e-4)
    assert not sched.validated(0.9) and not sched.validated(0.95)
    assert sched.validated(0.96) and sched.lr == pytest.approx(2.5e-4)


def test_sampler_is_seeded_resumable_and_partitions_ranks():
    lengths = list(range(100, 140))
    single = BucketBatchSampler(lengths, 4, seed=3, bucket_batches=2)
    single.set_epoch(1)
    batches = list(single)
    assert sorted(i for b in batches for i in b) == list(range(40))
    again = BucketBatchSampler(lengths, 4, seed=3, bucket_batches=2)
    again.set_epoch(1, start_batch=3)
    assert list(again) == batches[3:]
    ranks = [BucketBatchSampler(lengths, 2, seed=3, bucket_batches=2, world_size=2, rank=r)
             for r in (0, 1)]
    for r in ranks:
        r.set_epoch(1)
    for b, r0, r1 in zip(batches, *ranks):
        assert sorted(r0 + r1) == sorted(b)
    other = BucketBatchSampler(lengths, 4, seed=3, bucket_batches=2)
    other.set_epoch(2)
    assert list(other) != batches


def test_losses_are_per_utterance_and_combine_by_weight():
    ref = torch.randn(2, 8000)
    lengths = torch.tensor([8000, 8000])
    assert neg_sisdr(3.0 * ref, ref, lengths).shape == (2,)
    assert float(neg_sisdr(3.0 * ref, ref, lengths).max()) < -50     # scale-invariant: perfect
    assert float(neg_sisdr(ref + 0.1 * torch.randn(2, 8000), ref, lengths).min()) > -25
    from sebench.models import build_model
    model = build_model({"name": "cnn_blstm", "channels": [2, 1], "lstm_hidden": 8,
                         "lstm_layers": 1, "fc_hidden": 8})
    batch = {"wav": ref, "clean": ref, "clean_rev": 0.5 * ref, "lengths": lengths}
    out = {"wave": ref, "spec": model.analysis(ref)}
    assert float(build_loss({"name": "mag_mse"})(out, batch, model).abs().max()) < 1e-10
    joint = build_loss({"name": "joint_dereverb", "beta": 0.0})
    assert joint.fields == ("wav", "clean", "clean_rev")
    expected = (0.5 * model.analysis(ref)).abs().pow(2).mean((1, 2))
    torch.testing.assert_close(joint(out, batch, model), expected, rtol=1e-5, atol=0)
    # padding is masked: a shorter second utterance's loss ignores what lies past its end
    short = dict(batch, lengths=torch.tensor([8000, 4000]))
    noisy = {"wave": ref.clone()}
    noisy["wave"][1, 4100:] += 5.0
    assert float(build_loss({"name": "sisdr"})(noisy, short)[1]) < -50
    # a weighted sum of terms, per utterance; the fields are their union
    mix = build_loss([{"name": "sisdr", "weight": 0.8}, {"name": "complex_mse", "weight": 0.2,
                                                         "target": "clean_rev"}])
    assert mix.fields == ("wav", "clean", "clean_rev")
    want = 0.8 * neg_sisdr(ref, ref, lengths) + 0.2 * (0.5 * model.analysis(ref)).abs().pow(2).mean((1, 2))
    torch.testing.assert_close(mix(out, batch, model), want, rtol=1e-5, atol=1e-6)
    from sebench.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown loss 'l1'; known: complex_mse"):
        build_loss({"name": "l1"})
    with pytest.raises(ConfigError, match="loss mag_mse: unknown option.*beta"):
        build_loss({"name": "mag_mse", "beta": 0.5})


def test_compressed_mse_matches_its_formula_and_compresses_level():
    from sebench.errors import ConfigError
    from sebench.models import build_model
    torch.manual_seed(0)
    model = build_model({"name": "cnn_blstm", "channels": [2, 1], "lstm_hidden": 8,
                         "lstm_layers": 1, "fc_hidden": 8})
    ref, est = torch.randn(2, 8000), torch.randn(2, 8000)
    lengths = torch.tensor([8000, 8000])
    term = build_loss({"name": "compressed_mse", "power": 0.3, "complex_weight": 0.3})

    def loss(est, ref):
        out = {"wave": est, "spec": model.analysis(est)}
        return term(out, {"wav": est, "clean": ref, "lengths": lengths}, model)

    assert float(loss(ref, ref).abs().max()) < 1e-10
    # the formula, written out with numpy on the same spectra
    e, r = model.analysis(est).numpy(), model.analysis(ref).numpy()
    ec, rc = np.abs(e) ** 0.3, np.abs(r) ** 0.3
    mag = ((ec - rc) ** 2).mean((1, 2))
    cplx = (np.abs(ec * np.exp(1j * np.angle(e)) - rc * np.exp(1j * np.angle(r))) ** 2).mean((1, 2))
    np.testing.assert_allclose(loss(est, ref).numpy(), 0.7 * mag + 0.3 * cplx, rtol=1e-4)
    # a 20 dB louder pair weighs 10^(2 * 0.3) = 3.98x more, not the 100x of a linear MSE
    ratio = loss(10 * est, 10 * ref) / loss(est, ref)
    torch.testing.assert_close(ratio, torch.full((2,), 10 ** 0.6), rtol=1e-3, atol=0)
    with pytest.raises(ConfigError, match="compressed_mse: need 0 < power <= 1"):
        build_loss({"name": "compressed_mse", "power": 2})


def test_ngpu_with_equals_relaunches_without_it():
    from sebench.train.distributed import torchrun_argv
    for argv in (["train", "--ngpu=2", "--exp", "x"], ["train", "--ngpu", "2", "--exp", "x"]):
        cmd = torchrun_argv(2, argv + ["--debug"])
        assert "--nproc_per_node=2" in cmd and cmd[-4:] == ["--exp", "x", "--ngpu", "1"]
        assert "--ngpu=2" not in cmd and "2" not in cmd[cmd.index("sebench.cli.main"):]


def test_missing_clean_scp_is_a_clear_error(paired_data, tmp_path):
    p = run_cli("train", "--train", paired_data / "noise", "--model-config", TINY_CNN_BLSTM,
                "--exp", tmp_path / "x", check=False)
    assert p.returncode == 1 and "wav.scp" in p.stderr


@pytest.mark.slow
@pytest.mark.timeout(120, func_only=True)  # a hung rendezvous fails in 2 min, not 5
def test_ddp_two_cpu_processes_follow_single_process(paired_data, tmp_path):
    # SGD: Adam divides by the root of the squared-gradient average, which turns the
    # reduction-order rounding of near-zero gradients into visible weight differences
    common = ("--train.max_steps", 4, "--train.epochs", 0, "--train.valid_every", 4,
              "--device", "cpu", "--optim.se.type", "sgd", "--optim.se.lr", 0.05)
    run_cli("train", "--train", paired_data / "train", "--valid", paired_data / "valid",
            "--model-config", TINY_CNN_BLSTM, "--exp", tmp_path / "one", "--data.batch_size", 4,
            "--data.segment", 1.0, *common)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run_cli("train", "--train", paired_data / "train", "--valid", paired_data / "valid",
            "--model-config", TINY_CNN_BLSTM, "--exp", tmp_path / "two", "--data.batch_size", 2,
            "--data.segment", 1.0, "--ngpu", 2, *common, env=env)
    one = float(rows(tmp_path / "one" / "valid_log.csv")[-1]["loss"])
    two = float(rows(tmp_path / "two" / "valid_log.csv")[-1]["loss"])
    assert two == pytest.approx(one, rel=1e-3)
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert all(torch.allclose(a[k], b[k], atol=1e-4, rtol=1e-3) for k in a)


def test_accumulation_and_early_stopping(paired_data, tmp_path):
    train(paired_data, tmp_path / "acc", "--train.epochs", 1, "--data.batch_size", 2,
          "--train.accum_grad", 2)
    payload = load(tmp_path / "acc" / "checkpoints" / "latest.pt")
    state, slot = payload["state"], payload["optim"]["slots"]["se"]
    # 16 utterances in batches of 2: 8 steps, one update every second step
    assert state["step"] == 8 and state["batch_in_epoch"] == 0 and state["epoch"] == 1
    assert slot["updates"] == 4 and slot["pending"] == 0 and slot["skipped"] == 0
    # a zero learning rate never improves: patience 1 stops at the second validation
    train(paired_data, tmp_path / "es", "--train.epochs", 10, "--optim.se.lr", 0.0,
          "--train.early_stop_patience", 1)
    assert len(rows(tmp_path / "es" / "valid_log.csv")) == 2


def test_only_the_writing_rank_touches_log_files(tmp_path):
    """DDP ranks share the experiment dir: a non-main rank must never write (or rename onto)
    the CSV logs, or two ranks race on one temporary file."""
    from sebench.train.logger import CSVLog
    main_log = CSVLog(str(tmp_path / "train_log.csv"))
    other = CSVLog(str(tmp_path / "other.csv"), writer=False)
    for lg in (main_log, other):
        lg.truncate_after(0)
        lg.add({"step": 1, "loss": 0.5})
    assert (tmp_path / "train_log.csv").exists() and not (tmp_path / "other.csv").exists()
    assert other.rows == [{"step": 1, "loss": "0.5"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_log.csv"]


def test_kill_while_metrics_are_scored_exports_the_uninterrupted_model(paired_data, tmp_path):
    """The issue-14 case: a kill while validation metrics are scored in the background. The
    resumed run collects the pending results (valid_metrics.csv keeps every row), picks the
    same best checkpoint, and its first train_log row after the resume averages the same
    steps as the uninterrupted run's."""
    common = ("--train.max_steps", 9, "--train.epochs", 0, "--train.checkpoint_every", 2,
              "--train.valid_every", 3, "--train.log_every", 4, "--train.valid_metrics", "stoi",
              "--train.valid_metric_utts", 2, "--train.best_by", "metric:stoi",
              "--train.best_mode", "max")
    a, b = tmp_path / "a", tmp_path / "b"
    train(paired_data, a, *common)
    killed = train(paired_data, b, *common, check=False,
                   env=dict(os.environ, SEBENCH_KILL_AFTER_STEP="7"))
    assert killed.returncode != 0
    state = load(b / "checkpoints" / "latest.pt")["state"]
    assert state["step"] == 6 and 6 in state["pending_metrics"]    # launched, not yet scored
    train(paired_data, b, *common)
    assert (a / "model" / "info.json").read_text().split('"provenance"')[0] == \
        (b / "model" / "info.json").read_text().split('"provenance"')[0]
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert rows(a / "valid_metrics.csv") == rows(b / "valid_metrics.csv")
    assert [r["step"] for r in rows(b / "valid_metrics.csv")] == ["3", "6", "9"]
    strip = [{k: v for k, v in r.items() if k != "data_share"} for r in rows(a / "train_log.csv")]
    assert strip == [{k: v for k, v in r.items() if k != "data_share"}
                     for r in rows(b / "train_log.csv")]
