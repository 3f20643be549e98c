"""Signal levels: RMS and peak in dBFS, and the ITU-T P.56 (method B) active speech level.

dBFS here means relative to a full-scale *square* wave (0 dBFS = RMS 1.0), the convention
of the DNS-Challenge scripts; dBov in P.56 uses the same reference, so -26 dBov means an
active-speech RMS of 10**(-26/20).
"""
import numpy as np

_EPS = 1e-20


def rms_db(x):
    x = np.asarray(x, dtype=np.float64)
    return 10.0 * np.log10(np.mean(x ** 2) + _EPS)


def peak_db(x):
    return 20.0 * np.log10(np.max(np.abs(x)) + _EPS)


def active_level_db(x, fs, return_activity=False):
    """ITU-T P.56 method B active speech level in dB (re full-scale RMS 1.0).

    The envelope is a two-stage first-order smoother with a 30 ms time constant; a
    sample counts as active while the envelope exceeds a threshold or within a 200 ms
    hangover after it did. Thresholds are spaced 6 dB apart (2**-15 .. 1); the level is
    where the active power sits 15.9 dB above the threshold, interpolated between the
    two neighbouring thresholds. Returns -inf for digital silence.

    Vectorised: the envelope is an IIR filter (lfilter) and the hangover a trailing running
    maximum, so a minute of audio takes milliseconds instead of a Python loop.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    energy = float(np.sum(x ** 2))
    if n == 0 or energy <= 0.0:
        return (-np.inf, 0.0) if return_activity else -np.inf
    time_const, hangover_s, margin_db = 0.03, 0.2, 15.9
    g = np.exp(-1.0 / (fs * time_const))
    hang = int(np.ceil(fs * hangover_s))
    from scipy.ndimage import maximum_filter1d   # here, not at import: scipy.signal costs ~1 s
    from scipy.signal import lfilter

    p = lfilter([1.0 - g], [1.0, -g], np.abs(x))
    q = lfilter([1.0 - g], [1.0, -g], p)
    thresholds = 2.0 ** np.arange(-15, 1)
    # active at k if q exceeded the threshold anywhere in [k - hang, k]: one trailing running
    # maximum serves every threshold; binning it against the 16 thresholds gives all counts
    size = hang + 1
    running_max = maximum_filter1d(q, size=size, origin=(size - 1) // 2, mode="constant", cval=0.0)
    above = np.bincount(np.searchsorted(thresholds, running_max, side="right"),
                        minlength=thresholds.size + 1)   # [j]: exceeds exactly j thresholds
    active_counts = np.cumsum(above[::-1])[::-1][1:].astype(float)
    with np.errstate(divide="ignore"):
        act_db = np.where(active_counts > 0, 10 * np.log10(energy / np.maximum(active_counts, 1)),
                          np.inf)
    thr_db = 20 * np.log10(thresholds)
    delta = act_db - thr_db
    level = None
    for j in range(thresholds.size):
        if delta[j] <= margin_db:
            if j == 0:
                level = act_db[0]
            else:  # interpolate where delta crosses the margin between j-1 and j
                d0, d1 = delta[j - 1], delta[j]
                if not np.isfinite(d0):
                    level = act_db[j]
                else:
                    t = (d0 - margin_db) / (d0 - d1) if d0 != d1 else 0.0
                    level = act_db[j - 1] + t * (act_db[j] - act_db[j - 1])
            break
    if level is None:  # never within the margin: extremely low level; fall back to RMS
        level = 10 * np.log10(energy / n)
    if return_activity:
        activity = min(1.0, energy / n / (10 ** (level / 10)))
        return float(level), float(activity)
    return float(level)
