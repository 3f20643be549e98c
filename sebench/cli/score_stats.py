"""``sebench score-stats``: predictor accuracy and significance between systems."""
import json

from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench score-stats accuracy --pred exp/qp/test/utt2mos --true data/test/utt2mos --plot scatter.png
sebench score-stats wilcoxon exp/scores/adv exp/scores/nonadv --metrics pesq_wb,sisdr,stoi
sebench score-stats seeds --runs seed0=exp/scores/adv/seed0/test,seed1=exp/scores/adv/seed1/test \
    --out exp/scores/adv/test      # one row from several seeds: mean and std over seeds"""


def build_parser(prog):
    p = make_parser(prog, "Quality-predictor accuracy (LCC, SRCC, MSE, MAE, scatter plot) and "
                          "Wilcoxon signed-rank tests between two systems' scores.", EXAMPLE)
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = sub.add_parser("accuracy", help="LCC/SRCC/MSE/MAE of predicted vs true utt2<score>")
    a.add_argument("--pred", required=True)
    a.add_argument("--true", required=True)
    a.add_argument("--plot", help="scatter plot PNG")
    a.add_argument("--out", help="write the figures as JSON here")
    w = sub.add_parser("wilcoxon", help="p-values per metric between two `sebench score` dirs")
    w.add_argument("dir_a")
    w.add_argument("dir_b")
    w.add_argument("--metrics", required=True)
    w.add_argument("--out", help="write the table as Markdown here")
    s = sub.add_parser("seeds", help="combine several seeds' score dirs of one system into "
                                     "one: per-utterance scores averaged over the seeds, and "
                                     "each metric's per-seed means, mean and std")
    s.add_argument("--runs", required=True, metavar="LABEL=DIR,...",
                   help="each seed's `sebench score` dir, labelled")
    s.add_argument("--out", required=True, help="the combined score dir to write")
    return p


def run(args, rest):
    no_extra_args(rest)
    from sebench.scoring.stats import accuracy, wilcoxon_table
    from sebench.utils.fileio import atomic_write_text

    if args.action == "seeds":
        from sebench.errors import ConfigError
        from sebench.scoring.seeds import combine_seeds
        runs = []
        for item in (x for x in args.runs.split(",") if x):
            label, eq, folder = item.partition("=")
            if not eq or not label or not folder:
                raise ConfigError(f"--runs: expected LABEL=DIR, got {item!r}")
            runs.append((label, folder))
        summary = combine_seeds(runs, args.out)
        for metric, entry in summary["metrics"].items():
            seeds = entry["seeds"]
            if seeds["mean"] is not None:
                print(f"{metric}: {seeds['mean']:.4g} ± {seeds['std']:.2g} over {seeds['n']} seeds")
        return 0
    if args.action == "accuracy":
        result = accuracy(args.pred, args.true, plot=args.plot)
        text = json.dumps(result, indent=2)
        print(text)
        if args.out:
            atomic_write_text(args.out, text + "\n")
        return 0
    rows = wilcoxon_table(args.dir_a, args.dir_b, [m for m in args.metrics.split(",") if m])
    lines = [f"| metric | n | {args.dir_a} | {args.dir_b} | p (Wilcoxon) |", "|---|---|---|---|---|"]
    lines += [f"| {r['metric']} | {r['n']} | {r['mean_a']:.3f} | {r['mean_b']:.3f} | "
              f"{r['p_value']:.2e}{' *' if r['p_value'] < 0.01 else ''} |" for r in rows]
    text = "\n".join(lines) + "\n\n\\* p < 0.01\n"
    print(text)
    if args.out:
        atomic_write_text(args.out, text)
    return 0
