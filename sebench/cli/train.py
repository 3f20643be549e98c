"""``sebench train``: train an SE model with one of the registered training methods."""
import os
import sys

from sebench.cli.common import (add_config_options, bounded, command_line, make_parser,
                                resolve_config)
from sebench.config import (CHANNEL, COUNT, NON_NEGATIVE, OPTIONAL_SECONDS, OPTIONAL_STEPS,
                            OneOf, Range)
from sebench.errors import ConfigError

EXAMPLE = """\
sebench train --method supervised --train data/train --valid data/valid \\
    --model-config conf/models/cnn_blstm.yaml --exp exp/supervised_cnn_blstm
sebench train --config conf/train/supervised.yaml --train data/train --valid data/valid \\
    --exp exp/sup --train.max_steps 2000 --optim.se.lr 5e-4 --ngpu 2"""

DEFAULTS = {
    "method": "supervised",
    "seed": 0,
    "model": {},                       # the model config (name, sizes, stft, feature)
    "method_options": {},
    "loss": {"name": "mag_mse", "beta": 0.0, "stft": None},
    "data": {"segment": 3.0, "batch_size": 8, "num_workers": 0, "bucket_batches": 20,
             "valid_segment": None, "valid_batch_size": 1, "valid_max_utts": 200,
             "norm_utts": 200,
             "max_seconds": None,    # cap on a training crop even when segment is null (memory)
             "channel": None,        # multi-channel files: None refuses, an index or 'mean'
             "skip_bad": False},     # leave out files the scan finds unusable (else an error)
    # one optimiser per name a method declares (se, d, q); `se` is the default for all
    "optim": {"__free__": True, "se": {"__free__": True, "type": "adam", "lr": 1.0e-3}},
    "scheduler": {"kind": "constant", "factor": 0.5, "patience": 5, "min_lr": 0.0,
                  "step_size": 1000, "gamma": 0.5, "warmup": 0},
    "train": {"epochs": 10, "max_steps": None, "accum_grad": 1, "grad_clip": 5.0, "amp": True,
              "log_every": 10, "valid_every": None, "checkpoint_every": 100,
              "keep_checkpoints": 2, "early_stop_patience": None, "best_by": "valid_loss",
              "best_mode": "min", "average_nbest": 1, "valid_metrics": "",
              "valid_metric_utts": 8},
}


def _best_by(value):
    if value == "valid_loss" or (value.startswith("metric:") and len(value) > 7):
        return None
    return "expected valid_loss or metric:NAME"


#: value rules (sebench.config): checked with the types before anything is built or read
CHECKS = {
    "seed": NON_NEGATIVE, "data.segment": OPTIONAL_SECONDS, "data.batch_size": COUNT,
    "data.num_workers": NON_NEGATIVE, "data.bucket_batches": COUNT,
    "data.valid_segment": OPTIONAL_SECONDS, "data.valid_batch_size": COUNT,
    "data.valid_max_utts": OPTIONAL_STEPS, "data.norm_utts": COUNT,
    "data.max_seconds": OPTIONAL_SECONDS, "data.channel": CHANNEL, "loss.beta": NON_NEGATIVE,
    "optim.se.lr": NON_NEGATIVE, "scheduler.factor": Range(0, 1, lo_open=True, hi_open=True),
    "scheduler.patience": NON_NEGATIVE, "scheduler.min_lr": NON_NEGATIVE,
    "scheduler.step_size": COUNT, "scheduler.gamma": Range(0, lo_open=True),
    "scheduler.warmup": NON_NEGATIVE, "train.epochs": NON_NEGATIVE,
    "train.max_steps": OPTIONAL_STEPS, "train.accum_grad": COUNT,
    "train.grad_clip": Range(0, none=True), "train.log_every": COUNT,
    "train.valid_every": OPTIONAL_STEPS, "train.checkpoint_every": Range(0, none=True),
    "train.keep_checkpoints": COUNT, "train.early_stop_patience": OPTIONAL_STEPS,
    "train.best_by": _best_by, "train.best_mode": OneOf("min", "max"),
    "train.average_nbest": COUNT, "train.valid_metric_utts": COUNT,
}


