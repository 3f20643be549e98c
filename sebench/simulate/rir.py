"""Simulated room impulse responses (pyroomacoustics), paper 002's room distribution.

A room is drawn per RIR from (seed, index): length and width U[3, 10] m, height
U[2.5, 3.5] m, one energy absorption coefficient U[0.1, 0.3] for all surfaces, the
microphone at the room centre and the source at U[0.1, 1] m from it in a uniformly random
direction. The image-source order follows from the room's Sabine RT60 (inverse Sabine), as
pyroomacoustics computes it; ``method: hybrid`` adds ray tracing for the late tail, which
is much cheaper than a high ISM order in large, live rooms. Ray tracing is stochastic:
pyroomacoustics' generators (numpy's and libroom's) are seeded per RIR from (seed, index),
so a hybrid RIR is the same on every run and in every job split.
"""
import numpy as np

from sebench.errors import ConfigError, SebenchError
from sebench.simulate.seeding import draw_uniform, item_rng

DEFAULTS = {
    "fs": 16000,
    "room_length": [3.0, 10.0],
    "room_width": [3.0, 10.0],
    "room_height": [2.5, 3.5],
    "absorption": [0.1, 0.3],     # energy absorption, the same on all six surfaces
    "distance": [0.1, 1.0],       # source-microphone distance in metres
    "method": "ism",              # ism | hybrid (ISM to hybrid_order + ray tracing)
    "max_order_cap": None,        # cap on the inverse-Sabine ISM order (None: no cap)
    "hybrid_order": 3,
    "ray_tracing": {"n_rays": 10000, "receiver_radius": 0.5, "energy_thres": 1.0e-7},
    "air_absorption": False,
    "normalize": "direct",        # direct: direct-path peak = 1; none: pyroomacoustics' scale
}

SABINE_CONSTANT = 24.0 * np.log(10.0)   # RT60 = 24 ln(10) V / (c S a)


def sabine_rt60(dims, absorption, c=343.0):
    lx, ly, lz = dims
    volume = lx * ly * lz
    surface = 2.0 * (lx * ly + lx * lz + ly * lz)
    return SABINE_CONSTANT * volume / (c * surface * absorption)


def draw_room(seed, index, cfg):
    """The room, source and microphone for RIR ``index`` (a dict of plain numbers)."""
    rng = item_rng(seed, index, "rir")
    dims = [draw_uniform(rng, cfg["room_length"]), draw_uniform(rng, cfg["room_width"]),
            draw_uniform(rng, cfg["room_height"])]
    absorption = draw_uniform(rng, cfg["absorption"])
    distance = draw_uniform(rng, cfg["distance"])
    mic = np.asarray(dims) / 2.0
    for _ in range(1000):   # a random direction that keeps the source 5 cm inside the walls
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        source = mic + distance * direction
        if np.all(source > 0.05) and np.all(source < np.asarray(dims) - 0.05):
            break
    else:
        raise ConfigError(f"RIR {index}: no source position at {distance:.2f} m fits in room {dims}")
    return {"dims": [float(d) for d in dims], "absorption": float(absorption),
            "distance": float(distance), "mic": mic.tolist(), "source": source.tolist(),
            "rt60_sabine": float(sabine_rt60(dims, absorption)),
            # the ray tracer's seed: its own stream, so adding it moved no other draw
            "ray_seed": int(item_rng(seed, index, "rir_rays").integers(2 ** 63 - 1))}


def measure_rt60(rir, fs):
    """RT60 from the Schroeder decay curve (T20 extrapolated to 60 dB); NaN if it cannot be fit."""
    import pyroomacoustics as pra
    try:
        return float(pra.experimental.measure_rt60(np.asarray(rir, np.float64), fs=fs, decay_db=20))
    except Exception:  # noqa: BLE001 - a too-short decay has no T20; report NaN, not a crash
        return float("nan")


def direct_path_index(rir, fs, distance, c=343.0):
    """Sample index of the direct-path peak: the largest |h| within 2 ms of the geometric delay."""
    import pyroomacoustics as pra
    expected = int(round(distance / c * fs)) + pra.constants.get("frac_delay_length") // 2
    half = max(2, int(0.002 * fs))
    lo, hi = max(0, expected - half), min(len(rir), expected + half + 1)
    return lo + int(np.argmax(np.abs(rir[lo:hi])))


def drr_db(rir, direct, fs, window_ms=2.5):
    """Direct-to-reverberant ratio: energy within ±2.5 ms of the direct path against the rest."""
    half = int(window_ms * 1e-3 * fs)
    energy = np.asarray(rir, np.float64) ** 2
    lo, hi = max(0, direct - half), direct + half + 1
    direct_energy = energy[lo:hi].sum()
    reverb_energy = energy[hi:].sum()
    return float(10 * np.log10((direct_energy + 1e-20) / (reverb_energy + 1e-20)))


def generate(room, cfg):
    """Compute one RIR; returns (float32 rir, metadata dict)."""
    import pyroomacoustics as pra
    fs = int(cfg["fs"])
    dims, absorption = room["dims"], room["absorption"]
    try:
        _, order = pra.inverse_sabine(room["rt60_sabine"], dims)
    except ValueError as e:
        raise SebenchError(f"inverse Sabine failed for room {dims}, a={absorption:.3f}: {e}")
    order = int(order)
    if cfg["max_order_cap"] is not None:
        order = min(order, int(cfg["max_order_cap"]))
    method = cfg["method"]
    if method not in ("ism", "hybrid"):
        raise ConfigError(f"rir method must be ism or hybrid, got {method!r}")
    hybrid = method == "hybrid"
    shoebox = pra.ShoeBox(dims, fs=fs, materials=pra.Material(absorption),
                          max_order=int(cfg["hybrid_order"]) if hybrid else order,
                          air_absorption=bool(cfg["air_absorption"]), ray_tracing=hybrid)
    if hybrid:
        # unseeded, the rays (and so the late tail) differ on every run
        pra.random.seed(numpy=room["ray_seed"], libroom=room["ray_seed"])
        rt = cfg["ray_tracing"]
        shoebox.set_ray_tracing(n_rays=int(rt["n_rays"]), receiver_radius=float(rt["receiver_radius"]),
                                energy_thres=float(rt["energy_thres"]))
    shoebox.add_source(room["source"])
    shoebox.add_microphone(room["mic"])
    shoebox.compute_rir()
    rir = np.asarray(shoebox.rir[0][0], dtype=np.float64)
    direct = direct_path_index(rir, fs, room["distance"])
    scale = 1.0
    if cfg["normalize"] == "direct":
        scale = 1.0 / max(abs(rir[direct]), 1e-12)
    elif cfg["normalize"] != "none":
        raise ConfigError(f"rir normalize must be direct or none, got {cfg['normalize']!r}")
    rir = rir * scale
    meta = {"length": round(dims[0], 3), "width": round(dims[1], 3), "height": round(dims[2], 3),
            "absorption": round(absorption, 4), "distance": round(room["distance"], 4),
            "direct_index": direct, "rt60_sabine": round(room["rt60_sabine"], 4),
            "rt60": round(measure_rt60(rir, fs), 4), "drr_db": round(drr_db(rir, direct, fs), 2),
            "ism_order": int(cfg["hybrid_order"]) if hybrid else order, "method": method,
            "num_samples": len(rir), "generator": f"pyroomacoustics {pra.__version__}"}
    return rir.astype(np.float32), meta
