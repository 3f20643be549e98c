"""Training-step benchmark (issue: models, trainer, enhance).

Trains each model at the papers' size on simulated pairs (batch 8 x 3 s by default) for a
few steps through `sebench train` and reports seconds per step and the data loader's share
of the step (from train_log.csv's data_share), on CPU, and on CUDA when available
(samples/s and peak GPU memory).
Run: .venv/bin/python bench/train_bench.py [--models cnn_blstm,gru] [--steps 6] [--device cuda]
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
os.environ["SEBENCH_NO_PROGRESS"] = "1"


def sebench(*args):
    subprocess.run([sys.executable, "-m", "sebench.cli.main", *map(str, args)], check=True,
                   capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="cnn_blstm,gru,dprnn,fcrn")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--segment", type=float, default=3.0)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.makedirs(tmp / "clean")
        t = np.arange(16000 * 4) / 16000
        for i in range(16):   # 4 s harmonic bursts; the content does not matter for timing
            x = 0.1 * np.sin(2 * np.pi * (120 + 10 * i) * t) * (np.sin(2 * np.pi * 2 * t) > 0)
            sf.write(tmp / "clean" / f"clean{i:02d}.wav", x, 16000)
        os.makedirs(tmp / "noise", exist_ok=True)
        sf.write(tmp / "noise" / "n.wav", 0.05 * rng.standard_normal(16000 * 10), 16000)
        sebench("simulate", "--clean", tmp / "clean", "--noise", tmp / "noise", "--out",
                tmp / "train", "--num", 64)
        print(f"batch {args.batch} x {args.segment:g} s, {args.steps} steps, device "
              f"{args.device}, {args.workers} loader workers:")
        for name in args.models.split(","):
            exp = tmp / f"exp_{name}"
            t0 = time.perf_counter()
            sebench("train", "--train", tmp / "train", "--model-config",
                    REPO / "conf" / "models" / f"{name}.yaml", "--exp", exp, "--device",
                    args.device, "--data.batch_size", args.batch, "--data.segment", args.segment,
                    "--data.num_workers", args.workers, "--train.max_steps", args.steps,
                    "--train.epochs", 0, "--train.log_every", 1, "--data.norm_utts", 8)
            rows = list(csv.DictReader(open(exp / "train_log.csv")))
            wall = time.perf_counter() - t0
            # step time from the log's cumulative accounting, excluding the first (warm-up) step
            share = float(rows[-1]["data_share"])
            per_step = _step_seconds(exp)
            print(f"  {name:10s} {per_step:.2f} s/step ({args.batch / per_step:.1f} samples/s), "
                  f"data loading {100 * share:.0f} % of step time; whole run {wall:.0f} s")


def _step_seconds(exp):
    import torch
    state = torch.load(exp / "checkpoints" / "latest.pt", weights_only=False)["state"]
    return state["step_seconds"] / max(1, state["step"])


if __name__ == "__main__":
    main()
