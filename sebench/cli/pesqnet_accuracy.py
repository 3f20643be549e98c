"""``sebench pesqnet-accuracy``: paper 002's Tables I-II and Figs. 7-8, PESQNet's MAE and LCC
on noisy and enhanced speech per test condition."""
from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench pesqnet-accuracy --se exp/fcrn --pesqnet exp/pesqnet_ft \\
    --conditions "no reverb=data/test_synthetic_no_reverb,reverb=data/test_synthetic_with_reverb" \\
    --title "PESQNet after first-stage fine-tuning (paper 002, Table II)" --out exp/pesqnet_table2
    # exp/pesqnet_table2/{accuracy.md,accuracy.json,scatter.png}"""


def build_parser(prog):
    p = make_parser(prog, "PESQNet's accuracy (MAE, LCC) on the noisy input y and the SE "
                          "model's output s_hat per test condition (a data dir with clean.scp), "
                          "against true P.862.2 wideband PESQ, with the scatter plot.", EXAMPLE)
    p.add_argument("--se", required=True, help="the SE model (experiment or model dir) whose "
                                               "outputs PESQNet rates")
    p.add_argument("--pesqnet", required=True, help="PESQNet: a pesqnet experiment (its "
                                                    "model_pesqnet/) or a model dir")
    p.add_argument("--conditions", required=True, metavar="NAME=DATA_DIR,...",
                   help="test conditions, one data dir each (wav.scp, clean.scp)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--title", default="", help="table and figure title")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    return p


def parse_conditions(text):
    from sebench.errors import ConfigError
    out = {}
    for item in str(text).split(","):
        name, eq, path = item.strip().partition("=")
        if not eq or not name.strip() or not path.strip():
            raise ConfigError(f"--conditions: expected NAME=DATA_DIR, got {item.strip()!r}")
        out[name.strip()] = path.strip()
    return out


def run(args, rest):
    no_extra_args(rest)
    from sebench.quality.pesqnet_accuracy import accuracy_markdown, pesqnet_accuracy
    results = pesqnet_accuracy(args.se, args.pesqnet, parse_conditions(args.conditions),
                               args.out, title=args.title, device=args.device)
    print(accuracy_markdown(results, args.title), end="")
    return 0
