"""``sebench score``: the metric suite over a test set, robust and parallel."""
import argparse
import json
import os

from sebench.cli.common import add_config_options, command_line, make_parser, resolve_config
from sebench.config import OneOf, Range

EXAMPLE = """\
sebench score --enh exp/enhanced/test --ref data/test --noisy data/test \\
    --metrics pesq_wb,stoi,sisdr,csig,cbak,covl,dnsmos --out exp/scores/test --nj 2
sebench score --enh enhanced_folder/ --metrics nonintrusive --out scores/
sebench score --enh exp/enh/deepdream/real_test --metrics dnsmos --qp cnn=exp/qp_cnn \
    --out exp/scores/deepdream/real_test        # + qp_cnn: the trained predictor's score"""

DEFAULTS = {
    "metrics": "pesq_wb,stoi,sisdr",
    "channel": None,            # None: multi-channel input is refused; or a channel index
    "length_tolerance": 0.1,    # seconds of length difference trimmed (with a warning)
    "nj": 1,
    "cmd": "run.pl",
    "cache_dir": None,          # default ~/.cache/sebench/scores (noisy scores, by content)
    "composite_pesq": "wb",     # CSIG/CBAK/COVL's PESQ term: wb (P.862.2 at 16 kHz, raw P.862
                                # at 8 kHz; the published VBD convention) or raw_nb (composite.m)
    "dnsmos_windows": "official",   # official (dnsmos_local.py's windows) or full (every hop)
    "dnsmos_short_clips": "reference",   # clips < 9.01 s: reference (all windows of the tiled
                                         # clip, as dnsmos_local.py) or first_window (cheaper)
    "on_rate_mismatch": "resample",  # estimate at another rate than its reference: resample
                                     # it (soxr; a warning) or error (NaN with the reason)
    "qp": [],                   # trained quality predictors scored as columns qp_<name>
}

#: value rules (sebench.config), checked with the types before anything is read
CHECKS = {"channel": Range(0, type=int, none=True), "length_tolerance": Range(0), "nj": Range(1),
          "dnsmos_short_clips": OneOf("reference", "first_window")}


def build_parser(prog):
    p = make_parser(prog, "Score enhanced audio: intrusive metrics against a reference and "
                          "non-intrusive ones (DNSMOS). ENH/REF/NOISY are data dirs, scp files "
                          "or folders, paired by key, relative path or file name.", EXAMPLE)
    p.add_argument("--enh", required=True, help="estimates to score")
    p.add_argument("--ref", help="clean references (a data dir's clean.scp is used)")
    p.add_argument("--noisy", help="the unprocessed input: scored once (cached) and the "
                                   "improvement reported")
    p.add_argument("--noise", help="noise references (scp or data dir noise.scp), for SIR")
    p.add_argument("--metrics", help="comma list of pesq_wb, pesq_nb, stoi, estoi, sisdr, sdr, "
                                     "sir, sar, snr, segsnr, csig, cbak, covl, dnsmos, srmr, "
                                     "wada_snr (WADA SNR estimate, non-intrusive), or "
                                     "the groups intrusive, nonintrusive, all")
    p.add_argument("--qp", action="append", metavar="[NAME=]PATH",
                   help="also score with a trained sebench quality predictor (a train-qp "
                        "experiment, model dir or .zip, or distillmos): column qp_NAME per "
                        "utterance, on its label's scale; NAME defaults to PATH's folder name "
                        "without a leading qp_ (repeatable)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--nj", type=int, help="number of jobs (shards)")
    p.add_argument("--cmd", help="job runner: run.pl, slurm.pl or queue.pl (with options)")
    p.add_argument("--channel", type=int, help="channel to score in multi-channel files")
    p.add_argument("--composite-pesq", metavar="{wb,raw_nb}", default=argparse.SUPPRESS,
                   help="PESQ term of CSIG/CBAK/COVL: wb = P.862.2 MOS-LQO at 16 kHz (raw P.862 "
                        "at 8 kHz), as published VoiceBank-DEMAND numbers; raw_nb = raw P.862 "
                        "at every rate, as Loizou's composite.m (default: wb)")
    p.add_argument("--dnsmos-windows", metavar="{official,full}", default=argparse.SUPPRESS,
                   help="DNSMOS windows: official = those of dnsmos_local.py/speechmos (it "
                        "drops some on clips of 17 s or more); full = every 1 s hop that fits "
                        "(default: official)")
    p.add_argument("--on-rate-mismatch", metavar="{resample,error}", default=argparse.SUPPRESS,
                   help="estimate at another rate than its reference: resample it to the "
                        "reference's rate (a warning in scores.csv) or refuse it (default: "
                        "resample)")
    p.add_argument("--keys", help=argparse.SUPPRESS)
    p.add_argument("--rows-out", help=argparse.SUPPRESS)
    add_config_options(p)
    return p


