"""``sebench synth-corpus``: the embedded default corpus (espeak-ng speech, generated noise)."""
import json
import os

from sebench.cli.common import add_config_options, command_line, make_parser, resolve_config
from sebench.config import Interval, Range

EXAMPLE = """\
sebench synth-corpus --out corpus --config conf/synth/mini.yaml --nj 2
sebench synth-corpus --out corpus_tiny --speakers.train 2 --utts_per_speaker.train 3"""


_SPLIT_COUNT = Range(0)
#: value rules (sebench.config), checked with the types before any audio is made
CHECKS = {"fs": Range(8000), "seed": Range(0), "rate_wpm": Interval(1), "pitch": Interval(0, 99),
          "pitch_range": Interval(0, 99), "speech_level_db": Range(hi=0),
          "noise_seconds": Range(0, lo_open=True), "nj": Range(1),
          **{f"{group}.{split}": _SPLIT_COUNT for split in ("train", "valid", "test")
             for group in ("speakers", "utts_per_speaker", "noise_per_type")}}


def _defaults():
    from sebench.synth.corpus import DEFAULTS
    return dict(DEFAULTS, nj=1, cmd="run.pl")


def build_parser(prog):
    p = make_parser(prog, "Build a small corpus offline: clean speech synthesized with espeak-ng "
                          "(English voices and variants as speakers; disjoint train/valid/test "
                          "speakers) and generated noise (white, pink, brown, babble, modulated, "
                          "non-stationary, hum, clicks, mixtures). Writes clean/ and noise/ wav "
                          "folders and data dirs data/clean_<split>, data/noise_<split>.", EXAMPLE)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, help="random seed (the corpus is a function of it)")
    from sebench.jobs.shards import add_job_options
    add_job_options(p)
    add_config_options(p)
    return p


def run(args, rest):
    from sebench import config as cfgmod
    from sebench.jobs import sebench_argv
    from sebench.jobs.shards import generate
    from sebench.synth.corpus import CorpusBuilder, write_data_dirs
    from sebench.utils.fileio import atomic_write_text
    from sebench.utils.log import get_logger

    cfg = resolve_config(_defaults(), args, rest, [("seed", "seed"), ("nj", "nj"), ("cmd", "cmd")],
                         CHECKS)
    out = os.path.abspath(args.out)
    builder = CorpusBuilder(cfg, out)
    job_cfg = os.path.join(out, "split", "config.yaml")
    if not args.shard:
        cfgmod.save_config(dict(cfg, nj=1), job_cfg)
    command = sebench_argv() + ["synth-corpus", "--out", out, "--config", job_cfg]
    rows = generate(builder.make, len(builder.items), args, cfg["nj"], cfg["cmd"],
                    os.path.join(out, "split"), command, "synth", "corpus items")
    if rows is None:
        return 0
    summary = write_data_dirs(rows, out, int(cfg["fs"]))
    atomic_write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    cfgmod.save_config(cfg, os.path.join(out, "config.yaml"), command=command_line())
    log = get_logger("sebench.synth-corpus")
    for name, s in summary.items():
        log.info("%-12s %4d files %6.2f min %3d speakers/types", name, s["files"], s["minutes"],
                 s["speakers"])
    return 0
