"""``sebench report``: one RESULTS.md table from several systems' `sebench score` outputs."""
from sebench.cli.common import make_parser

EXAMPLE = """\
sebench report --eval conf/eval.yaml --scores exp/scores --systems noisy,supervised,gan \\
    --qp exp/qp_cnn --curves exp/gan/learning_curves.png --out exp/RESULTS.md
sebench report --scores exp/scores --systems noisy,supervised,gan \\
    --set test:pesq_wb,stoi,sisdr,csig,cbak,covl,dnsmos_ovrl \\
    --set real_test:dnsmos_p808,dnsmos_sig,dnsmos_bak,dnsmos_ovrl --out RESULTS.md
# systems of several experiments (e.g. two recipes) in one table and comparison:
sebench report --eval conf/eval.yaml --scores exp/scores --scores ../../vbd/se1/exp/scores \
    --systems noisy,supervised,nonadv,vbd_sup=../../vbd/se1/exp/scores/supervised --out CMP.md"""


def build_parser(prog):
    p = make_parser(prog, "Collect SCORES/<system>/<set>/summary.json into one Markdown table "
                          "(systems as rows in the given order, one column group per test set). "
                          "The layout comes from the recipe's evaluation policy (--eval "
                          "conf/eval.yaml: sets, columns, display names, title, note, and the "
                          "baseline for Wilcoxon significance) or from --set arguments. "
                          "With a `comparison:` section the policy also gets the table of "
                          "every method: training data, teacher, model, parameters, steps "
                          "(read from each experiment beside its scores: SCORES/../<system>/ "
                          "and SCORES/../conf/recipe.yaml), the best value per column in "
                          "bold, Wilcoxon p-values against the baseline and the teacher vs "
                          "judge columns. Predictor accuracy and learning-curve images "
                          "follow.", EXAMPLE)
    p.add_argument("--scores", required=True, action="append", metavar="SCORES",
                   help="folder with <system>/<set>/summary.json (an experiment's "
                        "exp/scores); repeat it to compare systems of several experiments: a "
                        "system name is looked up in each in turn")
    p.add_argument("--systems", required=True,
                   help="comma list, in row order (noisy first); an item NAME=DIR takes "
                        "the row NAME from DIR (a folder with <set>/summary.json, e.g. "
                        "other/exp/scores/supervised)")
    p.add_argument("--eval", metavar="EVAL.yaml", help="the evaluation policy (conf/eval.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="SET:METRICS",
                   help="without --eval: a test set and its metric columns (repeatable)")
    p.add_argument("--qp", action="append", default=[], metavar="[NAME=]PATH",
                   help="predictor accuracy: an accuracy.json from train-qp --test, or a "
                        "train-qp experiment dir (its test_*/accuracy.json; none is fine)")
    p.add_argument("--curves", default="", help="comma list of learning-curve PNGs "
                                                "(missing files are skipped)")
    p.add_argument("--title", help="title (default: the policy's, else 'Results')")
    p.add_argument("--note", help="a paragraph under the title (default: the policy's)")
    p.add_argument("--data", help="the data dirs (data/<set>), for sets with a `breakdown:`")
    p.add_argument("--search", action="append", default=[], metavar="NAME=SEARCH_DIR",
                   help="a searched system's search dir (trials.md, chosen.yaml): its trial "
                        "table goes into the report (repeatable)")
    p.add_argument("--out", required=True, help="RESULTS.md to write")
    return p


def run(args, rest):
    from sebench.cli.common import no_extra_args
    from sebench.errors import ConfigError
    from sebench.results.policy import load_policy, policy_from_specs
    from sebench.results.table import write_results

    no_extra_args(rest)
    if bool(args.eval) == bool(args.set):
        raise ConfigError("give either --eval EVAL.yaml or --set SET:METRICS (one or more)")
    policy = load_policy(args.eval) if args.eval else policy_from_specs(args.set)
    if args.title is not None:
        policy.title = args.title
    if args.note is not None:
        policy.note = args.note
    systems = [s for s in args.systems.split(",") if s]
    write_results(policy, args.scores, systems, args.out, qp=args.qp,
                  curves=[c for c in args.curves.split(",") if c], data=args.data,
                  searches=args.search)
    print(args.out)
    return 0
