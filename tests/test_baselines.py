"""Issue 20's real-data baselines: NyTT/EnhTT, MixIT (and the CNN-BLSTM's n_sources),
RemixIT and the MetricGAN-U preset of `gan`, on tiny generated data without clean.scp."""
import itertools

import numpy as np
import pytest
import torch
import yaml

from baseline_data import make_real_dirs
from conftest import REPO, TINY_CNN_BLSTM, run_cli
from sebench.config import merge
from sebench.errors import ConfigError
from sebench.models import build_model, count_parameters
from sebench.train.checkpoint import load
from sebench.train.config import DEFAULTS
from sebench.train.losses import neg_sisdr
from sebench.train.methods.remixit import ema_update, remix
from sebench.train.mixit_loss import assignments, mixit_loss, neg_snr_thresholded
from sebench.train.noise_mix import draw_snrs
from sebench.train.trainer import Trainer

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("torch_one_thread")]
TINY = yaml.safe_load(TINY_CNN_BLSTM.read_text())


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    return make_real_dirs(tmp_path_factory.mktemp("real"))


def config(method, model=None, **sections):
    base = {"method": method, "model": dict(TINY, **(model or {})),
            "data": {"segment": None, "batch_size": 2},
            "optim": {"se": {"type": "adam", "lr": 1e-3}},
            "train": {"epochs": 0, "max_steps": 4, "checkpoint_every": 2, "log_every": 1}}
    cfg = merge(DEFAULTS, base)
    for key, value in sections.items():
        cfg = merge(cfg, {key: value})
    return cfg


def train(cfg, exp, dirs, streams=("train", "noise")):
    names = {"train": dirs["real_train"], "noise": dirs["noise"]}
    trainer = Trainer(cfg, str(exp), {s: names[s] for s in streams}, dirs["real_valid"], "cpu")
    trainer.run()
    return trainer


def enhanced_lengths(exp):
    """The exported model through the enhancer factory: output length = input length."""
    from sebench.enhance.factory import build_enhancer
    enhancer = build_enhancer(str(exp))
    with torch.no_grad():
        return [enhancer(torch.randn(1, n))["wave"].shape[-1] for n in (4000, 5123)]


# -- MixIT's assignment -------------------------------------------------------------------------
def test_assignments_enumerate_every_mixing_matrix_and_the_speech_constraint():
    a = assignments(3)
    assert a.shape == (8, 2, 3) and torch.all(a.sum(1) == 1)          # one mixture per source
    assert len({tuple(m.flatten().tolist()) for m in a}) == 8
    c = assignments(3, speech_slots=[0])
    assert c.shape == (4, 2, 3) and torch.all(c[:, 0, 0] == 1)
    with pytest.raises(ConfigError, match="speech slots"):
        assignments(2, [2])


@pytest.mark.parametrize("loss", ["snr", "sisdr"])
def test_mixit_picks_the_best_combination_and_equals_brute_force(loss):
    rng = np.random.default_rng(0)
    b, m, t = 2, 4, 800
    true = torch.tensor(rng.standard_normal((b, m, t)), dtype=torch.float32)
    mixtures = torch.stack([true[:, 0] + true[:, 2], true[:, 1] + true[:, 3]], dim=1)
    order = [3, 0, 2, 1]                              # the model's slots, shuffled
    est = true[:, order] + 0.01 * torch.tensor(rng.standard_normal((b, m, t)), dtype=torch.float32)
    lengths = torch.tensor([t, t - 100])
    mixing = assignments(m)
    best, index = mixit_loss(est, mixtures, lengths, mixing, loss)
    # slot j holds true source order[j]: true sources 0, 2 form mixture 0
    expected = [0 if order[j] in (0, 2) else 1 for j in range(m)]
    for i in range(b):
        assert mixing[index[i]].argmax(0).tolist() == expected
    # the minimum over an explicit loop over all 2^M assignments
    for i in range(b):
        values = []
        for a in itertools.product((0, 1), repeat=m):
            remixed = torch.stack([sum(est[i, j] for j in range(m) if a[j] == n) + 0 * est[i, 0]
                                   for n in (0, 1)])
            if loss == "snr":
                per = neg_snr_thresholded(remixed[None], mixtures[i:i + 1], lengths[i:i + 1])
            else:
                per = neg_sisdr(remixed, mixtures[i], lengths[i].repeat(2))
            values.append(float(per.sum()))
        assert float(best[i]) == pytest.approx(min(values), abs=1e-4)
        assert float(best[i]) < sorted(values)[1] - 10                # clearly the best


