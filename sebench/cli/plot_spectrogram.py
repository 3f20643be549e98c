"""``sebench plot-spectrogram``: one utterance's log-mel spectrogram per system, and a
masking model's encoder feature maps (paper 004's Figs. 3-4, paper 000's Figs. 2-3)."""
from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench plot-spectrogram --key p232_001 \\
    --panels clean=data/test/clean.scp,noisy=data/test,nonadv=exp/enhanced/nonadv/test \\
    --encoders "E(Y) non-adv=exp/nonadv,E(Y) adv-irm=exp/adv_irm" --encoder-input data/test \\
    --out exp/figures/spectrogram_p232_001.png     # paper 004's Figs. 3 and 4 in one file"""


def parse_pairs(text, option):
    from sebench.errors import ConfigError
    pairs = []
    for item in (s for s in (text or "").split(",") if s.strip()):
        label, eq, source = item.partition("=")
        if not eq or not label.strip() or not source.strip():
            raise ConfigError(f"{option}: expected LABEL=SOURCE, got {item!r}")
        pairs.append((label.strip(), source.strip()))
    return pairs


def build_parser(prog):
    p = make_parser(prog, "Draw one utterance (--key) as log-mel spectrograms, one panel per "
                          "source (an audio file, a data dir's wav.scp, an scp file or a folder "
                          "of enhanced audio), and optionally the log-magnitude encoder output "
                          "log|E(A(y))| of masking models (dprnn) fed the noisy input. Panels of "
                          "one kind share one colour scale.", EXAMPLE)
    p.add_argument("--key", required=True, help="the utterance to draw")
    p.add_argument("--panels", default="", metavar="LABEL=SOURCE,...",
                   help="log-mel panels, top to bottom")
    p.add_argument("--encoders", default="", metavar="LABEL=MODEL,...",
                   help="encoder feature-map panels: experiment dirs, model dirs or zips")
    p.add_argument("--encoder-input", metavar="SOURCE", help="the noisy input of --encoders")
    p.add_argument("--n-mels", type=int, default=80, help="mel bands (default 80)")
    p.add_argument("--title", help="figure title")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out panels whose source or model does not exist (a run of "
                        "some systems)")
    p.add_argument("--out", required=True, help="the PNG to write")
    return p


def run(args, rest):
    no_extra_args(rest)
    from sebench.errors import ConfigError
    from sebench.results.spectrogram import spectrogram_figure

    panels = parse_pairs(args.panels, "--panels")
    encoders = parse_pairs(args.encoders, "--encoders")
    if not panels and not encoders:
        raise ConfigError("give --panels and/or --encoders")
    drawn = spectrogram_figure(args.key, panels, encoders, args.encoder_input, args.out,
                               args.title, args.n_mels, args.skip_missing)
    for label, source in drawn:
        print(f"{label}: {source}")
    print(f"wrote {args.out}")
    return 0
