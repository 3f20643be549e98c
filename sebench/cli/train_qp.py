"""``sebench train-qp``: train a quality predictor on a labelled data dir, test its accuracy."""
import os

from sebench.cli.common import add_config_options, make_parser, resolve_config

EXAMPLE = """\
sebench label data/real_train --source dnsmos --nj 2      # writes utt2dnsmos_p808, utt2dnsmos_ovrl, ...
sebench train-qp --train data/real_train --valid data/real_valid --qp-config conf/qp/cnn.yaml \\
    --label dnsmos_p808 --exp exp/qp_cnn --test data/real_test
sebench train-qp --method robust_q --train data/real_train --qp-config conf/qp/cnn.yaml \\
    --exp exp/qp_robust --method_options.init_from exp/qp_cnn"""


def build_parser(prog):
    p = make_parser(prog, "Train a non-intrusive quality predictor (cnn, blstm, cnn_blstm, "
                          "pesqnet) on utt2<label> of a data dir with the shared trainer "
                          "(method qp, or robust_q for adversarial training with Algorithm 1). "
                          "With --test, predictions and LCC/SRCC/MSE/MAE with a scatter plot. "
                          "Files longer than data.max_seconds (10) are randomly cropped for "
                          "training and scored as the mean over windows of that length, so "
                          "memory stays bounded by batch_size x max_seconds.",
                    EXAMPLE)
    p.add_argument("--train", required=True, help="labelled training data dir")
    p.add_argument("--valid", help="labelled validation data dir")
    p.add_argument("--test", help="labelled test data dir for the accuracy report")
    p.add_argument("--qp-config", required=True, help="predictor YAML (conf/qp/*.yaml)")
    p.add_argument("--label", help="label file utt2<LABEL> (default mos: human ratings; "
                                   "dnsmos_p808 for DNSMOS labels)")
    p.add_argument("--method", help="qp (default) or robust_q")
    p.add_argument("--exp", required=True, help="experiment dir")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", default=None)
    p.add_argument("--force", action="store_true")
    add_config_options(p)
    return p


def run(args, rest):
    from sebench import config as cfgmod
    from sebench.cli.common import command_line
    from sebench.data.datadir import write_kv
    from sebench.models.store import load_model
    from sebench.scoring.stats import accuracy
    from sebench.train.config import qp_defaults
    from sebench.train.experiment import train_experiment
    from sebench.utils.fileio import atomic_write_text

    from sebench.train.config import CHECKS, check_schedule
    from sebench.train.methods import check_method_options

    def validate(cfg):
        check_schedule(cfg)
        check_method_options(cfg)

    cfg = resolve_config(qp_defaults(), args, rest, [("method", "method"), ("seed", "seed")],
                         CHECKS, validate=validate)
    cfg["model"] = cfgmod.merge(cfgmod.load_yaml(args.qp_config), cfg["model"], strict=False)
    cfg["model"]["kind"] = "predictor"
    if args.label:
        cfg["method_options"] = dict(cfg["method_options"] or {}, label_file=args.label)
    label = (cfg["method_options"] or {}).get("label_file", "mos")
    train_experiment(cfg, args.exp, args.train, args.valid, args.device, args.force,
                     command=command_line())
    if not args.test:
        return 0
    import json
    from sebench.quality.predict import predict
    q, _ = load_model(args.exp, kinds={"predictor"})
    out = os.path.join(args.exp, "test_" + os.path.basename(os.path.normpath(args.test)))
    os.makedirs(out, exist_ok=True)
    pred_file = os.path.join(out, f"utt2{label}_pred")
    scores = predict(q, args.test, window_seconds=cfg["data"]["max_seconds"])
    write_kv(pred_file, {k: f"{v:.4f}" for k, v in scores.items()})
    true_file = os.path.join(args.test, f"utt2{label}")
    if not os.path.isfile(true_file):
        print(f"predictions in {pred_file} ({true_file} absent: no accuracy)")
        return 0
    result = accuracy(pred_file, true_file, plot=os.path.join(out, "scatter.png"), label=label)
    atomic_write_text(os.path.join(out, "accuracy.json"), json.dumps(result, indent=2) + "\n")
    print(f"{label} predictor on {args.test}: LCC {result['lcc']:.3f}  SRCC {result['srcc']:.3f}  "
          f"MSE {result['mse']:.3f}  MAE {result['mae']:.3f}  (n={result['n']}; "
          f"{out}/scatter.png)")
    return 0
