import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("SEBENCH_NO_PROGRESS", "1")

# --- test tiers -------------------------------------------------------------------------
# `make test` runs every test; `make test-fast` runs the unit tier: the tests not marked
# slow. A test is slow when it has @pytest.mark.slow (a whole module: pytestmark =
# pytest.mark.slow) or uses one of SLOW_FIXTURES (expensive session data, marked here, so
# its users need nothing). A fast-tier test that takes over FAST_TIER_SECONDS is named at
# the end of every run: mark it slow, or make it faster. Every test has a timeout
# (setup.cfg's default; @pytest.mark.timeout(S) sets a tighter one).
SLOW_FIXTURES = {"paired_data", "trained_exp", "quality_data", "rirs", "sources"}
FAST_TIER_SECONDS = 2.0
_too_slow_for_fast_tier = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report):
    if report.when in ("setup", "call") and "slow" not in report.keywords:
        _too_slow_for_fast_tier[report.nodeid] = (_too_slow_for_fast_tier.get(report.nodeid, 0)
                                                  + report.duration)


def pytest_terminal_summary(terminalreporter):
    slow = sorted(((t, nodeid) for nodeid, t in _too_slow_for_fast_tier.items()
                   if t > FAST_TIER_SECONDS), reverse=True)
    if slow:
        terminalreporter.section("fast-tier tests over %.0f s (mark them @pytest.mark.slow)"
                                 % FAST_TIER_SECONDS)
        for t, nodeid in slow:
            terminalreporter.write_line(f"{t:6.1f} s  {nodeid}")


@pytest.fixture
def shared_data():
    """The real recordings in ../shared/data; tests using them skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


def write_wav(path, audio, fs=16000, subtype="PCM_16"):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, fs, subtype=subtype)
    return path


def tone(seconds=1.0, fs=16000, freq=440.0, amp=0.3, seed=None):
    t = np.arange(int(seconds * fs)) / fs
    x = amp * np.sin(2 * np.pi * freq * t)
    if seed is not None:
        x = x + 0.01 * np.random.default_rng(seed).standard_normal(x.size)
    return x.astype(np.float32)


def run_cli(*args, check=True, cwd=None, env=None):
    """Run `sebench ARGS` in a subprocess, as a user would."""
    proc = subprocess.run([sys.executable, "-m", "sebench.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"sebench {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def varied_speech(seconds=3.0, fs=16000, seed=0):
    """Speech-like test signal whose pitch and syllable rate vary with the seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    f0 = (110 + 40 * rng.random()) + 20 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / fs
    x = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = np.clip(np.sin(2 * np.pi * (1.5 + rng.random()) * t), 0, None) ** 0.5
    return (0.1 * x * envelope + 1e-4 * rng.standard_normal(t.size)).astype(np.float32)


TINY_CNN_BLSTM = REPO / "conf" / "models" / "cnn_blstm_tiny.yaml"


@pytest.fixture(scope="session")
def paired_data(tmp_path_factory):
    """Small simulated train/valid sets (speech-like tones in white and hum noise)."""
    root = tmp_path_factory.mktemp("paired")
    for i in range(16):
        write_wav(root / "clean" / f"spk{i % 4}" / f"spk{i % 4}_u{i:02d}.wav",
                  varied_speech(1.2 + 0.1 * (i % 3), seed=100 + i))
    rng = np.random.default_rng(0)
    write_wav(root / "noise" / "white.wav", (0.05 * rng.standard_normal(32000)).astype(np.float32))
    t = np.arange(32000) / 16000
    write_wav(root / "noise" / "hum.wav", (0.05 * np.sin(2 * np.pi * 60 * t)).astype(np.float32))
    for name, seed in (("train", 1), ("valid", 2)):
        run_cli("simulate", "--clean", root / "clean", "--noise", root / "noise", "--out",
                root / name, "--seed", seed, "--snr-range", 0, 10, "--num", 16 if name == "train" else 4)
    return root


@pytest.fixture(scope="session")
def trained_exp(paired_data, tmp_path_factory):
    exp = tmp_path_factory.mktemp("exp") / "sup"
    run_cli("train", "--train", paired_data / "train", "--valid", paired_data / "valid",
            "--model-config", TINY_CNN_BLSTM, "--exp", exp, "--train.epochs", 2,
            "--data.batch_size", 4, "--data.segment", 1.0, "--optim.se.lr", 1e-3)
    return exp


@pytest.fixture(scope="module")
def torch_one_thread():
    """One intra-op thread for a module of tiny-LSTM tests: with several, OpenMP barrier
    waits cost seconds to minutes per test on an oversubscribed machine."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
