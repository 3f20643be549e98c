"""Simulation benchmark (issue 16: simulation at DNS scale): x real time per core and memory.

Every figure is one core (OMP_NUM_THREADS=1, one job) on 3 s mixtures (`--segment 3`) drawn
from a synth-corpus set of 48 clean utterances and 18 noise files of 40 s (DNS noise files run
20-60 s):

- whole process: `sebench simulate` timed from spawn to exit, so start-up (imports, source
  lists) counts; audio seconds produced / wall seconds. Also start-up alone (`--num 1`).
- steady state: `Simulator.make` in one warm process (read sources, mix, write the audio).
- reverb: the whole process with every mixture reverberated (`--reverb-prob 1`, paper 002's
  rooms from `sebench rir`).
- peak RSS of `sebench simulate` (with RIRs, half reverberant) for two corpus sizes: flat
  means the sources are streamed.
- optionally (`--sections rir,synth`) RIR seconds per RIR and synth-corpus x real time.

`--roots OLD,NEW` times other checkouts of sebench too (each run with PYTHONPATH=ROOT),
alternating between them and keeping the best of `--repeat` runs, since a shared machine is
noisy; it prints one column per root.
Run: OMP_NUM_THREADS=1 .venv/bin/python bench/sim_bench.py [--roots /tmp/old,.] [--repeat 3]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["SEBENCH_NO_PROGRESS"] = "1"
REPO = Path(__file__).resolve().parents[1]
FS, SEGMENT = 16000, 3.0


def root_env(root):
    """Environment and working folder in which `python -m sebench...` imports ``root``'s
    sebench: PYTHONPATH, and a neutral cwd (python -m puts the cwd first on sys.path)."""
    env, cwd = dict(os.environ, PYTHONPATH=str(root)), tempfile.gettempdir()
    found = subprocess.run([sys.executable, "-c", "import sebench; print(sebench.__file__)"],
                           env=env, cwd=cwd, capture_output=True, text=True).stdout.strip()
    if not found.startswith(str(root)):
        sys.exit(f"--roots {root}: python imports sebench from {found or '?'} instead")
    return env, cwd


def run_sebench(root, args):
    """Run `sebench ARGS` from checkout ``root``; returns (wall seconds, peak RSS in MB)."""
    env, cwd = root_env(root)
    if "--out" in args:   # a fresh output dir each time, as in real use
        shutil.rmtree(args[args.index("--out") + 1], ignore_errors=True)
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "sebench.cli.main", *map(str, args)],
                                env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"sebench {' '.join(map(str, args))} failed:\n{err.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def simulate_args(corpus, out, num, *extra):
    return ["simulate", "--clean", corpus / "data" / "clean_train", "--noise",
            corpus / "data" / "noise_train", "--out", out, "--num", num, "--segment", SEGMENT,
            "--seed", 1, *extra]


def steady_state_worker(corpus, out, num):
    """In the current interpreter (PYTHONPATH chooses the checkout): x real time of make()."""
    from sebench.data.sources import audio_map, speaker_map
    from sebench.simulate.simulate import DEFAULTS, Simulator, Sources
    try:   # what `sebench simulate` does first, where the checkout has it
        from sebench.utils.malloc import reuse_freed_memory
        reuse_freed_memory()
    except ImportError:
        pass
    cfg = dict(DEFAULTS, num=num, seed=1, segment=SEGMENT)
    clean_dir = Path(corpus) / "data" / "clean_train"
    clean = audio_map(str(clean_dir), "clean")
    src = Sources(clean, speaker_map(str(clean_dir), clean),
                  audio_map(str(Path(corpus) / "data" / "noise_train"), "noise"), cfg=cfg)
    sim = Simulator(cfg, src, out)
    sim.make(0)  # warm-up: lazy imports and first-call costs are start-up, not steady state
    t0 = time.perf_counter()
    seconds = sum(sim.make(i)["num_samples"] for i in range(1, num + 1)) / FS
    print(json.dumps({"x_real_time": seconds / (time.perf_counter() - t0)}))


def steady_state(root, corpus, out, num):
    env, cwd = root_env(root)
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--steady-worker",
                           str(corpus), str(out), str(num)], env=env, cwd=cwd, check=True,
                          capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])["x_real_time"]


def best_of(repeat, roots, measure, higher_is_better=True):
    """Alternate the roots ``repeat`` times; the best figure per root."""
    results = {root: [] for root in roots}
    for _ in range(repeat):
        for root in roots:
            results[root].append(measure(root))
    pick = max if higher_is_better else min
    return [pick(results[root]) for root in roots]


def build_inputs(tmp):
    corpus = tmp / "corpus"
    run_sebench(REPO, ["synth-corpus", "--out", corpus, "--config", REPO / "conf/synth/tiny.yaml",
                       "--utts_per_speaker.train", 12, "--noise_seconds", 40,
                       "--noise_per_type.train", 2])
    run_sebench(REPO, ["rir", "--num", 20, "--out", tmp / "rirs", "--seed", 2])
    return corpus, tmp / "rirs"


def mixing_table(args, sections, roots, tmp, corpus, rirs):
    rows = []

    def whole(num, *extra):
        def measure(root):
            wall, _ = run_sebench(root, simulate_args(corpus, tmp / "out", num, *extra))
            return num * SEGMENT / wall
        return measure

    def startup(root):
        return run_sebench(root, simulate_args(corpus, tmp / "out", 1))[0]

    rep = args.repeat
    rows.append((f"whole process, no reverb, {args.num} mixtures (x real time)",
                 best_of(rep, roots, whole(args.num)), "{:.0f}"))
    rows.append((f"whole process, no reverb, {args.num_small} mixtures (x real time)",
                 best_of(rep, roots, whole(args.num_small)), "{:.0f}"))
    rows.append(("start-up: simulate --num 1 (s)", best_of(rep, roots, startup, False), "{:.2f}"))
    rows.append((f"steady state, no reverb, {args.num_small} mixtures (x real time)",
                 best_of(rep, roots, lambda r: steady_state(r, corpus, tmp / "steady",
                                                            args.num_small)), "{:.0f}"))
    if "reverb" in sections:
        rows.append((f"whole process, all reverberant, {args.num_small} mixtures (x real time)",
                     best_of(rep, roots, whole(args.num_small, "--rir", rirs, "--reverb-prob",
                                               1.0)), "{:.0f}"))
    return rows


def rss_table(args, roots, tmp, corpus, rirs):
    rows = []
    for num in (args.num_small, args.num_large):
        rss = [run_sebench(root, simulate_args(corpus, tmp / "rss", num, "--rir", rirs))[1]
               for root in roots]
        rows.append((f"peak RSS, {num} mixtures, half reverberant (MB)", rss, "{:.0f}"))
    return rows


def print_table(title, roots, rows):
    names = [str(root) for root in roots]
    width = max(len(r[0]) for r in rows)
    cols = [max(len(n), 8) for n in names]
    print(title)
    print(f"| {'':{width}} | " + " | ".join(f"{n:>{c}}" for n, c in zip(names, cols)) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * (c + 2) for c in cols) + "|")
    for label, values, fmt in rows:
        print(f"| {label:{width}} | " + " | ".join(f"{fmt.format(v):>{c}}"
                                                  for v, c in zip(values, cols)) + " |")


def rir_speed(method, num):
    from sebench.simulate.rir import DEFAULTS, draw_room, generate
    cfg = dict(DEFAULTS, method=method)
    t0 = time.perf_counter()
    worst = 0.0
    for i in range(num):
        t1 = time.perf_counter()
        generate(draw_room(11, i, cfg), cfg)
        worst = max(worst, time.perf_counter() - t1)
    return (time.perf_counter() - t0) / num, worst


def synth_speed(tmp):
    import yaml
    from sebench.synth.corpus import DEFAULTS, CorpusBuilder
    cfg = dict(DEFAULTS, **yaml.safe_load((REPO / "conf/synth/tiny.yaml").read_text()))
    builder = CorpusBuilder(cfg, str(tmp / "synth"))
    builder.make(0)
    t0 = time.perf_counter()
    samples = sum(builder.make(i)["num_samples"] for i in range(len(builder.items)))
    return samples / FS / (time.perf_counter() - t0)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--steady-worker":
        return steady_state_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--roots", default=str(REPO),
                    help="comma list of sebench checkouts to time side by side")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many alternating runs")
    ap.add_argument("--num", type=int, default=1000, help="mixtures in the headline run")
    ap.add_argument("--num-small", type=int, default=200)
    ap.add_argument("--num-large", type=int, default=2000, help="the larger corpus for RSS")
    ap.add_argument("--sections", default="mix,reverb,rss",
                    help="comma list of mix, reverb, rss, rir, synth")
    args = ap.parse_args()
    roots = [Path(r).resolve() for r in args.roots.split(",")]
    sections = args.sections.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus, rirs = build_inputs(tmp)
        rows = []
        if "mix" in sections:
            rows += mixing_table(args, sections, roots, tmp, corpus, rirs)
        if "rss" in sections:
            rows += rss_table(args, roots, tmp, corpus, rirs)
        if rows:
            print_table(f"sebench simulate, {SEGMENT:g} s mixtures, one core (OMP_NUM_THREADS=1, "
                        f"one job), best of {args.repeat} alternating runs", roots, rows)
        if "rir" in sections:
            for method in ("ism", "hybrid"):
                mean, worst = rir_speed(method, 12)
                print(f"RIR {method:6s}: {mean:.2f} s per RIR on average, worst {worst:.2f} s "
                      "(paper 002 room ranges, 12 rooms)")
        if "synth" in sections:
            print(f"synth-corpus per core: {synth_speed(tmp):.0f}x real time "
                  "(speech and noise items)")


if __name__ == "__main__":
    main()
