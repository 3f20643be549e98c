"""RSS and label age of a long GAN-like run (issues 25 and 31: the labeller's queue had no cap).

Trains `gan` (tiny CNN-BLSTM SE, tiny CNN D, real DNSMOS P.808 labels from one worker) for
--steps steps on 16 generated 1.2 s clips and prints the main process's RSS every
--every steps, the pending (unscored) queue and the label age D learnt from. A tiny SE step
is much faster than a DNSMOS call, which is the GPU situation the issue describes.
`--max-label-age none --max-pending none` is the old, unbounded behaviour.
Run: OMP_NUM_THREADS=1 .venv/bin/python bench/gan_label_memory.py [--steps 2000]
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_dir(root):
    rng = np.random.default_rng(0)
    t = np.arange(int(1.2 * 16000)) / 16000
    lines = []
    for i in range(16):
        speech = 0.2 * np.sin(2 * np.pi * (150 + 20 * i) * t) * (1 + np.sin(2 * np.pi * 3 * t))
        path = root / f"u{i:02d}.wav"
        sf.write(path, (speech + 0.05 * rng.standard_normal(t.size)).astype(np.float32), 16000)
        lines.append(f"u{i:02d} {path}\n")
    data = root / "train"
    data.mkdir()
    (data / "wav.scp").write_text("".join(lines))
    return data


def option(value):
    return None if value.lower() in ("none", "null") else int(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=200)
    ap.add_argument("--max-label-age", type=option, default=2)
    ap.add_argument("--max-pending", type=option, default=64)
    args = ap.parse_args()
    from sebench.config import merge
    from sebench.train.config import DEFAULTS
    from sebench.train.trainer import Trainer
    with tempfile.TemporaryDirectory() as tmp:
        data = make_dir(Path(tmp))
        model = yaml.safe_load((REPO / "conf/models/cnn_blstm_tiny.yaml").read_text())
        cfg = merge(DEFAULTS, {
            "method": "gan", "model": model, "optim": {"default": {"lr": 1e-4}},
            "method_options": {"label_metric": "p808", "async_labels": True, "label_workers": 1,
                               "max_label_age": args.max_label_age,
                               "max_pending": args.max_pending,
                               "d_model": {"kind": "predictor", "name": "cnn",
                                           "channels": [4, 4], "kernel": 3, "fc": [8]}},
            "data": {"batch_size": 2, "segment": None},
            "train": {"max_steps": args.steps, "epochs": 0, "amp": False, "log_every": 10,
                      "checkpoint_every": 10 ** 9}})
        trainer = Trainer(cfg, os.path.join(tmp, "exp"), str(data), None, "cpu")
        after, rows, t0 = trainer._after_step, [], time.process_time()

        def sample():
            done = after()
            step = trainer.state["step"]
            if step % args.every == 0 or step == 1:
                gan = trainer.method
                ages = [step - 1 - at for _, _, at in gan.replay]
                rows.append((step, rss_mb(), gan.labeller.unscored(), len(gan.labeller.pending),
                             max(ages) if ages else float("nan")))
                print("step %5d  RSS %7.1f MB  unscored %4d  pending %4d  oldest replay age %s"
                      % rows[-1], flush=True)
            return done
        trainer._after_step = sample
        trainer.run()
        print(f"CPU {time.process_time() - t0:.1f} s (main process); RSS from step "
              f"{rows[1][0]} to {rows[-1][0]}: {rows[1][1]:.1f} -> {rows[-1][1]:.1f} MB")


if __name__ == "__main__":
    main()
