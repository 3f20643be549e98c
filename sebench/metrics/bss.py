"""BSS-eval SDR/SIR/SAR (Vincent et al. 2006, the v4 convention of a 512-tap time-invariant
distortion filter), computed from correlations as fast_bss_eval does, in plain numpy.

The estimate (both signals scaled to unit norm) is projected onto the span of the references
delayed by 0..L-1 samples. With e = |estimate|^2 = 1, t = energy of its projection on the
target's span and p = energy of its projection on all references' span:
SDR = t / (1 - t), SIR = t / (p - t), SAR = p / (1 - p), in dB. The projections come from the
normal equations G h = b, where G holds the references' (cross-)correlations at lags up to
L-1 (block Toeplitz) and b their correlations with the estimate.

Own implementation rather than fast_bss_eval's: its numpy backend fails on numpy 2's batched
solve and its package imports torch (~1.5 s per scoring job).
"""
import numpy as np

FILTER_TAPS = 512


def _projection_energies(refs, est, taps):
    """(t, p): estimate energy captured by the first reference's span and by all of them."""
    n = refs.shape[1]
    nfft = 1 << int(np.ceil(np.log2(n + taps - 1)))    # linear, not circular, correlations
    ref_spec = np.fft.rfft(refs, nfft)
    est_spec = np.fft.rfft(est, nfft)
    cross = np.fft.irfft(ref_spec.conj()[:, None, :] * ref_spec[None, :, :], nfft)  # (S, S, nfft)
    b = np.fft.irfft(ref_spec.conj() * est_spec[None, :], nfft)[:, :taps]           # (S, taps)
    lags = (np.arange(taps)[:, None] - np.arange(taps)[None, :]) % nfft
    num = len(refs)
    gram = np.block([[cross[i, j][lags] for j in range(num)] for i in range(num)])
    rhs = b.reshape(-1)
    target = b[0] @ np.linalg.solve(gram[:taps, :taps], b[0])
    everything = rhs @ np.linalg.solve(gram, rhs) if num > 1 else target
    return float(target), float(everything)


def bss_eval(ref, est, noise=None, taps=FILTER_TAPS):
    """{'sdr', 'sir', 'sar'} in dB; 'sir' is None without a noise reference (with one source
    the interference subspace is empty)."""
    refs = [ref] if noise is None else [ref, noise]
    refs = np.stack([np.asarray(r, dtype=np.float64) for r in refs])
    est = np.asarray(est, dtype=np.float64)
    refs /= np.maximum(np.linalg.norm(refs, axis=1, keepdims=True), 1e-12)
    est = est / max(np.linalg.norm(est), 1e-12)
    target, everything = _projection_energies(refs, est, taps)
    tiny = 1e-12

    def db(num, den):
        return float(10 * np.log10(max(num, tiny) / max(den, tiny)))

    return {"sdr": db(target, 1.0 - target),
            "sir": db(target, everything - target) if noise is not None else None,
            "sar": db(everything, 1.0 - everything)}
