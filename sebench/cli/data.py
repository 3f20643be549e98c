"""``sebench data``: create, check and reshape Kaldi-style data dirs."""
import json

from sebench.cli.common import (add_config_options, bounded, command_line, make_parser,
                                no_extra_args, resolve_config)

EXAMPLE = """\
sebench data from-folder noisy/ --clean clean/ data/test
sebench data validate data/test
sebench data subset data/train data/train_1k --random 1000 --seed 3
sebench data split data/train 8 --per-spk
sebench data info data/test
sebench data format data/local/train data/train --fs 16000 --nj 8 --cmd run.pl
sebench data format data/local/vox2_dev data/vox2_dev --audio-format flac   # .m4a via PyAV
sebench data format data/local/test data/test --derive-noise      # noise.scp = wav - clean
sebench data curate data/train data/train_curated --config conf/curate.yaml --report exp/curation.md"""


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

    p = sub.add_parser("glimpses", help="noise-only stretches of recordings, found by an energy "
                                        "threshold (paper 003's noise examples)")
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--below-db", type=float,
                   help="a window this many dB under the recording's loudest is background "
                        "(default 30)")
    p.add_argument("--window", type=float, help="window length in seconds (default 0.1)")
    p.add_argument("--min-seconds", type=float, help="shortest glimpse kept (default 0.5)")
    add_config_options(p)

    p = sub.add_parser("info", help="counts, hours, sample rates, speakers")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("format", help="audio at one rate in a readable format (the recipes' "
                                      "stage 2): resample (soxr), decode m4a/aac/mp3/opus")
    p.description = (
        "Copy data dir SRC to DST with every audio field (wav, clean, clean_rev, noise) at "
        "--fs: mono WAV/FLAC files already at that rate stay where they are; others are "
        "decoded (soundfile; PyAV for AAC/.m4a), resampled with soxr and written under "
        "DST/audio/<field>/. Keys and metadata files carry over; utt2num_samples, utt2dur "
        "and utt2fs are written. A rerun keeps finished files; failed utterances are listed "
        "in DST/skipped.txt.")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--fs", type=int, help="target sample rate (default 16000)")
    p.add_argument("--audio-format", choices=("wav", "flac"), help="format of rewritten files")
    p.add_argument("--channel", help="multi-channel input: a channel index or 'mean' "
                                     "(default: multi-channel files fail)")
    p.add_argument("--copy", action="store_true", default=None,
                   help="rewrite every file, even those usable as they are")
    p.add_argument("--derive-noise", action="store_true", default=None,
                   help="write noise.scp as wav - clean (float WAV), for SIR and noise targets")
    p.add_argument("--force", action="store_true", default=None, help="rewrite existing outputs")
    from sebench.jobs.shards import add_job_options
    add_job_options(p)
    add_config_options(p)

    p = sub.add_parser("curate", help="keep the utterances whose labels (DNSMOS, active-speech "
                                      "ratio) clear thresholds; report the hours each keeps")
    p.description = (
        "Copy the utterances of SRC whose labels reach every minimum of `keep` to DST and "
        "report the hours each threshold of `grid` keeps on its own. Labels are utt2<name> "
        "files (e.g. dnsmos_ovrl, dnsmos_p808 from `sebench label --source dnsmos`) and "
        "active_ratio, the P.56 active-speech share, and wada_snr, the WADA estimate of the "
        "SNR, each computed once into SRC/utt2<name>. Config keys: keep {label: minimum or "
        "[lo, hi]}, grid {label: [minimum, ...]}.")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--report", help="write the hours table (Markdown) here too")
    add_config_options(p)
    return parser


def _format(args, rest):
    from sebench.data.format import DEFAULTS, format_data_dir

    if args.channel is not None and args.channel.lstrip("-").isdigit():
        args.channel = int(args.channel)
    cfg = resolve_config(DEFAULTS, args, rest, [
        ("fs", "fs"), ("audio_format", "audio_format"), ("channel", "channel"), ("copy", "copy"),
        ("derive_noise", "derive_noise"), ("force", "force"), ("nj", "nj"), ("cmd", "cmd")])
    format_data_dir(args.src, args.dst, cfg, args, command_line())
    return 0


def _glimpses(args, rest):
    from sebench.data.glimpses import CHECKS, DEFAULTS, write_glimpses

    cfg = resolve_config(DEFAULTS, args, rest, [("below_db", "below_db"), ("window", "window"),
                                                ("min_seconds", "min_seconds")], CHECKS)
    n, seconds = write_glimpses(args.src, args.out, **cfg)
    print(f"{args.out}: {n} noise-only glimpses, {seconds:.1f} s")
    return 0


def _curate(args, rest):
    from sebench.data.curate import DEFAULTS, curate, format_report
    from sebench.utils.fileio import atomic_write_text

    cfg = resolve_config(DEFAULTS, args, rest, [])
    report = format_report(args.src, curate(args.src, args.dst, cfg))
    if args.report:
        atomic_write_text(args.report, report)
    print(report, end="")
    return 0


def run(args, rest):
    if args.action == "format":
        return _format(args, rest)
    if args.action == "curate":
        return _curate(args, rest)
    if args.action == "glimpses":
        return _glimpses(args, rest)
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
