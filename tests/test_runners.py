import os
import signal
import subprocess
import textwrap
import time

import pytest

from conftest import REPO
from sebench.jobs.runner import parse_args, read_footer
from sebench.jobs.scheduler import map_options, parse_conf

UTILS = REPO / "utils"
pytestmark = pytest.mark.timeout(60)  # a runner waiting on a job that never ends


def runner(name, *args, cwd, env=None):
    return subprocess.run([str(UTILS / name), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env)


def test_run_pl_array_with_failing_job_and_pick_failed(tmp_path):
    out = runner("run.pl", "JOB=1:4", "log/t.JOB.log", "echo task JOB; test JOB -ne 3",
                 cwd=tmp_path)
    assert out.returncode == 1
    assert "1 / 4 job(s) failed" in out.stderr
    assert "job 3 failed (code 1)" in out.stderr and "| task 3" in out.stderr
    for i in (1, 2, 4):
        log = (tmp_path / f"log/t.{i}.log").read_text()
        assert log.startswith("# echo task") and "# Started at" in log
        assert f"task {i}\n" in log and read_footer(tmp_path / f"log/t.{i}.log") == 0
    assert read_footer(tmp_path / "log/t.3.log") == 1
    before = (tmp_path / "log/t.1.log").read_text()
    # --pick failed re-runs job 3 only
    out = runner("run.pl", "--pick", "failed", "JOB=1:4", "log/t.JOB.log", "echo redo JOB",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "redo 3" in (tmp_path / "log/t.3.log").read_text()
    assert (tmp_path / "log/t.1.log").read_text() == before
    out = runner("run.pl", "--pick", "failed", "JOB=1:4", "log/t.JOB.log", "echo x", cwd=tmp_path)
    assert out.returncode == 0 and "nothing to do" in out.stderr


def test_run_pl_pick_incomplete_and_words(tmp_path):
    (tmp_path / "log").mkdir()
    (tmp_path / "log/w.2.log").write_text("# started but killed\n")
    out = runner("run.pl", "JOB=1:2", "log/w.JOB.log", "printf", "%s,", "a b", "JOB",
                 cwd=tmp_path)
    assert out.returncode == 0
    assert "a b,1," in (tmp_path / "log/w.1.log").read_text()
    (tmp_path / "log/w.2.log").write_text("# killed, no footer\n")
    out = runner("run.pl", "--pick", "incomplete", "JOB=1:2", "log/w.JOB.log", "echo again",
                 cwd=tmp_path)
    assert out.returncode == 0
    assert "again" in (tmp_path / "log/w.2.log").read_text()
    assert "again" not in (tmp_path / "log/w.1.log").read_text()


def test_run_pl_unquoted_pipe_word_is_shell_syntax(tmp_path):
    out = runner("run.pl", "JOB=1:1", "log/p.JOB.log", "echo", "abcJOB", "|", "tr", "a-z", "A-Z",
                 cwd=tmp_path)
    assert out.returncode == 0 and "ABC1" in (tmp_path / "log/p.1.log").read_text()


def test_run_pl_max_jobs_threads_and_errors(tmp_path):
    out = runner("run.pl", "--max-jobs-run", "1", "--num-threads", "3", "JOB=1:3",
                 "log/m.JOB.log", "echo $OMP_NUM_THREADS", cwd=tmp_path)
    assert out.returncode == 0
    assert "\n3\n" in (tmp_path / "log/m.2.log").read_text()
    out = runner("run.pl", "JOB=1:3", "log/m.log", "echo", cwd=tmp_path)
    assert out.returncode == 1 and "must contain JOB" in out.stderr
    out = runner("run.pl", "log/single.log", "echo", "one", cwd=tmp_path)
    assert out.returncode == 0 and "one" in (tmp_path / "log/single.log").read_text()
    out = runner("run.pl", "--help", cwd=tmp_path)
    assert out.returncode == 0 and "JOB=1:N" in out.stdout


STANDINS = {
    # sbatch: record the call, run the array tasks locally, print a job id
    "sbatch": r"""
        echo "sbatch $*" >> "$STANDIN_LOG"
        script="${@: -1}"; array=""
        for a in "$@"; do case $a in --array=*) array=${a#--array=};; esac; done
        spec=${array%%\%*}
        if [[ $spec == *-* ]]; then tasks=$(seq ${spec%-*} ${spec#*-}); else tasks=${spec//,/ }; fi
        for t in $tasks; do
          [ "$t" = "${STANDIN_SKIP_TASK:-}" ] && continue   # as if killed before its footer
          SLURM_ARRAY_TASK_ID=$t bash "$script" >/dev/null 2>&1
        done
        echo "4242"
    """,
    # squeue: the job is listed for the first two polls, then gone
    "squeue": r"""
        echo "squeue $*" >> "$STANDIN_LOG"
        n=$(grep -c '^squeue' "$STANDIN_LOG")
        [ "$n" -le 2 ] && echo "RUNNING|None"
        exit 0
    """,
    "sacct": r"""
        echo "sacct $*" >> "$STANDIN_LOG"
        echo "4242_${STANDIN_SKIP_TASK:-9}|OUT_OF_MEMORY|0:125"
    """,
    "scancel": 'echo "scancel $*" >> "$STANDIN_LOG"',
    "qsub": r"""
        echo "qsub $*" >> "$STANDIN_LOG"
        script="${@: -1}"; range=""
        while [ $# -gt 0 ]; do [ "$1" = -t ] && range=$2; shift; done
        for t in $(seq ${range%:*} ${range#*:}); do SGE_TASK_ID=$t bash "$script" >/dev/null 2>&1; done
        echo "777.1-3:1"
    """,
    "qstat": 'echo "qstat $*" >> "$STANDIN_LOG"; echo "Following jobs do not exist: $2" >&2; exit 1',
    # scontrol: MaxArraySize for `show config`; no finished jobs kept (so sacct is asked)
    "scontrol": r"""
        echo "scontrol $*" >> "$STANDIN_LOG"
        [ "$1 $2" = "show config" ] && echo "MaxArraySize            = ${STANDIN_MAX_ARRAY:-1001}" && exit 0
        echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1
    """,
}


@pytest.fixture
def standins(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in STANDINS.items():
        path = bindir / name
        path.write_text("#!/usr/bin/env bash\n" + textwrap.dedent(body))
        path.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}",
               STANDIN_LOG=str(tmp_path / "calls.log"), SEBENCH_POLL_INTERVAL="0.01")
    work = tmp_path / "work"
    work.mkdir()
    return work, env, tmp_path / "calls.log"


def test_slurm_pl_array_job_options_and_exit_codes(standins):
    work, env, calls = standins
    out = runner("slurm.pl", "--mem", "4G", "--gpu", "1", "--num-threads", "2", "--time",
                 "1:00:00", "--max-jobs-run", "2", "JOB=1:3", "log/s.JOB.log",
                 "echo slurm JOB; test JOB -ne 2", cwd=work, env=env)
    assert out.returncode == 1
    log = calls.read_text()
    sbatch = [line for line in log.splitlines() if line.startswith("sbatch")]
    assert len(sbatch) == 1  # one array job, not one submission per task
    for flag in ("--array=1-3%2", "--mem=4G", "--gres=gpu:1", "--cpus-per-task=2",
                 "--time=1:00:00", "--export=ALL"):
        assert flag in sbatch[0]
    assert log.count("squeue") >= 3  # waited until the job left the queue
    assert "job 2 failed (code 1)" in out.stderr and "| slurm 2" in out.stderr
    assert read_footer(work / "log/s.1.log") == 0 and read_footer(work / "log/s.3.log") == 0
    assert "slurm 3" in (work / "log/s.3.log").read_text()
    # re-run only the failed task: a list array
    calls.write_text("")
    out = runner("slurm.pl", "--pick", "failed", "JOB=1:3", "log/s.JOB.log", "echo ok JOB",
                 cwd=work, env=env)
    assert out.returncode == 0, out.stderr
    assert "--array=2-2" in calls.read_text()
    assert "ok 2" in (work / "log/s.2.log").read_text()


def test_slurm_pl_reports_killed_task_state(standins):
    work, env, _ = standins
    env = dict(env, STANDIN_SKIP_TASK="2")
    out = runner("slurm.pl", "JOB=1:2", "log/k.JOB.log", "echo hi", cwd=work, env=env)
    assert out.returncode == 1
    assert "job 2 failed (no exit code (killed?), slurm state OUT_OF_MEMORY" in out.stderr


def test_slurm_pl_unmapped_option_is_error(standins):
    work, env, _ = standins
    out = runner("slurm.pl", "--colour", "red", "JOB=1:2", "log/k.JOB.log", "echo", cwd=work,
                 env=env)
    assert out.returncode == 1 and "no rule for --colour red" in out.stderr


def test_queue_pl_array_job(standins):
    work, env, calls = standins
    out = runner("queue.pl", "--mem", "2G", "--max-jobs-run", "2", "JOB=1:3", "log/q.JOB.log",
                 "echo sge JOB", cwd=work, env=env)
    assert out.returncode == 0, out.stderr
    qsub = calls.read_text().splitlines()[0]
    assert "-t 1:3" in qsub and "-tc 2" in qsub and "mem_free=2G" in qsub
    assert all(read_footer(work / f"log/q.{i}.log") == 0 for i in (1, 2, 3))


def test_conf_parsing(tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text("command sbatch --x\noption mem=* --mem=$0\noption mem=0\n"
                    "option gpu=0\noption gpu=* --gres=gpu:$0\ndefault gpu=0\n")
    command, rules, defaults = parse_conf(conf)
    assert command == ["sbatch", "--x"] and defaults == {"gpu": "0"}
    assert map_options({"mem": "3G"}, rules, defaults, conf) == ["--mem=3G"]
    assert map_options({"mem": "0", "gpu": "2"}, rules, defaults, conf) == ["--gres=gpu:2"]


# --- the same JOB substitution in all three runners --------------------------------------

@pytest.mark.parametrize("name", ["run.pl", "slurm.pl", "queue.pl"])
def test_job_replaced_inside_quotes_and_paths_with_spaces(standins, name):
    work, env, _ = standins
    (work / "a dir").mkdir()
    for i in range(1, 5):
        (work / "a dir" / f"f.{i}").write_text(f"content {i}\n")
    out = runner(name, "JOB=1:4", "log/q.JOB.log", "bash", "-c", "echo task JOB; [ JOB -ne 3 ]",
                 cwd=work, env=env)
    assert out.returncode == 1
    assert "1 / 4 job(s) failed" in out.stderr and "job 3 failed (code 1" in out.stderr
    for i in range(1, 5):
        log = (work / f"log/q.{i}.log").read_text()
        assert log.startswith(f"# bash -c 'echo task {i}; [ {i} -ne 3 ]'\n"), log
        assert f"\ntask {i}\n" in log and "unary operator" not in log
        assert read_footer(work / f"log/q.{i}.log") == (1 if i == 3 else 0)
    out = runner(name, "JOB=1:4", "log dir/c.JOB.log", "cat", "a dir/f.JOB", cwd=work, env=env)
    assert out.returncode == 0, out.stderr
    for i in range(1, 5):
        log = (work / f"log dir/c.{i}.log").read_text()
        assert log.startswith(f"# cat 'a dir/f.{i}'\n") and f"\ncontent {i}\n" in log


# --- run.pl stops its jobs on HUP/INT/TERM ------------------------------------------------

@pytest.mark.timeout(30)
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGINT, signal.SIGTERM])
def test_run_pl_signal_stops_jobs_and_writes_footers(tmp_path, sig):
    proc = subprocess.Popen([str(UTILS / "run.pl"), "--max-jobs-run", "2", "JOB=1:3",
                             "log/s.JOB.log", "echo $$ > pid.JOB; exec sleep 60"],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    pids = [tmp_path / f"pid.{i}" for i in (1, 2)]
    deadline = time.time() + 10
    while not all(p.exists() and p.read_text().strip() for p in pids):
        assert time.time() < deadline, "the jobs did not start"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 128 + sig
    assert f"interrupted ({sig.name}); stopped the running jobs, 1 never started" in err
    for i, pidfile in enumerate(pids, 1):
        assert read_footer(tmp_path / f"log/s.{i}.log") == 128 + sig
        pid = int(pidfile.read_text())
        with pytest.raises(ProcessLookupError):  # the job is gone, not orphaned
            os.kill(pid, 0)
    assert not (tmp_path / "log/s.3.log").exists()
    out = runner("run.pl", "--pick", "failed", "JOB=1:3", "log/s.JOB.log", "echo again JOB",
                 cwd=tmp_path)
    assert out.returncode == 0
    assert all("again" in (tmp_path / f"log/s.{i}.log").read_text() for i in (1, 2, 3))


# --- scheduler queries: errors are not answers; states, reasons, limits -------------------

def write_standin(bindir, name, body):
    path = bindir / name
    path.write_text("#!/usr/bin/env bash\n" + textwrap.dedent(body))
    path.chmod(0o755)


def test_slurm_pl_keeps_polling_when_squeue_fails(standins):
    work, env, calls = standins
    # the controller restarts while the job runs: squeue fails twice, then lists it, then not
    write_standin(work.parent / "bin", "squeue", r"""
        echo "squeue $*" >> "$STANDIN_LOG"
        n=$(grep -c '^squeue' "$STANDIN_LOG")
        case $n in
          1|2) echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1 ;;
          3) echo "RUNNING|None" ;;
        esac
        exit 0
    """)
    out = runner("slurm.pl", "JOB=1:2", "log/p.JOB.log", "echo ok JOB", cwd=work, env=env)
    assert out.returncode == 0, out.stderr
    assert calls.read_text().count("squeue") == 4  # polled through the failures
    assert "cannot query job 4242" in out.stderr and "Unable to contact" in out.stderr
    assert "still waiting" in out.stderr
    # "Invalid job id" (the job already left the controller) is an answer: done
    write_standin(work.parent / "bin", "squeue", r"""
        echo "squeue $*" >> "$STANDIN_LOG"
        echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1
    """)
    calls.write_text("")
    out = runner("slurm.pl", "JOB=1:2", "log/p.JOB.log", "echo ok JOB", cwd=work, env=env)
    assert out.returncode == 0 and calls.read_text().count("squeue") == 1


def test_slurm_pl_reads_state_from_scontrol_first(standins):
    work, env, calls = standins
    write_standin(work.parent / "bin", "scontrol", r"""
        echo "scontrol $*" >> "$STANDIN_LOG"
        [ "$1" = show ] && exit 0
        echo "JobId=4243 ArrayJobId=4242 ArrayTaskId=1 JobState=COMPLETED Reason=None ExitCode=0:0"
        echo "JobId=4244 ArrayJobId=4242 ArrayTaskId=2 JobState=TIMEOUT Reason=TimeLimit" \
             "ExitCode=0:15"
    """)
    out = runner("slurm.pl", "JOB=1:2", "log/k.JOB.log", "echo hi",
                 cwd=work, env=dict(env, STANDIN_SKIP_TASK="2"))
    assert out.returncode == 1
    assert ("job 2 failed (no exit code (killed?), slurm state TIMEOUT, exit 0:15, "
            "reason TimeLimit)") in out.stderr
    assert "sacct" not in calls.read_text()


def test_slurm_pl_asks_sacct_again_until_it_knows(standins):
    work, env, calls = standins
    # accounting records the array tasks a moment after the job left the queue
    write_standin(work.parent / "bin", "sacct", r"""
        echo "sacct $*" >> "$STANDIN_LOG"
        [ "$(grep -c '^sacct' "$STANDIN_LOG")" -ge 2 ] && echo "4242_2|OUT_OF_MEMORY|0:125"
        exit 0
    """)
    from sebench.jobs.scheduler import Slurm
    env_backup = dict(os.environ)
    os.environ.update(PATH=env["PATH"], STANDIN_LOG=env["STANDIN_LOG"])
    try:
        states = Slurm().task_states("4242", [2], wait=0.01)
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    assert states == {2: "slurm state OUT_OF_MEMORY, exit 0:125"}
    assert calls.read_text().count("sacct") == 2


def test_slurm_pl_refuses_arrays_beyond_max_array_size(standins):
    work, env, calls = standins
    out = runner("slurm.pl", "JOB=1:6", "log/a.JOB.log", "echo", cwd=work,
                 env=dict(env, STANDIN_MAX_ARRAY="5"))
    assert out.returncode == 1
    assert "job index 6 is beyond this cluster's MaxArraySize (5: indices up to 4)" in out.stderr
    assert "sbatch" not in calls.read_text()


def test_scheduler_wait_reports_pending_reason(monkeypatch, capsys):
    from sebench.jobs import scheduler
    monkeypatch.setenv("SEBENCH_POLL_INTERVAL", "0.015")
    spec = parse_args(["JOB=1:2", "l.JOB.log", "true"], "slurm.pl")
    slurm = scheduler.Slurm()
    for notice, said in ((100.0, False), (0.02, True)):  # a short wait is not worth a word
        answers = [scheduler.Poll(pending=["Resources"])] * 3 + [scheduler.Poll(done=True)]
        monkeypatch.setattr(scheduler, "PENDING_NOTICE", notice)
        monkeypatch.setattr(slurm, "poll", lambda job_id: answers.pop(0))
        slurm.wait(spec, "77")
        err = capsys.readouterr().err
        assert ("job 77 has task(s) pending for" in err and "reason: Resources" in err) == said
