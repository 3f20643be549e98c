"""Kaldi-style job runners: the common contract and the local runner (``utils/run.pl``).

    RUNNER [--max-jobs-run N] [--mem 4G] [--gpu 1] [--num-threads T] [--time HH:MM:SS]
           [--pick all|failed|incomplete] [--config FILE] [JOB=1:N] LOG COMMAND ARGS...

``JOB`` in LOG and in the command becomes the job index. Every job log starts with a
header (command, host, start time) and ends with ``# Ended (code C) at DATE, elapsed S s``,
which is what ``--pick failed`` reads. The runner exits non-zero when any job failed and
prints the tail of each failed job's log, never just a count.
"""
import datetime
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

GENERIC_OPTIONS = ("max_jobs_run", "mem", "gpu", "num_threads", "time")
_FOOTER_RE = re.compile(r"^# Ended \(code (-?\d+)\)")
TAIL_LINES = 20
MAX_TAILS = 5
#: seconds a stopped job gets between SIGTERM and SIGKILL
KILL_GRACE = 5.0
#: closing the terminal, Ctrl-C, kill: the runner stops (or cancels) its jobs on each
STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


class RunnerError(Exception):
    pass


@dataclass
class JobSpec:
    runner: str
    options: dict = field(default_factory=dict)  # generic options, name -> value (strings)
    pick: str = "all"
    config: str = None
    var: str = None  # "JOB", or None for a single job
    start: int = 1
    end: int = 1
    log: str = ""
    words: list = field(default_factory=list)

    @property
    def indices(self):
        return list(range(self.start, self.end + 1))

    def substitute(self, text, index):
        if self.var is None:
            return text
        # Kaldi's rule: every occurrence is replaced, so name files data/splitN/JOB, x.JOB.log
        return text.replace(self.var, str(index))

    def log_of(self, index):
        return self.substitute(self.log, index)

    def command_of(self, index):
        return self.substitute(join_command(self.words), index)


USAGE = """usage: {runner} [options] [JOB=1:N] LOG COMMAND [ARGS...]
Runs COMMAND (JOB replaced by 1..N) with its output in LOG (JOB replaced too).
JOB is replaced as plain text everywhere in the command line, inside quotes too.
options:
  --max-jobs-run N      at most N jobs at once
  --mem SIZE            memory per job, whatever --num-threads (schedulers; run.pl ignores it)
  --gpu N               GPUs per job (schedulers; run.pl ignores it)
  --num-threads T       threads per job (sets OMP_NUM_THREADS/MKL_NUM_THREADS)
  --time HH:MM:SS       time limit per job (schedulers)
  --pick all|failed|incomplete
                        failed: re-run only jobs whose log has no footer or a non-zero code;
                        incomplete: only jobs whose log has no footer
  --config FILE         option mapping for schedulers (conf/slurm.conf, conf/queue.conf)
HUP, INT or TERM stops the jobs (run.pl) or cancels the array job (slurm.pl, queue.pl);
the jobs' logs get their footers, so --pick failed re-runs them.
environment:
  SEBENCH_POLL_INTERVAL longest wait in seconds between two scheduler queries (default 10;
                        the first comes after 0.5 s, then each wait is 1.5 times longer)
example:
  {runner} --max-jobs-run 4 JOB=1:8 exp/log/score.JOB.log sebench score --enh data/split8/JOB ...
"""


def parse_args(argv, runner):
    """Parse a Kaldi runner command line into a :class:`JobSpec`."""
    spec = JobSpec(runner=runner)
    args = list(argv)
    if not args or args[0] in ("-h", "--help"):
        raise RunnerError("usage")
    while args and args[0].startswith("--"):
        name = args.pop(0)[2:].replace("-", "_")
        if "=" in name:
            name, value = name.split("=", 1)
        elif args:
            value = args.pop(0)
        else:
            raise RunnerError(f"option --{name} needs a value")
        if name == "pick":
            if value not in ("all", "failed", "incomplete"):
                raise RunnerError(f"--pick must be all, failed or incomplete, got {value!r}")
            spec.pick = value
        elif name == "config":
            spec.config = value
        else:
            spec.options[name] = value
    if args:
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?$", args[0])
        if m:
            args.pop(0)
            spec.var = m.group(1)
            spec.start = int(m.group(2))
            spec.end = int(m.group(3) or m.group(2))
            if spec.start < 1 or spec.end < spec.start:
                raise RunnerError(f"bad job range {m.group(0)}: need 1 <= start <= end")
    if len(args) < 2:
        raise RunnerError("need a log file and a command")
    spec.log = args.pop(0)
    if spec.var and spec.end > spec.start and spec.var not in spec.log:
        raise RunnerError(f"the log file {spec.log!r} must contain {spec.var} for a job array "
                          f"(probably you forgot {spec.var} in the log name)")
    spec.words = args
    if "max_jobs_run" in spec.options:
        try:
            if int(spec.options["max_jobs_run"]) < 1:
                raise ValueError
        except ValueError:
            raise RunnerError(f"--max-jobs-run must be a positive integer, "
                              f"got {spec.options['max_jobs_run']!r}") from None
    return spec


def join_command(words):
    """Kaldi's convention: words without whitespace pass as-is (so ``\\|`` or ``'>'``
    work as shell syntax); words with whitespace are quoted as one argument. A command
    given as a single word is a shell command line (``run.pl log 'a && b'``)."""
    if len(words) == 1:
        return words[0]
    return " ".join(w if w and not re.search(r"\s", w) else shlex.quote(w) for w in words)