def _enhancer_provenance(enh):
    """The enhancer.json ``sebench enhance`` wrote beside the scored outputs (a pretrained
    enhancer's package version and model hash), or None."""
    from sebench.errors import SebenchError
    folder = enh if os.path.isdir(enh) else os.path.dirname(os.path.abspath(enh))
    path = os.path.join(folder, "enhancer.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise SebenchError(f"{path}: unreadable enhancer provenance ({e})") from e


def run(args, rest):
    from sebench.jobs import single_thread_math
    single_thread_math()    # before numpy loads: --nj 1 computes what a job of --nj J does

    from sebench import config as cfgmod
    from sebench.data.datadir import DataDir, read_kv, read_list
    from sebench.errors import SebenchError
    from sebench.jobs import run_jobs, sebench_argv
    from sebench.jobs.shards import balanced_shards
    from sebench.metrics import columns_of, expand
    from sebench.scoring.compute import CHOICES, ScoreCache, check_options, default_cache_dir
    from sebench.scoring.predictors import predictor_metrics
    from sebench.scoring.run import (audio_map, collect_shards, conventions, estimated_cost,
                                     pair_keys, score_keys, write_outputs)
    from sebench.version import provenance

    cfg = resolve_config(DEFAULTS, args, rest, [("metrics", "metrics"), ("nj", "nj"),
                                                ("cmd", "cmd"), ("channel", "channel"),
                                                ("qp", "qp")]
                         + [(key, key) for key in CHOICES if hasattr(args, key)], CHECKS)
    metrics, units = expand(cfg["metrics"])
    predictors = predictor_metrics(cfg["qp"])
    columns = columns_of(metrics) + [p.column for p in predictors]
    enh = audio_map(args.enh, "enh")
    ref = audio_map(args.ref, "ref")
    noisy = audio_map(args.noisy, "noisy")
    noise = None
    if args.noise:
        noise = (DataDir(args.noise).read("noise.scp") if os.path.isdir(args.noise)
                 else read_kv(args.noise))
    elif args.ref and os.path.isdir(args.ref) and DataDir(args.ref).has("noise.scp"):
        noise = DataDir(args.ref).read("noise.scp")
    keys, ref, noisy = pair_keys(enh, ref, noisy)
    if args.keys:
        wanted = set(read_list(args.keys))
        keys = [k for k in keys if k in wanted]
    if not keys:
        raise SebenchError(f"--enh {args.enh}: nothing to score (no estimate has all its partners)")
    cache = ScoreCache(cfg["cache_dir"] or default_cache_dir())
    check_options(cfg)
    options = {"channel": cfg["channel"], "length_tolerance": cfg["length_tolerance"],
               **{key: cfg[key] for key in CHOICES}}
    nj = max(1, min(int(cfg["nj"]), len(keys)))
    failed_jobs, job_error = [], None
    if args.rows_out or nj == 1:
        rows = score_keys(keys, enh, ref, noisy, noise, units, cache, options, predictors)
        if args.rows_out:
            from sebench.utils.fileio import atomic_write_text
            atomic_write_text(args.rows_out, "".join(json.dumps(r) + "\n" for r in rows))
            return 0
    else:
        split = os.path.join(args.out, f"split{nj}")
        os.makedirs(split, exist_ok=True)
        costs = [estimated_cost(enh[k], units, cfg["dnsmos_short_clips"], cfg["dnsmos_windows"],
                                predictors) * (2 if noisy else 1) for k in keys]
        shards = [[keys[j] for j in shard] for shard in balanced_shards(costs, nj)]
        for i, shard in enumerate(shards, 1):
            with open(os.path.join(split, f"keys.{i}"), "w") as f:
                f.write("".join(key + "\n" for key in shard))
            if os.path.exists(os.path.join(split, f"rows.{i}.jsonl")):   # a previous run's
                os.remove(os.path.join(split, f"rows.{i}.jsonl"))
        command = sebench_argv() + ["score", "--enh", args.enh, "--out", args.out,
                                    "--keys", os.path.join(split, "keys.JOB"),
                                    "--rows-out", os.path.join(split, "rows.JOB.jsonl"),
                                    "--nj", "1", "--metrics", ",".join(metrics)]
        for predictor in predictors:
            command += ["--qp", predictor.spec()]
        for flag, value in (("--ref", args.ref), ("--noisy", args.noisy), ("--noise", args.noise),
                            ("--channel", cfg["channel"]),
                            ("--length_tolerance", cfg["length_tolerance"]),
                            ("--cache_dir", cfg["cache_dir"]),
                            *((f"--{key.replace('_', '-')}", cfg[key]) for key in CHOICES)):
            if value is not None:
                command += [flag, str(value)]
        try:
            run_jobs(cfg["cmd"], nj, os.path.join(args.out, "log", "score.JOB.log"), command)
        except SebenchError as e:
            job_error = e
        rows, failed_jobs = collect_shards(split, shards, units, bool(noisy), predictors)
        if len(failed_jobs) == nj:
            raise job_error or SebenchError(f"no scoring job wrote its rows; see {args.out}/log")
    info = {"enh": os.path.abspath(args.enh), "ref": args.ref and os.path.abspath(args.ref),
            "noisy": args.noisy and os.path.abspath(args.noisy), "metric_names": metrics,
            "conventions": conventions(units, cfg), "provenance": provenance(), "nj": nj}
    enhancer = _enhancer_provenance(args.enh)
    if enhancer:
        info["enhancer"] = enhancer
    if predictors:
        info["predictors"] = {p.column: p.path for p in predictors}
    if "dnsmos" in units:
        from sebench.metrics.dnsmos import MODEL_SHA256
        info["dnsmos_models"] = ", ".join(f"{k} sha256 {v[:12]}…" for k, v in MODEL_SHA256.items())
    summary = write_outputs(args.out, rows, columns, info)
    cfgmod.save_config(cfg, os.path.join(args.out, "config.yaml"), command=command_line())
    with open(os.path.join(args.out, "RESULTS.md")) as f:
        print(f.read())
    if failed_jobs:
        # the runner may report no error at all (a job's rows removed by a concurrent run)
        missing = "; ".join(f"job {j} wrote no {split}/rows.{j}.jsonl (see {args.out}/log/"
                            f"score.{j}.log)" for j in failed_jobs)
        raise SebenchError(f"{job_error or missing}; {args.out}/scores.csv has the other jobs' scores and "
                           f"NaN for the utterances of job(s) {', '.join(map(str, failed_jobs))}")
    if all(entry["count"] == 0 for entry in summary["metrics"].values()):
        raise SebenchError(f"every utterance failed; see {args.out}/scores.csv (error column)")
    return 0

