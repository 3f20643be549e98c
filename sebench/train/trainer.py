"""The shared trainer: the loop every training method runs on.

Owns devices, DDP, AMP, gradient accumulation and clipping, LR schedules, validation (loss
in-process, metrics in a background process), checkpoints (``latest``, per-validation step
files, ``best``, n-best averaging), exact resume after a kill, CSV/TensorBoard logs and
progress bars. Methods (``sebench/train/methods``) only declare models, losses and order.
"""
import contextlib
import math
import os
import time

import torch

from sebench.errors import ConfigError, SebenchError
from sebench.train import checkpoint as ckpt
from sebench.train.data import (AudioDataset, BucketBatchSampler, data_file_options, make_loader,
                                train_crop_seconds)
from sebench.train.distributed import DistContext
from sebench.train.logger import CSVLog, TensorBoard, plot_curves
from sebench.train.methods import method_class
from sebench.train.schedulers import Scheduler
from sebench.utils.log import get_logger, progress

log = get_logger("sebench.train")

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "radam": torch.optim.RAdam,
              "sgd": torch.optim.SGD}


def make_optimizer(params, cfg):
    cfg = {k: v for k, v in cfg.items() if not k.startswith("__")}   # config-private markers
    kind = cfg.pop("type", "adam")
    if kind not in OPTIMIZERS:
        raise ConfigError(f"optimizer type must be one of {', '.join(OPTIMIZERS)}, got {kind!r}")
    if "betas" in cfg:
        cfg["betas"] = tuple(cfg["betas"])
    return OPTIMIZERS[kind](params, **cfg)


