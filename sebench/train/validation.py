"""Validation metrics (PESQ, STOI, DNSMOS...) scored in a background process.

At a validation step the trainer writes the SE model's outputs for a small, fixed subset of
the validation set (speaker-stratified, recorded in ``valid_metric_subset.txt``) (peak-normalised exactly as `sebench enhance` writes them), then starts
``sebench score`` on them without waiting; finished results are collected at later steps
(``poll``) and at the end (``wait``), always in step order, so decisions taken on them (the
best checkpoint, early stopping) do not depend on which scoring finished first. Steps still
being scored are part of the trainer's checkpoint: after a resume ``resume`` collects their
results from disk, or scores their written outputs again.
"""
import json
import os
import subprocess
import sys

import torch

from sebench.audio.io import peak_normalize, read, write
from sebench.data.datadir import DataDir
from sebench.train.valid_subset import recorded_subset


class BackgroundScorer:
    def __init__(self, exp_dir, valid_dir, metrics, num_utts=8, seed=0):
        self.exp_dir, self.valid_dir = exp_dir, valid_dir
        self.metrics = metrics
        ddir = DataDir(valid_dir)
        # speaker-stratified and recorded, so a resume scores the same utterances
        self.keys = recorded_subset(os.path.join(exp_dir, "valid_metric_subset.txt"), valid_dir,
                                    ddir.keys, int(num_utts), seed, salt="valid_metrics")
        self.wavs = ddir.read("wav.scp")
        self.has_ref = ddir.has("clean.scp")
        self.running = {}   # step -> (Popen or None when already scored, out dir, log file)

    def _base(self, step):
        return os.path.join(self.exp_dir, "valid", f"step{step:08d}")

    def launch(self, step, enhance):
        """``enhance(wave tensor (1, samples)) -> (1, samples)``; scoring runs detached."""
        enh_dir = os.path.join(self._base(step), "enh")
        for key in self.keys:
            audio, fs = read(self.wavs[key])
            with torch.no_grad():
                out = enhance(torch.from_numpy(audio).unsqueeze(0))[0].float().cpu().numpy()
            write(os.path.join(enh_dir, key + ".wav"), peak_normalize(out)[0], fs)
        self._start(step)

    def _start(self, step):
        base = self._base(step)
        cmd = [sys.executable, "-m", "sebench.cli.main", "score", "--enh", os.path.join(base, "enh"),
               "--metrics", self.metrics, "--out", os.path.join(base, "scores")]
        if self.has_ref:
            cmd += ["--ref", self.valid_dir]
        env = dict(os.environ, OMP_NUM_THREADS="1", SEBENCH_NO_PROGRESS="1")
        log = open(os.path.join(base, "score.log"), "w")
        self.running[step] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                               env=env), base, log)

    def resume(self, steps):
        """Steps a killed run was still scoring: collect their results, or score again."""
        for step in steps:
            if os.path.isfile(os.path.join(self._base(step), "scores", "summary.json")):
                self.running[step] = (None, self._base(step), None)
            else:
                self._start(step)

    def _collect(self, step):
        proc, base, log = self.running.pop(step)
        if log is not None:
            log.close()
        path = os.path.join(base, "scores", "summary.json")
        if (proc is not None and proc.returncode != 0) or not os.path.isfile(path):
            return step, None, os.path.join(base, "score.log")
        with open(path) as f:
            summary = json.load(f)
        return step, {name: e.get("mean") for name, e in summary["metrics"].items()}, None

    def poll(self):
        """[(step, {metric: mean} or None, log path on failure)] for the finished scorings
        that no earlier step is still waiting for (step order)."""
        out = []
        for step in sorted(self.running):
            proc = self.running[step][0]
            if proc is not None and proc.poll() is None:
                break
            out.append(self._collect(step))
        return out

    def wait(self):
        for proc, _, _ in self.running.values():
            if proc is not None:
                proc.wait()
        return self.poll()

    @property
    def pending(self):
        return set(self.running)
