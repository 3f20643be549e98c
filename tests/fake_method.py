"""A fake two-network training method on tiny linear models, for the trainer's contract tests.

``g`` learns to map a paired stream's ``wav`` to its ``clean``; ``h`` learns to halve the
unpaired stream's ``wav``. Both are linear maps over blocks of 16 samples, so a step costs
microseconds and every gradient can be checked by hand. ``python fake_method.py ARGS.json``
runs one training (the SIGKILL-and-resume test runs it as a subprocess).
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sebench.data import DataDir
from sebench.models import MODELS
from sebench.train.methods import METHODS
from sebench.train.methods.base import Export, TrainingMethod

BLOCK = 16


class BlockLinear(nn.Module):
    """wave (B, T) -> {"wave": (B, T)}: one linear map applied to every block of 16 samples."""

    def __init__(self, fs=16000, size=BLOCK):
        super().__init__()
        self.fs = fs
        self.lin = nn.Linear(size, size)

    def forward(self, wave):
        b, t = wave.shape
        return {"wave": self.lin(wave.reshape(b, t // BLOCK, BLOCK)).reshape(b, t)}


class FakeTwoNet(TrainingMethod):
    options = {"h_target": 0.5, "chain_export": False}
    streams = {"paired": ("wav", "clean"), "unpaired": ("wav",)}
    valid_fields = ("wav", "clean")

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        self.events = []              # hook and step order, for the tests
        self.seen = []                # per step: step, g and h weights before it, unpaired wav

    def build_models(self):
        return {"g": BlockLinear(), "h": BlockLinear()}

    def optimizers(self):
        return {"g": ["g"], "h": ["h"]}

    def h_loss(self, h, wav):
        return ((h(wav)["wave"] - self.opts["h_target"] * wav) ** 2).mean()

    def train_step(self, batch):
        paired, unpaired = batch["paired"], batch["unpaired"]
        self.events.append(("step", self.trainer.state["step"]))
        self.seen.append({"step": self.trainer.state["step"], "wav": unpaired["wav"].clone(),
                          **{k: {n: v.clone() for n, v in self.module(k).state_dict().items()}
                             for k in ("g", "h")}})
        loss_g = ((self.net("g")(paired["wav"])["wave"] - paired["clean"]) ** 2).mean()
        self.trainer.optimize("g", loss_g)
        loss_h = self.h_loss(self.net("h"), unpaired["wav"])
        self.trainer.optimize("h", loss_h)
        return {"loss": float(loss_g.detach()), "h_loss": float(loss_h.detach())}

    @torch.no_grad()
    def valid_step(self, batch):
        out = self.module("g")(batch["wav"])
        return {"loss": float(((out["wave"] - batch["clean"]) ** 2).mean()),
                "h_loss": float(self.h_loss(self.module("h"), batch["wav"]))}

    def on_epoch_start(self, epoch):
        self.events.append(("epoch_start", epoch))

    def on_epoch_end(self, epoch):
        self.events.append(("epoch_end", epoch))

    def on_validation_end(self, values):
        self.events.append(("validation_end", self.trainer.state["step"]))

    def exports(self):
        out = {"g": Export("g", {"name": "fake_linear"}),
               "h": Export("h", {"kind": "vae", "name": "fake_linear"})}
        if self.opts["chain_export"]:     # h after g, as one composite model
            out["chain"] = Export({"first": "g", "second": "h"},
                                  {"kind": "composite", "name": "chain",
                                   "parts": {"first": {"name": "fake_linear"},
                                             "second": {"kind": "vae", "name": "fake_linear"}}})
        return out


class FakeScorer:
    """Background metrics without scoring: the n-th validation gets VALUES[n]."""
    VALUES = [0.5, 0.6, 0.55, 0.58, 0.7, 0.8]

    def __init__(self, exp_dir, valid_dir, metrics, num_utts, seed=0):
        self.running, self.launched = {}, 0

    def resume(self, steps):
        assert not steps

    def launch(self, step, enhance):
        assert enhance(torch.zeros(1, 800)).shape == (1, 800)
        self.running[step] = self.VALUES[self.launched]
        self.launched += 1

    def poll(self):
        out = [(s, {"score": v}, None) for s, v in sorted(self.running.items())]
        self.running.clear()
        return out

    wait = poll

    @property
    def pending(self):
        return set(self.running)


def register():
    MODELS.register("fake_linear", BlockLinear)
    METHODS.register("fake2", FakeTwoNet)


def make_data(root, seed=0):
    """paired (12 utts, wav+clean), unpaired (10 utts), valid (4 utts): 0.11 s each."""
    import soundfile as sf
    rng = np.random.default_rng(seed)
    dirs = {}
    for name, count, fields in (("paired", 12, ("wav", "clean")), ("unpaired", 10, ("wav",)),
                                ("valid", 4, ("wav", "clean"))):
        folder = Path(root) / name
        scps = {f: {} for f in fields}
        for i in range(count):
            clean = (0.3 * rng.standard_normal(1760)).astype(np.float32)
            audio = {"clean": clean, "wav": clean + (0.1 * rng.standard_normal(1760)).astype(np.float32)}
            for f in fields:
                path = folder / "audio" / f"{f}_{i:02d}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, audio[f], 16000, subtype="FLOAT")
                scps[f][f"u{i:02d}"] = str(path)
        d = DataDir(folder)
        for f, scp in scps.items():
            d.write(f"{f}.scp", scp)
        dirs[name] = str(folder)
    return dirs


def config(**sections):
    """The trainer config of a fake run: SGD, no clipping, whole 0.11 s utterances."""
    from sebench.config import merge
    from sebench.train.config import DEFAULTS
    base = {"method": "fake2", "model": {"name": "fake_linear", "fs": 16000},
            "data": {"segment": None, "batch_size": 2, "bucket_batches": 2},
            "optim": {"g": {"type": "sgd", "lr": 0.1}, "h": {"type": "sgd", "lr": 0.1}},
            "train": {"epochs": 2, "checkpoint_every": 2, "log_every": 1, "grad_clip": 0.0,
                      "amp": False}}
    cfg = merge(DEFAULTS, base)
    for key, value in sections.items():
        cfg = merge(cfg, {key: value})
    return cfg


def run(cfg, exp, dirs):
    from sebench.train.trainer import Trainer
    trainer = Trainer(cfg, str(exp), {"paired": dirs["paired"], "unpaired": dirs["unpaired"]},
                      dirs.get("valid"), "cpu")
    trainer.run()
    return trainer


if __name__ == "__main__":
    from sebench.utils.log import setup_logging
    setup_logging()
    register()
    args = json.loads(Path(sys.argv[1]).read_text())
    if args.get("fake_scorer"):
        import sebench.train.validation
        sebench.train.validation.BackgroundScorer = FakeScorer
    run(args["cfg"], args["exp"], args["dirs"])
