"""``sebench prepare <corpus>``: a corpus in its release layout -> Kaldi-style data dirs."""
from sebench.cli.common import add_config_options, command_line, make_parser, resolve_config

EXAMPLE = """\
sebench prepare vbd --root /data/VBD --out data
sebench prepare vbd --root /data/VBD --out data --valid-split random --seed 1   # paper 004
sebench prepare dns --root /data/DNS-Challenge --out data --prefix dns_
sebench prepare vox2 --root /data/voxceleb2 --out data     # paper 000's held-out speakers
sebench prepare vox2 --root /data/voxceleb2 --out data --nj 8 --cmd slurm.pl   # 8 scan jobs
sebench prepare iub --root /data/iub --out data --scale 0-100
sebench prepare vbd --help          # the expected layout, the sets written, every option"""


def _flag(key):
    return "--" + key.replace("_", "-")


def _add_corpus_parser(sub, name):
    from sebench import corpora
    module = corpora.get_corpus(name)
    epilog = (f"expected layout:\n{module.TREE}\ndata dirs written (under --out, after "
              f"--prefix):\n{module.SETS}\n")
    defaults = corpora.default_config(name)
    split = corpora.split_config(name)
    if split:
        epilog += f"\ndefaults of the split options come from {split}\n"
    p = sub.add_parser(name, help=module.TITLE, description=f"Prepare {module.TITLE}.",
                       epilog=epilog, formatter_class=_formatter())
    p.add_argument("--root", required=True, help="the corpus root (its release layout)")
    p.add_argument("--out", required=True, help="folder the data dirs are written into")
    p.add_argument("--prefix", default="", help="prefix of every data dir name (e.g. dns_)")
    p.add_argument("--durations", type=_bool, default=True, metavar="true|false",
                   help="read each file's header for utt2num_samples/utt2fs and hours "
                        "(never for m4a)")
    for key in module.DEFAULTS:
        p.add_argument(_flag(key), dest=key, metavar="VALUE",
                       help=f"{module.HELP[key]} (default: {defaults[key]})")
    if getattr(module, "SHARDED", False):
        from sebench.jobs.shards import add_job_options
        add_job_options(p)          # --nj N --cmd run.pl: the scan over parallel jobs
    add_config_options(p)
    return p


def _value(text, default):
    """A flag's text as the option's type: text options (regexes, paths) stay text unless
    written as a YAML list or mapping; lists also take ``a,b,c``."""
    from sebench.config import parse_value
    if default is None or isinstance(default, str):
        return parse_value(text) if text.lstrip().startswith(("[", "{")) else text
    value = parse_value(text)
    if isinstance(default, list) and isinstance(value, str):
        return [parse_value(v) for v in value.split(",") if v]  # --valid-folds 3,4
    return value


def _formatter():
    import argparse
    return argparse.RawDescriptionHelpFormatter


def _bool(text):
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    import argparse
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser(prog):
    from sebench.corpora import CORPORA
    parser = make_parser(prog, "Turn a corpus in its real release layout into Kaldi-style data "
                               "dirs (wav.scp, clean.scp where paired, utt2spk/spk2utt, "
                               "metadata). Audio stays where it is; `sebench data format` "
                               "converts it later. A missing root or a wrong layout prints the "
                               "expected tree.", EXAMPLE)
    sub = parser.add_subparsers(dest="corpus", metavar="CORPUS", required=True)
    for name in CORPORA:
        _add_corpus_parser(sub, name)
    return parser


def run(args, rest):
    from sebench import corpora

    module = corpora.get_corpus(args.corpus)
    for key, default in module.DEFAULTS.items():
        text = getattr(args, key)
        if text is not None:
            setattr(args, key, _value(text, default))
    cfg = resolve_config(corpora.default_config(args.corpus), args, rest,
                         [(k, k) for k in module.DEFAULTS])
    jobs = {k: getattr(args, k, None) for k in ("nj", "cmd", "shard", "rows_out")}
    summaries = corpora.prepare(args.corpus, args.root, args.out, cfg, prefix=args.prefix,
                                probe=args.durations, command=command_line(), **jobs)
    for summary in summaries or ():          # None: a shard job, which wrote its rows
        print(summary.line())
    return 0
