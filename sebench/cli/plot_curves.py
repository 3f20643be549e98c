"""``sebench plot-curves``: training curves of several experiments on shared axes (paper
000's Figs. 1-3: teacher score and DNSMOS OVRL against steps per scheme or teacher)."""
from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench plot-curves --exps deepdream=exp/deepdream,gan=exp/gan \\
    --series valid:teacher,metric:dnsmos_ovrl --title "paper 000, Fig. 1" \\
    --out exp/figures/fig1_deepdream_vs_gan.png      # and exp/figures/fig1_deepdream_vs_gan.md"""


def build_parser(prog):
    p = make_parser(prog, "Plot columns of the trainer's logs (valid_log.csv, "
                          "valid_metrics.csv, train_log.csv) against steps for several "
                          "experiments: one panel per series, one line per experiment. A "
                          "system trained with several seeds shows its first seed. The "
                          "numbers (first, best, last) go to OUT.md.", EXAMPLE)
    p.add_argument("--exps", required=True, metavar="LABEL=EXP_DIR,...", help="experiments")
    p.add_argument("--series", required=True, metavar="SOURCE:COLUMN,...",
                   help="valid:<term> (e.g. valid:teacher), metric:<name> (e.g. "
                        "metric:dnsmos_ovrl) or train:<term>")
    p.add_argument("--title", help="figure title")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out experiments that do not exist (a run of some systems); "
                        "with none left, say so and write nothing")
    p.add_argument("--out", required=True, help="the PNG to write")
    return p


def run(args, rest):
    no_extra_args(rest)
    from sebench.cli.plot_spectrogram import parse_pairs
    from sebench.results.curves import collect, parse_series, plot_curves

    series = parse_series(args.series)
    found = collect(parse_pairs(args.exps, "--exps"), series, args.skip_missing)
    if not found:
        print(f"no experiment of --exps exists: no plot ({args.out})")
        return 0
    for line in plot_curves(found, series, args.out, args.title)[4:]:
        print(line)
    return 0
