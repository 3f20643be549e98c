"""Paper 004's gradient-reversal adversarial training: the reversal layer, the learned-domain
IRM/IBM targets, and the three training schemes (non_adv, adv, coop) on the shared trainer,
each exporting the branch-free SE model."""
import copy

import numpy as np
import pytest
import torch

import fake_method
from conftest import REPO
from sebench import config as cfgmod
from sebench.errors import ConfigError
from sebench.models import build_model, count_parameters
from sebench.models.grl import MaskBranch, reverse_gradient
from sebench.models.store import load_model
from sebench.train.config import DEFAULTS
from sebench.train.experiment import train_experiment
from sebench.train.losses import build_loss
from sebench.train.mask_loss import ratio_mask

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("torch_one_thread")]

TINY = dict(name="dprnn", filters=8, hidden=8, chunk_size=10)


def tiny_pair(seed=0):
    torch.manual_seed(seed)
    se = build_model(TINY)
    return se, MaskBranch(8, 8, 10, reverse=True)


def test_reversal_is_identity_forward_and_negated_scaled_backward():
    x = torch.randn(3, 4, requires_grad=True)
    y = reverse_gradient(x, 0.3)
    assert torch.equal(y, x)
    (y * torch.arange(4.0)).sum().backward()
    assert torch.allclose(x.grad, -0.3 * torch.arange(4.0).expand(3, 4))


@pytest.mark.parametrize("lambd", [1.0, 0.5])
def test_grl_flips_the_encoder_gradient_and_keeps_the_branch_gradient(lambd):
    se, branch = tiny_pair()
    branch.grl_lambda = lambd
    coop = copy.deepcopy(branch)
    coop.reverse = False
    wav, clean = torch.randn(2, 1600), torch.randn(2, 1600)
    batch = {"wav": wav, "clean": clean, "lengths": torch.tensor([1600, 1200])}
    term = build_loss({"name": "mask_bce", "source": "noise", "kind": "irm"})
    grads = {}
    for name, b in (("adv", branch), ("coop", coop)):
        se.zero_grad()
        out = se(wav)
        out["branch_mask"] = b(out["encoded"])
        term(out, batch, se).mean().backward()
        grads[name] = ({n: p.grad.clone() for n, p in se.named_parameters() if p.grad is not None},
                       {n: p.grad.clone() for n, p in b.named_parameters()})
    enc_adv, br_adv = grads["adv"]
    enc_coop, br_coop = grads["coop"]
    # the encoder side (analysis, norm, pointwise conv, DPRNN block) gets -lambda x the gradient
    assert {n.split(".")[0] for n in enc_adv} == {"analysis", "enc_norm", "enc_conv", "enc_block"}
    for n in enc_adv:
        assert enc_coop[n].abs().sum() > 0
        assert torch.allclose(enc_adv[n], -lambd * enc_coop[n], atol=1e-7, rtol=1e-5), n
    # the branch's own gradient is untouched; the mask decoder gets none from this loss
    for n in br_adv:
        assert torch.allclose(br_adv[n], br_coop[n]), n
    assert not any(n.startswith(("dec_", "synthesis")) for n in enc_adv)


