"""Index-range sharding for commands that generate items 0..N-1 (rir, simulate, synth-corpus).

Each item draws from its own seeded generator, so any split of the index range gives the
same items. A command runs in-process for ``--nj 1``; otherwise it re-invokes itself once per
shard through the runner with the hidden ``--shard J/NJ --rows-out FILE`` options, each job
writes its items' audio and one JSON line per item, and the parent merges the rows.
"""
import json
import os

from sebench.errors import ConfigError, SebenchError
from sebench.utils.fileio import atomic_path


def shard_range(num_items, shard, num_shards):
    """Indices of shard ``shard`` (1-based) out of ``num_shards`` over ``num_items`` items."""
    if not 1 <= shard <= num_shards:
        raise ConfigError(f"shard {shard} is outside 1..{num_shards}")
    return range((shard - 1) * num_items // num_shards, shard * num_items // num_shards)


def balanced_shards(weights, num_shards):
    """Split item indices into ``num_shards`` groups of near-equal total weight (longest
    first, each to the lightest group); each group keeps the items' original order."""
    import heapq

    order = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
    loads = [(0.0, shard) for shard in range(num_shards)]
    groups = [[] for _ in range(num_shards)]
    for i in order:
        load, shard = heapq.heappop(loads)
        groups[shard].append(i)
        heapq.heappush(loads, (load + weights[i], shard))
    return [sorted(group) for group in groups]


def parse_shard(text):
    """``'3/8'`` -> (3, 8)."""
    try:
        shard, total = (int(v) for v in str(text).split("/"))
    except ValueError as e:
        raise ConfigError(f"--shard wants J/NJ, got {text!r}") from e
    return shard, total


def write_rows(path, rows, sync=False):
    """One JSON line per row, as the rows come; with ``sync``, the file system is flushed
    before the file appears (its items' audio skipped their own fsyncs)."""
    from sebench.utils.fileio import sync_filesystem
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True) + "\n")
        if sync:
            f.flush()
            sync_filesystem(path)


class RowFiles:
    """Rows from JSON-lines files, read again on each iteration (not held in memory)."""

    def __init__(self, paths):
        self.paths = list(paths)
        for path in self.paths:
            if not os.path.isfile(path):
                raise SebenchError(f"{path}: shard output missing (did the job die?)")

    def __iter__(self):
        for path in self.paths:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        yield json.loads(line)


def run_shards(cmd, num_jobs, workdir, command, log_name, stream=False):
    """Run ``command + [--shard JOB/NJ --rows-out ...]`` as jobs and return the merged rows
    (a ``RowFiles`` with ``stream``)."""
    from sebench.jobs import run_jobs
    os.makedirs(workdir, exist_ok=True)
    rows_pattern = os.path.join(workdir, "rows.JOB.jsonl")
    command = list(command) + ["--shard", f"JOB/{num_jobs}", "--rows-out", rows_pattern]
    log_pattern = os.path.join(workdir, "log", f"{log_name}.JOB.log")
    try:
        run_jobs(cmd, num_jobs, log_pattern, command)
    except SebenchError as e:
        write_error = logged_write_error(log_pattern, num_jobs)
        if write_error:    # a full or read-only disk: say so, not just "a job failed"
            raise SebenchError(f"{write_error} (in a job; {e})") from None
        raise
    rows = RowFiles(rows_pattern.replace("JOB", str(job)) for job in range(1, num_jobs + 1))
    return rows if stream else list(rows)


def logged_write_error(log_pattern, num_jobs):
    """The first ``cannot write PATH: <cause>`` a job logged (``JOB`` in ``log_pattern``
    stands for 1..num_jobs), or None."""
    marker = "error: cannot write "
    for job in range(1, num_jobs + 1):
        try:
            with open(log_pattern.replace("JOB", str(job)), encoding="utf-8",
                      errors="replace") as f:
                for line in f:
                    if marker in line:
                        return line[line.index(marker) + len("error: "):].strip()
        except OSError:
            continue
    return None


def add_job_options(parser):
    """--nj and --cmd, plus the hidden options a shard job is re-invoked with."""
    import argparse
    parser.add_argument("--nj", type=int, help="number of jobs")
    parser.add_argument("--cmd", help="job runner: run.pl, slurm.pl or queue.pl (with options)")
    parser.add_argument("--shard", help=argparse.SUPPRESS)
    parser.add_argument("--rows-out", help=argparse.SUPPRESS)


def generate(make_item, num_items, args, nj, cmd, workdir, command, log_name, desc,
             stream=False):
    """Produce items 0..num_items-1 with ``make_item(index) -> row`` in-process or sharded.

    Returns the rows in index order, or None inside a shard job (which writes its rows).
    With ``stream`` the rows go to JSON-lines files under ``workdir`` as they are made and
    come back as a re-iterable ``RowFiles``: memory stays flat in the number of items.
    Items may skip their fsyncs: the file system is synced once, before the rows are final.
    """
    from sebench.utils.fileio import sync_filesystem
    from sebench.utils.log import progress
    if getattr(args, "shard", None):
        shard, total = parse_shard(args.shard)
        write_rows(args.rows_out, (make_item(i) for i in progress(
            shard_range(num_items, shard, total), desc=desc)), sync=True)
        return None
    nj = max(1, min(int(nj), num_items))
    if nj > 1:
        return run_shards(cmd, nj, workdir, command, log_name, stream=stream)
    items = (make_item(i) for i in progress(range(num_items), desc=desc))
    if stream:
        path = os.path.join(workdir, "rows.jsonl")
        write_rows(path, items, sync=True)
        return RowFiles([path])
    rows = list(items)
    sync_filesystem(workdir)
    return rows
