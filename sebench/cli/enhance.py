"""``sebench enhance``: run a trained model over files, folders, globs, scp files or data dirs."""
import os
import time

from sebench.cli.common import make_parser

EXAMPLE = """\
sebench enhance exp/supervised_cnn_blstm noisy_folder/ -o enhanced/
sebench enhance model.zip data/test -o exp/enhanced/test --nj 4 --cmd run.pl
sebench enhance exp/sup 'recordings/**/*.flac' -o out/ --device cuda --chunk 60
sebench enhance --robust-q exp/qp_robust data/real_test -o exp/enh/robust_q
sebench enhance --robust-q exp/qp_robust --after exp/sup data/real_test -o exp/enh/semi_rq"""


def build_parser(prog):
    p = make_parser(prog, "Enhance audio with a trained model (an experiment dir, its model/ "
                          "folder or a packed .zip). Resamples to the model's rate and back, "
                          "enhances long files in overlapping chunks (bounded memory), batches "
                          "short files, mirrors folder trees, skips finished outputs, writes "
                          "OUT/wav.scp and reports the real-time factor.", EXAMPLE)
    p.add_argument("inputs", nargs="+", metavar="MODEL INPUT",
                   help="the model (experiment dir, model dir or packed .zip; omitted with "
                        "--robust-q), then audio files, folders, globs, scp files, data dirs")
    p.add_argument("--robust-q", metavar="QP_DIR",
                   help="enhance with Algorithm 1 and this quality predictor alone (no model)")
    p.add_argument("--after", metavar="MODEL", help="with --robust-q: post-process this model's output")
    p.add_argument("--rq-steps", type=int, default=20, help="Algorithm 1 steps")
    p.add_argument("--rq-lr", type=float, default=0.1,
                   help="Algorithm 1 step size (a fraction of the mean magnitude per step)")
    p.add_argument("--rq-step", choices=("normalized", "plain"), default="normalized",
                   help="Algorithm 1 update: normalised gradient (default) or the literal N -= lr*g")
    p.add_argument("--rq-target", type=float, default=None,
                   help="Algorithm 1 target score (default: the predictor's maximum)")
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


def _channel_option(text):
    return text if text in ("all", "mean") else int(text)


def _process(items, args, log):
    import numpy as np
    import torch

    from sebench.audio.io import audio_info, read, write
    from sebench.audio.resample import resample
    from sebench.enhance.engine import Enhancer
    from sebench.errors import OutputError, SebenchError
    from sebench.train.export import load_model
    from sebench.utils.log import progress

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.robust_q:
        from sebench.quality.robust_enhancer import RobustQEnhancer
        q, _ = load_model(args.robust_q, args.device)
        after = load_model(args.after, args.device)[0] if args.after else None
        model = RobustQEnhancer(q, args.rq_steps, args.rq_lr, args.rq_target, after, args.rq_step)
    else:
        model, _ = load_model(args.model, args.device)
    enhancer = Enhancer(model, args.device, args.chunk or None, args.overlap)
    fs = enhancer.fs
    channel = _channel_option(args.channel)
    rows, todo = [], []
    for it in items:
        out = os.path.join(args.out, it.rel)
        if os.path.isfile(out) and not args.force:
            rows.append({"key": it.key, "out": out, "status": "skipped"})
            continue
        try:
            rate, frames, _ = audio_info(it.path)
            todo.append((frames / rate, it, out))
        except SebenchError as e:
            rows.append({"key": it.key, "out": out, "status": "failed", "error": str(e)})
    todo.sort(key=lambda t: t[0])

    def load(it):
        audio, rate = read(it.path, channel="all" if channel == "all" else channel)
        audio = audio.T if audio.ndim == 2 else audio[None, :]      # (channels, samples)
        if rate != fs:
            audio = np.stack([resample(ch, rate, fs) for ch in audio])
        return audio, rate

    def save(audio, rate, it, out, seconds, elapsed):
        if rate != fs and not args.keep_rate:
            audio = np.stack([resample(ch, fs, rate) for ch in audio])
        else:
            rate = fs if rate != fs else rate
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 1.0:
            audio = audio * (0.99 / peak)
        write(out, audio.T if audio.shape[0] > 1 else audio[0], rate)
        rows.append({"key": it.key, "out": os.path.abspath(out), "status": "done",
                     "seconds": seconds, "elapsed": elapsed, "rescaled": peak > 1.0})

    bar = progress(total=len(todo), desc="enhance", unit="file")
    i, stop = 0, None
    while i < len(todo):
        seconds, it, out = todo[i]
        group = [todo[i]]
        # batch only files of identical duration: zero padding would change what recurrent
        # models see, and the output must not depend on how files happened to be grouped
        if enhancer.chunk is None or seconds * fs <= enhancer.chunk:
            while (i + len(group) < len(todo) and len(group) < args.batch_size
                   and todo[i + len(group)][0] == seconds):
                group.append(todo[i + len(group)])
        i += len(group)
        loaded = []
        for sec, it_, out_ in group:
            try:
                loaded.append((load(it_), sec, it_, out_))
            except SebenchError as e:
                rows.append({"key": it_.key, "out": out_, "status": "failed", "error": str(e)})
        if not loaded:
            bar.update(len(group))
            continue
        t0 = time.perf_counter()
        try:
            if len(loaded) == 1:
                outs = [enhancer.enhance(loaded[0][0][0])]
            else:
                longest = max(a.shape[-1] for (a, _), *_ in loaded)
                padded = [np.pad(a, ((0, 0), (0, longest - a.shape[-1])))
                          for (a, _), *_ in loaded]
                outs = [o[:, :a.shape[-1]] for o, ((a, _), *_) in
                        zip(enhancer.enhance_many(padded), loaded)]
        except SebenchError as e:    # e.g. too short for the model: these files fail, not all
            rows += [{"key": it_.key, "out": out_, "status": "failed", "error": f"{it_.path}: {e}"}
                     for _, _, it_, out_ in loaded]
            bar.update(len(group))
            continue
        elapsed = (time.perf_counter() - t0) / len(loaded)
        for o, ((_, rate), sec, it_, out_) in zip(outs, loaded):
            try:
                save(o, rate, it_, out_, sec, elapsed)
            except OutputError as e:     # this file fails; the batch goes on
                rows.append({"key": it_.key, "out": out_, "status": "failed", "error": str(e)})
                stop = stop or (e if e.stops_batch else None)
        bar.update(len(group))
        if stop:    # disk full or read-only: every later write would fail the same way
            rows += [{"key": it_.key, "out": out_, "status": "not_attempted"}
                     for _, it_, out_ in todo[i:]]
            break
    bar.close()
    return rows


