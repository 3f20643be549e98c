"""The shared trainer: the loop every training method runs on.

Owns devices, DDP, AMP, data streams, per-optimiser gradient accumulation and clipping
(``optim.py``), LR schedules, validation (loss in-process, metrics in a background process),
checkpoints (``latest``, per-validation step files, best by each criterion, n-best
averaging), exact resume after a kill, CSV/TensorBoard logs, progress bars and the export of
``model*/``. Methods (``sebench/train/methods``, contract in ``methods/base.py``) declare
models, data, losses and order.

A *step* is one call of the method's ``train_step`` (one batch of the primary stream):
``max_steps``, ``log_every``, ``valid_every`` and ``checkpoint_every`` count steps.
Checkpoints hold everything a step depends on, including gradients an optimiser is still
accumulating and the validation steps whose metrics are still being scored, so a checkpoint
may be taken at any step and a rerun after a kill continues exactly.
"""
import contextlib
import copy
import math
import os
import time

import torch

from sebench.config import strip_private
from sebench.errors import ConfigError, SebenchError
from sebench.train import checkpoint as ckpt
from sebench.train.config import (check_sections, criterion_name, parse_criteria,
                                  parse_train_dirs)
from sebench.train.data import AudioDataset, BucketBatchSampler, data_file_options, make_loader
from sebench.train.determinism import set_deterministic
from sebench.train.distributed import DistContext
from sebench.train.logger import CSVLog, TensorBoard, plot_curves
from sebench.train.methods import build_method
from sebench.train.optim import Optimization
from sebench.train.selection import Selection, step_file
from sebench.train.streams import Stream
from sebench.utils.log import get_logger, progress

log = get_logger("sebench.train")


def _to(batch, device):
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}


