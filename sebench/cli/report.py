"""``sebench report``: one RESULTS.md table from several systems' `sebench score` outputs."""
import json
import os

from sebench.cli.common import make_parser

EXAMPLE = """\
sebench report --scores exp/scores --systems noisy,supervised,gan \\
    --set test:pesq_wb,stoi,sisdr,csig,cbak,covl,dnsmos_ovrl \\
    --set real_test:dnsmos_p808,dnsmos_sig,dnsmos_bak,dnsmos_ovrl \\
    --qp exp/qp/test_real_test/accuracy.json --curves exp/gan/learning_curves.png --out RESULTS.md"""

NAMES = {"pesq_wb": "PESQ-WB", "pesq_nb": "PESQ-NB", "stoi": "STOI", "estoi": "ESTOI",
         "sisdr": "SI-SDR", "sdr": "SDR", "csig": "CSIG", "cbak": "CBAK", "covl": "COVL",
         "dnsmos_p808": "P.808", "dnsmos_sig": "SIG", "dnsmos_bak": "BAK", "dnsmos_ovrl": "OVRL",
         "srmr": "SRMR"}


def build_parser(prog):
    p = make_parser(prog, "Collect SCORES/<system>/<set>/summary.json into one Markdown table "
                          "(systems as rows in the given order, one column group per test set), "
                          "with a predictor-accuracy table and learning-curve images.", EXAMPLE)
    p.add_argument("--scores", required=True, help="folder with <system>/<set>/summary.json")
    p.add_argument("--systems", required=True, help="comma list, in row order (noisy first)")
    p.add_argument("--set", action="append", required=True, metavar="SET:METRICS",
                   help="a test set and its metric columns (repeatable)")
    p.add_argument("--qp", action="append", default=[], metavar="[NAME=]ACCURACY.json",
                   help="predictor accuracy files from train-qp --test")
    p.add_argument("--curves", default="", help="comma list of learning-curve PNGs")
    p.add_argument("--title", default="Results")
    p.add_argument("--note", default="", help="a paragraph under the title")
    p.add_argument("--out", required=True, help="RESULTS.md to write")
    return p


def _cell(summary, metric):
    entry = (summary or {}).get("metrics", {}).get(metric)
    if not entry or entry.get("mean") is None or entry.get("count", 0) == 0:
        return "–"
    return f"{entry['mean']:.2f}" + (f" ({entry['failures']} failed)" if entry.get("failures") else "")


def run(args, rest):
    from sebench.cli.common import no_extra_args
    from sebench.errors import SebenchError
    from sebench.utils.fileio import atomic_write_text
    from sebench.version import provenance

    no_extra_args(rest)
    sets = []
    for spec in args.set:
        name, _, metrics = spec.partition(":")
        if not metrics:
            raise SebenchError(f"--set {spec}: expected SET:metric,metric")
        sets.append((name, metrics.split(",")))
    systems = args.systems.split(",")
    header = ["system"] + [f"{s}: {NAMES.get(m, m)}" for s, ms in sets for m in ms]
    lines = [f"# {args.title}", ""]
    if args.note:
        lines += [args.note, ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    found = 0
    for system in systems:
        row = [system]
        for set_name, metrics in sets:
            path = os.path.join(args.scores, system, set_name, "summary.json")
            summary = None
            if os.path.isfile(path):
                with open(path) as f:
                    summary = json.load(f)
                found += 1
            row += [_cell(summary, m) for m in metrics]
        lines.append("| " + " | ".join(row) + " |")
    if not found:
        raise SebenchError(f"{args.scores}: no <system>/<set>/summary.json for the given systems")
    lines += ["", "Means over utterances; per-utterance scores, 95 % CIs and failure reasons are in "
              f"`{args.scores}/<system>/<set>/`. DNSMOS: P.808 and P.835 (calibrated) ONNX models "
              "from the speechmos wheel; PESQ-WB: ITU P.862.2 via `pesq`; SI-SDR zero-mean.", ""]
    if args.qp:
        lines += ["## Quality predictor accuracy", "", "| predictor | n | LCC | SRCC | MSE | MAE |",
                  "|---|---|---|---|---|---|"]
        for spec in args.qp:
            name, _, path = spec.rpartition("=")
            with open(path) as f:
                acc = json.load(f)
            lines.append(f"| {name or os.path.dirname(path)} | {acc['n']} | {acc['lcc']:.3f} | "
                         f"{acc['srcc']:.3f} | {acc['mse']:.3f} | {acc['mae']:.3f} |")
        lines.append("")
    curves = [c for c in args.curves.split(",") if c]
    if curves:
        lines += ["## Learning curves", ""]
        base = os.path.dirname(os.path.abspath(args.out))
        for c in curves:
            if os.path.isfile(c):
                rel = os.path.relpath(os.path.abspath(c), base)
                lines += [f"### {os.path.basename(os.path.dirname(os.path.abspath(c)))}", "",
                          f"![{rel}]({rel})", ""]
    prov = provenance()
    lines += [f"_sebench {prov['sebench']}, git {prov['git_commit']}_", ""]
    atomic_write_text(args.out, "\n".join(lines))
    print(args.out)
    return 0