def test_irm_and_ibm_targets_on_signals_with_known_clean_and_noise():
    """Clean speech only in the first half, noise only in the second: the noise IRM is 0
    there, 1 here; a noisy signal that is twice the clean one gives 0.5 everywhere."""
    se = build_model(TINY)
    n = 1600
    t = np.arange(n) / 16000
    clean = np.zeros(n, np.float32)
    clean[:800] = 0.5 * np.sin(2 * np.pi * 440 * t[:800])
    noise = np.zeros(n, np.float32)
    noise[800:] = 0.5 * np.random.default_rng(0).standard_normal(800)
    clean, noise = torch.tensor(clean)[None], torch.tensor(noise)[None]
    with torch.no_grad():
        a_x, a_v = se.represent(clean), se.represent(noise)
    irm, valid = ratio_mask(a_x, a_v, "noise", "irm")
    frames = a_x.shape[-1]
    first, second = slice(0, 800 // 8 - 2), slice(800 // 8 + 1, frames - 2)  # away from the seam
    assert valid[..., first].sum() > 0 and valid[..., second].sum() > 0
    assert torch.all(irm[..., first][valid[..., first] > 0] == 0)
    assert torch.all(irm[..., second][valid[..., second] > 0] == 1)
    clean_irm, _ = ratio_mask(a_x, a_v, "clean", "irm")
    assert torch.allclose((clean_irm + irm)[valid > 0], torch.ones(1))
    # equal parts: IRM 0.5 in every active bin, the IBM (threshold 0.5) says "not noise"
    irm, valid = ratio_mask(a_x, a_x, "noise", "irm")
    assert torch.allclose(irm[valid > 0], torch.tensor(0.5))
    ibm, _ = ratio_mask(a_x, a_x, "noise", "ibm")
    assert ibm.sum() == 0
    # a noise three times the clean one: IRM 0.75, IBM 1; inactive bins are left out
    irm, valid = ratio_mask(a_x, 3 * a_x, "noise", "irm")
    assert torch.allclose(irm[valid > 0], torch.tensor(0.75))
    ibm, _ = ratio_mask(a_x, 3 * a_x, "noise", "ibm")
    assert torch.equal(ibm, valid) and 0 < valid.mean() < 1      # ReLU zeros are inactive
    # the BCE term reads the model's own domain: y - x is the noise, and a perfect branch
    # predicting the IBM has (almost) zero loss
    batch = {"wav": clean + noise, "clean": clean, "lengths": torch.tensor([n])}
    term = build_loss({"name": "mask_bce", "source": "noise", "kind": "ibm"})
    target, valid = term.target(batch, se)
    loss = term({"branch_mask": target.clamp(1e-6, 1 - 1e-6)}, batch, se)
    assert float(loss) < 1e-4
    assert float(term({"branch_mask": torch.full_like(target, 0.5)}, batch, se)) == \
        pytest.approx(np.log(2), rel=1e-5)


def test_mask_bce_rejects_bad_options_and_models():
    with pytest.raises(ConfigError, match="source"):
        build_loss({"name": "mask_bce", "source": "speech"})
    with pytest.raises(ConfigError, match="kind"):
        build_loss({"name": "mask_bce", "kind": "psm"})
    term = build_loss({"name": "mask_bce"})
    cnn = build_model({"name": "gru", "hidden": 8, "layers": 1, "fc_in": 8})
    batch = {"wav": torch.randn(1, 800), "clean": torch.randn(1, 800), "lengths": torch.tensor([800])}
    with pytest.raises(ConfigError, match="dprnn"):
        term({"branch_mask": torch.rand(1, 8, 99)}, batch, cnn)
    with pytest.raises(ConfigError, match="method: grl"):
        term({"wave": batch["wav"]}, batch, build_model(TINY))


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    return fake_method.make_data(tmp_path_factory.mktemp("grl"))


def grl_config(preset, **options):
    cfg = cfgmod.merge(DEFAULTS, cfgmod.load_yaml(REPO / "conf" / "train" / preset))
    return cfgmod.merge(cfg, {
        "model": TINY, "method_options": options,
        "data": {"segment": None, "batch_size": 2},
        "train": {"epochs": 1, "max_steps": 3, "checkpoint_every": 2, "amp": False,
                  "valid_metrics": "", "log_every": 1}})


@pytest.mark.slow
def test_each_scheme_trains_and_exports_the_branch_free_model(dirs, tmp_path):
    exported = {}
    for preset in ("grl_nonadv.yaml", "grl_adv_irm.yaml", "grl_coop_ibm.yaml"):
        exp = tmp_path / preset
        train_experiment(grl_config(preset), str(exp), {"train": dirs["paired"]},
                         dirs["valid"], device="cpu")
        log = (exp / "train_log.csv").read_text()
        assert ("adv_bce" in log) == (preset != "grl_nonadv.yaml")
        assert not list(exp.glob("model_*"))              # one export: the SE model
        model, cfg = load_model(exp)
        assert not hasattr(model, "block")
        exported[preset] = model
    keys = {p: {k: tuple(v.shape) for k, v in m.state_dict().items()} for p, m in exported.items()}
    assert keys["grl_adv_irm.yaml"] == keys["grl_nonadv.yaml"] == keys["grl_coop_ibm.yaml"]
    sizes = {count_parameters(m) for m in exported.values()}
    assert sizes == {count_parameters(build_model(TINY))}
    # the trained models differ (the branch changed the encoder's updates)
    a, b = exported["grl_nonadv.yaml"], exported["grl_adv_irm.yaml"]
    assert not torch.equal(a.enc_conv.weight, b.enc_conv.weight)
    wave = torch.randn(1, 1600)
    assert a(wave)["wave"].shape == b(wave)["wave"].shape == (1, 1600)


def test_bad_method_options_fail_before_training(dirs, tmp_path):
    for options, match in (({"mode": "gan"}, "mode"), ({"beta": 1.5}, "beta"),
                           ({"target": "psm"}, "kind")):
        with pytest.raises(ConfigError, match=match):
            train_experiment(grl_config("grl_adv_irm.yaml", **options), str(tmp_path / "x"),
                             {"train": dirs["paired"]}, None, device="cpu")
    cfg = grl_config("grl_adv_irm.yaml")
    cfg["model"] = {"name": "gru", "hidden": 8, "layers": 1, "fc_in": 8}
    with pytest.raises(ConfigError, match="dprnn"):
        train_experiment(cfg, str(tmp_path / "y"), {"train": dirs["paired"]}, None, device="cpu")