def read_footer(log):
    """Exit code recorded in a job log's footer, or None when the footer is missing."""
    try:
        with open(log, "rb") as f:
            f.seek(max(0, os.path.getsize(log) - 4096))
            tail = f.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(tail):
        m = _FOOTER_RE.match(line)
        if m:
            return int(m.group(1))
    return None


def select_jobs(spec):
    if spec.pick == "all":
        return spec.indices
    chosen = []
    for i in spec.indices:
        code = read_footer(spec.log_of(i))
        if code is None or (spec.pick == "failed" and code != 0):
            chosen.append(i)
    return chosen


def header(command):
    now = datetime.datetime.now().strftime("%a %b %d %H:%M:%S %Z %Y").replace("  ", " ")
    return f"# {command}\n# Started at {now} on {socket.gethostname()}\n"


def footer(code, elapsed, threads):
    now = datetime.datetime.now().strftime("%a %b %d %H:%M:%S %Y")
    return (f"# Accounting: time={elapsed:.0f} threads={threads}\n"
            f"# Ended (code {code}) at {now}, elapsed {elapsed:.1f} s\n")


def log_tail(log, lines=TAIL_LINES):
    try:
        with open(log, errors="replace") as f:
            content = f.read().splitlines()
    except OSError:
        return ["(log file missing)"]
    body = [line for line in content if not line.startswith("# Accounting")]
    return body[-lines:]


def say(message):
    """A line on stderr; a closed terminal (the runner got SIGHUP) must not stop the runner."""
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def report(spec, results, stream=sys.stderr, extra=None):
    """Print a summary of failed jobs with the tail of their logs; returns the exit code."""
    failed = [(i, c) for i, c in sorted(results.items()) if c != 0]
    if not failed:
        return 0
    stream.write(f"{spec.runner}: {len(failed)} / {len(results)} job(s) failed\n")
    for i, code in failed[:MAX_TAILS]:
        why = f"code {code}" if code is not None else "no exit code (killed?)"
        if extra and extra.get(i):
            why += f", {extra[i]}"
        stream.write(f"{spec.runner}: job {i} failed ({why}); log {spec.log_of(i)}, last lines:\n")
        for line in log_tail(spec.log_of(i)):
            stream.write(f"    | {line}\n")
    if len(failed) > MAX_TAILS:
        rest = ", ".join(str(i) for i, _ in failed[MAX_TAILS:])
        stream.write(f"{spec.runner}: also failed: jobs {rest}\n")
    stream.write(f"{spec.runner}: re-run only the failed jobs with --pick failed\n")
    return 1


def job_env(spec):
    env = dict(os.environ)
    threads = str(spec.options.get("num_threads", 1))
    # One thread per job unless asked otherwise: N jobs x M BLAS threads oversubscribes cores.
    from sebench.jobs import THREAD_VARS
    for var in THREAD_VARS:
        env[var] = threads
    return env


def run_local(spec):
    """Run the selected jobs on this machine, at most --max-jobs-run at once."""
    selected = select_jobs(spec)
    if not selected:
        say(f"{spec.runner}: nothing to do: no job matches --pick {spec.pick}")
        return 0
    max_jobs = int(spec.options.get("max_jobs_run", os.cpu_count() or 1))
    threads = spec.options.get("num_threads", 1)
    env = job_env(spec)
    pending, running, results = list(selected), {}, {}

    def start(i):
        log = spec.log_of(i)
        os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
        command = spec.command_of(i)
        fh = open(log, "w")
        fh.write(header(command))
        fh.flush()
        proc = subprocess.Popen(["bash", "-c", command], stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        running[i] = (proc, fh, time.time())

    def finish(i, code):
        proc, fh, t0 = running.pop(i)
        fh.write(footer(code, time.time() - t0, threads))
        fh.close()
        results[i] = code

    stop = []  # the signal that asked us to stop; the handler only records it, so a job is
    # never half-started when the stopping begins

    def stop_all(signum):
        # Kaldi's run.pl contract: jobs never outlive their runner, and every started job's
        # log ends with a footer (code 128 + signal), so --pick failed re-runs them
        for i in list(running):
            code = running[i][0].poll()
            if code is not None:  # ended by itself just now: its own code
                finish(i, code if code >= 0 else 128 - code)
        for i in running:
            try:
                os.killpg(running[i][0].pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + KILL_GRACE
        for i in list(running):
            proc = running[i][0]
            try:
                proc.wait(timeout=max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
            finish(i, 128 + signum)
        say(f"{spec.runner}: interrupted ({signal.Signals(signum).name}); stopped the running "
            f"jobs" + (f", {len(pending)} never started" if pending else ""))
        return 128 + signum

    old = {s: signal.signal(s, lambda signum, _frame: stop.append(signum)) for s in STOP_SIGNALS}
    try:
        while (pending or running) and not stop:
            while pending and len(running) < max_jobs and not stop:
                start(pending.pop(0))
            for i in list(running):
                code = running[i][0].poll()
                if code is not None:
                    finish(i, code if code >= 0 else 128 - code)
            if running and not stop:
                time.sleep(0.05)
        if stop:
            for s in STOP_SIGNALS:  # a second Ctrl-C must not interrupt the cleanup
                signal.signal(s, signal.SIG_IGN)
            return stop_all(stop[0])
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    return report(spec, results)
