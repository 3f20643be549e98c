"""Channel effects that make simulated mixtures sound recorded: microphone colouration,
band limits, compression and clipping. Used by ``sebench simulate --unpaired`` to build a
"real-like" noisy set when no real recordings are at hand.
"""
import numpy as np

DEFAULTS = {
    "eq_bands": [1, 4],            # number of random peaking filters
    "eq_gain_db": [-8.0, 8.0],
    "eq_q": [0.5, 2.0],
    "eq_freq": [100.0, 6000.0],    # log-uniform centre frequency
    "highpass_hz": [40.0, 200.0],
    "lowpass_prob": 0.5,
    "lowpass_hz": [3400.0, 7500.0],
    "distortion": {"none": 0.5, "compress": 0.3, "clip": 0.2},
    "compress_ratio": [2.0, 6.0],
    "compress_threshold_db": [-30.0, -15.0],
    "clip_fraction": [0.001, 0.01],  # share of samples at the clipping level
}


def _peaking(f0, gain_db, q, fs):
    """RBJ audio-EQ-cookbook peaking biquad."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / fs
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return b / den[0], den / den[0]


def colour(x, fs, rng, cfg):
    """Random microphone/channel response; returns (audio, description)."""
    from scipy.signal import butter, lfilter, sosfilt   # here: ~1 s of import, unpaired only

    parts = []
    lo_hz = rng.uniform(*cfg["highpass_hz"])
    x = sosfilt(butter(2, lo_hz, "highpass", fs=fs, output="sos"), x)
    parts.append(f"hp{lo_hz:.0f}")
    for _ in range(int(rng.integers(cfg["eq_bands"][0], cfg["eq_bands"][1] + 1))):
        f0 = float(np.exp(rng.uniform(np.log(cfg["eq_freq"][0]), np.log(cfg["eq_freq"][1]))))
        f0 = min(f0, 0.45 * fs)
        gain, q = rng.uniform(*cfg["eq_gain_db"]), rng.uniform(*cfg["eq_q"])
        b, a = _peaking(f0, gain, q, fs)
        x = lfilter(b, a, x)
        parts.append(f"pk{f0:.0f}:{gain:+.1f}")
    if rng.random() < cfg["lowpass_prob"]:
        hi_hz = min(rng.uniform(*cfg["lowpass_hz"]), 0.45 * fs)
        x = sosfilt(butter(4, hi_hz, "lowpass", fs=fs, output="sos"), x)
        parts.append(f"lp{hi_hz:.0f}")
    return x, " ".join(parts)


def compress(x, fs, threshold_db, ratio, attack_s=0.005, release_s=0.1):
    """Feed-forward compressor with a smoothed peak envelope (dynamic, not a waveshaper)."""
    from scipy.signal import lfilter

    env = np.abs(x)
    # one-pole smoothing with separate attack and release, vectorised via two passes
    a_rel = np.exp(-1.0 / (release_s * fs))
    env = lfilter([1 - a_rel], [1, -a_rel], env)
    env = np.maximum(env, 1e-9)
    level_db = 20 * np.log10(env)
    over = np.maximum(level_db - threshold_db, 0.0)
    gain_db = -over * (1 - 1 / ratio)
    a_att = np.exp(-1.0 / (attack_s * fs))
    gain_db = lfilter([1 - a_att], [1, -a_att], gain_db)
    return x * 10 ** (gain_db / 20)


def hard_clip(x, fraction):
    """Clip the ``fraction`` of samples with the largest magnitude (a saturated preamp)."""
    level = float(np.quantile(np.abs(x), 1.0 - fraction))
    return np.clip(x, -level, level), level


def degrade(x, fs, rng, cfg):
    """Colour, then maybe compress or clip; returns (audio, description). Level is not kept."""
    x, desc = colour(np.asarray(x, dtype=np.float64), fs, rng, cfg)
    kinds = list(cfg["distortion"])
    probs = np.array([cfg["distortion"][k] for k in kinds], dtype=float)
    kind = kinds[int(rng.choice(len(kinds), p=probs / probs.sum()))]
    if kind == "compress":
        thr = rng.uniform(*cfg["compress_threshold_db"]) + 20 * np.log10(np.max(np.abs(x)) + 1e-12)
        ratio = rng.uniform(*cfg["compress_ratio"])
        x = compress(x, fs, thr, ratio)
        desc += f" comp{ratio:.1f}:1"
    elif kind == "clip":
        frac = rng.uniform(*cfg["clip_fraction"])
        x, _ = hard_clip(x, frac)
        desc += f" clip{frac * 100:.2f}%"
    return x, desc
