"""``sebench enhance``: run a trained model over files, folders, globs, scp files or data dirs."""
import os
import time

from sebench.cli.common import make_parser

EXAMPLE = """\
sebench enhance exp/supervised_cnn_blstm noisy_folder/ -o enhanced/
sebench enhance model.zip data/test -o exp/enhanced/test --nj 4 --cmd run.pl
sebench enhance exp/sup 'recordings/**/*.flac' -o out/ --device cuda --chunk 60
sebench enhance robust_q:exp/qp_robust,after=exp/sup,steps=20 data/real_test -o exp/enh/semi_rq
sebench enhance --robust-q exp/qp_robust data/real_test -o exp/enh/robust_q      # the same kind
sebench enhance composite:chain,first=exp/sup,second=exp/semi data/test -o exp/enh/chain
sebench enhance classical:NAME,key=value data/test -o exp/enh/baseline      # no weights
sebench enhance classical:oracle_mask,mask=irm data/test --ref data/test -o exp/enh/oracle_irm
sebench enhance dfn3 noisy_folder/ -o enhanced/     # pretrained DeepFilterNet 3 (make references)
sebench enhance pretrained:rnnoise data/test -o exp/enh/rnnoise"""


def build_parser(prog):
    p = make_parser(prog, "Enhance audio with what ENHANCER names: a trained model (an "
                          "experiment dir, its model/ folder or a packed .zip), or a spec "
                          "KIND:SOURCE[,key=value...] with KIND model, robust_q (Algorithm 1 "
                          "with a quality predictor, optionally after=MODEL), composite "
                          "(NAME,PART=MODEL,...), classical (a weightless enhancer: "
                          "NAME,option=value) or pretrained (dfn3, rnnoise: `make "
                          "references`; the bare name works too). Resamples to the model's rate and back, "
                          "enhances long files in overlapping chunks (bounded memory), batches "
                          "short files, mirrors folder trees, skips finished outputs, writes "
                          "OUT/wav.scp and reports the real-time factor.", EXAMPLE)
    p.add_argument("inputs", nargs="+", metavar="ENHANCER INPUT",
                   help="the enhancer (a model path or KIND:SOURCE,...; omitted with "
                        "--robust-q), then audio files, folders, globs, scp files, data dirs")
    p.add_argument("--robust-q", metavar="QP_DIR",
                   help="shorthand for the enhancer robust_q:QP_DIR (with --after and --rq-*)")
    p.add_argument("--after", metavar="MODEL", help="with --robust-q: post-process this model's output")
    p.add_argument("--rq-steps", type=int, default=20, help="Algorithm 1 steps")
    p.add_argument("--rq-lr", type=float, default=0.1,
                   help="Algorithm 1 step size (a fraction of the mean magnitude per step)")
    p.add_argument("--rq-step", choices=("normalized", "plain"), default="normalized",
                   help="Algorithm 1 update: normalised gradient (default) or the literal N -= lr*g")
    p.add_argument("--rq-target", type=float, default=None,
                   help="Algorithm 1 target score (default: the predictor's maximum)")
    p.add_argument("--ref", metavar="DATA_DIR",
                   help="the clean references (a data dir's clean.scp, or an scp file), for "
                        "enhancers that need them: the oracle masks (classical:oracle_mask)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--keep-rate", action="store_true",
                   help="write at the model's rate instead of resampling back to the input's")
    p.add_argument("--channel", default="all",
                   help="multi-channel input: 'all' (each channel enhanced), 'mean' or an index")
    p.add_argument("--chunk", type=float, default=30.0, help="chunk length in seconds for long "
                                                            "files (0: never chunk)")
    p.add_argument("--overlap", type=float, default=1.0, help="chunk overlap in seconds")
    p.add_argument("--batch-size", type=int, default=4,
                   help="short files of identical length enhanced together")
    p.add_argument("--force", action="store_true", help="overwrite finished outputs")
    p.add_argument("--nj", type=int, default=1, help="number of jobs")
    p.add_argument("--cmd", default="run.pl", help="job runner: run.pl, slurm.pl or queue.pl")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per job")
    import argparse
    p.add_argument("--shard", help=argparse.SUPPRESS)
    p.add_argument("--rows-out", help=argparse.SUPPRESS)
    return p


def _enhancer_spec(args):
    """The enhancer spec; --robust-q and its options are shorthand for a robust_q spec."""
    from sebench.errors import SebenchError
    if not args.robust_q:
        if args.after:
            raise SebenchError("--after only goes with --robust-q")
        if len(args.inputs) < 2:
            raise SebenchError("give an ENHANCER and at least one INPUT (or --robust-q QP_DIR)")
        return args.inputs[0], args.inputs[1:]
    spec = {"kind": "robust_q", "source": args.robust_q, "after": args.after,
            "steps": args.rq_steps, "lr": args.rq_lr, "step": args.rq_step,
            "target": args.rq_target}
    return {k: v for k, v in spec.items() if v is not None}, args.inputs


def _process(items, spec, args):
    import torch
    from sebench.enhance.engine import Enhancer
    from sebench.enhance.factory import build_enhancer
    from sebench.enhance.run import OutputOptions, channel_option, enhance_items
    if args.threads:
        torch.set_num_threads(args.threads)
    model = build_enhancer(spec, args.device)
    _write_provenance(args.out, spec, model)
    engine = Enhancer(model, args.device, args.chunk or None, args.overlap)
    opts = OutputOptions(args.out, args.keep_rate, channel_option(args.channel),
                         args.batch_size, args.force,
                         _references(args.ref, engine.needs_reference))
    return enhance_items(items, engine, opts)


