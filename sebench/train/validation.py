"""Validation metrics (PESQ, STOI, DNSMOS...) scored in a background process.

At a validation step the trainer writes the SE model's outputs for a small, fixed subset of
the validation set, then starts ``sebench score`` on them without waiting; finished results
are collected at later steps (``poll``) and at the end (``wait``). Training never blocks on
PESQ or DNSMOS, and the metric values still arrive tagged with the step they belong to.
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

from sebench.audio.io import write
from sebench.data.datadir import DataDir


class BackgroundScorer:
    def __init__(self, exp_dir, valid_dir, metrics, num_utts=8):
        self.exp_dir, self.valid_dir = exp_dir, valid_dir
        self.metrics = metrics
        ddir = DataDir(valid_dir)
        self.keys = ddir.keys[:int(num_utts)]
        self.wavs = ddir.read("wav.scp")
        self.has_ref = ddir.has("clean.scp")
        self.running = {}   # step -> (Popen, out dir)

    def launch(self, step, enhance):
        """``enhance(wave tensor (1, samples)) -> (1, samples)``; scoring runs detached."""
        from sebench.audio.io import read
        base = os.path.join(self.exp_dir, "valid", f"step{step:08d}")
        enh_dir = os.path.join(base, "enh")
        fs = None
        for key in self.keys:
            audio, fs = read(self.wavs[key])
            with torch.no_grad():
                out = enhance(torch.from_numpy(audio).unsqueeze(0))[0].cpu().numpy()
            peak = float(np.max(np.abs(out))) if out.size else 0.0
            write(os.path.join(enh_dir, key + ".wav"), out / max(1.0, peak / 0.99), fs)
        cmd = [sys.executable, "-m", "sebench.cli.main", "score", "--enh", enh_dir,
               "--metrics", self.metrics, "--out", os.path.join(base, "scores")]
        if self.has_ref:
            cmd += ["--ref", self.valid_dir]
        env = dict(os.environ, OMP_NUM_THREADS="1", SEBENCH_NO_PROGRESS="1")
        log = open(os.path.join(base, "score.log"), "w")
        self.running[step] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                               env=env), base, log)

    def _collect(self, step):
        proc, base, log = self.running.pop(step)
        log.close()
        path = os.path.join(base, "scores", "summary.json")
        if proc.returncode != 0 or not os.path.isfile(path):
            return step, None, os.path.join(base, "score.log")
        with open(path) as f:
            summary = json.load(f)
        return step, {name: e.get("mean") for name, e in summary["metrics"].items()}, None

    def poll(self):
        """[(step, {metric: mean} or None, log path on failure)] for finished scorings."""
        done = [s for s, (p, _, _) in self.running.items() if p.poll() is not None]
        return [self._collect(s) for s in sorted(done)]

    def wait(self):
        for proc, _, _ in self.running.values():
            proc.wait()
        return self.poll()

    @property
    def pending(self):
        return set(self.running)