class Trainer:
    def __init__(self, cfg, exp_dir, train_dir, valid_dir=None, device="cpu"):
        from sebench.config import _strip_private
        cfg = _strip_private(cfg)
        self.cfg, self.exp_dir = cfg, exp_dir
        self.train_dir, self.valid_dir = train_dir, valid_dir
        self.dist = DistContext()
        if device == "cuda" and self.dist.enabled:
            device = f"cuda:{self.dist.local_rank}"
        self.device = torch.device(device)
        tcfg = cfg["train"]
        self.accum = int(tcfg["accum_grad"])
        self.use_amp = bool(tcfg["amp"]) and self.device.type == "cuda"
        torch.manual_seed(int(cfg["seed"]))
        self.method = method_class(cfg["method"])(cfg, self)
        self._bare = {k: m.to(self.device) for k, m in self.method.build_models().items()}
        self.models = dict(self._bare)
        self.optimizers, self.schedulers = {}, {}
        trained = set()
        for name, model_names in self.method.optimizers().items():
            params = [p for m in model_names for p in self._bare[m].parameters()]
            opt_cfg = (cfg["optim"] or {}).get(name) or (cfg["optim"] or {}).get("se") or {}
            self.optimizers[name] = make_optimizer(params, opt_cfg)
            sched_cfg = dict(cfg["scheduler"] or {})
            sched_cfg.setdefault("total_steps", tcfg.get("max_steps"))
            self.schedulers[name] = Scheduler(self.optimizers[name], **sched_cfg)
            trained |= set(model_names)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP
            ids = [self.device.index] if self.device.type == "cuda" else None
            for name in trained:
                self.models[name] = DDP(self._bare[name], device_ids=ids)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.boundary = True
        self.state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best": None, "best_step": None,
                      "nbest": [], "bad_validations": 0, "stopped": None, "data_seconds": 0.0,
                      "step_seconds": 0.0}
        self._build_data()

    # -- data ---------------------------------------------------------------------------
    def _build_data(self):
        dcfg, fs = self.cfg["data"], int(self.cfg["model"].get("fs", 16000))
        files = data_file_options(dcfg)
        self.train_set = AudioDataset(self.train_dir, self.method.train_fields, fs=fs,
                                      segment=train_crop_seconds(dcfg), seed=self.cfg["seed"],
                                      **files)
        self.sampler = BucketBatchSampler(self.train_set.lengths(), dcfg["batch_size"],
                                          seed=self.cfg["seed"],
                                          bucket_batches=dcfg["bucket_batches"],
                                          world_size=self.dist.world_size, rank=self.dist.rank)
        self.loader = make_loader(self.train_set, self.sampler, dcfg["num_workers"])
        self.valid_loader = None
        if self.valid_dir:
            vset = AudioDataset(self.valid_dir, self.method.valid_fields, fs=fs,
                                segment=dcfg["valid_segment"], seed=self.cfg["seed"],
                                random_crop=False, max_utts=dcfg["valid_max_utts"], **files)
            vsampler = BucketBatchSampler(vset.lengths(), dcfg["valid_batch_size"], shuffle=False)
            self.valid_loader = make_loader(vset, vsampler, 0)
        if len(self.sampler) == 0:
            raise SebenchError(f"{self.train_dir}: {len(self.train_set)} utterances make no full "
                               f"batch of {dcfg['batch_size']} x {self.dist.world_size} process(es)")

    # -- API for methods ------------------------------------------------------------------
    def bare(self, name):
        return self._bare[name]

    def autocast(self):
        if self.use_amp:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def optimize(self, name, loss):
        """Backward (scaled for accumulation/AMP); step, clip and schedule at a boundary."""
        self.scaler.scale(loss / self.accum).backward()
        if not self.boundary:
            return
        opt = self.optimizers[name]
        clip = self.cfg["train"]["grad_clip"]
        if clip:
            self.scaler.unscale_(opt)
            params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, float(clip))
        self.scaler.step(opt)
        self.scaler.update()
        opt.zero_grad(set_to_none=True)
        self.schedulers[name].step()

    # -- checkpoints ----------------------------------------------------------------------
    def _path(self, *parts):
        return os.path.join(self.exp_dir, *parts)

    def _payload(self):
        return {"state": dict(self.state), "models": {k: m.state_dict() for k, m in self._bare.items()},
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
                "scaler": self.scaler.state_dict(), "rng": ckpt.rng_state(),
                "method": self.method.state_dict(), "config": self.cfg}

    def save(self, name):
        if self.dist.is_main:
            ckpt.save(self._path("checkpoints", name), self._payload())

    def try_resume(self):
        path = self._path("checkpoints", "latest.pt")
        if not os.path.isfile(path):
            return False
        payload = ckpt.load(path, self.device)
        for k, m in self._bare.items():
            m.load_state_dict(payload["models"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(payload["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(payload["schedulers"][k])
        self.scaler.load_state_dict(payload["scaler"])
        self.method.load_state_dict(payload["method"])
        self.state.update(payload["state"])
        ckpt.set_rng_state(payload["rng"])
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

    def run(self):
        t = self.cfg["train"]
        if self.dist.is_main:
            os.makedirs(self._path("checkpoints"), exist_ok=True)
        resumed = self.try_resume()
        if not resumed:
            self.method.prepare(self.train_set)
        main = self.dist.is_main
        self.train_log = CSVLog(self._path("train_log.csv"), writer=main)
        self.valid_log = CSVLog(self._path("valid_log.csv"), writer=main)
        self.metric_log = CSVLog(self._path("valid_metrics.csv"), writer=main)
        for lg in (self.train_log, self.valid_log, self.metric_log):
            lg.truncate_after(self.state["step"])   # drop rows a killed run wrote after its checkpoint
        self.tb = TensorBoard(self._path("tensorboard")) if self.dist.is_main else None
        self.scorer = None
        if t["valid_metrics"] and self.valid_dir and self.dist.is_main:
            from sebench.train.validation import BackgroundScorer
            self.scorer = BackgroundScorer(self.exp_dir, self.valid_dir, t["valid_metrics"],
                                           t["valid_metric_utts"])
        total = int(t["max_steps"]) if t["max_steps"] else int(t["epochs"]) * len(
            self.sampler.global_batches(0)) // self.accum
        bar = progress(total=total, initial=self.state["step"], desc="train", unit="step",
                       disable=None if self.dist.is_main else True)
        sums, count, micro = {}, 0, 0
        while not self._done():
            self.sampler.set_epoch(self.state["epoch"], self.state["batch_in_epoch"])
            self.train_set.set_epoch(self.state["epoch"])
            tick = time.perf_counter()
            for batch in self.loader:
                fetched = time.perf_counter()
                batch = {k: (v.to(self.device) if torch.is_tensor(v) else v) for k, v in batch.items()}
                self.boundary = (micro + 1) % self.accum == 0
                for m in self.models.values():
                    m.train()
                losses = self.method.train_step(batch)
                micro += 1
                self.state["batch_in_epoch"] += 1
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                self.state["data_seconds"] += fetched - tick
                self.state["step_seconds"] += time.perf_counter() - tick
                tick = time.perf_counter()
                if not self.boundary:
                    continue
                self.state["step"] += 1
                step = self.state["step"]
                bar.update(1)
                if step % int(t["log_every"]) == 0 and count:
                    self._log_train({k: v / count for k, v in sums.items()})
                    bar.set_postfix({k: f"{v / count:.4g}" for k, v in sums.items()})
                    sums, count = {}, 0
                if t["valid_every"] and step % int(t["valid_every"]) == 0:
                    self.validate()
                self._poll_scorer()
                if t["checkpoint_every"] and step % int(t["checkpoint_every"]) == 0:
                    self.save("latest.pt")
                if os.environ.get("SEBENCH_KILL_AFTER_STEP") == str(step):
                    os.kill(os.getpid(), 9)   # fault injection for the resume tests: a real SIGKILL
                if self._done():
                    break
                tick = time.perf_counter()
            else:
                self.state["epoch"] += 1
                self.state["batch_in_epoch"] = 0
                if not t["valid_every"]:
                    self.validate()
                self.save("latest.pt")
                continue
            break
        bar.close()
        if count:   # the steps since the last log line
            self._log_train({k: v / count for k, v in sums.items()})
        if t["valid_every"] and self.state["step"] % int(t["valid_every"]) and self.valid_loader:
            self.validate()   # the run's last weights are always validated
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

    def _log_train(self, means):
        if not self.dist.is_main:
            return
        lrs = {f"lr_{k}": s.lr for k, s in self.schedulers.items()}
        share = self.state["data_seconds"] / max(self.state["step_seconds"], 1e-9)
        row = dict({"step": self.state["step"], "epoch": self.state["epoch"]}, **means, **lrs,
                   data_share=share)
        self.train_log.add(row)
        self.tb.scalars("train", row, self.state["step"])

    # -- validation and best checkpoints ------------------------------------------------------
    def validate(self):
        stop = False
        if self.dist.is_main and self.valid_loader is not None:
            stop = self._validate_main()
        self.state["stopped"] = self.dist.broadcast_flag(stop) or self.state["stopped"]
        self.dist.barrier()

    def _validate_main(self):
        t = self.cfg["train"]
        for m in self._bare.values():
            m.eval()
        sums, n = {}, 0
        for batch in self.valid_loader:
            batch = {k: (v.to(self.device) if torch.is_tensor(v) else v) for k, v in batch.items()}
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
        self.save(f"step{step:08d}.pt")
        stop = any(s.validated(means["loss"]) for s in self.schedulers.values())
        if stop:
            log.info("learning rate below %s: stopping", self.cfg["scheduler"].get("min_lr"))
        if t["best_by"] == "valid_loss":
            stop = self._consider_best(step, means["loss"]) or stop
        if self.scorer:
            se = self._bare[self.method.export]
            self.scorer.launch(step, lambda w: se(w.to(self.device))["wave"])
        self._prune_checkpoints()
        return stop

    def _poll_scorer(self):
        if self.scorer and self.scorer.running:
            for result in self.scorer.poll():
                self._record_metrics(*result)

    def _record_metrics(self, step, values, failed_log):
        t = self.cfg["train"]
        if values is None:
            log.warning("validation metrics for step %d failed; see %s", step, failed_log)
            return
        self.metric_log.add(dict({"step": step}, **values))
        self.tb.scalars("valid_metrics", values, step)
        if t["best_by"].startswith("metric:"):
            name = t["best_by"].split(":", 1)[1]
            if name not in values:
                raise ConfigError(f"best_by {t['best_by']}: metric not among {sorted(values)}")
            if values[name] is not None and not math.isnan(values[name]):
                self._consider_best(step, values[name])
        self._prune_checkpoints()

    def _better(self, a, b):
        return b is None or (a < b if self.cfg["train"]["best_mode"] == "min" else a > b)

    def _consider_best(self, step, value):
        """Update best.pt and the n-best list; returns True when early stopping triggers."""
        t = self.cfg["train"]
        path = self._path("checkpoints", f"step{step:08d}.pt")
        if self._better(value, self.state["best"]):
            self.state.update(best=value, best_step=step, bad_validations=0)
            if os.path.isfile(path):
                ckpt.copy(path, self._path("checkpoints", "best.pt"))
        else:
            self.state["bad_validations"] += 1
        nbest = self.state["nbest"] + [[value, step]]
        nbest.sort(key=lambda e: e[0], reverse=t["best_mode"] == "max")
        self.state["nbest"] = nbest[:max(1, int(t["average_nbest"]))]
        patience = t["early_stop_patience"]
        if patience and self.state["bad_validations"] >= int(patience):
            log.info("no improvement in %d validations: early stop", patience)
            return True
        return False

    def _prune_checkpoints(self):
        keep = {s for _, s in self.state["nbest"]}
        if self.scorer:
            keep |= self.scorer.pending
        folder = self._path("checkpoints")
        steps = sorted(int(f[4:12]) for f in os.listdir(folder)
                       if f.startswith("step") and f.endswith(".pt"))
        keep |= set(steps[-int(self.cfg["train"]["keep_checkpoints"]):])
        for s in steps:
            if s not in keep:
                os.remove(os.path.join(folder, f"step{s:08d}.pt"))

    # -- export -----------------------------------------------------------------------------
    def _finish(self):
        from sebench.train.export import export_model
        t, name = self.cfg["train"], self.method.export
        folder = self._path("checkpoints")
        chosen = [s for _, s in self.state["nbest"]
                  if os.path.isfile(os.path.join(folder, f"step{s:08d}.pt"))]
        if int(t["average_nbest"]) > 1 and len(chosen) > 1:
            states = [ckpt.load(os.path.join(folder, f"step{s:08d}.pt"))["models"][name]
                      for s in chosen]
            weights, source = ckpt.average_states(states), f"average of steps {chosen}"
        elif os.path.isfile(os.path.join(folder, "best.pt")):
            weights = ckpt.load(os.path.join(folder, "best.pt"))["models"][name]
            source = f"best.pt (step {self.state['best_step']}, {t['best_by']} {self.state['best']:.4g})"
        else:
            weights, source = self._bare[name].state_dict(), f"latest (step {self.state['step']})"
        export_model(self._path("model"), self.method.export_config(), weights, self.state, source)
        plot_curves(self.exp_dir, self.valid_log.rows, self.metric_log.rows,
                    self._path("learning_curves.png"))
        log.info("model exported to %s from %s", self._path("model"), source)
