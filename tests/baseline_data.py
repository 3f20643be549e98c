"""Tiny real-like data for the issue-20 baseline tests: noisy recordings without clean.scp,
a noise-only stream, a validation set (speech-like tones in noise, 0.5 s at 16 kHz)."""
from pathlib import Path

import numpy as np

from conftest import varied_speech, write_wav
from sebench.data import DataDir


def make_real_dirs(root, n_train=8, n_valid=2, n_noise=3, seconds=0.5, seed=0):
    rng = np.random.default_rng(seed)
    root = Path(root)
    dirs = {}
    for name, count in (("real_train", n_train), ("real_valid", n_valid), ("noise", n_noise)):
        scp = {}
        for i in range(count):
            n = int(seconds * 16000) + 800 * (i % 2)
            noise = (0.03 * rng.standard_normal(n)).astype(np.float32)
            audio = noise if name == "noise" else \
                varied_speech(n / 16000, seed=10 * seed + i).astype(np.float32) + noise
            path = root / name / "audio" / f"{name}_{i:02d}.wav"
            write_wav(path, audio, subtype="FLOAT")
            scp[f"{name}_{i:02d}"] = str(path)
        DataDir(root / name).write("wav.scp", scp)
        dirs[name] = str(root / name)
    return dirs