def run(args, rest):
    from sebench.cli.common import no_extra_args
    from sebench.data.datadir import read_kv, write_kv
    from sebench.enhance.inputs import resolve_inputs
    from sebench.errors import SebenchError
    from sebench.jobs import sebench_argv
    from sebench.jobs.shards import parse_shard, run_shards, shard_range, write_rows
    from sebench.train.export import resolve_model_dir
    from sebench.utils.fileio import remove_stale_temporaries
    from sebench.utils.log import get_logger

    no_extra_args(rest)
    log = get_logger("sebench.enhance")
    if args.robust_q:
        args.model, inputs = None, args.inputs
        resolve_model_dir(args.robust_q)
        if args.after:
            resolve_model_dir(args.after)
    else:
        if args.after:
            raise SebenchError("--after only goes with --robust-q")
        if len(args.inputs) < 2:
            raise SebenchError("give a MODEL and at least one INPUT (or --robust-q QP_DIR)")
        args.model, inputs = args.inputs[0], args.inputs[1:]
        resolve_model_dir(args.model)      # fail early on a bad model path
    items = resolve_inputs(inputs)
    if not args.shard and os.path.isdir(args.out):
        remove_stale_temporaries(args.out, recursive=True)     # left by a killed run
    t0 = time.perf_counter()
    if args.shard:
        shard, total = parse_shard(args.shard)
        write_rows(args.rows_out, _process([items[i] for i in shard_range(len(items), shard, total)],
                                           args, log))
        return 0
    nj = max(1, min(args.nj, len(items)))
    if nj == 1:
        rows = _process(items, args, log)
    else:
        command = sebench_argv() + ["enhance", *args.inputs, "-o", args.out,
                                    "--device", args.device, "--channel", args.channel,
                                    "--chunk", str(args.chunk), "--overlap", str(args.overlap),
                                    "--batch-size", str(args.batch_size),
                                    "--threads", str(args.threads or 1)]
        command += ["--keep-rate"] * args.keep_rate + ["--force"] * args.force
        if args.robust_q:
            command += ["--robust-q", args.robust_q, "--rq-steps", str(args.rq_steps),
                        "--rq-lr", str(args.rq_lr), "--rq-step", args.rq_step]
            command += ["--after", args.after] if args.after else []
            command += ["--rq-target", str(args.rq_target)] if args.rq_target is not None else []
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
        log.warning("%d output(s) exceeded full scale and were rescaled to a 0.99 peak", rescaled)
    if not_attempted:
        raise SebenchError(f"stopped: {failed[-1]['error']}; {len(done)} of {len(rows)} "
                           f"written, {not_attempted} not attempted (rerun to continue)")
    if failed:
        others = "the others were written" if len(failed) < len(rows) else "nothing was written"
        raise SebenchError(f"{len(failed)} of {len(rows)} input(s) failed (listed above); {others}")
    return 0
