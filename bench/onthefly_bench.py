"""On-the-fly mixing (sebench.train.onthefly) against pre-written mixtures and the GRU step
(issue 27: on-the-fly mixing must not starve paper 001's training step on 2 cores).

Sources: --clean files of --clean-seconds of speech-like audio and --noise noise files of
--noise-seconds, at 16 kHz (what `sebench data format` leaves). Per --segment crop:

- cpu/item: process CPU seconds per item in this process (no workers): on the fly (the
  simulation of one item) and pre-written (reading a written mixture, its clean and noise);
- loader items/s: wall-clock throughput of a DataLoader with --workers workers, batches of
  --batch, alone (--batches batches after one warm-up batch);
- GRU step: one optimiser step (forward, mag_mse, backward, Adam) of egs/dns/vq1's stacked
  GRU on a batch of --batch x --segment, wall and CPU seconds (best of --steps);
- train loop: wall seconds per step of the GRU step fed by each loader (the two compete for
  the same cores, as in training).

  .venv/bin/python bench/onthefly_bench.py                  # SE stream: 3 s x 16
  .venv/bin/python bench/onthefly_bench.py --segment 1      # VQ-VAE stream: 1 s x 16
  .venv/bin/python bench/onthefly_bench.py --snr-reference active   # sebench's default SNR
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["SEBENCH_NO_PROGRESS"] = "1"


def make_sources(root, args):
    from sebench.corpora.testing import noise_like, speech_like, write_wav
    for i in range(args.clean):
        write_wav(root / "clean" / f"c{i:03d}.wav", speech_like(args.clean_seconds, 16000, i), 16000)
    for i in range(args.noise):
        write_wav(root / "noise" / f"n{i:03d}.wav", noise_like(args.noise_seconds, 16000, i,
                                                                str(i)), 16000)
    stream = root / "stream.yaml"
    stream.write_text(f"clean: clean\nnoise: noise\nepoch_size: {args.items}\nconfig:\n"
                      f"  snr_range: [-10, 30]\n  level_range: [-30, -20]\n"
                      f"  snr_reference: {args.snr_reference}\n  segment: {args.segment}\n")
    return stream


def write_mixtures(root, stream, args):
    """The same items, written as `sebench simulate` writes them: a data dir."""
    from sebench.data.datadir import DataDir
    from sebench.train.onthefly import OnTheFlyDataset
    ds = OnTheFlyDataset(stream, ("wav",), segment=args.segment)
    sim = ds.simulator(0)
    sim.out = str(root / "written")
    scps = {"wav": {}, "clean": {}, "noise": {}}
    for i in range(args.items):
        row = sim.make(i)
        scps["wav"][row["utt"]] = row["wav"]
        scps["clean"][row["utt"]] = row["clean_path"]
        scps["noise"][row["utt"]] = row["noise_path"]
    ddir = DataDir(root / "written")
    for field, scp in scps.items():
        ddir.write(f"{field}.scp", scp)
    ddir.write_utt2spk({k: k for k in scps["wav"]})
    return str(root / "written")


def datasets(stream, written, args):
    from sebench.train.data import AudioDataset
    from sebench.train.onthefly import OnTheFlyDataset
    fields = ("wav", "clean", "noise")
    return {"on the fly": OnTheFlyDataset(stream, fields, segment=args.segment),
            "pre-written": AudioDataset(written, fields, segment=args.segment)}


def cpu_per_item(ds, n):
    ds[0]
    start = time.process_time()
    for i in range(1, n + 1):
        ds[i % len(ds)]
    return (time.process_time() - start) / n


def loader(ds, args):
    from sebench.train.data import BucketBatchSampler, make_loader
    sampler = BucketBatchSampler(ds.lengths(), args.batch, seed=0)
    return make_loader(ds, sampler, args.workers)


def loader_rate(ds, args):
    it = iter(loader(ds, args))
    next(it)
    start = time.perf_counter()
    n = 0
    for _ in range(args.batches):
        n += len(next(it)["keys"])
    return n / (time.perf_counter() - start)


def gru_step(args):
    import torch

    from sebench.config import load_yaml
    from sebench.models import build_model
    from sebench.train.losses import build_loss
    torch.manual_seed(0)
    model = build_model(load_yaml(REPO / "egs" / "dns" / "vq1" / "conf" / "gru.yaml")).train()
    loss_fn = build_loss({"name": "mag_mse"})
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(batch):
        out = model(batch["wav"])
        loss = loss_fn(out, batch, model).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--segment", type=float, default=3.0)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--items", type=int, default=160, help="items per epoch (and written)")
    p.add_argument("--batches", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--clean", type=int, default=20)
    p.add_argument("--clean-seconds", type=float, default=30.0)
    p.add_argument("--noise", type=int, default=10)
    p.add_argument("--noise-seconds", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=2, help="torch threads of the GRU step")
    p.add_argument("--snr-reference", default="global", choices=("global", "active"),
                   help="the stream's SNR reference (active adds a P.56 level per item)")
    args = p.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        stream = make_sources(root, args)
        written = write_mixtures(root, stream, args)
        sets = datasets(stream, written, args)
        print(f"snr_reference {args.snr_reference}, segment {args.segment} s, batch "
              f"{args.batch}, {args.workers} loader workers, {os.cpu_count()} CPUs, "
              f"torch threads {args.threads}")
        for name, ds in sets.items():
            print(f"{name:12s} cpu/item {1000 * cpu_per_item(ds, 40):7.2f} ms   "
                  f"loader {loader_rate(ds, args):7.1f} items/s")
        step = gru_step(args)
        batch = next(iter(loader(sets["pre-written"], argparse.Namespace(**dict(
            vars(args), workers=0)))))
        step(batch)
        walls, cpus = [], []
        for _ in range(args.steps):
            w, c = time.perf_counter(), time.process_time()
            step(batch)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        print(f"GRU step     wall {min(walls):.3f} s (median {np.median(walls):.3f}), cpu "
              f"{min(cpus):.3f} s: {args.batch / min(walls):.1f} items/s")
        for name, ds in sets.items():
            it = iter(loader(ds, args))
            step(next(it))
            start = time.perf_counter()
            for _ in range(args.steps):
                step(next(it))
            print(f"train loop   {name:12s} {(time.perf_counter() - start) / args.steps:.3f} s/step")


if __name__ == "__main__":
    main()
