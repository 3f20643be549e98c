"""Paper 003's ceilings and latent statistics (issue 28, measurements (i)-(iv)) for trained
MAE experiments on a paired test set, one table per experiment:

    .venv/bin/python bench/sse_probe.py egs/mini/se1/data/test exp/mae_30 [more MAE exps]

(``sebench.models.spec_vae_probe`` has the definitions.) ``--limit N`` uses the first N
utterances; ``--json FILE`` also writes the figures. ``--cae`` takes CAE experiments instead
and gives (i)-(iii) alone (no MAE yet; the "mae" latent row is then the CAE on mixtures):

    .venv/bin/python bench/sse_probe.py egs/mini/se1/data/test exp/cae --cae
"""
import argparse
import json
import sys

from sebench.models.spec_vae import SelfSupervisedEnhancer
from sebench.models.spec_vae_probe import SYSTEMS, format_probe, probe
from sebench.models.store import load_model
from sebench.utils.fileio import atomic_write_text


def summary_table(results):
    """D_c(E_m(y)) of every experiment against the noisy input (the remedy table)."""
    first = next(iter(results.values()))["scores"]["noisy"]
    lines = ["| MAE | SI-SDR (dB) | PESQ-WB | COVL | MAE code std |", "|---|---|---|---|---|",
             f"| noisy input | {first['sisdr']:.2f} | {first['pesq_wb']:.3f} | "
             f"{first['covl']:.3f} | |"]
    for exp, r in results.items():
        s = r["scores"].get("enhanced") or r["scores"]["ceiling"]
        lines.append(f"| {exp} | {s['sisdr']:.2f} | {s['pesq_wb']:.3f} | {s['covl']:.3f} | "
                     f"{r['latent']['mae']['code_std']:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("test_dir", help="a paired data dir (wav.scp, clean.scp)")
    p.add_argument("experiments", nargs="+", help="trained mae experiments (sse composites)")
    p.add_argument("--limit", type=int, help="only the first N utterances")
    p.add_argument("--cae", action="store_true",
                   help="the experiments are CAEs: the ceilings (i)-(iii) without an MAE")
    p.add_argument("--share-cae", action="store_true",
                   help="the experiments share one CAE: its ceilings only for the first")
    p.add_argument("--json", help="also write every figure to this JSON file")
    args = p.parse_args(argv)
    results = {}
    for i, exp in enumerate(args.experiments):
        if args.cae:
            cae, _ = load_model(exp, kinds={"vae"})
            sse = SelfSupervisedEnhancer({"mae": cae, "cae": cae})
            systems = ("noisy", "ceiling", "cae_on_mixture")
        else:
            sse, _ = load_model(exp, kinds={"composite"})
            # the CAE-only outputs once (the experiments share their CAE)
            systems = SYSTEMS if i == 0 or not args.share_cae else ("enhanced",)
        results[exp] = probe(sse, args.test_dir, args.limit, systems)
        print(f"## {exp}\n\n{format_probe(results[exp])}\n", flush=True)
    if len(results) > 1:
        print(summary_table(results))
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(main())
