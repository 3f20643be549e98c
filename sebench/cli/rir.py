"""``sebench rir``: simulated room impulse responses for reverberant training data."""
import os

from sebench.cli.common import add_config_options, command_line, make_parser, resolve_config
from sebench.config import Interval, OneOf, Range

EXAMPLE = """\
sebench rir --num 1000 --out data/rirs --seed 1 --nj 4 --cmd run.pl
sebench rir --num 200 --out data/rirs_hybrid --config conf/rir/dns.yaml --method hybrid"""

META_COLUMNS = ("id", "length", "width", "height", "absorption", "distance", "direct_index",
                "rt60_sabine", "rt60", "drr_db", "ism_order", "method", "num_samples", "generator")


#: value rules (sebench.config), checked with the types before any room is simulated
CHECKS = {"fs": Range(1), "room_length": Interval(0), "room_width": Interval(0),
          "room_height": Interval(0), "absorption": Interval(0, 1), "distance": Interval(0),
          "method": OneOf("ism", "hybrid"), "max_order_cap": Range(0, type=int, none=True),
          "hybrid_order": Range(0), "ray_tracing.n_rays": Range(1),
          "ray_tracing.receiver_radius": Range(0, lo_open=True),
          "ray_tracing.energy_thres": Range(0, lo_open=True),
          "normalize": OneOf("direct", "none"), "num": Range(1), "seed": Range(0), "nj": Range(1)}


def _defaults():
    from sebench.simulate.rir import DEFAULTS
    return dict(DEFAULTS, num=100, seed=0, nj=1, cmd="run.pl")


def build_parser(prog):
    p = make_parser(prog, "Simulate room impulse responses (pyroomacoustics image source method, "
                          "optionally with ray tracing). Writes one wav per RIR (float32, "
                          "normalised so the direct path peaks at 1), rir.scp and rir_meta.csv "
                          "with room, RT60, DRR and direct-path index.", EXAMPLE)
    p.add_argument("--num", type=int, help="number of RIRs")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, help="random seed (RIR i depends only on seed and i)")
    p.add_argument("--method", choices=("ism", "hybrid"), help="ism, or ISM + ray tracing")
    from sebench.jobs.shards import add_job_options
    add_job_options(p)
    add_config_options(p)
    return p


def run(args, rest):
    from sebench import config as cfgmod
    from sebench.audio.io import write
    from sebench.data.datadir import write_kv
    from sebench.jobs import sebench_argv
    from sebench.jobs.shards import generate
    from sebench.simulate.rir import draw_room
    from sebench.simulate.rir import generate as generate_rir
    from sebench.simulate.tables import write_csv

    cfg = resolve_config(_defaults(), args, rest, [("num", "num"), ("seed", "seed"),
                                                   ("method", "method"), ("nj", "nj"),
                                                   ("cmd", "cmd")], CHECKS)
    out = os.path.abspath(args.out)
    wav_dir = os.path.join(out, "wav")
    os.makedirs(wav_dir, exist_ok=True)

    def make_item(index):
        rir_id = f"rir{index:06d}"
        rir, meta = generate_rir(draw_room(cfg["seed"], index, cfg), cfg)
        path = os.path.join(wav_dir, rir_id + ".wav")
        write(path, rir, cfg["fs"], subtype="FLOAT")
        return dict(meta, id=rir_id, path=path)

    command = sebench_argv() + ["rir", "--out", out, "--config",
                                _save_resolved(cfg, out, cfgmod)]
    rows = generate(make_item, int(cfg["num"]), args, cfg["nj"], cfg["cmd"],
                    os.path.join(out, "split"), command, "rir", "RIRs")
    if rows is None:
        return 0
    write_kv(os.path.join(out, "rir.scp"), {r["id"]: r["path"] for r in rows})
    write_csv(os.path.join(out, "rir_meta.csv"), rows, META_COLUMNS)
    cfgmod.save_config(cfg, os.path.join(out, "config.yaml"), command=command_line())
    _log_summary(rows, out)
    return 0


def _save_resolved(cfg, out, cfgmod):
    """Jobs read the parent's fully resolved config, so they cannot disagree with it."""
    path = os.path.join(out, "split", "config.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cfgmod.save_config(dict(cfg, nj=1), path)
    return path


def _log_summary(rows, out):
    import numpy as np
    from sebench.utils.log import get_logger
    rt60 = np.array([r["rt60"] for r in rows], dtype=float)
    get_logger("sebench.rir").info(
        "%d RIRs in %s; measured RT60 %.2f-%.2f s (median %.2f); see rir_meta.csv",
        len(rows), out, np.nanmin(rt60), np.nanmax(rt60), np.nanmedian(rt60))
