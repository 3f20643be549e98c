"""``sebench train``: train an SE model with one of the registered training methods."""
import os
import sys

from sebench.cli.common import (add_config_options, bounded, command_line, make_parser,
                                resolve_config)

EXAMPLE = """\
sebench train --method supervised --train data/train --valid data/valid \\
    --model-config conf/models/cnn_blstm.yaml --optim.se.lr 1e-3 --exp exp/supervised_cnn_blstm
sebench train --config conf/train/supervised.yaml --train data/train --valid data/valid \\
    --exp exp/sup --train.max_steps 2000 --optim.se.lr 5e-4 --ngpu 2
sebench train --method METHOD --train paired=data/train --train unpaired=data/real_train ..."""


def build_parser(prog):
    p = make_parser(prog, "Train an SE model (or a method's set of models) on the shared trainer: "
                          "checkpoints every N steps, exact resume after a kill (rerun the same "
                          "command), validation loss and background metrics, best/n-best "
                          "checkpoints, CSV and TensorBoard logs. Each optimiser the method "
                          "declares needs optim.NAME (or optim.default). The experiment dir "
                          "ends with model/ (and model_NAME/ for further exports) for "
                          "`sebench enhance`. Every data file is read once before the "
                          "first step (cached): NaN/inf, truncated, wrong-rate or multi-channel "
                          "files are an error naming them (--data.skip_bad true leaves them out; "
                          "--data.channel N|mean reads multi-channel files).", EXAMPLE)
    p.add_argument("--method", help="training method (supervised, qp, deepdream, gan, "
                                    "robust_q, semi, ...)")
    p.add_argument("--train", required=True, action="append", metavar="[STREAM=]DIR",
                   help="training data dir, or an on-the-fly stream (a YAML file {clean, "
                        "noise, rir, config, epoch_size}, or a dir holding the stream.yaml "
                        "that `sebench simulate --onthefly` writes: items mixed as read); a "
                        "method with several data streams takes one STREAM=DIR per stream "
                        "(repeat the option)")
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
    from sebench.errors import ConfigError
    from sebench.train.config import CHECKS, DEFAULTS, check_schedule
    from sebench.train.experiment import train_experiment
    from sebench.train.methods import check_method_options

    def validate(cfg):
        check_schedule(cfg)
        check_method_options(cfg)

    flags = [("method", "method"), ("seed", "seed")]
    # bad values fail before torchrun, and before --print-config prints
    cfg = resolve_config(DEFAULTS, args, rest, flags, CHECKS, validate=validate)
    if args.ngpu > 1 and "WORLD_SIZE" not in os.environ:
        import subprocess
        from sebench.train.distributed import torchrun_argv
        return subprocess.call(torchrun_argv(args.ngpu, sys.argv[1:]))
    if args.model_config:
        cfg["model"] = cfgmod.merge(cfgmod.load_yaml(args.model_config), cfg["model"], strict=False)
    if not cfg["model"].get("name"):
        raise ConfigError("no model: give --model-config conf/models/NAME.yaml or `model:` in --config")
    return train_experiment(cfg, args.exp, args.train, args.valid, args.device, args.force,
                            command=command_line())