def test_thresholded_snr_is_the_papers_formula():
    ref, est = torch.ones(1, 100), torch.full((1, 100), 0.9)
    tau = 10 ** -3
    expected = 10 * np.log10(100 * 0.01 + tau * 100)
    assert float(neg_snr_thresholded(est, ref, torch.tensor([100]))) == pytest.approx(expected, abs=1e-4)


# -- the M-source CNN-BLSTM --------------------------------------------------------------------
def test_cnn_blstm_n_sources_keeps_one_source_models_and_sums_to_the_input():
    one = build_model(TINY)
    assert count_parameters(one) == count_parameters(build_model(dict(TINY, n_sources=1)))
    assert list(one.state_dict()) == list(build_model(dict(TINY, n_sources=3)).state_dict())
    three = build_model(dict(TINY, n_sources=3, speech_sources=1))
    fc_in = TINY["fc_hidden"]
    assert count_parameters(three) - count_parameters(one) == 2 * one.num_bins * (fc_in + 1)
    x = torch.randn(2, 4000)
    with torch.no_grad():
        out = three(x)
    assert out["sources"].shape == (2, 3, 4000)
    torch.testing.assert_close(out["sources"].sum(1), x, atol=1e-4, rtol=0)   # consistent
    torch.testing.assert_close(out["wave"], out["sources"][:, 0])
    with pytest.raises(ConfigError, match="speech_sources"):
        build_model(dict(TINY, n_sources=2, speech_sources=3))
    with pytest.raises(ConfigError, match="mask_floor"):
        build_model(dict(TINY, n_sources=2, mask_floor=0.05))


def test_dprnn_n_sources():
    tiny = yaml.safe_load((REPO / "conf/models/dprnn_tiny.yaml").read_text())
    one, two = build_model(tiny), build_model(dict(tiny, n_sources=2))
    assert list(one.state_dict()) == list(two.state_dict())
    with torch.no_grad():
        out = two(torch.randn(2, 3001))
    assert out["sources"].shape == (2, 2, 3001)
    torch.testing.assert_close(out["wave"], out["sources"][:, 0])


# -- NyTT / EnhTT -------------------------------------------------------------------------------
@pytest.mark.slow
def test_nytt_input_is_y_plus_noise_at_the_drawn_snr_and_enhtt_refreshes_its_target(dirs, tmp_path):
    cfg = config("nytt", method_options={"snr": [0.0, 10.0], "target_update_every": 2},
                 train={"max_steps": 5})
    trainer = Trainer(cfg, str(tmp_path / "nytt"), {"train": dirs["real_train"],
                                                    "noise": dirs["noise"]}, None, "cpu")
    method, seen = trainer.method, []
    pair = method.pair

    def spy(batch, noise):
        out = pair(batch, noise)
        step = trainer.state["step"]
        with torch.no_grad():
            frozen = method.module("target")(batch["wav"])["wave"] if step >= 2 else None
        same = all(torch.equal(v, method.module("se").state_dict()[k])
                   for k, v in method.module("target").state_dict().items())
        seen.append((step, batch["wav"].clone(), noise.clone(), out, frozen, same))
        return out

    method.pair = spy
    trainer.run()
    assert method.target_updates == [2, 4]
    for step, y, noise, out, frozen, same in seen:
        torch.testing.assert_close(out["wav"], y + noise)
        snr = 10 * torch.log10((y ** 2).sum(-1) / (noise ** 2).sum(-1))
        drawn = draw_snrs(cfg["seed"], step, "nytt-snr", len(y), [0.0, 10.0])
        torch.testing.assert_close(snr, drawn, atol=1e-3, rtol=0)
        assert torch.all((drawn >= 0) & (drawn <= 10))
        if step < 2:
            assert torch.equal(out["clean"], y)                      # NyTT: the noisy target
        else:
            assert not torch.equal(out["clean"], y)
            torch.testing.assert_close(out["clean"], frozen)       # EnhTT: the frozen copy's
        assert same == (step in (2, 4))          # copied right before the step, then trained


