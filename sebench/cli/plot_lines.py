"""``sebench plot-lines``: metrics (or their improvement) against a swept parameter, one line
per system family."""
from sebench.cli.common import make_parser, no_extra_args, number_list
from sebench.cli.plot_sweep import add_figure_options

EXAMPLE = """\
sebench plot-lines --scores exp/scores --set test_seen --values 10,20,30,40 --param "paired %" \\
    --series baseline=baseline_p{},unpaired_emb=unpaired_emb_p{} \\
    --metrics sisdr,pesq_wb --relative-to noisy --out exp/sweep/improvement_test_seen.png
    # paper 001's Fig. 3 (and exp/sweep/improvement_test_seen.md)"""


def build_parser(prog):
    p = make_parser(prog, "Plot each metric against a swept parameter with one line per series "
                          "(a family of systems, one per value: SYSTEM_TEMPLATE with {} where "
                          "the value goes), from SCORES/<system>/<set>/summary.json; with "
                          "--relative-to, the improvement over that system (e.g. noisy). The "
                          "numbers go to OUT.md too.", EXAMPLE)
    p.add_argument("--scores", required=True, help="folder with <system>/<set>/summary.json")
    p.add_argument("--set", required=True, help="the test set whose scores are plotted")
    p.add_argument("--values", required=True, type=number_list, help="the swept values")
    p.add_argument("--series", required=True, metavar="NAME=TEMPLATE,...",
                   help="one line each: its name and its systems' name with {} for the value")
    p.add_argument("--metrics", required=True, help="comma-separated metrics, one panel each")
    p.add_argument("--relative-to", metavar="SYSTEM", help="plot improvements over this system")
    add_figure_options(p, "with no point left")
    return p


def run(args, rest):
    no_extra_args(rest)
    from sebench.results.lines import collect, parse_series, plot_lines

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    found = collect(args.scores, args.set, args.values, parse_series(args.series), metrics,
                    reference=args.relative_to, skip_missing=args.skip_missing)
    if not found:
        print(f"no series has a scored point on {args.set}: no plot ({args.out})")
        return 0
    plot_lines(found, metrics, args.out, param=args.param, title=args.title,
               reference=args.relative_to)
    for name, rows in found.items():
        for value, system, means in rows:
            print(f"{name} {args.param}={value:g} {system}: "
                  + " ".join(f"{m} {means[m]:+.3f}" for m in metrics))
    return 0
