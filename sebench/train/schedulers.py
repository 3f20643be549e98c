"""Learning-rate schedules stepped by the trainer.

- ``constant``
- ``plateau``: paper 002's rule: halve (``factor``) after ``patience`` validations without
  improvement of the validation loss; training stops once the rate falls below ``min_lr``
- ``step``: multiply by ``gamma`` every ``step_size`` optimiser steps
- ``warmup_cosine``: linear warm-up over ``warmup`` steps, cosine decay to ``min_lr``
"""
import math

from sebench.errors import ConfigError

KINDS = ("constant", "plateau", "step", "warmup_cosine")


class Scheduler:
    def __init__(self, optimizer, kind="constant", factor=0.5, patience=5, min_lr=0.0,
                 step_size=1000, gamma=0.5, warmup=0, total_steps=None):
        if kind not in KINDS:
            raise ConfigError(f"scheduler must be one of {', '.join(KINDS)}, got {kind!r}")
        self.opt, self.kind = optimizer, kind
        self.factor, self.patience, self.min_lr = float(factor), int(patience), float(min_lr)
        self.step_size, self.gamma, self.warmup = int(step_size), float(gamma), int(warmup)
        self.total_steps = total_steps
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.best, self.bad, self.steps = math.inf, 0, 0

    @property
    def lr(self):
        return self.opt.param_groups[0]["lr"]

    def _set(self, scale=None, lrs=None):
        for i, g in enumerate(self.opt.param_groups):
            g["lr"] = lrs[i] if lrs is not None else self.base_lrs[i] * scale

    def step(self):
        """After every optimiser step."""
        self.steps += 1
        if self.kind == "step":
            self._set(self.gamma ** (self.steps // self.step_size))
        elif self.kind == "warmup_cosine":
            if self.steps < self.warmup:
                self._set(self.steps / max(1, self.warmup))
            else:
                total = max(self.total_steps or self.steps, self.warmup + 1)
                t = min(1.0, (self.steps - self.warmup) / (total - self.warmup))
                self._set(lrs=[self.min_lr + (b - self.min_lr) * 0.5 * (1 + math.cos(math.pi * t))
                               for b in self.base_lrs])

    def validated(self, loss):
        """After every validation; returns True when training should stop (rate below floor)."""
        if self.kind != "plateau":
            return False
        if loss < self.best:
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
            if self.bad >= self.patience:
                self._set(lrs=[g["lr"] * self.factor for g in self.opt.param_groups])
                self.bad = 0
        return self.lr < self.min_lr

    def state_dict(self):
        return {k: getattr(self, k) for k in ("best", "bad", "steps", "base_lrs")}

    def load_state_dict(self, state):
        for k, v in state.items():
            setattr(self, k, v)
