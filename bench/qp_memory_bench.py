"""Peak memory of `sebench train-qp` with one long file (issue 12: memory grew with the file).

Trains the paper's CNN predictor (conf/qp/cnn.yaml) for a few steps on a data dir of short
2 s files plus one recording of --minutes minutes, validating on the same dir, and prints
the peak RSS (from wait4) of three runs: 2 s files only; with the long file and
`--data.max_seconds null` (whole utterances, the behaviour before the crop existed); with
the long file and the default 10 s crop (training) / 10 s windows (validation).
Run: .venv/bin/python bench/qp_memory_bench.py [--minutes 10]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def make_dir(root, long_seconds):
    rng = np.random.default_rng(0)
    wav, mos = {}, {}
    for i in range(8):
        path = root / f"short{i}.wav"
        sf.write(path, (0.05 * rng.standard_normal(32000)).astype(np.float32), 16000)
        wav[f"short{i}"], mos[f"short{i}"] = path, 1.0 + 0.5 * i
    if long_seconds:
        path = root / "long.wav"
        with sf.SoundFile(path, "w", 16000, 1, "PCM_16") as f:
            for _ in range(int(long_seconds)):
                f.write((0.05 * rng.standard_normal(16000)).astype(np.float32))
        wav["long"], mos["long"] = path, 3.0
    data = root / "data"
    data.mkdir()
    (data / "wav.scp").write_text("".join(f"{k} {wav[k]}\n" for k in sorted(wav)))
    (data / "utt2mos").write_text("".join(f"{k} {mos[k]}\n" for k in sorted(mos)))
    return data


def peak_rss_gb(args):
    env = dict(os.environ, SEBENCH_NO_PROGRESS="1", OMP_NUM_THREADS="2")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sebench.cli.main", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"train-qp failed: {proc.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024 ** 2, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=4)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        short, full = (tmp / "s", tmp / "l")
        short.mkdir()
        full.mkdir()
        dirs = {"short": make_dir(short, 0), "long": make_dir(full, opts.minutes * 60)}
        runs = [("2 s files only", "short", []),
                (f"+ one {opts.minutes:g}-min file, whole utterances (max_seconds null)", "long",
                 ["--data.max_seconds", "null"]),
                (f"+ one {opts.minutes:g}-min file, default 10 s crop/windows", "long", [])]
        for i, (label, which, extra) in enumerate(runs):
            gb, seconds = peak_rss_gb(
                ["train-qp", "--train", dirs[which], "--valid", dirs[which],
                 "--qp-config", REPO / "conf/qp/cnn.yaml", "--exp", tmp / f"exp{i}",
                 "--train.max_steps", opts.steps, "--train.valid_every", opts.steps,
                 "--data.batch_size", 4, *extra])
            print(f"  {label:60s} peak RSS {gb:5.2f} GB ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
