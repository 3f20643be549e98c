"""``sebench data``: create, check and reshape Kaldi-style data dirs."""
import json

from sebench.cli.common import bounded, make_parser, no_extra_args

EXAMPLE = """\
sebench data from-folder noisy/ --clean clean/ data/test
sebench data validate data/test
sebench data subset data/train data/train_1k --random 1000 --seed 3
sebench data split data/train 8 --per-spk
sebench data info data/test"""


def build_parser(prog):
    parser = make_parser(prog, "Create, check and reshape Kaldi-style data dirs "
                               "(wav.scp, clean.scp, utt2spk, ...).", EXAMPLE)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = sub.add_parser("validate", help="check a data dir and list every problem")
    p.add_argument("dir")
    p.add_argument("--no-audio", action="store_true", help="skip opening the audio files")
    p.add_argument("--samples", action="store_true",
                   help="also read every sample once (cached): NaN/inf, undecodable data, "
                        "silence")
    p.add_argument("--fs", type=bounded(int, 1), metavar="HZ",
                   help="the sample rate every file must have")

    p = sub.add_parser("fix", help="sort, drop duplicates and utterances missing from any file "
                                   "(backup kept in DIR/.backup)")
    p.add_argument("dir")

    p = sub.add_parser("subset", help="copy a subset: first N, random N, speakers or keys")
    p.add_argument("src")
    p.add_argument("out")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--first", type=int, metavar="N")
    g.add_argument("--random", type=int, metavar="N", dest="random_n")
    g.add_argument("--spk-list", metavar="FILE", help="file with one speaker per line")
    g.add_argument("--utt-list", metavar="FILE", help="file with one key per line")
    p.add_argument("--seed", type=int, default=0, help="seed for --random")

    p = sub.add_parser("split", help="write DIR/splitN/{1..N} shards")
    p.add_argument("dir")
    p.add_argument("num_shards", type=int)
    p.add_argument("--per-spk", action="store_true", help="split on speaker boundaries")

    p = sub.add_parser("combine", help="union of data dirs (keys must be unique)")
    p.add_argument("out")
    p.add_argument("sources", nargs="+")

    p = sub.add_parser("from-folder", help="data dir from a folder tree of wav/flac files")
    p.add_argument("noisy_dir")
    p.add_argument("out_dir")
    p.add_argument("--clean", metavar="CLEAN_DIR", help="clean references, paired by relative "
                                                        "path or unique file name")
    p.add_argument("--spk-regex", metavar="REGEX", help="speaker = first group of this regex on "
                                                        "the file name (default: parent folder)")

    p = sub.add_parser("info", help="counts, hours, sample rates, speakers")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def run(args, rest):
    no_extra_args(rest)
    from sebench.data import ops
    from sebench.data.datadir import read_list

    if args.action == "validate":
        from sebench.data.validate import validate
        report = validate(args.dir, check_audio=not args.no_audio, fs=args.fs,
                          samples=args.samples)
        print(report.format())
        return 0 if report.ok else 1
    if args.action == "fix":
        result = ops.fix(args.dir)
        print(f"{args.dir}: kept {result['kept']} utterances, dropped {len(result['dropped'])}, "
              f"removed {result['duplicates']} duplicate line(s); backup in {result['backup']}")
        return 0
    if args.action == "subset":
        n = ops.subset(args.src, args.out, first=args.first, random_n=args.random_n,
                       seed=args.seed,
                       speakers=read_list(args.spk_list) if args.spk_list else None,
                       keys=read_list(args.utt_list) if args.utt_list else None)
        print(f"{args.out}: {n} utterances")
        return 0
    if args.action == "split":
        shards = ops.split(args.dir, args.num_shards, per_speaker=args.per_spk)
        print(f"{len(shards)} shards in {shards[0].parent}")
        return 0
    if args.action == "combine":
        n = ops.combine(args.out, args.sources)
        print(f"{args.out}: {n} utterances from {len(args.sources)} data dirs")
        return 0
    if args.action == "from-folder":
        from sebench.data.folder import from_folder
        s = from_folder(args.noisy_dir, args.out_dir, clean_dir=args.clean,
                        spk_regex=args.spk_regex)
        msg = f"{args.out_dir}: {s['utterances']} utterances"
        if args.clean:
            msg += (f", {s['paired']} paired ({s['noisy_without_clean']} noisy without clean, "
                    f"{s['clean_without_noisy']} clean without noisy)")
            if s["rate_mismatches"]:
                msg += f"; {s['rate_mismatches']} pair(s) with different sample rates"
        print(msg)
        return 0
    if args.action == "info":
        result = ops.info(args.dir)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            rates = ", ".join(f"{r} Hz: {n}" for r, n in result["sample_rates"].items())
            print(f"{result['path']}\n  utterances {result['utterances']}\n"
                  f"  speakers   {result['speakers']}\n  hours      {result['hours']:.3f}\n"
                  f"  duration   mean {result['mean_seconds']:.2f} s, min "
                  f"{result['min_seconds']:.2f} s, max {result['max_seconds']:.2f} s\n"
                  f"  rates      {rates}\n  files      {' '.join(result['files'])}")
            if result["unreadable"]:
                print(f"  unreadable {result['unreadable']}")
        return 0
    raise AssertionError(args.action)