@pytest.mark.slow
def test_nytt_trains_through_the_cli_and_enhances(dirs, tmp_path):
    exp = tmp_path / "nytt_cli"
    run_cli("train", "--config", REPO / "conf/train/nytt.yaml", "--model-config", TINY_CNN_BLSTM,
            "--train", f"train={dirs['real_train']}", "--train", f"noise={dirs['noise']}",
            "--valid", dirs["real_valid"], "--exp", exp, "--train.epochs", 0,
            "--train.max_steps", 3, "--data.batch_size", 2, "--data.segment", 0.5,
            "--method_options.target_update_every", 2)
    out = tmp_path / "enh"
    run_cli("enhance", exp, dirs["real_valid"], "-o", out)
    import soundfile as sf
    from sebench.data import DataDir
    wavs = DataDir(dirs["real_valid"]).read("wav.scp")
    for key, path in DataDir(out).read("wav.scp").items():
        assert sf.info(path).frames == sf.info(wavs[key]).frames
    with pytest.raises(ConfigError, match="method_options.snrr"):
        Trainer(config("nytt", method_options={"snrr": [0, 1]}), str(tmp_path / "x"),
                {"train": dirs["real_train"], "noise": dirs["noise"]})


# -- MixIT --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_mixit_trains_and_exports_a_speech_only_enhancer(dirs, tmp_path):
    exp = tmp_path / "mixit"
    trainer = train(config("mixit", model={"n_sources": 3}), exp, dirs)
    assert trainer.state["step"] == 4
    log = (exp / "train_log.csv").read_text().splitlines()
    assert len(log) == 5 and "loss" in log[0]
    assert enhanced_lengths(exp) == [4000, 5123]
    from sebench.models.store import load_model
    model, cfg = load_model(exp)
    assert cfg["n_sources"] == 3
    x = torch.randn(1, 3000)
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out["wave"], out["sources"][:, 0])
    with pytest.raises(ConfigError, match="more sources than speech slots"):
        train(config("mixit"), tmp_path / "one", dirs)
    tiny_dprnn = yaml.safe_load((REPO / "conf/models/dprnn_tiny.yaml").read_text())
    cfg = config("mixit", train={"max_steps": 2})
    cfg["model"] = dict(tiny_dprnn, n_sources=3)
    train(cfg, tmp_path / "dprnn", dirs)
    assert enhanced_lengths(tmp_path / "dprnn") == [4000, 5123]


# -- RemixIT ------------------------------------------------------------------------------------
def test_remix_and_ema_follow_their_formulas():
    speech, noise = torch.randn(3, 50), torch.randn(3, 50)
    lengths = torch.tensor([50, 50, 40])
    perm = torch.tensor([2, 0, 1])
    mixed, noise_perm = remix(speech, noise, lengths, perm)
    torch.testing.assert_close(mixed[:2], speech[:2] + noise[perm][:2])
    torch.testing.assert_close(mixed[2, :40], speech[2, :40] + noise[1, :40])
    assert torch.all(mixed[2, 40:] == 0) and torch.equal(noise_perm[0], noise[2])
    teacher, student = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    ema_update(teacher, student, 0.9)
    for k, v in teacher.state_dict().items():
        torch.testing.assert_close(v, 0.9 * before[k] + 0.1 * student.state_dict()[k])


@pytest.fixture(scope="module")
def teacher(dirs, tmp_path_factory):
    exp = tmp_path_factory.mktemp("teacher") / "nytt"
    train(config("nytt", train={"max_steps": 2}), exp, dirs)
    return exp


