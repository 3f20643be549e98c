"""Same seed, same data, same thread count: the same weights, bit for bit.

On two CPU threads the accumulating index backward behind a VQ codebook lookup adds with
atomics in a different order each run (sebench/train/determinism.py); the trainer selects the
deterministic kernels by default, so two trainings of paper 001's VQ-VAE are identical."""
import pytest
import torch

from sebench.config import merge
from sebench.train.determinism import set_deterministic
from test_vqvae import make_set, train, vqvae_config

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def two_threads():
    threads, mode = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(mode)


def codebook_gradients(repeats):
    torch.manual_seed(0)
    codebook = torch.randn(16, 8, requires_grad=True)
    idx, grad = torch.randint(0, 16, (40000,)), torch.randn(40000, 8)
    out = []
    for _ in range(repeats):
        codebook.grad = None
        codebook[idx].backward(grad)
        out.append(codebook.grad.clone())
    return out


def test_the_codebook_lookup_gradient_is_repeatable_once_deterministic(two_threads):
    set_deterministic(True, torch.device("cpu"))
    grads = codebook_gradients(20)
    assert all(torch.equal(grads[0], g) for g in grads[1:])


@pytest.mark.slow
def test_two_vqvae_trainings_give_identical_weights(two_threads, tmp_path):
    data = make_set(tmp_path / "train", 8, 1)
    valid = make_set(tmp_path / "valid", 2, 2)
    cfg = merge(vqvae_config(steps=20), {"train": {"valid_metrics": ""}})
    assert cfg["train"]["deterministic"] is True      # the default
    states = []
    for run in ("a", "b"):
        trainer = train(cfg, tmp_path / run, data, valid)
        states.append({k: v.clone() for k, v in trainer.module("vqvae").state_dict().items()})
    differing = [k for k in states[0] if not torch.equal(states[0][k], states[1][k])]
    assert not differing, f"tensors that differ between two identical runs: {differing}"
