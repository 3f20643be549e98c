"""Simulation benchmark (issue: data simulation): real-time factors per core and memory.

Prints: mixing speed without and with reverberation (x real time, one core, including
reading sources and writing the data dir's audio), RIR seconds per RIR for ism and hybrid at
paper 002's room ranges, synth-corpus speed (x real time of speech+noise produced), and the
peak RSS of `sebench simulate` for a corpus and for one four times larger (flat = streaming).
Run: OMP_NUM_THREADS=1 .venv/bin/python bench/sim_bench.py
"""
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["SEBENCH_NO_PROGRESS"] = "1"
REPO = Path(__file__).resolve().parents[1]


def sebench(*args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sebench.cli.main", *map(str, args)], check=True)
    return time.perf_counter() - t0, before


def child_peak_rss_mb(args):
    """Peak RSS of one sebench run, measured by a fresh wrapper process."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "sebench.cli.main",
                          *map(str, args)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def mixing(tmp, corpus, rirs, reverb_prob, num):
    from sebench.data.sources import audio_map, speaker_map
    from sebench.simulate.simulate import DEFAULTS, Simulator, Sources, load_rirs
    cfg = dict(DEFAULTS, num=num, seed=1, reverb_prob=reverb_prob)
    clean_dir = corpus / "data" / "clean_train"
    clean = audio_map(str(clean_dir), "clean")
    rir_map, rir_meta = load_rirs(str(rirs))
    src = Sources(clean, speaker_map(str(clean_dir), clean),
                  audio_map(str(corpus / "data" / "noise_train"), "noise"), rir_map, rir_meta, cfg)
    sim = Simulator(cfg, src, str(tmp / f"mix{reverb_prob}"))
    sim.make(0)  # warm-up (imports, first-call costs)
    t0 = time.perf_counter()
    seconds = sum(sim.make(i)["num_samples"] for i in range(num)) / 16000
    return seconds / (time.perf_counter() - t0)


def synth_speed(tmp):
    import yaml
    from sebench.synth.corpus import DEFAULTS, CorpusBuilder
    cfg = dict(DEFAULTS, **yaml.safe_load((REPO / "conf/synth/tiny.yaml").read_text()))
    builder = CorpusBuilder(cfg, str(tmp / "synth"))
    builder.make(0)
    t0 = time.perf_counter()
    samples = sum(builder.make(i)["num_samples"] for i in range(len(builder.items)))
    return samples / 16000 / (time.perf_counter() - t0)


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


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus"
        elapsed, _ = sebench("synth-corpus", "--out", corpus, "--config",
                             REPO / "conf/synth/tiny.yaml", "--utts_per_speaker.train", 12)
        import json
        summary = json.loads((corpus / "summary.json").read_text())
        minutes = sum(v["minutes"] for v in summary.values())
        print(f"synth-corpus CLI: {minutes * 60:.0f} s of audio in {elapsed:.1f} s "
              f"(incl. start-up) = {minutes * 60 / elapsed:.0f}x real time, 1 job")
        print(f"synth-corpus per core: {synth_speed(tmp):.0f}x real time (speech and noise items)")
        sebench("rir", "--num", 20, "--out", tmp / "rirs", "--seed", 2)
        print(f"mixing, no reverb: {mixing(tmp, corpus, tmp / 'rirs', 0.0, 48):.0f}x real time "
              "per core (read + mix + write)")
        print(f"mixing, reverb:    {mixing(tmp, corpus, tmp / 'rirs', 1.0, 48):.0f}x real time "
              "per core (FFT convolution with full-length RIRs)")
        for method in ("ism", "hybrid"):
            mean, worst = rir_speed(method, 12)
            print(f"RIR {method:6s}: {mean:.2f} s per RIR on average, worst {worst:.2f} s "
                  "(paper 002 room ranges, 12 rooms)")
        common = ["simulate", "--clean", corpus / "data" / "clean_train", "--noise",
                  corpus / "data" / "noise_train", "--rir", tmp / "rirs"]
        small = child_peak_rss_mb(common + ["--out", tmp / "m1", "--num", 50])
        large = child_peak_rss_mb(common + ["--out", tmp / "m2", "--num", 200])
        print(f"peak RSS of sebench simulate: {small:.0f} MB for 50 mixtures, "
              f"{large:.0f} MB for 200 (streaming: flat in corpus size)")


if __name__ == "__main__":
    main()
