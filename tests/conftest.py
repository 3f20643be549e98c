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
