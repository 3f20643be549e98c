"""Distill-MOS as an optional differentiable predictor (sebench/quality/distillmos.py): its
score has gradients back to an SE model's output, and it falls as noise is added to real
speech. Skipped, with the reason, when the package is not installed (`make distillmos`)."""
import importlib.util
import sys

import numpy as np
import pytest
import torch

from sebench.corpora.testing import noise_like
from sebench.errors import ConfigError

installed = pytest.mark.skipif(importlib.util.find_spec("distillmos") is None,
                               reason="distillmos is not installed (optional: make distillmos)")


@pytest.fixture(scope="module")
def distillmos():
    from sebench.train.methods.common import load_predictor
    return load_predictor("distillmos")


@installed
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_gradients_flow_from_the_score_to_the_se_output(distillmos):
    from sebench.models import build_model
    se = build_model({"name": "cnn_blstm", "channels": [4, 4, 4, 1], "kernel": 3,
                      "lstm_hidden": 8, "lstm_layers": 1, "fc_hidden": 16, "mask_floor": 0.05})
    noisy = torch.tensor(noise_like(1.0, 16000, 0, "x"))[None] * 4
    out = se(noisy)["wave"]
    out.retain_grad()
    score = distillmos(out, torch.tensor([out.shape[-1]]))
    assert score.shape == (1,) and 0.0 <= float(score) <= 1.0      # (MOS - 1) / 4
    score.sum().backward()
    assert torch.isfinite(out.grad).all() and out.grad.abs().sum() > 0
    grads = [p.grad for p in se.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    assert all(p.grad is None for p in distillmos.parameters())    # the teacher is frozen


@installed
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_score_falls_with_added_noise(distillmos, shared_data):
    import soundfile as sf
    clean_dir = shared_data / "vbd_test_subset" / "clean"
    path = sorted(clean_dir.glob("*.wav"))[0]
    speech, fs = sf.read(str(path), dtype="float32")
    assert fs == 16000
    noise = noise_like(len(speech) / fs, fs, 0, "added")[:len(speech)]
    gain = np.sqrt(np.mean(speech ** 2) / np.mean(noise ** 2))
    with torch.no_grad():
        mos = [float(distillmos(torch.tensor(speech + gain * 10 ** (-snr / 20) * noise)[None]))
               * 4 + 1 for snr in (40, 10, 0)]
    assert mos[0] > mos[1] > mos[2]
    assert mos[0] > 3.5 and mos[2] < 2.5


@pytest.mark.timeout(30)
def test_missing_package_is_a_one_line_error(monkeypatch):
    from sebench.quality import build_predictor
    monkeypatch.setitem(sys.modules, "distillmos", None)       # import fails as if absent
    with pytest.raises(ConfigError, match="pip install --no-deps distillmos"):
        build_predictor({"name": "distillmos"})
