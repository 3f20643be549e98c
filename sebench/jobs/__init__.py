"""Sharding work through the Kaldi-style runners, for commands and recipes.

A command with ``--nj J --cmd RUNNER`` splits its input data dir into J shards, runs
itself once per shard through the runner (``run.pl`` locally, ``slurm.pl``/``queue.pl``
on a cluster), then merges the shard outputs. The runner prints failed jobs' log tails.
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from sebench.data.datadir import read_kv, write_kv
from sebench.errors import SebenchError

UTILS_DIR = Path(__file__).resolve().parents[2] / "utils"
#: the variables that cap BLAS/OpenMP threads
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def resolve_runner(cmd):
    """``'run.pl --mem 2G'`` -> argv; the runner is looked up on PATH, then in sebench's utils/."""
    words = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    if not words:
        raise SebenchError("--cmd is empty (use run.pl, slurm.pl or queue.pl)")
    exe = words[0]
    if os.sep not in exe:
        found = shutil.which(exe) or (str(UTILS_DIR / exe) if (UTILS_DIR / exe).is_file() else None)
        if not found:
            raise SebenchError(f"--cmd: runner {exe!r} not found on PATH or in {UTILS_DIR}")
        words[0] = found
    elif not os.path.isfile(exe):
        raise SebenchError(f"--cmd: runner {exe!r} not found")
    return words


def single_thread_math():
    """One BLAS/OpenMP thread in this process, as in every job of a sharded run, so that
    ``--nj 1`` computes exactly what ``--nj J`` does (threaded BLAS may round differently)
    and parallelism comes from jobs. Effective only before numpy loads its BLAS; afterwards
    threadpoolctl is used when installed."""
    import sys
    if "numpy" not in sys.modules:
        for var in THREAD_VARS:
            os.environ.setdefault(var, "1")
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def sebench_argv():
    """How a job re-invokes sebench with this same interpreter (no PATH assumptions)."""
    return [sys.executable, "-m", "sebench.cli.main"]


def run_jobs(cmd, num_jobs, log_pattern, command, extra_options=()):
    """Run ``command`` (a list of words containing ``JOB``) as jobs 1..num_jobs.

    Raises SebenchError naming the logs when any job failed; the runner itself has
    already printed the failing logs' tails on stderr.
    """
    argv = resolve_runner(cmd) + list(extra_options) + [f"JOB=1:{num_jobs}", str(log_pattern)]
    argv += [str(w) for w in command]
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.setdefault(var, "1")  # one thread per job: J jobs share the cores, not J x cores
    proc = subprocess.run(argv, env=env)
    if proc.returncode != 0:
        raise SebenchError(f"job(s) failed; see {log_pattern} "
                           "(re-run with the runner's --pick failed)")


def merge_kv_files(paths, out):
    """Concatenate ``key value`` shard files into one sorted file; duplicate keys are an error."""
    merged = {}
    for path in paths:
        for key, value in read_kv(path).items():
            if key in merged:
                raise SebenchError(f"{path}: key {key!r} appears in more than one shard")
            merged[key] = value
    write_kv(out, merged)
    return merged
