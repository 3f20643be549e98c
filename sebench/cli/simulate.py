"""``sebench simulate``: DNS-style noisy mixtures (paired), or a "real-like" unpaired set."""
import os
import re
from collections import namedtuple

from sebench.cli.common import (add_config_options, command_line, make_parser, number_list,
                                resolve_config)
from sebench.config import (CHANNEL, COUNT, NON_NEGATIVE, OPTIONAL_SECONDS, OPTIONAL_STEPS,
                            Interval, ListOf, OneOf, Range, Regex)

EXAMPLE = """\
sebench simulate --clean data/clean_train --noise data/noise_train --rir data/rirs \\
    --out data/train --config conf/simulate/dns.yaml --seed 1 --nj 4 --cmd run.pl
sebench simulate --clean clean_wavs/ --noise noise_wavs/ --out data/test --snrs -5,0,5,10
sebench simulate --clean dns/clean --noise dns/noise --out data/dns3 --segment 3 --on_error skip
sebench simulate --clean data/clean_test --noise data/noise_test --rir data/rirs \\
    --out data/real_like_test --unpaired --noise_exclude 'white|pink'"""


def _defaults():
    from sebench.simulate.simulate import DEFAULTS
    return dict(DEFAULTS, nj=1, cmd="run.pl")


#: value rules (sebench.config), checked with the types before any audio is read
CHECKS = {
    "fs": COUNT, "num": OPTIONAL_STEPS, "seed": NON_NEGATIVE,
    "snr_range": Interval(), "snrs": ListOf(Range(), none=True),
    "snr_reference": OneOf("active", "global"),
    "level_mode": OneOf("mixture_rms", "speech_active"), "level_range": Interval(),
    "reverb_prob": Range(0, 1), "segment": OPTIONAL_SECONDS,
    "clip_peak": Range(0, 1, lo_open=True), "dynamic_range_db": Range(0, lo_open=True, none=True),
    "noise_include": Regex(none=True), "noise_exclude": Regex(none=True),
    "noise_labels": Regex(none=True),
    "channel": CHANNEL,
    "subtype": OneOf("PCM_16", "PCM_24", "PCM_32", "FLOAT"), "on_error": OneOf("fail", "skip"),
    "degrade.eq_bands": Interval(0), "degrade.eq_q": Interval(0), "degrade.eq_freq": Interval(0),
    "degrade.eq_gain_db": Interval(), "degrade.highpass_hz": Interval(0),
    "degrade.lowpass_prob": Range(0, 1), "degrade.lowpass_hz": Interval(0),
    "degrade.compress_ratio": Interval(1), "degrade.compress_threshold_db": Interval(hi=0),
    "degrade.clip_fraction": Interval(0, 1), "nj": COUNT,
}


def build_parser(prog):
    p = make_parser(prog, "Mix clean speech with noise (and RIRs) at drawn SNRs and levels. "
                          "Writes a data dir: wav.scp (mixture), clean.scp (dry, aligned), "
                          "clean_rev.scp, noise.scp (as added), utt2spk, utt2category and "
                          "meta.csv. With --unpaired, only the degraded mixtures (wav.scp).",
                    EXAMPLE)
    p.add_argument("--clean", required=True, help="clean speech: data dir, scp or folder")
    p.add_argument("--noise", required=True, help="noise: data dir, scp or folder")
    p.add_argument("--rir", help="RIRs: a `sebench rir` output folder, or a folder of wavs")
    p.add_argument("--out", required=True, help="output data dir (audio under it)")
    p.add_argument("--snr-range", nargs=2, type=float, metavar=("LO", "HI"),
                   help="SNR range in dB")
    p.add_argument("--snrs", type=number_list,
                   help="comma list of SNRs to draw from instead of a range")
    p.add_argument("--level-range", nargs=2, type=float, metavar=("LO", "HI"),
                   help="level range in dB")
    p.add_argument("--reverb-prob", type=float, help="probability of reverberation")
    p.add_argument("--segment", type=float, help="fixed segment length in seconds")
    p.add_argument("--num", type=int, help="number of mixtures (default: one per clean file)")
    p.add_argument("--seed", type=int, help="random seed (item i depends only on seed and i)")
    p.add_argument("--unpaired", action="store_true", default=None,
                   help="real-like set: add channel effects, write only the mixtures")
    p.add_argument("--on_error", choices=("fail", "skip"),
                   help="a source that cannot be used (unreadable, silent, multi-channel, "
                        "noise too short): 'fail' (default) stops and removes the partial "
                        "output; 'skip' leaves its items out and lists them in skipped.txt. "
                        "A write error (full, read-only or failing disk) stops either way")
    p.add_argument("--onthefly", action="store_true",
                   help="write no audio: declare an on-the-fly training stream over these "
                        "sources and this config (OUT/stream.yaml, for `sebench train --train "
                        "NAME=OUT`; --num becomes the items per epoch)")
    from sebench.jobs.shards import add_job_options
    add_job_options(p)
    add_config_options(p)
    return p


