"""SE models: shapes, parameter counts, gradients, registry, streaming."""
import pytest
import torch

from sebench.errors import ConfigError
from sebench.models import MODELS, build_model, count_parameters

TINY = {
    "cnn_blstm": dict(channels=[4, 4, 4, 1], kernel=5, lstm_hidden=16, lstm_layers=1, fc_hidden=32),
    "fcrn": dict(filters=4, kernel=5),
    "gru": dict(hidden=32, layers=2, fc_in=32),
    "dprnn": dict(filters=16, hidden=16, chunk_size=20),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(MODELS) - {"split_vqvae", "spec_vae"}))   # VQ-VAE, VAE: test_vqvae.py, test_sse.py
def test_shapes_and_gradients(name):
    torch.manual_seed(0)
    model = build_model(dict(name=name, **TINY[name]))
    for length in (16000, 12345):   # any length comes back as long as it went in
        out = model(torch.randn(2, length))
        assert out["wave"].shape == (2, length) and torch.isfinite(out["wave"]).all()
    out["wave"].pow(2).mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_parameter_counts_match_the_architecture():
    # CNN-BLSTM: 4 convs (k x k), BLSTM on F*1 inputs, FC 2H -> fc, fc -> F
    k, c, h, fc, f = 5, [4, 4, 4, 1], 16, 32, 257
    conv = sum(ci * co * k * k + co for ci, co in zip([1] + c[:-1], c))
    lstm = 2 * 4 * (h * f + h * h + 2 * h)
    dense = (2 * h * fc + fc) + (fc * f + f)
    assert count_parameters(build_model(dict(name="cnn_blstm", **TINY["cnn_blstm"]))) == \
        conv + lstm + dense
    # GRU gain: FC bins->fc_in (+PReLU), 2 GRU layers, FC hidden->bins; 161 bins at FFT 320
    b, i, h = 161, 32, 32
    gru = 3 * (i * h + h * h + 2 * h) + 3 * (h * h + h * h + 2 * h)
    assert count_parameters(build_model(dict(name="gru", **TINY["gru"]))) == \
        (b * i + i + 1) + gru + (h * b + b)
    # the papers' sizes are in the millions
    assert 1.5e6 < count_parameters(build_model({"name": "cnn_blstm"})) < 3e6
    # DPRNN (paper 004 sizes): filterbanks 2 x 64*16, GroupNorm 2*64, pointwise convs
    # 2 x (64*64+64), PReLU 1, and two DPRNN blocks (E and M), each two BLSTMs of 128 with a
    # 256->64 projection and a GroupNorm. (The paper reports 441K at runtime: one block's
    # worth; E, M "are all composed of one DPRNN block" gives two.)
    c, h = 64, 128
    blstm = 2 * 4 * (h * c + h * h + 2 * h)
    block = 2 * (blstm + (2 * h * c + c) + 2 * c)
    assert count_parameters(build_model({"name": "dprnn"})) == \
        2 * c * 16 + 2 * c + 2 * (c * c + c) + 1 + 2 * block == 871425
    # the other reading (egs/vbd/se1/conf/dprnn_grl_441k.yaml): M without its DPRNN block is
    # the paper's runtime size, 441K
    assert count_parameters(build_model({"name": "dprnn", "decoder_block": False})) == \
        871425 - block == 440961
    with pytest.raises(ConfigError, match="decoder_block"):
        build_model({"name": "dprnn", "decoder_block": "no"})


def test_fcrn_mask_is_bounded_and_complex():
    model = build_model(dict(name="fcrn", **TINY["fcrn"]))
    out = model(torch.randn(1, 8000) * 10)
    assert torch.is_complex(out["mask"]) and float(out["mask"].detach().abs().max()) <= 1.0 + 1e-6
    assert out["spec"].shape[1] == 257          # 260 bins inside, padding dropped


def test_mask_floor_and_normalization_buffers():
    model = build_model(dict(name="cnn_blstm", mask_floor=0.2, **TINY["cnn_blstm"]))
    assert float(model(torch.randn(1, 4000))["mask"].detach().min()) >= 0.2
    model.set_normalization(torch.full((257,), 2.0), torch.full((257,), 3.0))
    state = model.state_dict()
    assert torch.all(state["feat_mean"] == 2.0) and torch.all(state["feat_std"] == 3.0)


def test_gru_streaming_equals_offline():
    torch.manual_seed(0)
    model = build_model(dict(name="gru", **TINY["gru"])).eval()
    spec = model.analysis(torch.randn(1, 8000))
    offline, _ = model.estimate(spec, model.features(spec))
    state, parts = None, []
    for t in range(spec.shape[-1]):
        y, state = model.stream(spec[..., t:t + 1], state)
        parts.append(y)
    torch.testing.assert_close(torch.cat(parts, -1), offline, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_dprnn_exposes_its_encoder_for_branches():
    model = build_model(dict(name="dprnn", **TINY["dprnn"]))
    mix, encoded = model.encode(torch.randn(2, 4000))
    assert mix.shape == encoded.shape and mix.shape[1] == 16
    assert model.decode_mask(encoded).shape == mix.shape


def test_registry_errors():
    with pytest.raises(ConfigError, match="unknown model"):
        build_model({"name": "nope"})
    with pytest.raises(ConfigError, match="unknown model 'nope'; known: cnn_blstm, dprnn"):
        build_model({"name": "nope"})
    # option names are checked against the constructor (its base class's too) ...
    with pytest.raises(ConfigError, match=r"model cnn_blstm: unknown option\(s\) bogus \(known: .*fs"):
        build_model({"name": "cnn_blstm", "bogus": 1})
    # ... so a TypeError raised inside a constructor stays a bug, not a config error
    with pytest.raises(TypeError):
        build_model({"name": "cnn_blstm", "channels": 4})
