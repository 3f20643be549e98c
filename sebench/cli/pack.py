"""``sebench pack``: bundle a trained model into one zip that `sebench enhance` accepts."""
from sebench.cli.common import make_parser

EXAMPLE = """\
sebench pack exp/supervised_cnn_blstm cnn_blstm_vbd.zip
sebench enhance cnn_blstm_vbd.zip noisy/ -o enhanced/"""


def build_parser(prog):
    p = make_parser(prog, "Pack an experiment's model (config, weights with their input "
                          "normalisation statistics, training info) plus its config.yaml, "
                          "RESULTS.md and learning curves into a zip.", EXAMPLE)
    p.add_argument("exp", help="experiment dir or model dir")
    p.add_argument("out", help="output .zip")
    return p


def run(args, rest):
    from sebench.cli.common import no_extra_args
    from sebench.models.store import pack
    no_extra_args(rest)
    pack(args.exp, args.out)
    print(args.out)
    return 0
