"""Training-step benchmark (issues: models and trainer; 16: the FCRN's ConvLSTM).

Two measurements per model config (conf/models/NAME.yaml: fcrn, fcrn_tiny, cnn_blstm, ...):

- step: one optimiser step (forward, loss on the waveform, backward, Adam) on a random batch
  of --batch utterances x --segment s, in a warm process: best and median of --steps after
  one warm-up step; on CUDA synchronised, with the peak GPU memory; --amp for fp16 autocast.
- train: `sebench train` end to end for --steps steps on simulated pairs: seconds per step
  from the trainer's own accounting (the first step included) and the data loader's share.

`--roots OLD,NEW` times other checkouts of sebench too (PYTHONPATH=ROOT per run), alternating
and keeping the best of --repeat, so a before/after comparison sits in one table.
Paper 002 trains the FCRN on batches of 3 utterances:
  .venv/bin/python bench/train_bench.py --model fcrn,fcrn_tiny --batch 3 --segment 3 --threads 1
  .venv/bin/python bench/train_bench.py --model fcrn --batch 3 --segment 3 --device cuda [--amp]
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ["SEBENCH_NO_PROGRESS"] = "1"


def step_worker(args):
    """In this interpreter (PYTHONPATH picks the checkout): time optimiser steps."""
    import torch
    import yaml

    from sebench.models import build_model, count_parameters
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    cfg = yaml.safe_load((REPO / "conf" / "models" / f"{args.model}.yaml").read_text())
    model = build_model(cfg).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    samples = int(args.segment * int(cfg.get("fs", 16000)))
    noisy = torch.randn(args.batch, samples, device=device) * 0.1
    clean = torch.randn(args.batch, samples, device=device) * 0.1
    amp = args.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def step():
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            loss = (model(noisy)["wave"].float() - clean).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()   # warm-up: allocator, kernel selection, lazy initialisation
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(args.steps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == "cuda" else None
    print(json.dumps({"best": min(times), "median": sorted(times)[len(times) // 2],
                      "params": count_parameters(model), "peak_mb": peak,
                      "threads": torch.get_num_threads()}))


def root_env(root):
    """Environment and working folder in which `python -m sebench...` imports ``root``'s
    sebench: PYTHONPATH, and a neutral cwd (python -m puts the cwd first on sys.path)."""
    env, cwd = dict(os.environ, PYTHONPATH=str(root)), tempfile.gettempdir()
    found = subprocess.run([sys.executable, "-c", "import sebench; print(sebench.__file__)"],
                           env=env, cwd=cwd, capture_output=True, text=True).stdout.strip()
    if not found.startswith(str(root)):
        sys.exit(f"--roots {root}: python imports sebench from {found or '?'} instead")
    return env, cwd


def run_step(root, args, model):
    env, cwd = root_env(root)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    argv = [sys.executable, os.path.abspath(__file__), "--step-worker", "--model", model, "--batch",
            str(args.batch), "--segment", str(args.segment), "--steps", str(args.steps),
            "--device", args.device, "--threads", str(args.threads or 0)]
    if args.amp:
        argv.append("--amp")
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"step worker failed for {model} in {root}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_train_data(tmp):
    import numpy as np
    import soundfile as sf
    rng = np.random.default_rng(0)
    os.makedirs(tmp / "clean")
    t = np.arange(16000 * 4) / 16000
    for i in range(16):   # 4 s harmonic bursts; the content does not matter for timing
        x = 0.1 * np.sin(2 * np.pi * (120 + 10 * i) * t) * (np.sin(2 * np.pi * 2 * t) > 0)
        sf.write(tmp / "clean" / f"clean{i:02d}.wav", x, 16000)
    os.makedirs(tmp / "noise")
    sf.write(tmp / "noise" / "n.wav", 0.05 * rng.standard_normal(16000 * 10), 16000)
    sebench(REPO, "simulate", "--clean", tmp / "clean", "--noise", tmp / "noise", "--out",
            tmp / "train", "--num", 64)
    return tmp / "train"


def sebench(root, *args, env=None):
    base, cwd = root_env(root)
    env = dict(env or os.environ, PYTHONPATH=base["PYTHONPATH"])
    proc = subprocess.run([sys.executable, "-m", "sebench.cli.main", *map(str, args)], env=env,
                          cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"sebench {args[0]} failed in {root}:\n{proc.stderr[-3000:]}")


def run_train(root, args, model, data, exp):
    import torch
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    extra = ["--train.amp", "true"] if args.amp else []
    sebench(root, "train", "--train", data, "--model-config",
            REPO / "conf" / "models" / f"{model}.yaml", "--exp", exp, "--device", args.device,
            "--data.batch_size", args.batch, "--data.segment", args.segment,
            "--data.num_workers", args.workers, "--train.max_steps", args.steps,
            "--train.epochs", 0, "--train.log_every", 1, "--data.norm_utts", 8,
            "--optim.se.lr", 1e-4, *extra, env=env)   # the trainer needs optim.<name>
    rows = list(csv.DictReader(open(exp / "train_log.csv")))
    state = torch.load(exp / "checkpoints" / "latest.pt", weights_only=False)["state"]
    return {"per_step": state["step_seconds"] / max(1, state["step"]),
            "data_share": float(rows[-1]["data_share"])}


def best_of(repeat, roots, measure, key):
    """Alternate the roots ``repeat`` times; per root the run with the lowest ``key``."""
    results = {root: [] for root in roots}
    for _ in range(repeat):
        for root in roots:
            results[root].append(measure(root))
    return {root: min(results[root], key=lambda r: r[key]) for root in roots}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", "--models", dest="models", default="cnn_blstm,gru,dprnn,fcrn",
                    help="comma list of conf/models/NAME.yaml")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--segment", type=float, default=3.0, help="seconds per utterance")
    ap.add_argument("--steps", type=int, default=6, help="timed steps (after one warm-up)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true", help="fp16 autocast (CUDA)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    ap.add_argument("--workers", type=int, default=0, help="data loader workers (train)")
    ap.add_argument("--roots", default=str(REPO), help="comma list of sebench checkouts")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many alternating runs")
    ap.add_argument("--sections", default="step,train", help="step and/or train")
    ap.add_argument("--step-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step_worker:
        args.model = args.models
        return step_worker(args)
    roots = [Path(r).resolve() for r in args.roots.split(",")]
    sections = args.sections.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = make_train_data(tmp) if "train" in sections else None
        for model in args.models.split(","):
            step = (best_of(args.repeat, roots, lambda r: run_step(r, args, model), "best")
                    if "step" in sections else {})
            train = (best_of(args.repeat, roots, lambda r: run_train(
                r, args, model, data, tmp / f"exp_{model}_{len(os.listdir(tmp))}"), "per_step")
                if "train" in sections else {})
            for root in roots:
                rows.append((model, root, step.get(root), train.get(root)))
    print_table(args, rows)


def print_table(args, rows):
    amp = " fp16 autocast," if args.amp else ""
    print(f"training step, batch {args.batch} x {args.segment:g} s, device {args.device},{amp} "
          f"threads {args.threads or 'default'}, {args.steps} timed steps, best of "
          f"{args.repeat} alternating runs")
    head = ["model", "checkout", "params", "step s (best)", "step s (median)", "utt/s",
            "peak GPU MB", "train s/step", "data share"]
    table = [head]
    for model, root, step, train in rows:
        table.append([
            model, str(root), f"{step['params'] / 1e6:.2f} M" if step else "",
            f"{step['best']:.3f}" if step else "", f"{step['median']:.3f}" if step else "",
            f"{args.batch / step['best']:.1f}" if step else "",
            f"{step['peak_mb']:.0f}" if step and step["peak_mb"] is not None else "",
            f"{train['per_step']:.3f}" if train else "",
            f"{100 * train['data_share']:.0f} %" if train else ""])
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for n, r in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main()
