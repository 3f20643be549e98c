"""utils/slurm.pl against a real one-node Slurm started by utils/slurm_localhost.sh.

The cluster is started once for the module (installing slurm-wlm and munge with apt when
they are missing: root and a reachable Debian mirror, which CI has). The tests skip, saying
why, only where it cannot be started (not root, no apt); SEBENCH_REAL_SLURM=0 skips them
on purpose. Any other failure to start is a test error, never a skip.
"""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import REPO
from sebench.jobs.runner import read_footer

SCRIPT = REPO / "utils" / "slurm_localhost.sh"
SLURM_PL = REPO / "utils" / "slurm.pl"

pytestmark = [pytest.mark.slow, pytest.mark.slurm,
              # test bodies only: the first setup may install slurm-wlm with apt
              pytest.mark.timeout(90, func_only=True)]


class Cluster:
    def __init__(self, folder):
        self.folder = folder
        self.admin_env = dict(os.environ, SEBENCH_SLURM_DIR=str(folder), SEBENCH_SLURM_CPUS="8")
        self.env = dict(os.environ, SLURM_CONF=str(folder / "slurm.conf"),
                        SEBENCH_POLL_INTERVAL="0.3")
        self.timed_out = None  # the runner of the time-limit case, started early

    def slurm_pl(self, *args, cwd):
        return subprocess.run([str(SLURM_PL), *map(str, args)], cwd=cwd, env=self.env,
                              capture_output=True, text=True, timeout=80)

    def admin(self, command, timeout=60):
        return subprocess.run([str(SCRIPT), command], env=self.admin_env, capture_output=True,
                              text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The running cluster. It also submits, at once, the one slow case: a task killed at
    its time limit (Slurm counts limits in minutes and checks them every 30 s), so that its
    60-90 s overlap the other tests; test_time_limit_kill_reports_slurm_state reads it."""
    if os.environ.get("SEBENCH_REAL_SLURM") == "0":
        pytest.skip("SEBENCH_REAL_SLURM=0")
    cluster = Cluster(tmp_path_factory.mktemp("slurm"))
    started = cluster.admin("start", timeout=420)
    if started.returncode == 3:
        pytest.skip(started.stderr.strip().splitlines()[-1])
    assert started.returncode == 0, f"slurm_localhost.sh start failed:\n{started.stderr}"
    work = tmp_path_factory.mktemp("timelimit")
    cluster.timed_out = (work, subprocess.Popen(
        [str(SLURM_PL), "--time", "1", "JOB=1:2", "log/t.JOB.log",
         "echo start JOB; [ JOB -eq 1 ] || exec sleep 300"],
        cwd=work, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    yield cluster
    if cluster.timed_out[1].poll() is None:
        cluster.timed_out[1].terminate()
        cluster.timed_out[1].communicate(timeout=30)
    pids = [line.split()[2] for line in cluster.admin("status").stdout.splitlines()
            if line.startswith("daemon ")]
    stopped = cluster.admin("stop")
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.time() + 5
    while [pid for pid in pids if alive(pid)] and time.time() < deadline:
        time.sleep(0.1)
    assert pids and not [pid for pid in pids if alive(pid)]


def alive(pid):
    """A running process (a zombie waiting for init to reap it holds nothing any more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_status_names_the_daemons_and_the_idle_node(cluster):
    out = cluster.admin("status")
    assert out.returncode == 0, out.stdout + out.stderr
    names = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("daemon ")]
    assert names == ["munged", "slurmctld", "slurmd"]
    assert re.search(r"^localhost (idle|mix) 8 4000$", out.stdout, re.M), out.stdout


def test_array_round_trip_failure_and_pick_failed(cluster, tmp_path):
    t0 = time.time()
    out = cluster.slurm_pl("JOB=1:4", "log/ok.JOB.log",
                           "echo task JOB on $SLURM_CLUSTER_NAME $SLURM_ARRAY_TASK_ID",
                           cwd=tmp_path)
    round_trip = time.time() - t0
    assert out.returncode == 0, out.stderr
    assert re.search(r"submitted job (\d+) \(4 task", out.stderr)
    for i in range(1, 5):
        assert f"task {i} on sebench {i}\n" in (tmp_path / f"log/ok.{i}.log").read_text()
        assert read_footer(tmp_path / f"log/ok.{i}.log") == 0
    assert round_trip < 30, f"a 4-task array took {round_trip:.1f} s"

    # JOB inside a quoted argument; task 3 fails until the file 'fixed' exists
    command = ["bash", "-c", "echo task JOB; [ JOB -ne 3 ] || [ -e fixed ]"]
    out = cluster.slurm_pl("JOB=1:4", "log/f.JOB.log", *command, cwd=tmp_path)
    assert out.returncode == 1
    assert "1 / 4 job(s) failed" in out.stderr
    assert "job 3 failed (code 1, slurm state FAILED, exit 1:0)" in out.stderr
    assert "    | task 3\n" in out.stderr  # the failed task's log tail
    for i in (1, 2, 4):
        assert read_footer(tmp_path / f"log/f.{i}.log") == 0
    assert read_footer(tmp_path / "log/f.3.log") == 1
    before = {i: (tmp_path / f"log/f.{i}.log").read_text() for i in (1, 2, 4)}
    (tmp_path / "fixed").touch()
    out = cluster.slurm_pl("--pick", "failed", "JOB=1:4", "log/f.JOB.log", *command, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "(1 task(s))" in out.stderr
    assert "--array=3-3 " in (tmp_path / "log/q/f.submit.log").read_text()
    assert read_footer(tmp_path / "log/f.3.log") == 0
    assert before == {i: (tmp_path / f"log/f.{i}.log").read_text() for i in (1, 2, 4)}


def test_paths_with_spaces(cluster, tmp_path):
    (tmp_path / "a dir").mkdir()
    for i in (1, 2):
        (tmp_path / "a dir" / f"f.{i}").write_text(f"content {i}\n")
    out = cluster.slurm_pl("JOB=1:2", "log dir/c.JOB.log", "cat", "a dir/f.JOB", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for i in (1, 2):
        assert f"\ncontent {i}\n" in (tmp_path / f"log dir/c.{i}.log").read_text()


def test_max_jobs_run_mem_num_threads_time(cluster, tmp_path):
    # each task records its span and what Slurm granted it
    command = ("date +%s.%N > span.JOB; echo threads=$OMP_NUM_THREADS; "
               "scontrol -o show job $SLURM_JOB_ID; sleep 1.5; date +%s.%N >> span.JOB")
    out = cluster.slurm_pl("--max-jobs-run", "2", "--mem", "300M", "--num-threads", "2",
                           "--time", "5", "JOB=1:4", "log/o.JOB.log", command, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for i in range(1, 5):
        log = (tmp_path / f"log/o.{i}.log").read_text()
        assert "threads=2\n" in log
        # --mem is per job (MinMemoryNode), not per CPU: 300M whatever --num-threads
        assert "MinMemoryNode=300M" in log and "NumCPUs=2" in log and "TimeLimit=00:05:00" in log
    spans = [tuple(map(float, (tmp_path / f"span.{i}").read_text().split())) for i in range(1, 5)]
    at_once = max(sum(a <= t < b for a, b in spans) for t, _ in spans)
    assert at_once == 2, spans  # 8 CPUs would fit 4 tasks of 2 threads: the limit held them


def test_impossible_request_refused_and_max_array_size(cluster, tmp_path):
    # EnforcePartLimits=ALL: refused at once, not pending forever
    out = cluster.slurm_pl("--mem", "100G", "JOB=1:2", "log/m.JOB.log", "true", cwd=tmp_path)
    assert out.returncode == 1 and "submission failed" in out.stderr
    assert "sbatch: error:" in out.stderr
    out = cluster.slurm_pl("JOB=1000:1001", "log/a.JOB.log", "true", cwd=tmp_path)
    assert out.returncode == 1
    assert "job index 1001 is beyond this cluster's MaxArraySize (1001" in out.stderr


def test_term_to_the_runner_cancels_the_job(cluster, tmp_path):
    proc = subprocess.Popen([str(SLURM_PL), "JOB=1:2", "log/c.JOB.log", "exec sleep 120"],
                            cwd=tmp_path, env=cluster.env, stderr=subprocess.PIPE, text=True)
    logs = [tmp_path / f"log/c.{i}.log" for i in (1, 2)]
    deadline = time.time() + 30
    while not all(log.exists() for log in logs):
        assert time.time() < deadline and proc.poll() is None, "the tasks did not start"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    job_id = re.search(r"cancelled job (\d+)", err).group(1)
    deadline = time.time() + 20
    while subprocess.run(["squeue", "-h", "-j", job_id], env=cluster.env, capture_output=True,
                         text=True).stdout.strip():
        assert time.time() < deadline, "the job is still queued"
        time.sleep(0.3)
    deadline = time.time() + 10  # the tasks got SIGTERM and wrote their footers
    while not all(read_footer(log) is not None for log in logs):
        assert time.time() < deadline, [log.read_text() for log in logs]
        time.sleep(0.2)
    assert all(read_footer(log) == 143 for log in logs)


@pytest.mark.timeout(150, func_only=True)
def test_time_limit_kill_reports_slurm_state(cluster):
    work, proc = cluster.timed_out
    _, err = proc.communicate(timeout=140)
    assert proc.returncode == 1, err
    assert "1 / 2 job(s) failed" in err
    assert re.search(r"job 2 failed \(code 143, slurm state TIMEOUT, exit \d+:\d+, "
                     r"reason TimeLimit\)", err), err
    assert read_footer(work / "log/t.1.log") == 0
