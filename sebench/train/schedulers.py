"""Learning-rate schedules (``torch.optim.lr_scheduler``), one per optimiser.

- ``constant``
- ``plateau``: ReduceLROnPlateau on the validation term ``monitor`` (paper 002's rule: halve,
  ``factor``, after ``patience`` validations without improvement); training stops once the
  rate falls below ``min_lr``, the one addition to torch's schedulers
- ``step``: StepLR, multiply by ``gamma`` every ``step_size`` updates of the optimiser
- ``warmup_cosine``: linear warm-up over ``warmup`` updates (LinearLR), then cosine decay to
  ``min_lr`` (CosineAnnealingLR) over the remaining updates, chained by SequentialLR
"""
import torch
from torch.optim import lr_scheduler

from sebench.errors import ConfigError

KINDS = ("constant", "plateau", "step", "warmup_cosine")


class Scheduler:
    """Wraps one torch scheduler: ``step()`` after every update of the optimiser,
    ``validated(value)`` after every validation (True: the rate fell below ``min_lr``)."""

    def __init__(self, optimizer, kind="constant", factor=0.5, patience=5, min_lr=0.0,
                 step_size=1000, gamma=0.5, warmup=0, monitor="loss", total_steps=None):
        if kind not in KINDS:
            raise ConfigError(f"scheduler must be one of {', '.join(KINDS)}, got {kind!r}")
        self.opt, self.kind, self.monitor = optimizer, kind, monitor
        self.min_lr = float(min_lr)
        self.torch = None
        if kind == "plateau":
            # torch reduces after `patience` bad validations *beyond* the first; a strict
            # improvement (threshold 0) resets the count, as in paper 002
            self.torch = lr_scheduler.ReduceLROnPlateau(optimizer, factor=float(factor),
                                                        patience=int(patience) - 1, threshold=0.0,
                                                        eps=0.0)
        elif kind == "step":
            self.torch = lr_scheduler.StepLR(optimizer, int(step_size), float(gamma))
        elif kind == "warmup_cosine":
            if not total_steps:
                raise ConfigError("scheduler warmup_cosine needs the number of updates: set "
                                  "train.max_steps or train.epochs")
            warmup = int(warmup)
            cosine = lr_scheduler.CosineAnnealingLR(optimizer, max(1, int(total_steps) - warmup),
                                                    eta_min=self.min_lr)
            if warmup > 0:
                ramp = lr_scheduler.LinearLR(optimizer, 1.0 / (warmup + 1), 1.0, warmup)
                self.torch = lr_scheduler.SequentialLR(optimizer, [ramp, cosine], [warmup])
            else:
                self.torch = cosine

    @property
    def lr(self):
        return self.opt.param_groups[0]["lr"]

    def step(self):
        """After every update of the optimiser."""
        if self.kind in ("step", "warmup_cosine"):
            self.torch.step()

    def validated(self, value):
        """After every validation, with the monitored term; True when training should stop."""
        if self.kind != "plateau":
            return False
        self.torch.step(float(value))
        return self.lr < self.min_lr

    def state_dict(self):
        return {"torch": self.torch.state_dict() if self.torch else None,
                "lrs": [g["lr"] for g in self.opt.param_groups]}

    def load_state_dict(self, state):
        if self.torch is not None and state.get("torch") is not None:
            self.torch.load_state_dict(state["torch"])
        for g, lr in zip(self.opt.param_groups, state.get("lrs", [])):
            g["lr"] = lr


def make_scheduler(optimizer, cfg, total_steps=None):
    return Scheduler(optimizer, total_steps=total_steps, **cfg)


def torch_optimizer(kind):
    kinds = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "radam": torch.optim.RAdam,
             "sgd": torch.optim.SGD}
    if kind not in kinds:
        raise ConfigError(f"optimizer type must be one of {', '.join(kinds)}, got {kind!r}")
    return kinds[kind]