class Trainer:
    def __init__(self, cfg, exp_dir, train_dirs, valid_dir=None, device="cpu"):
        cfg = strip_private(cfg)
        self.cfg, self.exp_dir, self.valid_dir = cfg, exp_dir, valid_dir
        # the config as given, for the resume check (sebench/train/config_change.py)
        self.given_cfg = copy.deepcopy(cfg)
        self.dist = DistContext()
        if device == "cuda" and self.dist.enabled:
            device = f"cuda:{self.dist.local_rank}"
        self.device = torch.device(device)
        t = cfg["train"]
        self.use_amp = bool(t["amp"]) and self.device.type == "cuda"
        self.criteria = parse_criteria(t)
        torch.manual_seed(int(cfg["seed"]))
        set_deterministic(bool(t["deterministic"]), self.device)
        self.method = build_method(cfg, self)
        if cfg.get("loss") and not self.method.reads_loss:
            raise ConfigError(f"loss: method {cfg['method']} does not read the top-level loss "
                              "section (its losses are its own); remove it")
        if self.method.teacher_guided and self.criteria[0].source == "valid":
            log.warning("%s: best checkpoint chosen by the teacher's own loss, which the SE model "
                        "learns to fool; set train.best_by metric:dnsmos_ovrl (with "
                        "train.valid_metrics dnsmos)", cfg["method"])
        self.train_dirs = parse_train_dirs(train_dirs, self.method.streams)
        self._modules = {k: m.to(self.device) for k, m in self.method.build_models().items()}
        self._nets = dict(self._modules)
        declared = self.method.optimizers()
        check_sections(cfg, declared)
        self._build_data()
        self.optim = Optimization(cfg, declared, self._modules, self.use_amp, self.dist,
                                  self.total_steps())
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP
            ids = [self.device.index] if self.device.type == "cuda" else None
            # one order on every rank (not a set's, which varies with the process's hash
            # seed): DDP's constructor broadcasts rank 0's weights model by model
            for name in dict.fromkeys(m for models in declared.values() for m in models):
                self._nets[name] = DDP(self._modules[name], device_ids=ids)
        self.state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "streams": {}, "best": None,
                      "best_step": None, "nbest": [], "bad_validations": 0, "criteria": {},
                      "stopped": None, "data_seconds": 0.0, "step_seconds": 0.0,
                      "log_sums": {}, "pending_metrics": [], "valid_step": 0}
        self.selection = Selection(self.criteria, t, self.state, self._path("checkpoints"))
        self.scorer = None

    # -- data ---------------------------------------------------------------------------
    def _build_data(self):
        dcfg, fs = self.cfg["data"], int(self.cfg["model"].get("fs", 16000))
        files = data_file_options(dcfg)
        self.streams = {name: Stream(name, path, self.method.streams[name], fs, dcfg,
                                     self.cfg["seed"], self.dist, primary=i == 0)
                        for i, (name, path) in enumerate(self.train_dirs.items())}
        self.primary = next(iter(self.streams.values()))
        self.valid_loader = None
        if self.valid_dir:
            vset = AudioDataset(self.valid_dir, self.method.valid_fields, fs=fs,
                                segment=dcfg["valid_segment"], seed=self.cfg["seed"],
                                random_crop=False, max_utts=dcfg["valid_max_utts"],
                                subset_file=self._path("valid_subset.txt")
                                if self.dist.is_main else None, **files)
            vsampler = BucketBatchSampler(vset.lengths(), dcfg["valid_batch_size"], shuffle=False)
            self.valid_loader = make_loader(vset, vsampler, 0, seed=self.cfg["seed"])

    def total_steps(self):
        t = self.cfg["train"]
        if t["max_steps"]:
            return int(t["max_steps"])
        return int(t["epochs"]) * self.primary.batches_per_epoch() if t["epochs"] else None

    # -- API for methods ------------------------------------------------------------------
    def net(self, name):
        """The model for forwards with gradients (DDP-wrapped when distributed)."""
        return self._nets[name]

    def module(self, name):
        """The bare module."""
        return self._modules[name]

    def autocast(self):
        if self.use_amp:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def backward(self, name, loss):
        """Accumulate the gradients of ``loss`` for optimiser ``name``."""
        self.optim.backward(name, loss)

    def step(self, name):
        """Update optimiser ``name`` with the mean of its accumulated gradients now."""
        return self.optim.step(name)

    def optimize(self, name, loss):
        """Backward; update when this step completes the optimiser's accumulation window."""
        self.backward(name, loss)
        if self.optim.updates_at(name, self.state["step"]):
            self.step(name)

    # -- checkpoints ----------------------------------------------------------------------
    def _path(self, *parts):
        return os.path.join(self.exp_dir, *parts)

    def _payload(self):
        state = dict(self.state, streams={n: s.state() for n, s in self.streams.items()
                                          if s is not self.primary},
                     pending_metrics=sorted(self.scorer.pending) if self.scorer else [])
        return {"state": state, "models": {k: m.state_dict() for k, m in self._modules.items()},
                "optim": self.optim.state_dict(), "rng": ckpt.rng_state(),
                "method": self.method.state_dict(), "config": self.given_cfg}

    def save(self, name):
        self.optim.share_pending()        # every rank, before rank 0 writes
        if self.dist.is_main:
            ckpt.save(self._path("checkpoints", name), self._payload())

    def try_resume(self):
        path = self._path("checkpoints", "latest.pt")
        if not os.path.isfile(path):
            return False
        payload = ckpt.load(path, self.device)
        missing = [k for k in ("models", "optim", "state", "method", "rng") if k not in payload]
        if missing or set(payload["models"]) != set(self._modules):
            raise SebenchError(f"{path}: written by another sebench version or method (no "
                               f"{', '.join(missing) or 'matching models'}); rerun with --force "
                               "to start over")
        for k, m in self._modules.items():
            m.load_state_dict(payload["models"][k])
        self.optim.load_state_dict(payload["optim"])
        self.method.load_state_dict(payload["method"])
        self.state.update(payload["state"])
        ckpt.set_rng_state(payload["rng"])
        for name, pos in self.state["streams"].items():
            self.streams[name].start(pos["epoch"], pos["position"])
        log.info("resumed from %s at step %d (epoch %d, batch %d)", path, self.state["step"],
                 self.state["epoch"], self.state["batch_in_epoch"])
        return True

    # -- loop -----------------------------------------------------------------------------
    def _done(self):
        t = self.cfg["train"]
        if self.state["stopped"]:
            return True
        if t["max_steps"] and self.state["step"] >= int(t["max_steps"]):
            return True
        return bool(t["epochs"]) and self.state["epoch"] >= int(t["epochs"])

    def _open_logs(self):
        main = self.dist.is_main
        self.train_log = CSVLog(self._path("train_log.csv"), writer=main)
        self.valid_log = CSVLog(self._path("valid_log.csv"), writer=main)
        self.metric_log = CSVLog(self._path("valid_metrics.csv"), writer=main)
        step = self.state["step"]
        # rows a killed run wrote after its checkpoint, validations included that ran at the
        # checkpoint's step but after it was saved (the epoch-end one: they are run again);
        # metric rows of steps that were still being scored at the checkpoint are collected
        # again. Checkpoints without valid_step predate it: their step is the bound.
        validated = min(step, self.state.get("valid_step", step))
        self.train_log.truncate_after(step)
        self.valid_log.truncate_after(validated)
        self.metric_log.truncate_after(validated, drop=self.state["pending_metrics"])
        self.tb = TensorBoard(self._path("tensorboard")) if main else None
        t = self.cfg["train"]
        if t["valid_metrics"] and self.valid_dir and main:
            from sebench.train.validation import BackgroundScorer
            self.scorer = BackgroundScorer(self.exp_dir, self.valid_dir, t["valid_metrics"],
                                           t["valid_metric_utts"], self.cfg["seed"])
            self.scorer.resume(self.state["pending_metrics"])
        # a metric can stop training on rank 0 at any step: every rank must hear it
        self._share_stop = self.dist.enabled and bool(t["valid_metrics"] and self.valid_dir) \
            and bool(t["early_stop_patience"]) and self.criteria[0].source == "metric"

    def run(self):
        if self.dist.is_main:
            os.makedirs(self._path("checkpoints"), exist_ok=True)
        if not self.try_resume():
            self.method.prepare(self.primary.dataset)
        self._open_logs()
        self.bar = progress(total=self.total_steps(), initial=self.state["step"], desc="train",
                            unit="step", disable=None if self.dist.is_main else True)
        while not self._done():
            self._train_epoch()
        self.bar.close()
        self._log_train()                # the steps since the last log line
        t = self.cfg["train"]
        if t["valid_every"] and self.state["step"] % int(t["valid_every"]) and self.valid_loader:
            self.validate()              # the run's last weights are always validated
        if self.scorer:
            for result in self.scorer.wait():
                self._record_metrics(*result)
        self.save("latest.pt")
        self.method.close()
        self.dist.barrier()
        if self.dist.is_main:
            self._finish()
        if self.tb:
            self.tb.close()
        self.dist.close()
        return self.state

    def _train_epoch(self):
        """The rest of the current epoch; returns early when training is done."""
        epoch = self.state["epoch"]
        self.primary.start(epoch, self.state["batch_in_epoch"])
        if self.state["batch_in_epoch"] == 0:
            self.method.on_epoch_start(epoch)
        tick = time.perf_counter()
        for batch in self.primary.loader:
            fetched = time.perf_counter()
            self._train_step(batch)
            self.state["data_seconds"] += fetched - tick
            self.state["step_seconds"] += time.perf_counter() - tick
            if self._after_step():
                return
            tick = time.perf_counter()
        self._end_epoch(epoch)

    def _train_step(self, batch):
        if len(self.streams) == 1:
            batch = _to(batch, self.device)
        else:
            batch = {name: _to(batch if s is self.primary else s.next_batch(), self.device)
                     for name, s in self.streams.items()}
        for m in self._nets.values():
            m.train()
        sync = self.optim.models_to_sync(self.state["step"])
        with contextlib.ExitStack() as stack:
            for name, net in self._nets.items():
                if net is not self._modules[name] and name not in sync:
                    stack.enter_context(net.no_sync())
            self.optim.synced = sync if self.dist.enabled else set()
            terms = self.method.train_step(batch)
        self.optim.synced = set()
        self.optim.end_step()
        self.state["batch_in_epoch"] += 1
        self._accumulate(dict(terms, **self.optim.take_norms()))

    def _accumulate(self, terms):
        sums = self.state["log_sums"]
        for k, v in terms.items():
            total, n = sums.get(k, (0.0, 0))
            sums[k] = (total + float(v), n + 1)

    def _after_step(self):
        """Logging, validation, checkpoints after each step; True when training is done."""
        t = self.cfg["train"]
        self.state["step"] += 1
        step = self.state["step"]
        self.bar.update(1)
        if step % int(t["log_every"]) == 0:
            means = self._log_train()
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in means.items()
                                  if not k.startswith(("grad_norm_", "skipped_", "time_"))})
        if t["valid_every"] and step % int(t["valid_every"]) == 0:
            self.validate()
        self._poll_scorer()
        if t["checkpoint_every"] and step % int(t["checkpoint_every"]) == 0:
            self.save("latest.pt")
        if os.environ.get("SEBENCH_KILL_AFTER_STEP") == str(step):
            os.kill(os.getpid(), 9)   # fault injection for the resume tests: a real SIGKILL
        if self._share_stop:
            self.state["stopped"] = self.dist.broadcast_flag(bool(self.state["stopped"])) or None
        return self._done()

    def _end_epoch(self, epoch):
        """Apply whole-epoch accumulations, the method's hook, per-epoch validation, checkpoint."""
        for name, slot in self.optim.slots.items():
            if slot.accum == "epoch" and slot.pending:
                self.optim.step(name)
        self.optim.end_step()
        self.method.on_epoch_end(epoch)
        self.optim.end_step()             # the hook may have stepped optimisers itself
        self._accumulate(self.optim.take_norms())
        self.state["epoch"] += 1
        self.state["batch_in_epoch"] = 0
        if not self.cfg["train"]["valid_every"]:
            self.validate()
        self.save("latest.pt")

    def _log_train(self):
        """One train_log.csv row: each term's mean since the last row."""
        sums = self.state["log_sums"]
        self.state["log_sums"] = {}
        means = {k: total / n for k, (total, n) in sums.items()}
        if not means or not self.dist.is_main:
            return means
        share = self.state["data_seconds"] / max(self.state["step_seconds"], 1e-9)
        row = dict({"step": self.state["step"], "epoch": self.state["epoch"]}, **means,
                   **self.optim.lrs(), data_share=share)
        self.train_log.add(row)
        self.tb.scalars("train", row, self.state["step"])
        return means

    # -- validation and best checkpoints ------------------------------------------------------
    def validate(self):
        if self.valid_loader is None:
            return
        self.state["valid_step"] = self.state["step"]    # checkpoints from here on include it
        self.valid_loader.generator.manual_seed(int(self.cfg["seed"]))
        values, stop = (self._validate_main() if self.dist.is_main else (None, False))
        values, stop = self.dist.broadcast_object((values, stop))
        self.state["stopped"] = stop or self.state["stopped"]
        self.method.on_validation_end(values)
        self.dist.barrier()

    def _validate_main(self):
        for m in self._modules.values():
            m.eval()
        sums, n = {}, 0
        for batch in self.valid_loader:
            batch = _to(batch, self.device)
            size = len(batch["keys"])
            for k, v in self.method.valid_step(batch).items():
                sums[k] = sums.get(k, 0.0) + v * size
            n += size
        means = {k: v / n for k, v in sums.items()}
        means.update(self.method.valid_summary())
        step = self.state["step"]
        row = dict({"step": step, "epoch": self.state["epoch"]}, **means)
        self.valid_log.add(row)
        self.tb.scalars("valid", row, step)
        log.info("step %d validation: %s", step, ", ".join(f"{k} {v:.4g}" for k, v in means.items()))
        ckpt.save(self._path("checkpoints", step_file(step)), self._payload())
        stop = False
        for name, slot in self.optim.slots.items():
            sched = slot.scheduler
            if sched.kind == "plateau" and sched.validated(self._term(means, sched.monitor,
                                                                      f"scheduler.{name}.monitor")):
                log.info("optimiser %s: learning rate %.3g below min_lr %s: stopping", name,
                         sched.lr, sched.min_lr)
                stop = True
        for i, c in enumerate(self.criteria):
            if c.source == "valid":
                stop = self.selection.consider(i, step, self._term(means, c.key, "train.best_by")) \
                    or stop
        if self.scorer:
            self.scorer.launch(step, lambda w: self.method.enhance(w.to(self.device)))
        self.selection.prune(self.scorer.pending if self.scorer else ())
        return means, stop

    @staticmethod
    def _term(means, key, option):
        if key not in means:
            raise ConfigError(f"{option} {key!r}: valid_step gives {', '.join(sorted(means))}")
        return means[key]

    def _poll_scorer(self):
        if self.scorer and self.scorer.running:
            for result in self.scorer.poll():
                self._record_metrics(*result)

    def _record_metrics(self, step, values, failed_log):
        if values is None:
            log.warning("validation metrics for step %d failed; see %s", step, failed_log)
            return
        self.metric_log.add(dict({"step": step}, **values))
        self.tb.scalars("valid_metrics", values, step)
        for i, c in enumerate(self.criteria):
            if c.source != "metric":
                continue
            if c.key not in values:
                raise ConfigError(f"train.best_by {criterion_name(c)}: metric not among "
                                  f"{sorted(values)}")
            value = values[c.key]
            if value is not None and not math.isnan(value) and self.selection.consider(i, step, value):
                self.state["stopped"] = True
        self.selection.prune(self.scorer.pending)

    # -- export -----------------------------------------------------------------------------
    def _weights(self, models, spec):
        """Weights of one export from a checkpoint's ``models`` dict."""
        if isinstance(spec, str):
            return models[spec]
        from sebench.models.composite import Composite
        return {f"{Composite.PREFIX}{part}.{k}": v for part, name in spec.items()
                for k, v in models[name].items()}

    def _finish(self):
        from sebench.models.store import export_model
        t = self.cfg["train"]
        folder = self._path("checkpoints")
        chosen = [s for _, s in self.state["nbest"] if os.path.isfile(os.path.join(folder, step_file(s)))]
        exports = self.method.exports()
        if int(t["average_nbest"]) > 1 and len(chosen) > 1:
            loaded = [ckpt.load(os.path.join(folder, step_file(s)))["models"] for s in chosen]
            models = {k: ckpt.average_states([m[k] for m in loaded]) for k in loaded[0]}
            source = f"average of steps {chosen}"
        elif os.path.isfile(os.path.join(folder, "best.pt")):
            models = ckpt.load(os.path.join(folder, "best.pt"))["models"]
            source = (f"best.pt (step {self.state['best_step']}, "
                      f"{criterion_name(self.criteria[0])} {self.state['best']:.4g})")
        else:
            models = {k: m.state_dict() for k, m in self._modules.items()}
            source = f"latest (step {self.state['step']})"
        for i, (name, export) in enumerate(exports.items()):
            out = self._path("model" if i == 0 else f"model_{name}")
            export_model(out, export.config, self._weights(models, export.weights), self.state,
                         source)
            log.info("model exported to %s from %s", out, source)
        plot_curves(self.exp_dir, self.valid_log.rows, self.metric_log.rows,
                    self._path("learning_curves.png"))
