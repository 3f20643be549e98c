"""DDP context from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK).

``sebench train --ngpu N`` relaunches itself through ``torch.distributed.run``; NCCL on GPUs,
gloo on CPU (tests run 2 CPU processes). Only rank 0 writes logs and checkpoints.
"""
import os

import torch
import torch.distributed as dist


class DistContext:
    def __init__(self):
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world_size > 1
        # NCCL collectives run on each rank's own GPU (tensors and broadcast_object_list)
        self.device = torch.device("cpu")
        if self.enabled and torch.cuda.is_available():
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        if self.enabled and not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")

    @property
    def is_main(self):
        return self.rank == 0

    def barrier(self):
        if self.enabled:
            dist.barrier()

    def broadcast_flag(self, flag):
        """Rank 0's boolean decision, shared with every rank."""
        if not self.enabled:
            return flag
        t = torch.tensor([1 if flag else 0], device=self.device)
        dist.broadcast(t, 0)
        return bool(t.item())

    def broadcast_object(self, obj):
        """Rank 0's picklable object (e.g. validation values), shared with every rank."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, 0)
        return box[0]

    def average_grads(self, params):
        """All-reduce-average the gradients of ``params`` (missing ones count as zero)."""
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad)
            p.grad.div_(self.world_size)

    def close(self):
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def without_option(argv, name):
    """``argv`` without ``name VALUE`` / ``name=VALUE`` (every occurrence)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + "="):
            out.append(arg)
    return out


def torchrun_argv(nproc, argv):
    """Re-run this ``sebench`` command line as ``nproc`` DDP processes (each with --ngpu 1)."""
    import sys
    argv = without_option([a for a in argv if a != "--debug"], "--ngpu") + ["--ngpu", "1"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={int(nproc)}", "-m", "sebench.cli.main"] + argv