def run(args, rest):
    from sebench import config as cfgmod
    from sebench.data.sources import audio_map, speaker_map
    from sebench.errors import OutputError, SebenchError
    from sebench.jobs import sebench_argv
    from sebench.jobs.shards import generate
    from sebench.simulate.simulate import META_COLUMNS, Simulator, Sources, load_rirs
    from sebench.utils.log import get_logger
    from sebench.utils.malloc import reuse_freed_memory

    reuse_freed_memory()   # the per-item temporaries reuse memory instead of page-faulting

    cfg = resolve_config(_defaults(), args, rest, [
        ("snr_range", "snr_range"), ("snrs", "snrs"), ("level_range", "level_range"),
        ("reverb_prob", "reverb_prob"), ("segment", "segment"), ("num", "num"),
        ("seed", "seed"), ("unpaired", "unpaired"), ("on_error", "on_error"), ("nj", "nj"),
        ("cmd", "cmd")], CHECKS)
    out = os.path.abspath(args.out)
    if args.onthefly:
        from sebench.train.onthefly import OnTheFlyDataset, write_stream
        _clear_index(out)   # a stream dir is not a data dir: no stale wav.scp beside it
        path = write_stream(out, args.clean, args.noise, args.rir, cfg)
        # the sources are read and one item drawn now (a 1 s check when the trainer's crop
        # will set the length): a bad source fails here, not in the training
        dataset = OnTheFlyDataset(path, fs=cfg["fs"], segment=cfg["segment"] or 1.0)
        dataset.draw(0, 0)
        get_logger("sebench.simulate").info("on-the-fly stream over %d clean and %d noise "
                                            "files: %s", len(dataset.sources.clean_keys),
                                            len(dataset.sources.noise_keys), path)
        return 0
    clean = audio_map(args.clean, "clean")
    noise = audio_map(args.noise, "noise")
    rirs, rir_meta = load_rirs(args.rir)
    sources = Sources(clean, speaker_map(args.clean, clean), noise, rirs, rir_meta, cfg)
    sim = Simulator(cfg, sources, out)
    job_cfg = os.path.join(out, "split", "config.yaml")
    if not args.shard:
        _clear_index(out)   # an unfinished run must not leave a data dir that looks complete
        if min(int(cfg["nj"]), sim.num) > 1:
            cfgmod.save_config(dict(cfg, nj=1), job_cfg)
    command = sebench_argv() + ["simulate", "--clean", args.clean, "--noise", args.noise,
                                "--out", out, "--config", job_cfg]
    if args.rir:
        command += ["--rir", args.rir]
    try:
        rows = generate(sim.make, sim.num, args, cfg["nj"], cfg["cmd"],
                        os.path.join(out, "split"), command, "simulate", "mixtures", stream=True)
    except (SebenchError, KeyboardInterrupt) as e:
        if args.shard:
            raise
        full = _write_problem(out)      # examined before the partial output is removed
        _remove_partial_audio(sim)
        if isinstance(e, KeyboardInterrupt):
            raise
        sharded = min(int(cfg["nj"]), sim.num) > 1
        if isinstance(e, OutputError) or not sharded or "cannot write " in str(e):
            reason = str(e)
        elif full:      # a write error is never skipped, so the skip hint would mislead
            reason = f"a job failed (its log tail is above): {full}"
        else:
            reason = ("a job failed (its log tail is above; --on_error skip leaves out the "
                      "items whose sources are unusable)")
        raise SebenchError(f"{reason}; the partial output was removed from {out}") from None
    if rows is None:
        return 0
    items, skipped = _write_index(sim, rows, META_COLUMNS)
    for path in rows.paths:   # meta.csv holds the same
        os.remove(path)
    try:
        os.rmdir(os.path.join(out, "split"))   # unless it holds job logs
    except OSError:
        pass
    seconds = sum(item.samples for item in items) / cfg["fs"]
    get_logger("sebench.simulate").info(
        "%d mixtures (%.1f min) in %s; %d rescaled to avoid clipping; %d reverberant; %d skipped%s",
        len(items), seconds / 60, out, sum(item.clipped for item in items),
        sum(item.reverb for item in items), skipped,
        f" (see {out}/skipped.txt)" if skipped else "")
    return 0


