"""The GAN labeller: bounded queue, bounded label age, the age logged (issues 25 and 31)."""
import csv
import time

import numpy as np
import pytest
import yaml

import sebench.quality.labeller as labeller_module
from conftest import TINY_CNN_BLSTM
from sebench.errors import ConfigError
from sebench.quality.labeller import Labeller

TINY_D = {"kind": "predictor", "name": "cnn", "channels": [4, 4], "kernel": 3, "fc": [8]}
DELAY = 0.15


def slow_score(args):
    """A labeller far slower than a tiny SE step; the score tells the clips apart."""
    time.sleep(DELAY)
    return 3.0 + float(np.abs(args[0]).mean())


def test_labeller_queue_is_bounded(monkeypatch):
    monkeypatch.setattr(labeller_module, "_score", slow_score)
    clips = [np.full(800, 0.01 * (i + 1), np.float32) for i in range(6)]
    bounded = Labeller("pesq", workers=1, max_pending=2)
    try:
        seen = []
        for i, clip in enumerate(clips):
            bounded.submit([clip], [i], [clip])
            seen.append(bounded.unscored())
        assert max(seen) <= 2
        done = bounded.collect(wait=True)
        assert [p for p, _ in done] == list(range(6))
        assert [s for _, s in done] == pytest.approx([3.0 + 0.01 * (i + 1) for i in range(6)])
    finally:
        bounded.close()
    unbounded = Labeller("pesq", workers=1)
    try:
        for i, clip in enumerate(clips):
            unbounded.submit([clip], [i], [clip])
        assert unbounded.unscored() > 2           # without the cap the queue only grows
        unbounded.collect(wait=True)
    finally:
        unbounded.close()
    with pytest.raises(ConfigError, match="max_pending"):
        Labeller("pesq", workers=1, max_pending=0)


def _train(paired_data, tmp_path, name, **options):
    from sebench.config import merge
    from sebench.train.config import DEFAULTS
    from sebench.train.trainer import Trainer
    opts = dict({"label_metric": "pesq", "async_labels": True, "d_model": TINY_D,
                 "replay_per_step": 2, "label_workers": 1}, **options)
    cfg = merge(DEFAULTS, {"method": "gan", "model": yaml.safe_load(TINY_CNN_BLSTM.read_text()),
                           "method_options": opts, "optim": {"default": {"lr": 1e-3}},
                           "data": {"batch_size": 2, "segment": 0.5},
                           "train": {"max_steps": 7, "epochs": 0, "amp": False, "log_every": 1}})
    trainer = Trainer(cfg, str(tmp_path / name), str(paired_data / "train"), None, "cpu")
    queued, submit = [], trainer.method.labeller.submit

    def watch(*args, **kw):
        submit(*args, **kw)
        queued.append(trainer.method.labeller.unscored())
    trainer.method.labeller.submit = watch
    trainer.run()
    with open(tmp_path / name / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    return [float(r["label_age_max"]) for r in rows if r.get("label_age_max")], queued


@pytest.mark.slow
def test_gan_label_age_is_bounded_with_a_slow_labeller(paired_data, tmp_path, monkeypatch):
    monkeypatch.setattr(labeller_module, "_score", slow_score)
    ages, queued = _train(paired_data, tmp_path, "bounded", max_label_age=1, max_pending=3)
    assert len(ages) >= 5 and max(ages) <= 1      # logged in train_log.csv, never past the bound
    assert max(queued) <= 3
    # the same run without the bound learns from ever older outputs: the bound is what holds
    ages, _ = _train(paired_data, tmp_path, "unbounded", max_label_age=None, max_pending=None)
    assert max(ages) >= 3
    # synchronous labels with no history: D learns from the current outputs only (age 0)
    ages, _ = _train(paired_data, tmp_path, "sync", async_labels=False, max_label_age=0)
    assert ages and max(ages) == 0
    with pytest.raises(ConfigError, match="max_label_age"):
        _train(paired_data, tmp_path, "bad", max_label_age=-1)
