"""``sebench plot-margins``: paper 001's Fig. 5, one triplet-margin line per VQ-VAE."""
from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench plot-margins 10=exp/vqvae_p10/margin 20=exp/vqvae_p20/margin \\
    30=exp/vqvae_p30/margin 40=exp/vqvae_p40/margin --out exp/margin_vs_snr.png"""


def build_parser(prog):
    p = make_parser(prog, "Draw the average triplet margin against global SNR of several "
                          "VQ-VAEs in one figure, one line each, from the folders sebench "
                          "vq-margin wrote; the slopes, Pearson r, standard deviations and "
                          "per-bin means go to OUT.md too.", EXAMPLE)
    p.add_argument("runs", nargs="+", metavar="LABEL=MARGIN_DIR",
                   help="a line's label (e.g. the paired %%) and its vq-margin folder")
    p.add_argument("--param", default="paired %", help="what the labels are (legend)")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out folders without a summary (a run of some systems)")
    p.add_argument("--out", required=True, help="the PNG to write")
    return p


def run(args, rest):
    no_extra_args(rest)
    from sebench.results.margin_lines import parse_runs, plot_margin_runs

    loaded = plot_margin_runs(parse_runs(args.runs), args.out, param=args.param,
                              skip_missing=args.skip_missing)
    if not loaded:
        print(f"no margin summary found: no plot ({args.out})")
        return 0
    for label, summary, std in loaded:
        print(f"{args.param} {label}: slope {summary['slope_per_db']:+.5f}/dB, pearson "
              f"{summary['pearson']:+.3f}, std {std:.3f}, utterances {summary['utterances']}")
    return 0