@pytest.mark.slow
def test_remixit_remixes_the_teachers_estimates_and_resumes_exactly(dirs, teacher, tmp_path,
                                                                    monkeypatch):
    cfg = config("remixit", method_options={"teacher": str(teacher), "ema_every": 2,
                                            "ema_decay": 0.5},
                 data={"batch_size": 3}, train={"max_steps": 5})
    whole = train(cfg, tmp_path / "whole", dirs, streams=("train",))
    assert enhanced_lengths(tmp_path / "whole") == [4000, 5123]
    final = load(tmp_path / "whole" / "checkpoints" / "latest.pt")["models"]
    # the teacher moved: EMA of a student that trained
    t0 = torch.load(teacher / "model" / "model.pt", weights_only=True)
    assert any(not torch.equal(final["teacher"][k], t0[k]) for k in t0)

    import sebench.train.trainer as trainer_module

    class Killed(Exception):
        pass

    def kill(pid, sig):
        raise Killed

    monkeypatch.setenv("SEBENCH_KILL_AFTER_STEP", "3")
    monkeypatch.setattr(trainer_module.os, "kill", kill)
    with pytest.raises(Killed):
        train(cfg, tmp_path / "killed", dirs, streams=("train",))
    assert load(tmp_path / "killed/checkpoints/latest.pt")["state"]["step"] == 2
    monkeypatch.delenv("SEBENCH_KILL_AFTER_STEP")
    resumed = train(cfg, tmp_path / "killed", dirs, streams=("train",))
    assert resumed.state["step"] == whole.state["step"] == 5
    again = load(tmp_path / "killed" / "checkpoints" / "latest.pt")["models"]
    for name in ("se", "teacher"):
        assert all(torch.equal(final[name][k], again[name][k]) for k in final[name]), name


def test_remixit_student_input_is_the_remix_of_the_teacher(dirs, teacher, tmp_path):
    cfg = config("remixit", method_options={"teacher": str(teacher), "ema_every": 0},
                 data={"batch_size": 4}, train={"max_steps": 1})
    trainer = Trainer(cfg, str(tmp_path / "r"), {"train": dirs["real_train"]}, None, "cpu")
    method, seen = trainer.method, {}
    net = method.net

    def spy(name):
        model = net(name)

        def forward(wave):
            seen["input"] = wave.clone()
            return model(wave)
        return forward

    losses = method.losses
    method.losses = lambda n, batch, perm: (seen.update(batch=batch, perm=perm), losses(n, batch, perm))[1]
    method.net = spy
    trainer.run()
    batch, perm = seen["batch"], seen["perm"]
    teacher_model = trainer.module("teacher")
    with torch.no_grad():
        s_t = teacher_model(batch["wav"])["wave"]
    n_t = batch["wav"] - s_t
    expected = s_t + n_t[perm]
    assert sorted(perm.tolist()) == list(range(4))
    torch.testing.assert_close(seen["input"], expected, atol=1e-5, rtol=0)   # equal lengths
    t0 = torch.load(teacher / "model" / "model.pt", weights_only=True)
    assert all(torch.equal(trainer.module("teacher").state_dict()[k], t0[k]) for k in t0)  # frozen


# -- MetricGAN-U --------------------------------------------------------------------------------
@pytest.mark.slow
def test_metricgan_u_preset_trains_on_noisy_speech_alone_with_dnsmos_labels(dirs, tmp_path):
    from sebench.data import DataDir
    from sebench.metrics.dnsmos import DNSMOS
    from sebench.quality.labeller import digest
    assert not DataDir(dirs["real_train"]).has("clean.scp")
    exp = tmp_path / "mgu"
    preset = yaml.safe_load((REPO / "conf/train/metricgan_u.yaml").read_text())
    cfg = merge(DEFAULTS, preset)
    cfg = merge(cfg, {"model": TINY, "method_options": {
        "async_labels": False, "d_model": {"kind": "predictor", "name": "cnn", "channels": [4, 4],
                                           "kernel": 3, "fc": [8],
                                           "label": {"norm": "linear", "lo": 1.0, "hi": 5.0}}},
        "data": {"batch_size": 2}, "train": {"epochs": 0, "max_steps": 2, "valid_every": 0,
                                             "valid_metrics": "", "best_by": "valid_loss",
                                             "best_mode": "min"}})
    trainer = Trainer(cfg, str(exp), {"train": dirs["real_train"]}, None, "cpu")
    trainer.run()
    assert trainer.method.streams == {"train": ("wav",)}
    cache = load(exp / "checkpoints" / "latest.pt")["method"]["label_cache"]
    assert len(cache) >= 4                         # 2 noisy inputs and 2 outputs per step
    ds = trainer.primary.dataset
    scored = [ds[i]["wav"].numpy() for i in range(len(ds)) if digest(ds[i]["wav"].numpy()) in cache]
    assert scored                                  # the noisy inputs' labels are DNSMOS OVRL
    expected = DNSMOS(threads=1)(scored[0], 16000, models=("p835",), short_clips="first_window")
    assert cache[digest(scored[0])] == pytest.approx(expected["ovrl"], abs=1e-6)
    assert enhanced_lengths(exp) == [4000, 5123]
