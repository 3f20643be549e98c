"""Enhancement benchmark (issue: models, trainer, enhance): RTF and peak memory on this CPU.

For each model at the papers' sizes (conf/models/*.yaml, random weights: speed does not
depend on training) the real-time factor of `sebench enhance` end to end — process start,
model load, reading, resampling-free 16 kHz input, inference and writing — over 20 files of
10 s; then the peak RSS of enhancing one 10-minute file with the CNN-BLSTM (chunked).
Run: .venv/bin/python bench/enhance_bench.py [--models cnn_blstm,gru] [--threads 2]
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
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["SEBENCH_NO_PROGRESS"] = "1"


def export(name, folder):
    from sebench.models import build_model
    from sebench.models.store import export_model
    cfg = yaml.safe_load((REPO / "conf" / "models" / f"{name}.yaml").read_text())
    export_model(str(folder), cfg, build_model(cfg).state_dict())


def enhance(model_dir, inputs, out, threads):
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "sebench.cli.main",
                           "enhance", str(model_dir), str(inputs), "-o", str(out), "--threads",
                           str(threads)], check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, int(proc.stdout.strip().splitlines()[-1]) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="cnn_blstm,gru,dprnn,fcrn")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--files", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.files):
            sf.write(tmp / "in" / f"f{i:02d}.wav" if (tmp / "in").is_dir() else
                     (os.makedirs(tmp / "in") or tmp / "in" / f"f{i:02d}.wav"),
                     (0.1 * rng.standard_normal(160000)).astype(np.float32), 16000)
        seconds = args.files * 10.0
        print(f"{args.files} files x 10 s, 16 kHz, {args.threads} torch threads, end to end:")
        for name in args.models.split(","):
            export(name, tmp / name)
            wall, rss = enhance(tmp / name, tmp / "in", tmp / f"out_{name}", args.threads)
            print(f"  {name:10s} RTF {wall / seconds:.3f}  ({wall:.1f} s for {seconds:.0f} s; "
                  f"peak RSS {rss:.0f} MB)")
        long = tmp / "long"
        os.makedirs(long)
        sf.write(long / "ten_minutes.wav", (0.1 * rng.standard_normal(16000 * 600)).astype(np.float32),
                 16000, subtype="PCM_16")
        wall, rss = enhance(tmp / "cnn_blstm", long, tmp / "out_long", args.threads)
        print(f"10-minute file, cnn_blstm (30 s chunks): RTF {wall / 600:.3f}, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
