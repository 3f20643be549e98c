"""Paper 000 options: spectral-normalised / magnitude-input discriminators, sigmoid(MOS) labels,
Algorithm 1's literal update, and the presets that use them (issue 25)."""
import math
import shlex
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from sebench.errors import ConfigError
from sebench.quality import build_predictor
from sebench.quality.attack import algorithm1
from sebench.quality.labels import LabelScale

REPO = Path(__file__).resolve().parents[1]
TINY = {"cnn": {"name": "cnn", "channels": [4, 4], "kernel": 3, "fc": [8]},
        "blstm": {"name": "blstm", "hidden": 8, "layers": 1, "fc": [8]},
        "cnn_blstm": {"name": "cnn_blstm", "channels": [4, 4], "kernel": 3, "hidden": 8,
                      "layers": 1, "fc": [8]},
        "pesqnet": {"name": "pesqnet", "channels": [4, 4], "conv_out": 4, "hidden": 8, "fc": 8}}


def _weighted_layers(model):
    return [m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]


def _normalised(layer):
    return nn.utils.parametrize.is_parametrized(layer, "weight") and any(
        "SpectralNorm" in type(p).__name__ for p in layer.parametrizations["weight"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_spectral_norm_on_every_conv_and_linear_layer(name):
    plain = build_predictor(TINY[name])
    assert not any(_normalised(m) for m in _weighted_layers(plain))
    model = build_predictor(dict(TINY[name], spectral_norm=True, feature="magnitude"))
    layers = _weighted_layers(model)
    assert layers and all(_normalised(m) for m in layers)
    wave = 0.1 * torch.randn(2, 4000)
    model.train()
    for _ in range(15):                   # power iterations converge: sigma(W) -> 1
        out = model(wave, torch.tensor([4000, 3000]))
    assert out.shape == (2,) and torch.isfinite(out).all()
    for layer in layers:
        w = layer.weight.detach().reshape(layer.weight.shape[0], -1)
        assert torch.linalg.matrix_norm(w, ord=2) < 1.05
    # the state dict round-trips into a model built from the same config
    again = build_predictor(dict(TINY[name], spectral_norm=True, feature="magnitude"))
    again.load_state_dict(model.state_dict())
    model.eval(), again.eval()
    torch.testing.assert_close(again(wave), model(wave))


def test_predictor_option_errors():
    with pytest.raises(ConfigError, match="spectral_norm must be true or false"):
        build_predictor(dict(TINY["cnn"], spectral_norm="yes"))
    with pytest.raises(ConfigError, match="feature must be log, log1p or magnitude"):
        build_predictor(dict(TINY["cnn"], feature="power"))
    with pytest.raises(ConfigError, match="spectral_normalization"):
        build_predictor(dict(TINY["cnn"], spectral_normalization=True))


def test_sigmoid_of_the_mos_itself():
    scale = LabelScale("sigmoid_raw", 1.0, 5.0)
    sig = lambda y: 1 / (1 + math.exp(-y))          # noqa: E731
    assert scale.normalize(1.0) == pytest.approx(sig(1.0))       # 0.731
    assert scale.normalize(5.0) == pytest.approx(sig(5.0))       # 0.993
    assert scale.best == pytest.approx(sig(5.0)) and scale.target(4.0) == pytest.approx(sig(4.0))
    y = torch.tensor([1.0, 2.5, 4.2, 5.0])
    torch.testing.assert_close(scale.normalize(y), torch.sigmoid(y))
    torch.testing.assert_close(scale.denormalize(scale.normalize(y)), y, atol=1e-4, rtol=0)
    assert scale.to_dict() == {"norm": "sigmoid_raw", "lo": 1.0, "hi": 5.0}
    assert build_predictor(dict(TINY["cnn"], label=scale.to_dict())).scale.best == scale.best
    # the other sigmoid (centred, 1..5 -> 0.02..0.98) is a different map
    assert LabelScale("sigmoid").normalize(1.0) < 0.05
    with pytest.raises(ConfigError, match="label norm"):
        LabelScale("logistic")


def test_plain_step_is_algorithm1_literally():
    torch.manual_seed(0)
    q = build_predictor(TINY["cnn"])
    mag = torch.rand(1, 257, 20)
    lr, target = 0.05, 1.0
    y, noise, _ = algorithm1(q, mag, target, steps=2, lr=lr, step="plain")
    # by hand: noise <- clip(noise - lr * g, 0) twice, g = d (Q(clip(Z - noise, 0)) - S)^2 / d noise
    expected = torch.zeros_like(mag)
    q.eval()
    for _ in range(2):
        n = expected.clone().requires_grad_(True)
        loss = ((q.forward_mag(torch.clamp(mag - n, min=0)) - target) ** 2).sum()
        g, = torch.autograd.grad(loss, n)
        expected = torch.clamp(expected - lr * g, min=0)
    torch.testing.assert_close(noise, expected)
    torch.testing.assert_close(y, torch.clamp(mag - expected, min=0))
    _, normalised, _ = algorithm1(q, mag, target, steps=2, lr=lr, step="normalized")
    assert not torch.allclose(normalised, expected)


def _yaml(path):
    return yaml.safe_load((REPO / path).read_text())


def test_paper000_presets_use_the_options():
    for name in ("qp_cnn", "qp_blstm", "qp_cnn_blstm"):
        for recipe in ("vox2", "iub"):
            assert _yaml(f"egs/{recipe}/se1/conf/{name}.yaml")["label"]["norm"] == "sigmoid_raw"
    for path in ("egs/vox2/se1/conf/train_gan.yaml", "egs/vox2/se1/conf/train_semi.yaml",
                 "conf/train/metricgan_u.yaml", "egs/mini/se1/conf/train_gan.yaml",
                 "egs/mini/se1/conf/train_semi.yaml", "egs/mini/se1/conf/train_metricgan_u.yaml"):
        d = _yaml(path)["method_options"]["d_model"]
        assert d["spectral_norm"] is True and d["feature"] == "magnitude", path
        assert all(_normalised(m) for m in _weighted_layers(build_predictor(d))), path
    for path in ("egs/vox2/se1/conf/train_gan.yaml", "egs/vox2/se1/conf/train_semi.yaml"):
        opts = _yaml(path)["method_options"]
        assert opts["d_model"]["label"]["norm"] == "sigmoid_raw"
        assert opts["max_label_age"] <= 3 and opts["max_pending"]
    for path in ("train_deepdream", "train_gan", "train_semi"):
        cfg = _yaml(f"egs/vox2/se1/conf/{path}.yaml")
        assert cfg["train"]["valid_every"] <= 100 and cfg["train"]["valid_metric_utts"] >= 7
    # Robust-Q: the literal update, and the enhancement runs the attack of the training
    attack = _yaml("egs/vox2/se1/conf/train_robust_q.yaml")["method_options"]
    assert attack["attack_step"] == "plain"
    args = shlex.split(_yaml("egs/vox2/se1/conf/recipe.yaml")["systems"]["robust_q"]["enhance"])
    given = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--rq-")}
    assert given == {"--rq-steps": str(attack["attack_steps"]),
                     "--rq-lr": str(attack["attack_lr"]), "--rq-step": "plain"}
