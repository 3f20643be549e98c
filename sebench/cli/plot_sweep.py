"""``sebench plot-sweep``: one metric against another across a hyper-parameter sweep."""
from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench plot-sweep --scores exp/scores --set test --param beta --x csig --y cbak \\
    --points 0.6=adv_irm_beta06,0.7=adv_irm_beta07,0.8=adv_irm,0.9=adv_irm_beta09 \\
    --out exp/beta_sweep.png      # paper 004's Fig. 2 (and exp/beta_sweep.md)"""


def build_parser(prog):
    p = make_parser(prog, "Plot metric X against metric Y for systems trained with different "
                          "values of one hyper-parameter (one point per value, labelled), from "
                          "SCORES/<system>/<set>/summary.json; the numbers go to OUT.md too.",
                    EXAMPLE)
    p.add_argument("--scores", required=True, help="folder with <system>/<set>/summary.json")
    p.add_argument("--set", required=True, help="the test set whose scores are plotted")
    p.add_argument("--points", required=True, metavar="V=SYSTEM,...",
                   help="the sweep: each value and the system trained with it")
    p.add_argument("--x", required=True, help="metric on the x axis (e.g. csig)")
    p.add_argument("--y", required=True, help="metric on the y axis (e.g. cbak)")
    add_figure_options(p, "with fewer than two left")
    return p


def add_figure_options(p, when_nothing):
    """--param, --title, --skip-missing and --out, shared with ``plot-lines``."""
    p.add_argument("--param", default="value", help="the swept parameter's name (labels)")
    p.add_argument("--title", help="figure title")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out the points whose system has no scores (a run of some "
                        f"systems); {when_nothing}, say so and write nothing")
    p.add_argument("--out", required=True, help="the PNG to write")


def run(args, rest):
    no_extra_args(rest)
    from sebench.results.sweep import parse_points, plot_sweep, scored_points

    points = parse_points(args.points)
    if args.skip_missing:
        left = scored_points(args.scores, args.set, points)
        if len(left) < len(points):
            print(f"not scored, left out: {', '.join(s for _, s in points if (_, s) not in left)}")
        if len(left) < 2:
            print(f"fewer than two points of the sweep are scored: no plot ({args.out})")
            return 0
        points = left
    rows = plot_sweep(args.scores, args.set, points, args.x, args.y,
                      args.out, param=args.param, title=args.title)
    for value, system, means in rows:
        print(f"{args.param}={value:g} {system}: {args.x} {means[args.x]:.3f} "
              f"{args.y} {means[args.y]:.3f}")
    return 0
