"""Signal levels: RMS and peak in dBFS, and the ITU-T P.56 (method B) active speech level.

dBFS here means relative to a full-scale *square* wave (0 dBFS = RMS 1.0), the convention
of the DNS-Challenge scripts; dBov in P.56 uses the same reference, so -26 dBov means an
active-speech RMS of 10**(-26/20).
"""
import functools

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

    Vectorised with numpy alone: the envelope filters run blockwise as matrix products
    (``smooth_one_pole``), the hangover is a trailing running maximum by doubling, and
    frexp bins the envelope against the power-of-two thresholds; a minute of audio takes
    milliseconds, and no scipy.signal import (a second of start-up) is needed.
    """
    return ActiveLevel(x, fs).db(return_activity=return_activity)


class ActiveLevel:
    """The P.56 active level of ``x`` and of ``gain * x`` for any gain, from one envelope.

    The envelope is linear in the signal, so the scaled signal's hangover envelope is the
    scaled envelope: measuring a mixture's speech after its level and clipping gains costs
    one multiplication instead of a second filtering (equal to measuring ``gain * x`` afresh
    up to float rounding).
    """
    _TIME_CONST, _HANGOVER_S, _MARGIN_DB = 0.03, 0.2, 15.9
    _THRESHOLD_EXPONENTS = np.arange(-15, 1)          # thresholds 2**-15 .. 2**0

    def __init__(self, x, fs):
        x = np.asarray(x, dtype=np.float64)
        self.n = x.size
        self.energy = float(np.sum(x ** 2))
        self.hang_max = None
        if self.n == 0 or self.energy <= 0.0:
            return
        g = np.exp(-1.0 / (fs * self._TIME_CONST))
        q = smooth_one_pole(smooth_one_pole(np.abs(x), g), g)
        # active at k if q exceeded the threshold anywhere in [k - hang, k]: one trailing
        # running maximum serves every threshold
        self.hang_max = trailing_max(q, int(np.ceil(fs * self._HANGOVER_S)) + 1)

    def db(self, gain=1.0, return_activity=False):
        if self.hang_max is None or gain == 0:
            return (-np.inf, 0.0) if return_activity else -np.inf
        energy = self.energy * gain * gain if gain != 1.0 else self.energy
        env = self.hang_max * gain if gain != 1.0 else self.hang_max
        # thresholds are powers of two: env >= 2**k exactly when frexp's exponent exceeds k,
        # so one frexp places every sample against all 16 thresholds
        mantissa, exponent = np.frexp(env)
        exponent[mantissa == 0] = -16                  # a zero envelope is below them all
        exponent = np.clip(exponent, -16, 1).astype(np.int8)
        active_counts = np.array([np.count_nonzero(exponent > k)    # [j]: >= threshold j
                                  for k in self._THRESHOLD_EXPONENTS.tolist()], dtype=float)
        level = _interpolate_level(active_counts, energy, self.n, self._MARGIN_DB,
                                   20 * np.log10(2.0 ** self._THRESHOLD_EXPONENTS))
        if return_activity:
            activity = min(1.0, energy / self.n / (10 ** (level / 10)))
            return float(level), float(activity)
        return float(level)


def _interpolate_level(active_counts, energy, n, margin_db, thr_db):
    """The level where the active power sits ``margin_db`` above the threshold."""
    with np.errstate(divide="ignore"):
        act_db = np.where(active_counts > 0, 10 * np.log10(energy / np.maximum(active_counts, 1)),
                          np.inf)
    delta = act_db - thr_db
    for j in range(thr_db.size):
        if delta[j] <= margin_db:
            if j == 0:
                return act_db[0]
            d0, d1 = delta[j - 1], delta[j]   # interpolate where delta crosses the margin
            if not np.isfinite(d0):
                return act_db[j]
            t = (d0 - margin_db) / (d0 - d1) if d0 != d1 else 0.0
            return act_db[j - 1] + t * (act_db[j] - act_db[j - 1])
    return 10 * np.log10(energy / n)   # never within the margin: extremely low; plain RMS


def smooth_one_pole(x, g, block=64):
    """``y[n] = g * y[n-1] + (1 - g) * x[n]`` from rest, for ``x >= 0`` and ``0 <= g < 1``.

    What ``scipy.signal.lfilter([1 - g], [1, -g], x)`` computes, to ~1e-14 relative (the
    sums run in another order, so not bit for bit), as fast, and without importing
    scipy.signal, which costs a second of start-up in every process that measures a level.
    Blocks of ``block`` samples are filtered from rest by one matrix product with the
    truncated impulse response; the state entering each block is itself a one-pole recursion
    over the block ends (coefficient ``g**block``), solved the same way. All terms are
    positive, so rounding errors do not cancel into large relative errors.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    num_blocks = -(-n // block)
    padded = np.zeros(num_blocks * block)
    padded[:n] = x
    response, decay = _block_response(float(g), block)
    y = padded.reshape(num_blocks, block) @ response.T
    if num_blocks > 1:
        carry = g ** block
        entering = np.zeros(num_blocks)
        entering[1:] = smooth_one_pole(y[:-1, -1], carry, block) / (1.0 - carry)
        y += entering[:, None] * decay
    return y.ravel()[:n]


@functools.lru_cache(maxsize=16)
def _block_response(g, block):
    """Lower-triangular (1 - g) g**(i - j), and g**(i + 1): the decay of an entering state."""
    lag = np.subtract.outer(np.arange(block), np.arange(block))
    response = np.where(lag >= 0, (1.0 - g) * g ** np.maximum(lag, 0), 0.0)
    return response, g ** np.arange(1, block + 1)


def trailing_max(x, size):
    """``out[k] = max(x[k - size + 1 .. k])`` with zeros before the start (for ``x >= 0``).

    By doubling: maxima over windows of 1, 2, 4, ... samples, then two overlapping windows
    of the largest power of two cover ``size``; log2(size) vectorised passes, the same values
    as scipy.ndimage's running maximum without its second of import time.
    """
    x = np.asarray(x, dtype=np.float64)
    m = np.concatenate([np.zeros(size - 1), x])   # m[i]: max of the window starting at i
    width = 1
    while 2 * width <= size:
        m = np.maximum(m[:-width], m[width:])
        width *= 2
    return np.maximum(m[:x.size], m[size - width:size - width + x.size])
