"""Quality-guided training benchmark (issue: quality predictors and methods).

Prints DNSMOS labelling throughput per core (clips per second, one ONNX thread) for 2 s
training clips (first window of the tiled clip, the labeller's mode) and 10 s clips, and the
wall time of a `gan` iteration split into SE step, D step and DNSMOS labelling, with
synchronous labels (MetricGAN order: wait for DNSMOS) and asynchronous labels (worker
process + replay buffer), for a tiny SE on CPU.
Run: .venv/bin/python bench/quality_bench.py [--steps 24]
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

REPO = Path(__file__).resolve().parents[1]
os.environ["SEBENCH_NO_PROGRESS"] = "1"
D_TINY = "{kind: predictor, name: cnn, channels: [8, 8, 8, 8], kernel: 3, fc: [16, 8]}"


def sebench(*args):
    subprocess.run([sys.executable, "-m", "sebench.cli.main", *map(str, args)], check=True,
                   capture_output=True)


def labelling_throughput():
    from sebench.metrics.dnsmos import DNSMOS
    d = DNSMOS(threads=1)
    rng = np.random.default_rng(0)
    for seconds, mode, models in ((2.0, "first_window", ("p808",)),
                                  (2.0, "first_window", ("p835", "p808")),
                                  (10.0, "reference", ("p835", "p808"))):
        clips = [(0.05 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
                 for _ in range(6)]
        d(clips[0], short_clips=mode, models=models)
        t0 = time.perf_counter()
        for c in clips:
            d(c, short_clips=mode, models=models)
        per = (time.perf_counter() - t0) / len(clips)
        print(f"  {seconds:4.1f} s clips, {'+'.join(models):9s} ({mode}): {per:.3f} s per clip "
              f"= {1 / per:.1f} clips/s per core")


def gan_split(tmp, steps, async_labels):
    exp = tmp / f"gan_{async_labels}"
    sebench("train", "--method", "gan", "--train", tmp / "train", "--model-config",
            REPO / "conf/models/cnn_blstm_tiny.yaml", "--exp", exp,
            "--method_options.async_labels", str(async_labels).lower(),
            "--method_options.d_model", D_TINY, "--data.batch_size", 4, "--data.segment", "null",
            "--train.max_steps", steps, "--train.epochs", 0, "--train.log_every", 1)
    rows = list(csv.DictReader(open(exp / "train_log.csv")))
    rows = rows[len(rows) // 2:]          # steady state: the noisy inputs' labels are cached
    t = {k: float(np.mean([float(r[f"time_{k}"]) for r in rows])) for k in ("se", "d", "label")}
    total = sum(t.values())
    print(f"  async_labels={str(async_labels).lower():5s}: SE {t['se']:.3f} s, D {t['d']:.3f} s, "
          f"labelling {t['label']:.3f} s per iteration -> labelling "
          f"{100 * t['label'] / total:.0f} % (second half of {steps} steps)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=24)
    args = ap.parse_args()
    print("DNSMOS labelling throughput, one core:")
    labelling_throughput()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sebench("synth-corpus", "--out", tmp / "corpus", "--config", REPO / "conf/synth/tiny.yaml",
                "--noise_types", "[white,hum]")
        sebench("simulate", "--clean", tmp / "corpus/data/clean_train", "--noise",
                tmp / "corpus/data/noise_train", "--out", tmp / "train", "--num", 24,
                "--segment", 2.0, "--unpaired")
        print("gan iteration (tiny CNN-BLSTM SE, tiny CNN D, batch 4 x 2 s, CPU):")
        for mode in (False, True):
            gan_split(tmp, args.steps, mode)


if __name__ == "__main__":
    main()
