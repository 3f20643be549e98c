"""Which checkpoints to keep: best by each criterion, the n best by the primary one, early
stopping, and pruning of the per-validation ``stepN.pt`` files.

The primary criterion (the first of ``train.best_by``) owns ``best.pt``, the n-best list
(``average_nbest``), the exported weights and early stopping; every further criterion keeps
its own ``best_<criterion>.pt``. All decisions live in the trainer's state dict, so they
survive a resume.
"""
import os
import re

from sebench.train import checkpoint as ckpt
from sebench.train.config import criterion_name
from sebench.utils.log import get_logger

log = get_logger("sebench.train")


def step_file(step):
    return f"step{step:08d}.pt"


def best_file(criterion, primary):
    if primary:
        return "best.pt"
    return "best_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", criterion_name(criterion)) + ".pt"


class Selection:
    def __init__(self, criteria, train_cfg, state, folder):
        self.criteria, self.t, self.state, self.folder = criteria, train_cfg, state, folder

    def _better(self, a, b, mode):
        return b is None or (a < b if mode == "min" else a > b)

    def consider(self, index, step, value):
        """Record criterion ``index``'s value for a validated step; True when early stopping
        triggers (primary criterion only)."""
        c = self.criteria[index]
        path = os.path.join(self.folder, step_file(step))
        if index > 0:
            entry = self.state["criteria"].setdefault(criterion_name(c), {"best": None, "step": None})
            if self._better(value, entry["best"], c.mode):
                entry.update(best=value, step=step)
                if os.path.isfile(path):
                    ckpt.copy(path, os.path.join(self.folder, best_file(c, False)))
            return False
        if self._better(value, self.state["best"], c.mode):
            self.state.update(best=value, best_step=step, bad_validations=0)
            if os.path.isfile(path):
                ckpt.copy(path, os.path.join(self.folder, "best.pt"))
        else:
            self.state["bad_validations"] += 1
        nbest = self.state["nbest"] + [[value, step]]
        nbest.sort(key=lambda e: e[0], reverse=c.mode == "max")
        self.state["nbest"] = nbest[:max(1, int(self.t["average_nbest"]))]
        patience = self.t["early_stop_patience"]
        if patience and self.state["bad_validations"] >= int(patience):
            log.info("no improvement of %s in %d validations: early stop", criterion_name(c), patience)
            return True
        return False

    def prune(self, pending=()):
        """Delete step checkpoints nobody needs: not n-best, not best by another criterion,
        not still waiting for background metrics, not among the last ``keep_checkpoints``."""
        keep = {s for _, s in self.state["nbest"]} | set(pending)
        keep |= {e["step"] for e in self.state["criteria"].values()}
        steps = sorted(int(f[4:12]) for f in os.listdir(self.folder)
                       if f.startswith("step") and f.endswith(".pt"))
        keep |= set(steps[-int(self.t["keep_checkpoints"]):])
        for s in steps:
            if s not in keep:
                os.remove(os.path.join(self.folder, step_file(s)))
