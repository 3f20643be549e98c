"""``sebench recipe``: the helpers behind the shared stage script ``egs/TEMPLATE/se1/se.sh``."""
import os

from sebench.cli.common import make_parser, no_extra_args

EXAMPLE = """\
sebench recipe conf --confdir conf/smoke --out exp/conf    # effective configs: conf/ + overlay
sebench recipe show --conf exp/conf                        # systems, stages, dependencies
sebench recipe plan train --conf exp/conf --data data --exp exp --systems semi
sebench recipe plan all --conf exp/conf --out exp/plan     # what se.sh runs: every stage
sebench recipe cost --plan exp/plan/train.tsv               # trainings to run, hours if known
sebench recipe choose adv_irm --conf exp/conf --exp exp    # a finished search's choice
sebench recipe check-data --conf exp/conf --data data       # stage 1 made every needed set?
sebench recipe format-opts --conf exp/conf test real_test  # stage 2's options per set"""


def build_parser(prog):
    p = make_parser(prog, "Helpers for recipes (used by se.sh; handy to inspect a recipe). "
                          "`conf` writes the effective config dir (every YAML file of conf/ "
                          "with the --confdir overlay's keys merged over it); `plan` prints a "
                          "stage's items from conf/recipe.yaml and conf/eval.yaml, one per line "
                          "as KIND<TAB>NAME<TAB>OUT<TAB>sebench-arguments; `show` lists the "
                          "systems with their training stage and dependencies; `check-data` "
                          "stops with one line per set the selected systems or eval.yaml "
                          "need that stage 1 did not make; `format-opts` prints the `sebench "
                          "data format` options recipe.yaml's format: gives a set.", EXAMPLE)
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = sub.add_parser("conf", help="write the effective config dir")
    c.add_argument("--conf", default="conf", help="the recipe's config dir")
    c.add_argument("--confdir", default="", help="overlay dir with only the differing keys")
    c.add_argument("--out", required=True, help="where to write the effective configs")
    c.add_argument("--leave-out", default="", metavar="SETS",
                   help="comma list of eval.yaml test sets to drop (a corpus part you lack)")
    f = sub.add_parser("format-opts", help="stage 2's `data format` options per set: "
                                           "SET<TAB>options, one line each")
    f.add_argument("sets", nargs="+", metavar="SET", help="set names (DATA/local/<set>)")
    f.add_argument("--conf", default="conf", help="effective config dir (recipe.yaml)")
    from sebench.recipe.plan import STAGES
    pl = sub.add_parser("plan", help="a stage's items, one sebench command per line")
    pl.add_argument("stage", choices=STAGES + ("all",))
    pl.add_argument("--out", help="with `all`: write OUT/<stage>.tsv for every stage instead")
    s = sub.add_parser("show", help="the systems, their stage and dependencies")
    ch = sub.add_parser("choose", help="choose a searched system's trial by its validation "
                                       "criterion: writes EXP/<system>/search/chosen.yaml, "
                                       "trials.md and trials.csv")
    ch.add_argument("system", help="a system with `search:` in recipe.yaml")
    co = sub.add_parser("cost", help="how many trainings a plan implies, and the hours where "
                                     "earlier runs of the same systems tell")
    co.add_argument("--plan", required=True, help="a training plan (EXP/plan/train.tsv)")
    d = sub.add_parser("check-data", help="stop when a set the recipe needs is missing")
    for q in (pl, s, ch, d):
        q.add_argument("--conf", default="conf", help="effective config dir (recipe.yaml, eval.yaml)")
        q.add_argument("--data", default="data")
        q.add_argument("--exp", default="exp")
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--systems", default="default",
                       help="default (recipe.yaml's default_systems, else all), all, or a comma "
                            "list; dependencies are added")
        q.add_argument("--seeds", help="comma list: the seeds of every trained row (one "
                                       "experiment each), overriding recipe.yaml's `seeds:`")
    return p


def run(args, rest):
    from sebench.errors import ConfigError
    no_extra_args(rest)
    if args.action == "conf":
        from sebench.recipe.overlay import materialize
        leave_out = [s for s in args.leave_out.split(",") if s]
        materialize(args.conf, args.confdir or None, args.out, leave_out)
        print(args.out)
        return 0
    if args.action == "cost":
        from sebench.recipe.cost import training_cost
        print(training_cost(args.plan))
        return 0
    if args.action == "format-opts":
        import shlex
        from sebench.recipe.systems import Recipe
        path = os.path.join(args.conf, "recipe.yaml")
        recipe = Recipe.load(path) if os.path.isfile(path) else Recipe({})
        for name in args.sets:
            print(f"{name}\t" + " ".join(map(shlex.quote, recipe.format_words(name))))
        return 0
    from sebench.recipe.plan import Context, plan
    seeds = None
    if args.seeds:
        from sebench.recipe.search import parse_seeds
        seeds = parse_seeds(args.seeds)
    ctx = Context(args.conf, args.data, args.exp, args.seed, seeds)
    if args.action == "choose":
        from sebench.recipe.plan import choose_trial
        best, rows, folder = choose_trial(ctx, args.system)
        print(f"{args.system}: trial{best} chosen ({len(rows)} trials): "
              f"{os.path.join(folder, 'chosen.yaml')}")
        return 0
    if args.action == "plan":
        if args.stage == "all":
            from sebench.recipe.plan import write_plans
            if not args.out:
                raise ConfigError("plan all needs --out DIR")
            write_plans(ctx, args.out, args.systems)
            print(args.out)
            return 0
        for item in plan(ctx, args.stage, args.systems):
            print(item.line())
        return 0
    if args.action == "check-data":
        from sebench.recipe.datacheck import check_sets
        check_sets(ctx, args.systems)
        return 0
    recipe = ctx.recipe
    selected = recipe.select(args.systems)          # an error before any output
    print("system\tstage\trow\tneeds")
    for name in selected:
        system = recipe.systems[name]
        stage = recipe.training_stage(name) or "-"
        row = "row" if system.is_row else "-"
        deps = ",".join(recipe.deps[name]) or "-"
        print(f"{name}\t{stage}\t{row}\t{deps}")
    return 0