def _write_provenance(out, spec, model):
    """OUT/enhancer.json: the spec and, for a pretrained enhancer, its package version and
    model hash (``sebench score`` copies it into its summary)."""
    import json
    from sebench.enhance.factory import enhancer_provenance, spec_string
    from sebench.utils.fileio import atomic_write_text
    info = enhancer_provenance(model)
    if info is not None:
        os.makedirs(out, exist_ok=True)
        atomic_write_text(os.path.join(out, "enhancer.json"),
                          json.dumps(dict(spec=spec_string(spec), **info), indent=2) + "\n")


def _references(ref, needed):
    """key -> clean path from --ref; it must be given exactly when the enhancer needs it."""
    from sebench.data.datadir import DataDir, read_kv
    from sebench.errors import SebenchError
    if not needed:
        if ref:
            raise SebenchError("--ref: this enhancer takes no clean reference (only oracle "
                               "enhancers such as classical:oracle_mask do)")
        return None
    if not ref:
        raise SebenchError("this enhancer needs the clean references: --ref DATA_DIR (its "
                           "clean.scp) or --ref FILE.scp")
    if os.path.isdir(ref):
        if not DataDir(ref).has("clean.scp"):
            raise SebenchError(f"{ref}: no clean.scp (--ref needs the clean references)")
        return DataDir(ref).read("clean.scp")
    if not os.path.isfile(ref):
        raise SebenchError(f"{ref}: no such data dir or scp file (--ref)")
    return read_kv(ref)


def run(args, rest):
    from sebench.cli.common import no_extra_args
    from sebench.data.datadir import read_kv, write_kv
    from sebench.enhance.factory import check_enhancer, needs_reference, spec_string
    from sebench.enhance.inputs import resolve_inputs
    from sebench.errors import SebenchError
    from sebench.jobs import sebench_argv
    from sebench.jobs.shards import parse_shard, run_shards, shard_range, write_rows
    from sebench.utils.fileio import remove_stale_temporaries
    from sebench.utils.log import get_logger

    # inputs may follow options (`ENHANCER --ref DIR INPUT`): argparse leaves them in rest
    args.inputs += [r for r in rest if not r.startswith("-")]
    no_extra_args([r for r in rest if r.startswith("-")])
    log = get_logger("sebench.enhance")
    spec, inputs = _enhancer_spec(args)
    check_enhancer(spec)                  # fail early on a bad model path or option
    items = resolve_inputs(inputs)
    _references(args.ref, needs_reference(spec))      # fail early on a missing --ref
    if not args.shard and os.path.isdir(args.out):
        remove_stale_temporaries(args.out, recursive=True)     # left by a killed run
    t0 = time.perf_counter()
    if args.shard:
        shard, total = parse_shard(args.shard)
        write_rows(args.rows_out, _process([items[i] for i in shard_range(len(items), shard, total)],
                                           spec, args))
        return 0
    nj = max(1, min(args.nj, len(items)))
    if nj == 1:
        rows = _process(items, spec, args)
    else:
        command = sebench_argv() + ["enhance", spec_string(spec), *inputs, "-o", args.out,
                                    "--device", args.device, "--channel", args.channel,
                                    "--chunk", str(args.chunk), "--overlap", str(args.overlap),
                                    "--batch-size", str(args.batch_size),
                                    "--threads", str(args.threads or 1)]
        command += ["--keep-rate"] * args.keep_rate + ["--force"] * args.force
        command += ["--ref", args.ref] if args.ref else []
        rows = run_shards(args.cmd, nj, os.path.join(args.out, "split"), command, "enhance")
    wall = time.perf_counter() - t0
    done = [r for r in rows if r["status"] == "done"]
    failed = [r for r in rows if r["status"] == "failed"]
    not_attempted = sum(r["status"] == "not_attempted" for r in rows)
    for r in failed:    # before wav.scp, whose write may fail the same way
        log.error("%s", r["error"])
    scp_path = os.path.join(args.out, "wav.scp")
    scp = read_kv(scp_path) if os.path.isfile(scp_path) else {}
    scp.update({r["key"]: os.path.abspath(r["out"]) for r in rows if r["status"] in ("done", "skipped")})
    write_kv(scp_path, dict(sorted(scp.items())))
    audio_s = sum(r["seconds"] for r in done)
    compute_s = sum(r["elapsed"] for r in done)
    if done:
        log.info("enhanced %d file(s), %.1f s of audio: RTF %.3f (model), %.3f (end to end, %d job(s))",
                 len(done), audio_s, compute_s / max(audio_s, 1e-9), wall / max(audio_s, 1e-9), nj)
    skipped = len(rows) - len(done) - len(failed) - not_attempted
    if skipped:
        log.info("%d output(s) already existed and were kept (--force redoes them)", skipped)
    rescaled = sum(1 for r in done if r.get("rescaled"))
    if rescaled:
        log.warning("%d output(s) peaked above 0.99 and were rescaled to a 0.99 peak", rescaled)
    if not_attempted:
        raise SebenchError(f"stopped: {failed[-1]['error']}; {len(done)} of {len(rows)} "
                           f"written, {not_attempted} not attempted (rerun to continue)")
    if failed:
        others = "the others were written" if len(failed) < len(rows) else "nothing was written"
        raise SebenchError(f"{len(failed)} of {len(rows)} input(s) failed (listed above); {others}")
    return 0
