"""FCRN (paper 002): the fast ConvLSTM recurrence equals the plain frame loop it replaced."""
import pytest
import torch

from sebench.models import build_model, count_parameters
from sebench.models.fcrn import ConvLSTM

pytestmark = pytest.mark.timeout(120)


def frame_loop(module, x):
    """The reference: the ConvLSTM as first written, a Python loop over frames with autograd
    recording every step, on the module's own weights."""
    gx = module.x2g(x)
    b, _, f, t = gx.shape
    h = gx.new_zeros(b, module.hidden, f)
    c = gx.new_zeros(b, module.hidden, f)
    out = []
    for k in range(t):
        i, fg, g, o = (gx[..., k] + module.h2g(h.unsqueeze(-1))[..., 0]).chunk(4, dim=1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        out.append(h)
    return torch.stack(out, dim=-1)


def reference_estimate(model, spec, features):
    """FCRN.estimate as first written: default memory layout, the frame-loop ConvLSTM."""
    e1 = model.enc1(features)
    e2 = model.enc2(model.pool(e1))
    z = frame_loop(model.bottleneck, model.pool(e2))
    d2 = model.dec2b(model.dec2a(model.up(z)) + e2)
    d1 = model.dec1b(model.dec1a(model.up(d2)) + e1)
    m = model.out(d1)[:, :, :spec.shape[1]]
    mask = torch.complex(m[:, 0], m[:, 1])
    mag = mask.abs()
    mask = mask * (torch.tanh(mag) / mag.clamp_min(1e-8))
    return spec * mask, mask


@pytest.mark.parametrize("kernel", [5, 6])   # odd and even N (the paper's N = 24 is even)
def test_convlstm_equals_frame_loop_values_and_gradients(kernel):
    torch.manual_seed(0)
    module = ConvLSTM(6, 4, kernel).double()
    x = torch.randn(2, 6, 13, 17, dtype=torch.float64, requires_grad=True)
    fast, ref = module(x), frame_loop(module, x)
    torch.testing.assert_close(fast, ref, rtol=1e-12, atol=1e-12)
    upstream = torch.randn_like(ref)
    inputs = [x] + list(module.parameters())
    for got, want in zip(torch.autograd.grad(fast, inputs, upstream),
                         torch.autograd.grad(ref, inputs, upstream)):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    with torch.no_grad():   # inference runs the loop without keeping per-frame state
        torch.testing.assert_close(module(x), ref, rtol=1e-12, atol=1e-12)


def test_fcrn_equals_reference_model_with_same_weights():
    torch.manual_seed(1)
    model = build_model(dict(name="fcrn", filters=6, kernel=6))
    wave = torch.randn(3, 8000)
    spec = model.analysis(wave)
    features = model.features(spec)
    est, mask = model.estimate(spec, features)
    ref_est, ref_mask = reference_estimate(model, spec, features)
    torch.testing.assert_close(mask, ref_mask, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(est, ref_est, rtol=1e-4, atol=1e-5)
    target = torch.randn_like(est)
    params = list(model.parameters())
    got = torch.autograd.grad((est - target).abs().pow(2).mean(), params)
    want = torch.autograd.grad((ref_est - target).abs().pow(2).mean(), params)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-3, atol=1e-6)


def test_fcrn_parameter_count_is_the_papers_architecture():
    # paper 002 Fig. 2 with F = 88, N = 24: nine N x 1 convolutions with biases, the
    # ConvLSTM's input-to-gates (2F -> 4F, bias) and hidden-to-gates (F -> 4F, no bias)
    f, n = 88, 24
    convs = [(2, f), (f, f), (f, 2 * f), (2 * f, 2 * f), (f, 2 * f), (2 * f, 2 * f),
             (2 * f, f), (f, f), (f, 2)]
    expected = sum(ci * co * n + co for ci, co in convs) + (2 * f * 4 * f * n + 4 * f) \
        + f * 4 * f * n
    assert count_parameters(build_model({"name": "fcrn"})) == expected == 5_213_826


def test_convlstm_under_autocast_keeps_parameter_gradients_in_float32():
    torch.manual_seed(2)
    module = ConvLSTM(4, 3, 5)
    x = torch.randn(2, 4, 9, 11)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x)
    assert out.dtype == torch.bfloat16
    out.float().pow(2).mean().backward()
    for p in module.parameters():
        assert p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all()
        assert float(p.grad.abs().sum()) > 0