def check_schedule(cfg):
    """Cross-checks the per-key rules cannot express."""
    if not cfg["train"]["epochs"] and not cfg["train"]["max_steps"]:
        raise ConfigError("option train.epochs: 0 needs train.max_steps (training would never end)")


def build_parser(prog):
    p = make_parser(prog, "Train an SE model (or a method's set of models) on the shared trainer: "
                          "checkpoints every N steps, exact resume after a kill (rerun the same "
                          "command), validation loss and background metrics, best/n-best "
                          "checkpoints, CSV and TensorBoard logs. The experiment dir ends with "
                          "model/ for `sebench enhance`. Every data file is read once before the "
                          "first step (cached): NaN/inf, truncated, wrong-rate or multi-channel "
                          "files are an error naming them (--data.skip_bad true leaves them out; "
                          "--data.channel N|mean reads multi-channel files).", EXAMPLE)
    p.add_argument("--method", help="training method (supervised, ...)")
    p.add_argument("--train", required=True, help="training data dir")
    p.add_argument("--valid", help="validation data dir")
    p.add_argument("--model-config", help="model YAML (conf/models/*.yaml), merged into `model:`")
    p.add_argument("--exp", required=True, help="experiment dir")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--ngpu", type=bounded(int, 1), default=1,
                   help="processes (GPUs) for DDP via torchrun; "
                                                       "on a CPU-only machine gloo processes")
    p.add_argument("--force", action="store_true", help="retrain even if the experiment finished")
    add_config_options(p)
    return p


def run(args, rest):
    from sebench import config as cfgmod

    flags = [("method", "method"), ("seed", "seed")]
    cfg = resolve_config(DEFAULTS, args, rest, flags, CHECKS)   # bad values fail before torchrun
    check_schedule(cfg)
    if args.ngpu > 1 and "WORLD_SIZE" not in os.environ:
        import subprocess
        from sebench.train.distributed import torchrun_argv
        argv = [a for a in sys.argv[1:] if a != "--debug"]
        i = argv.index("--ngpu")
        argv = argv[:i] + argv[i + 2:]
        return subprocess.call(torchrun_argv(args.ngpu, argv + ["--ngpu", "1"]))
    if args.model_config:
        cfg["model"] = cfgmod.merge(cfgmod.load_yaml(args.model_config), cfg["model"], strict=False)
    if not cfg["model"].get("name"):
        raise ConfigError("no model: give --model-config conf/models/NAME.yaml or `model:` in --config")
    return train_experiment(cfg, args.exp, args.train, args.valid, args.device, args.force)


def train_experiment(cfg, exp, train_dir, valid_dir, device=None, force=False):
    """Run (or resume, or skip when finished) one experiment; shared by train and train-qp."""
    from sebench import config as cfgmod
    from sebench.utils.fileio import atomic_write_text
    from sebench.utils.log import get_logger

    log = get_logger("sebench.train")
    main_rank = int(os.environ.get("RANK", "0")) == 0
    done = os.path.join(exp, ".done")
    if os.path.isfile(done) and not force:
        log.info("%s already finished (model in %s/model); --force retrains", exp, exp)
        return 0
    if force and os.path.isdir(exp) and main_rank:
        import shutil
        shutil.rmtree(exp)
    import torch
    from sebench.train.trainer import Trainer
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))))
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(exp, exist_ok=True)
    if main_rank:
        cfgmod.save_config(cfg, os.path.join(exp, "config.yaml"), command=command_line())
    if cfg["method"] in ("deepdream", "gan", "semi") and cfg["train"]["best_by"] == "valid_loss":
        log.warning("%s: best checkpoint chosen by the teacher's own loss, which the SE model "
                    "learns to fool; set train.best_by metric:dnsmos_ovrl (with "
                    "train.valid_metrics dnsmos)", cfg["method"])
    state = Trainer(cfg, exp, train_dir, valid_dir, device).run()
    if main_rank:
        atomic_write_text(done, f"step {state['step']}\n")
        log.info("finished at step %d (epoch %d); best %s at step %s", state["step"],
                 state["epoch"], state["best"], state["best_step"])
    return 0
