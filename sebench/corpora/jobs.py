"""Sharded corpus scans: ``sebench prepare <corpus> --nj N --cmd run.pl`` for the corpora
that declare ``SHARDED = True`` (a million-file tree listed folder by folder).

The corpus splits its tree into items (e.g. speaker folders, in sorted order) and turns each
into one JSON row; :func:`scan` makes the rows in-process (``--nj 1``) or re-invokes
``sebench prepare`` once per shard through the job runner (:mod:`sebench.jobs.shards`), the
shard jobs writing their items' rows. The rows come back in item order, read from files as
they are consumed, so whatever ``--nj`` the parent writes the same data dirs.
"""
import os
from dataclasses import dataclass


@dataclass
class ShardJobs:
    """How a sharded corpus scan runs: ``nj`` jobs through ``cmd``, re-invoking ``command``
    (``sebench prepare ...`` reading ``workdir/config.yaml``); ``shard``/``rows_out`` are set
    inside a shard job."""
    nj: int = 1
    cmd: str = "run.pl"
    command: list = None
    workdir: str = None
    cfg: dict = None               # the resolved corpus config, saved for the jobs to re-read
    shard: str = None
    rows_out: str = None

    @property
    def config_path(self):
        return os.path.join(self.workdir, "config.yaml")


def shard_jobs(name, root, out, cfg, prefix, probe, nj, cmd, shard=None, rows_out=None):
    """The :class:`ShardJobs` of ``sebench prepare NAME`` (work files under
    ``OUT/split_<prefix><name>/``)."""
    from sebench.jobs import sebench_argv
    jobs = ShardJobs(int(nj or 1), cmd or "run.pl", None,
                     os.path.join(os.path.abspath(out), f"split_{prefix}{name}"), cfg, shard,
                     rows_out)
    jobs.command = sebench_argv() + [
        "prepare", name, "--root", os.path.abspath(str(root)), "--out", os.path.abspath(out),
        "--prefix", prefix, "--durations", str(bool(probe)).lower(), "--config", jobs.config_path]
    return jobs


def scan(make_row, num_items, jobs, desc):
    """Rows ``make_row(0..num_items-1)`` in item order (re-iterable, streamed from files), or
    None inside a shard job, which writes its share."""
    from sebench.jobs.shards import generate
    jobs = jobs or ShardJobs()
    if not num_items:
        return []
    if jobs.workdir is None:        # called from Python without a job setup: in-process
        return [make_row(i) for i in range(num_items)]
    if jobs.nj > 1 and not jobs.shard:
        from sebench.config import save_config
        save_config(jobs.cfg, jobs.config_path)      # what every shard job re-reads
    return generate(make_row, num_items, jobs, jobs.nj, jobs.cmd, jobs.workdir, jobs.command,
                    "prepare", desc, stream=True)
