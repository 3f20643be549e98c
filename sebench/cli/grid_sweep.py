"""``sebench grid-sweep``: train every point of a declared option grid, pick the best on the
validation set (sebench.results.grid_sweep)."""
from sebench.cli.common import make_parser

EXAMPLE = """\
sebench grid-sweep --grid conf/triplet_sweep.yaml --out exp/triplet_sweep/paired_emb -- \\
    train --config conf/train_paired_emb.yaml --model-config conf/gru.yaml \\
    --train paired=data/paired_p20 --valid data/paired_valid --method_options.vqvae exp/vqvae_p20"""


def build_parser(prog):
    p = make_parser(prog, "Run `sebench train` once per combination of the grid's option "
                          "values (OUT/<point>, finished runs kept), then write OUT/table.md "
                          "(each point's best validation value of the criterion) and "
                          "OUT/chosen.json (the best point). The training command follows --.",
                    EXAMPLE)
    p.add_argument("--grid", required=True, help="YAML: grid {option: [values]}, criterion, mode")
    p.add_argument("--out", required=True, help="one experiment dir per point, and the table")
    p.add_argument("--title", default="Grid sweep", help="heading of table.md")
    return p


def run(args, rest):
    import os
    import subprocess

    from sebench.errors import ConfigError, SebenchError
    from sebench.jobs import sebench_argv
    from sebench.results.grid_sweep import collect, load_grid, point_name, points, write_report
    from sebench.utils.log import get_logger

    log = get_logger("sebench.grid_sweep")
    command = rest[1:] if rest[:1] == ["--"] else rest
    if command[:1] != ["train"]:
        raise ConfigError("grid-sweep: give the training command after --, starting with train")
    spec = load_grid(args.grid)
    for point in points(spec["grid"]):
        exp = os.path.join(args.out, point_name(point))
        if os.path.isfile(os.path.join(exp, ".done")):
            log.info("%s: already trained", exp)
            continue
        words = sebench_argv() + command + ["--exp", exp]
        for key, value in point:
            words += [f"--{key}", str(value)]
        log.info("grid point %s: %s", point_name(point), " ".join(words[3:]))
        if subprocess.run(words).returncode != 0:
            raise SebenchError(f"grid-sweep: the training of {exp} failed (its log: "
                               f"{exp}/train.log)")
    rows, chosen = collect(args.out, spec)
    write_report(args.out, spec, rows, chosen, args.title)
    print(f"chosen: {chosen['options']} ({spec['criterion']} {chosen['value']:.6g}); "
          f"table: {os.path.join(args.out, 'table.md')}")
    return 0
