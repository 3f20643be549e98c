"""``sebench pesqnet-curves``: paper 002's Figs. 9-12 from a <1-1> experiment's log."""
from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench pesqnet-curves --exp exp/pesqnet --label "validation set" --out exp/pesqnet_curves
    # loss_mae.png (J_total with PESQNet's estimate, PESQNet MAE per tau), pesq.png, curves.csv"""


def build_parser(prog):
    p = make_parser(prog, "J_total with PESQNet's estimate, PESQNet's MAE and the mean true "
                          "PESQ per epoch tau of a PESQNet-mediated <1-1> experiment, from its "
                          "valid_log.csv.", EXAMPLE)
    p.add_argument("--exp", required=True, help="the experiment (with valid_log.csv)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--label", default="validation set", help="what the log was measured on")
    return p


def run(args, rest):
    no_extra_args(rest)
    from sebench.quality.pesqnet_accuracy import training_curves
    found = training_curves(args.exp, args.out, args.label)
    for row in zip(found["tau"], found["j_total_est"], found["pesqnet_mae"], found["pesq"]):
        print("tau %d: J_total %.4g, PESQNet MAE %.3f, PESQ %.3f" % row)
    return 0
