"""``sebench label``: quality labels (utt2<score>) for a data dir."""
import os

from sebench.cli.common import make_parser

EXAMPLE = """\
sebench label data/real_train --source dnsmos --nj 2        # utt2dnsmos_{p808,sig,bak,ovrl}
sebench label data/train --source pesq                      # utt2pesq: WB-PESQ of wav vs clean
sebench label data/train --source pesq --enh exp/enh/train --out data/train_enh   # PESQNet targets
sebench label data/iub --source csv --csv ratings.csv --key-column file --score-column rating  # utt2mos
sebench label data/real_test --source qp --qp exp/qp_cnn    # a trained predictor's estimates"""


def build_parser(prog):
    p = make_parser(prog, "Write quality labels into a data dir (or --out): DNSMOS P.808 and "
                          "P.835 ('Vox2+DNSMOS' labels: utt2dnsmos_p808, utt2dnsmos_sig, "
                          "utt2dnsmos_bak, utt2dnsmos_ovrl), true wideband PESQ for paired dirs "
                          "(utt2pesq; noisy, or a model's enhanced outputs with --enh), human "
                          "MOS from a CSV (utt2mos; ratings mapped linearly to 1-5), or a "
                          "trained predictor's scores (utt2<its label>_pred).",
                    EXAMPLE)
    p.add_argument("data", help="data dir (wav.scp; clean.scp for --source pesq)")
    p.add_argument("--source", required=True, choices=("dnsmos", "pesq", "csv", "qp"))
    p.add_argument("--out", help="output data dir (default: write into DATA)")
    p.add_argument("--enh", help="--source pesq: enhanced outputs (folder, scp, data dir) to label")
    p.add_argument("--csv", help="--source csv: ratings file")
    p.add_argument("--key-column", default="key")
    p.add_argument("--score-column", default="mos")
    p.add_argument("--scale", nargs=2, type=float, default=(0.0, 100.0), metavar=("LO", "HI"),
                   help="--source csv: rating scale mapped linearly onto MOS 1-5 (IUB: 0 100)")
    p.add_argument("--qp", help="--source qp: trained predictor (experiment dir or zip), or "
                                "distillmos (optional package: utt2distillmos_pred)")
    p.add_argument("--name", help="label name (file utt2NAME); defaults per source")
    p.add_argument("--short-clips", choices=("reference", "first_window"), default="reference",
                   help="DNSMOS on clips under 9.01 s: every window of the tiled clip (as the "
                        "reference script) or only the first (7x cheaper for 2 s clips)")
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--cmd", default="run.pl")
    return p


def _score(enh, ref, metrics, out, nj, cmd, short_clips="reference"):
    import subprocess
    from sebench.errors import SebenchError
    from sebench.jobs import sebench_argv
    argv = sebench_argv() + ["score", "--enh", enh, "--metrics", metrics, "--out", out,
                             "--nj", str(nj), "--cmd", cmd, "--dnsmos_short_clips", short_clips]
    if ref:
        argv += ["--ref", ref]
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SebenchError(f"scoring for labels failed (its error is the line above; logs in "
                           f"{out})")
    return os.path.join(out, "scores.csv")


def run(args, rest):
    import csv

    from sebench.cli.common import no_extra_args
    from sebench.data.datadir import DataDir
    from sebench.errors import SebenchError
    from sebench.utils.log import get_logger

    no_extra_args(rest)
    log = get_logger("sebench.label")
    data = DataDir(args.data)
    data.require()
    out = DataDir(args.out or args.data)
    work = os.path.join(out.path, "labels")
    os.makedirs(work, exist_ok=True)     # a read-only output fails here, before any scoring
    written = {}
    if args.source in ("dnsmos", "pesq"):
        if args.source == "pesq" and not data.has("clean.scp"):
            raise SebenchError(f"{args.data}: --source pesq needs clean.scp (a paired data dir)")
        enh = args.enh or args.data
        metrics = "dnsmos" if args.source == "dnsmos" else "pesq_wb"
        scores = _score(enh, args.data if args.source == "pesq" else None, metrics,
                        os.path.join(work, args.source), args.nj, args.cmd, args.short_clips)
        with open(scores) as f:
            rows = list(csv.DictReader(f))
        # DNSMOS labels keep their metric's name: utt2mos is for human ratings only
        columns = {c: c for c in ("dnsmos_p808", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")} \
            if args.source == "dnsmos" else {"pesq_wb": args.name or "pesq"}
        for col, name in columns.items():
            written[name] = {r["key"]: r[col] for r in rows if r.get(col) not in ("", "nan", None)}
        if args.enh and args.out:
            from sebench.data.sources import audio_map
            enh_map = audio_map(args.enh, "enh")
            out.write("wav.scp", {k: enh_map[k] for k in sorted(written[columns["pesq_wb"]])})
            if data.has("clean.scp"):
                clean = data.read("clean.scp")
                out.write("clean.scp", {k: clean[k] for k in sorted(enh_map) if k in clean})
        failed = len(rows) - len(next(iter(written.values())))
        if failed:
            log.warning("%d utterance(s) got no label (reasons in %s)", failed, scores)
    elif args.source == "csv":
        from sebench.quality.labels import mos_from_csv
        if not args.csv:
            raise SebenchError("--source csv needs --csv FILE")
        mos = mos_from_csv(args.csv, args.key_column, args.score_column, *args.scale)
        keys = set(data.keys)
        missing = keys - set(mos)
        if missing:
            log.warning("%d utterance(s) of %s have no rating in %s (e.g. %s)", len(missing),
                        args.data, args.csv, sorted(missing)[0])
        written[args.name or "mos"] = {k: f"{v:.4f}" for k, v in mos.items() if k in keys}
    else:
        from sebench.quality.predict import predict
        from sebench.train.methods.common import load_predictor
        if not args.qp:
            raise SebenchError("--source qp needs --qp EXP_DIR")
        q = load_predictor(args.qp)
        name = args.name or f"{q.label['name']}_pred"
        written[name] = {k: f"{v:.4f}" for k, v in predict(q, args.data).items()}
    for name, values in written.items():
        if not values:
            raise SebenchError(f"no utterance of {args.data} could be labelled ({name})")
        out.write(f"utt2{name}", dict(sorted(values.items())))
        log.info("wrote %s/utt2%s (%d utterances)", out.path, name, len(values))
    return 0
