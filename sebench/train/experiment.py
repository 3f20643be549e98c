"""One experiment dir: run, resume, or skip a finished training (`sebench train`, `train-qp`)."""
import contextlib
import os
import shutil

from sebench import config as cfgmod
from sebench.utils.fileio import atomic_write_text
from sebench.utils.log import get_logger

log = get_logger("sebench.train")


def train_experiment(cfg, exp, train_dirs, valid_dir, device=None, force=False, command=None):
    """Train (or resume after a kill, or skip when ``exp/.done`` exists unless ``force``);
    writes the resolved config (with ``command``) beside the results. Returns 0.

    The experiment dir is locked for the whole run (one training into it at a time), and a
    resume whose config differs from the checkpoint's stops before anything is written."""
    import torch

    from sebench.train.lock import LOCK_NAME, experiment_lock
    from sebench.train.trainer import Trainer

    main_rank = int(os.environ.get("RANK", "0")) == 0
    done = os.path.join(exp, ".done")
    if os.path.isfile(done) and not force:
        log.info("%s already finished (model in %s/model); --force retrains", exp, exp)
        return 0
    # every DDP rank shares rank 0's lock: a second lock from the same run would block it
    with experiment_lock(exp) if main_rank else contextlib.nullcontext():
        if force and main_rank:
            for name in os.listdir(exp):
                if name != LOCK_NAME:
                    path = os.path.join(exp, name)
                    shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) \
                        else os.remove(path)
        elif not force:
            _check_resumable(cfg, exp)
        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS",
                                                        torch.get_num_threads()))))
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        os.makedirs(exp, exist_ok=True)
        trainer = Trainer(cfg, exp, train_dirs, valid_dir, device)
        if main_rank:       # once the config has passed the trainer's checks: it is used
            cfgmod.save_config(cfg, os.path.join(exp, "config.yaml"), command=command)
        state = trainer.run()
        if main_rank:
            atomic_write_text(done, f"step {state['step']}\n")
            log.info("finished at step %d (epoch %d); best %s at step %s", state["step"],
                     state["epoch"], state["best"], state["best_step"])
    return 0


def _check_resumable(cfg, exp):
    """A checkpoint to resume must have been trained with this config (neutral keys aside)."""
    from sebench.train import checkpoint as ckpt
    from sebench.train.config_change import check_resume_config
    latest = os.path.join(exp, "checkpoints", "latest.pt")
    if os.path.isfile(latest):
        check_resume_config(ckpt.load_config(latest), cfgmod.strip_private(cfg), latest)