def _clear_index(out):
    """Remove a previous run's index (wav.scp last written, first removed)."""
    from sebench.simulate.simulate import INDEX_FILES
    for name in reversed(INDEX_FILES):
        try:
            os.remove(os.path.join(out, name))
        except FileNotFoundError:
            pass


def _remove_partial_audio(sim):
    """Delete the audio an aborted run wrote, and the then empty folders."""
    from sebench.simulate.simulate import AUDIO_KINDS
    for index in range(sim.num):
        for path in sim.output_paths(index):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
    for kind in AUDIO_KINDS:
        try:
            os.rmdir(os.path.join(sim.out, kind))
        except OSError:   # absent, or holds files this run did not write
            pass


#: what the index keeps of each item (the paths follow from the utterance id)
_Item = namedtuple("_Item", "utt speaker samples reverb clipped snr noise")


def _write_problem(out):
    """``cannot write OUT: <cause>`` when the output folder is full or read-only, else None
    (a job's own write error is in the error already: ``jobs.shards.run_shards``)."""
    from sebench.utils.fileio import folder_problem
    code = folder_problem(out) if os.path.isdir(out) else None
    return None if code is None else f"cannot write {out}: {os.strerror(code)}"


def _write_index(sim, rows, meta_columns):
    """The data dir files from the streamed rows; wav.scp last, so that it exists only when
    everything does. Holds one small ``_Item`` per mixture (for the sorted scp files), not
    the rows. Returns the items and the number skipped."""
    from sebench import config as cfgmod
    from sebench.data.datadir import DataDir
    from sebench.errors import SebenchError
    from sebench.simulate.tables import write_csv
    from sebench.utils.fileio import atomic_write_text

    out, cfg = sim.out, sim.cfg
    items, skipped, speakers = [], [], {}

    def usable():
        for r in rows:
            if "skipped" in r:
                skipped.append(f"{r['index']} {r['skipped']}\n")
                continue
            items.append(_Item(r["utt"], speakers.setdefault(r["speaker"], r["speaker"]),
                               r["num_samples"], bool(r["rir"]), int(r["clipped_rescaled"]),
                               f"{r['snr_db']:g}", r["noise"]))
            yield r

    meta = os.path.join(out, "meta.csv")
    write_csv(meta, usable(), meta_columns)
    if not items:
        os.remove(meta)
        raise SebenchError(f"every item failed; first: {skipped[0].strip() if skipped else '?'}")
    ddir = DataDir(out)
    ddir.write_utt2spk({it.utt: it.speaker for it in items})
    ddir.write("utt2num_samples", {it.utt: str(it.samples) for it in items})
    path = sim.audio_path
    if not cfg["unpaired"]:
        ddir.write("clean.scp", {it.utt: path("clean", it.utt) for it in items})
        ddir.write("noise.scp", {it.utt: path("noise", it.utt) for it in items})
        if any(it.reverb for it in items):   # the dry files stand in where no reverb
            ddir.write("clean_rev.scp", {it.utt: path("clean_rev" if it.reverb else "clean",
                                                      it.utt) for it in items})
    ddir.write("utt2category", {it.utt: "reverb" if it.reverb else "noreverb" for it in items})
    # the drawn input SNR, for per-SNR tables (eval.yaml `breakdown: [[snr]]`)
    ddir.write("utt2snr", {it.utt: it.snr for it in items})
    if cfg.get("noise_labels"):    # e.g. utt2city from the noise file names
        from sebench.simulate.simulate import noise_labels
        labels = noise_labels(cfg["noise_labels"], sim.src.noise_keys)
        by_path = {sim.src.noise[key]: label for key, label in labels.items()}
        for group in re.compile(cfg["noise_labels"]).groupindex:
            ddir.write(f"utt2{group}", {it.utt: by_path[it.noise][group] for it in items})
    if skipped:
        atomic_write_text(os.path.join(out, "skipped.txt"), "".join(skipped))
    cfgmod.save_config(cfg, os.path.join(out, "config.yaml"), command=command_line())
    ddir.write("wav.scp", {it.utt: path("wav", it.utt) for it in items})
    return items, len(skipped)
