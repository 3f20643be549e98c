"""The method's optimisers: per-optimiser gradient accumulation, AMP loss scaling, clipping,
non-finite skips, DDP gradient synchronisation and LR schedules.

``backward(name, loss)`` accumulates into the gradients of optimiser ``name``'s models;
``step(name)`` applies the mean of the accumulated gradients (one update), unless their norm
is not finite: then the update is skipped, counted and logged (with AMP the scaler also
lowers its scale). ``optim.<name>.accum_grad: N`` updates at the end of every N-th training
step (``optimize`` does it), ``epoch`` at the end of each epoch (the trainer calls ``step``).

One GradScaler serves every optimiser and is updated once per training step (or earlier
when an optimiser steps twice in one training step). When its scale changes, the gradients
other optimisers are still accumulating are rescaled with it, so an accumulated sum never
mixes two scales.

Under DDP, a model is synchronised only in a training step where one of its optimisers will
update (the trainer runs the step under ``no_sync()`` otherwise); an update outside such a
step (``accum_grad: epoch``) all-reduces its gradients itself.
"""
import math

import torch

from sebench.errors import ConfigError
from sebench.train.config import TRAINER_OPTIM_KEYS, optimizer_config, scheduler_config
from sebench.train.schedulers import make_scheduler, torch_optimizer
from sebench.utils.log import get_logger
from sebench.utils.registry import check_kwargs

log = get_logger("sebench.train")


class Slot:
    """One optimiser and what the trainer keeps about it."""

    def __init__(self, name, model_names, params, cfg, total_steps):
        self.name, self.models, self.params = name, list(model_names), params
        opt_cfg = optimizer_config(cfg, name)
        self.accum, self.clip = opt_cfg["accum_grad"], opt_cfg["grad_clip"]
        kwargs = {k: v for k, v in opt_cfg.items() if k not in TRAINER_OPTIM_KEYS}
        if "betas" in kwargs:
            kwargs["betas"] = tuple(kwargs["betas"])
        cls = torch_optimizer(opt_cfg["type"])
        check_kwargs(cls, dict(kwargs, params=params), f"optim.{name} ({opt_cfg['type']})")
        self.optimizer = cls(params, **kwargs)
        updates = None
        if total_steps and self.accum != "epoch":
            updates = total_steps // int(self.accum)
        self.scheduler = make_scheduler(self.optimizer, scheduler_config(cfg, name), updates)
        self.pending = 0            # backward calls accumulated since the last update
        self.updates = self.skipped = 0

    def state_dict(self):
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "pending": self.pending, "updates": self.updates, "skipped": self.skipped,
                "grads": [None if p.grad is None else p.grad.detach().clone() for p in self.params]
                if self.pending else None}

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.pending, self.updates, self.skipped = state["pending"], state["updates"], state["skipped"]
        for p, g in zip(self.params, state["grads"] or []):
            p.grad = None if g is None else g.to(p.device)


class Optimization:
    def __init__(self, cfg, declared, modules, use_amp, dist, total_steps=None):
        """``declared``: the method's {optimiser: [model names]}; ``modules``: bare models."""
        self.dist = dist
        self.slots = {}
        for name, model_names in declared.items():
            missing = [m for m in model_names if m not in modules]
            if missing:
                raise ConfigError(f"optimiser {name}: the method has no model {missing[0]!r}")
            params = [p for m in model_names for p in modules[m].parameters()]
            self.slots[name] = Slot(name, model_names, params, cfg, total_steps)
        device_type = "cuda" if use_amp else "cpu"
        self.scaler = torch.amp.GradScaler(device_type, enabled=use_amp)
        self.synced = set()          # models DDP synchronises in the current training step
        self._stepped = set()        # optimisers stepped since the last scaler update
        self.norms = {}              # grad norms of this training step's updates

    def __getitem__(self, name):
        if name not in self.slots:
            raise ConfigError(f"no optimiser {name!r}; the method declares {', '.join(self.slots)}")
        return self.slots[name]

    # -- which optimisers update in a training step ------------------------------------------
    def updates_at(self, name, step):
        """True when optimiser ``name`` updates at the end of training step ``step`` (0-based)."""
        accum = self[name].accum
        return accum != "epoch" and (step + 1) % int(accum) == 0

    def models_to_sync(self, step):
        return {m for name, s in self.slots.items() if self.updates_at(name, step) for m in s.models}

    # -- backward and step ----------------------------------------------------------------------
    def backward(self, name, loss):
        slot = self[name]
        self.scaler.scale(loss).backward()
        slot.pending += 1

    def step(self, name):
        """Apply the accumulated gradients of ``name``; False when there were none or the
        update was skipped as non-finite."""
        slot = self[name]
        if not slot.pending:
            return False
        if name in self._stepped:           # a second update within one training step
            self.end_step()
        if self.dist.enabled and not set(slot.models) <= self.synced:
            self.dist.average_grads(slot.params)
        if slot.pending > 1:                # the mean over the accumulated micro-batches
            for p in slot.params:
                if p.grad is not None:
                    p.grad.div_(slot.pending)
        opt = slot.optimizer
        self.scaler.unscale_(opt)
        grads = [p for p in slot.params if p.grad is not None]
        clip = float(slot.clip) if slot.clip else math.inf
        norm = float(torch.nn.utils.clip_grad_norm_(grads, clip)) if grads else 0.0
        finite = math.isfinite(norm)
        if self.scaler.is_enabled():
            self.scaler.step(opt)           # skips the update itself when it found inf/nan
        elif finite:
            opt.step()
        self._stepped.add(name)
        opt.zero_grad(set_to_none=True)
        slot.pending = 0
        if finite:
            slot.updates += 1
            slot.scheduler.step()
            self.norms[f"grad_norm_{name}"] = norm
        else:
            slot.skipped += 1
            self.norms[f"skipped_{name}"] = 1.0
            log.warning("optimiser %s: non-finite gradient norm (%s); update skipped (%d so far)",
                        name, norm, slot.skipped)
        return finite

    def end_step(self):
        """After each training step: one scaler update; pending sums follow a new scale."""
        if not self._stepped:
            return
        self._stepped.clear()
        if not self.scaler.is_enabled():
            return
        old = self.scaler.get_scale()
        self.scaler.update()
        new = self.scaler.get_scale()
        if new != old:
            for slot in self.slots.values():
                if slot.pending:
                    for p in slot.params:
                        if p.grad is not None:
                            p.grad.mul_(new / old)

    def take_norms(self):
        out, self.norms = self.norms, {}
        return out

    # -- checkpoints -------------------------------------------------------------------------
    def share_pending(self):
        """Under DDP, average the gradients still accumulating (every rank, at a checkpoint):
        the same sum DDP would form at the update, so rank 0's checkpoint holds it."""
        if self.dist.enabled:
            for slot in self.slots.values():
                if slot.pending:
                    self.dist.average_grads(slot.params)

    def state_dict(self):
        return {"slots": {k: s.state_dict() for k, s in self.slots.items()},
                "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state):
        for k, s in self.slots.items():
            s.load_state_dict(state["slots"][k])
        self.scaler.load_state_dict(state["scaler"])

    def lrs(self):
        return {f"lr_{k}": s.scheduler.lr for k, s in self.slots.items()}
