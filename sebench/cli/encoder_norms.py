"""``sebench encoder-norms``: paper 004's Table IV (encoder response to clean vs noise)."""
from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench encoder-norms --data data/test --systems nonadv=exp/nonadv,adv_irm=exp/adv_irm \\
    --out exp/encoder_norms.md"""


def build_parser(prog):
    p = make_parser(prog, "Mean L2 norm of a masking network's encoder output when it is fed "
                          "the oracle clean signal (clean.scp) and the oracle noise (noise.scp) "
                          "of each utterance, and their ratio, per trained model (dprnn).",
                    EXAMPLE)
    p.add_argument("--data", required=True, help="a data dir with clean.scp and noise.scp")
    p.add_argument("--systems", required=True, metavar="NAME=MODEL,...",
                   help="trained models (experiment dir, model dir or zip), in row order")
    p.add_argument("--max-utts", type=int, default=None, help="use the first N utterances")
    p.add_argument("--eval", metavar="EVAL.yaml", help="display names from the policy")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave out systems not trained (a run of some systems); with none "
                        "left, say so and write nothing")
    p.add_argument("--out", required=True, help="the Markdown table to write")
    return p


def run(args, rest):
    no_extra_args(rest)
    from sebench.errors import ConfigError
    from sebench.results.encoder_norms import encoder_norm_table

    systems = []
    for item in (s for s in args.systems.split(",") if s):
        name, eq, path = item.partition("=")
        if not eq or not name or not path:
            raise ConfigError(f"--systems: expected NAME=MODEL, got {item!r}")
        systems.append((name, path))
    if args.skip_missing:
        import os
        from sebench.models.store import CONFIG_FILE
        trained = [(n, p) for n, p in systems if p.endswith(".zip") and os.path.isfile(p)
                   or os.path.isfile(os.path.join(p, CONFIG_FILE))
                   or os.path.isfile(os.path.join(p, "model", CONFIG_FILE))]
        if len(trained) < len(systems):
            print("not trained, left out: " + ", ".join(n for n, _ in systems
                                                        if (n, _) not in trained))
        if not trained:
            print(f"no trained system: no table ({args.out})")
            return 0
        systems = trained
    names = None
    if args.eval:
        from sebench.results.policy import load_policy
        names = load_policy(args.eval).names
    for name, c, n, r in encoder_norm_table(args.data, systems, args.out, args.max_utts, names):
        print(f"{name}: clean {c:.4f} noise {n:.4f} ratio {r:.2f}")
    return 0
