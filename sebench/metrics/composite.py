"""Hu & Loizou (2008) composite measures CSIG, CBAK, COVL and their parts: LLR, WSS, segSNR.

Follows the definitions of Loizou's reference implementation (composite.m): 30 ms Hanning
frames (``0.5*(1-cos(2*pi*n/(N+1)))``, n = 1..N) with a quarter-frame hop; LPC order 10
below 10 kHz, else 16; LLR and WSS averaged over the best (lowest) 95 % of frames; segmental
SNR per frame clamped to [-10, 35] dB; WSS on 25 Gaussian critical-band filters (Klatt's
weighting, Kmax = 20, Klocmax = 1), each band's local peak taken as composite.m takes it
(one band short of the peak on a rising slope; pysepm and the denoiser/SpeechBrain port agree).
Results are clamped to [1, 5].

The PESQ term (``pesq_term``): ``wb`` (default) uses the P.862.2 wideband MOS-LQO at 16 kHz
and above, as the published VoiceBank-DEMAND numbers (SEGAN onwards; the denoiser, SpeechBrain
and pysepm scripts) do, and the raw P.862 score below 16 kHz, as composite.m; ``raw_nb`` uses
the raw narrowband P.862 score at every rate (composite.m's own choice at 16 kHz too).
"""
import numpy as np

from sebench.metrics.intrusive import pesq_raw_nb, pesq_wb

#: values of the ``composite_pesq`` option
PESQ_TERMS = ("wb", "raw_nb")

ALPHA = 0.95
_MATLAB_EPS = np.finfo(np.float64).eps

_CENTER_HZ = np.array([50.0, 120.0, 190.0, 260.0, 330.0, 400.0, 470.0, 540.0, 617.372, 703.378,
                       798.717, 904.128, 1020.38, 1148.30, 1288.72, 1442.54, 1610.70, 1794.16,
                       1993.93, 2211.08, 2446.71, 2701.97, 2978.04, 3276.17, 3597.63])
_BANDWIDTH_HZ = np.array([70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 77.3724, 86.0056, 95.3398,
                          105.411, 116.256, 127.914, 140.423, 153.823, 168.154, 183.457, 199.776,
                          217.153, 235.631, 255.255, 276.072, 298.126, 321.465, 346.136])


def _frames(x, fs):
    win = int(round(30 * fs / 1000))
    hop = win // 4
    num = int(np.floor(len(x) / hop - win / hop))
    if num < 1:
        raise ValueError(f"signal shorter than one 30 ms frame ({len(x)} samples)")
    idx = np.arange(win)[None, :] + hop * np.arange(num)[:, None]
    window = 0.5 * (1 - np.cos(2 * np.pi * np.arange(1, win + 1) / (win + 1)))
    return x[idx] * window, win


def segmental_snr(ref, enh, fs):
    """Per-frame SNR in dB, clamped to [-10, 35] (Loizou's SNRseg frames)."""
    ref_f, _ = _frames(ref, fs)
    enh_f, _ = _frames(enh, fs)
    signal = np.sum(ref_f ** 2, axis=1)
    noise = np.sum((ref_f - enh_f) ** 2, axis=1)
    seg = 10 * np.log10(signal / (noise + _MATLAB_EPS) + _MATLAB_EPS)
    return np.clip(seg, -10.0, 35.0)


def _lpc(frames, order):
    """Autocorrelation lags and LPC polynomials [1, -a] of each frame (Levinson-Durbin)."""
    n = frames.shape[1]
    r = np.stack([np.sum(frames[:, :n - k] * frames[:, k:], axis=1) for k in range(order + 1)],
                 axis=1)
    a = np.zeros((frames.shape[0], order))
    err = r[:, 0].copy()
    for i in range(order):
        acc = np.sum(a[:, :i] * r[:, i:0:-1], axis=1) if i else 0.0
        k = (r[:, i + 1] - acc) / err
        prev = a[:, :i].copy()
        a[:, i] = k
        if i:
            a[:, :i] = prev - k[:, None] * prev[:, ::-1]
        err = (1 - k * k) * err
    return r, np.concatenate([np.ones((frames.shape[0], 1)), -a], axis=1)


def llr(ref, enh, fs):
    """Per-frame log-likelihood ratio of the estimate's LPC model under the reference's."""
    order = 10 if fs < 10000 else 16
    ref_f, _ = _frames(ref, fs)
    enh_f, _ = _frames(enh, fs)
    r_ref, a_ref = _lpc(ref_f, order)
    _, a_enh = _lpc(enh_f, order)
    idx = np.abs(np.arange(order + 1)[:, None] - np.arange(order + 1)[None, :])
    toeplitz = r_ref[:, idx]  # (frames, p+1, p+1)
    num = np.einsum("fi,fij,fj->f", a_enh, toeplitz, a_enh)
    den = np.einsum("fi,fij,fj->f", a_ref, toeplitz, a_ref)
    return np.log(num / den)


def _critical_filters(fs, n_fft):
    half = n_fft // 2
    max_freq = fs / 2
    j = np.arange(half)
    min_factor = np.exp(-30.0 / (2.0 * 2.303))
    f0 = np.floor(_CENTER_HZ / max_freq * half)
    bw = _BANDWIDTH_HZ / max_freq * half
    norm = np.log(_BANDWIDTH_HZ[0]) - np.log(_BANDWIDTH_HZ)
    filt = np.exp(-11 * ((j[None, :] - f0[:, None]) / bw[:, None]) ** 2 + norm[:, None])
    return filt * (filt > min_factor)


def _local_peaks(energy, slope):
    """For each band, the energy of the nearest spectral peak (right if rising, else left).

    On a rising slope composite.m takes ``clean_energy(n-1)``, the band *before* the first
    non-rising one, not the peak itself; kept, since every published number uses it."""
    num_crit = energy.shape[0]
    peaks = np.empty(num_crit - 1)
    for i in range(num_crit - 1):
        n = i
        if slope[i] > 0:
            while n < num_crit - 1 and slope[n] > 0:
                n += 1
            peaks[i] = energy[n - 1]
        else:
            while n >= 0 and slope[n] <= 0:
                n -= 1
            peaks[i] = energy[n + 1]
    return peaks


def _band_energies(frames, filters, n_fft, block=4096):
    """Critical-band energies in dB per frame, a block of frames at a time (a long file's
    spectra at once would take gigabytes)."""
    half = n_fft // 2
    out = np.empty((frames.shape[0], filters.shape[0]))
    for start in range(0, frames.shape[0], block):
        power = np.abs(np.fft.rfft(frames[start:start + block], n_fft, axis=1)[:, :half]) ** 2
        out[start:start + block] = 10 * np.log10(np.maximum(power @ filters.T, 1e-10))
    return out


def wss(ref, enh, fs):
    """Per-frame weighted spectral slope distance (Klatt 1982, 25 critical bands)."""
    ref_f, win = _frames(ref, fs)
    enh_f, _ = _frames(enh, fs)
    n_fft = int(2 ** np.ceil(np.log2(2 * win)))
    filters = _critical_filters(fs, n_fft)
    ref_e = _band_energies(ref_f, filters, n_fft)
    enh_e = _band_energies(enh_f, filters, n_fft)
    ref_s = np.diff(ref_e, axis=1)
    enh_s = np.diff(enh_e, axis=1)
    kmax, klocmax = 20.0, 1.0
    out = np.empty(ref_e.shape[0])
    for f in range(ref_e.shape[0]):
        ref_peak = _local_peaks(ref_e[f], ref_s[f])
        enh_peak = _local_peaks(enh_e[f], enh_s[f])
        w_ref = (kmax / (kmax + ref_e[f].max() - ref_e[f, :-1])) * \
            (klocmax / (klocmax + ref_peak - ref_e[f, :-1]))
        w_enh = (kmax / (kmax + enh_e[f].max() - enh_e[f, :-1])) * \
            (klocmax / (klocmax + enh_peak - enh_e[f, :-1]))
        w = (w_ref + w_enh) / 2.0
        out[f] = np.sum(w * (ref_s[f] - enh_s[f]) ** 2) / np.sum(w)
    return out


def _best_mean(values, alpha=ALPHA):
    """Mean of the lowest ``alpha`` share of frames; MATLAB's round (half away from zero), not
    Python's half-to-even, as composite.m counts them (e.g. 190 frames -> 181, not 180)."""
    values = np.sort(values)
    return float(np.mean(values[:max(1, int(np.floor(len(values) * alpha + 0.5)))]))


def pesq_input(ref, enh, fs, pesq_term="wb"):
    """The regressions' PESQ input (see the module doc): P.862.2 MOS-LQO at >= 16 kHz with
    ``wb``, else the raw P.862 score."""
    if pesq_term not in PESQ_TERMS:
        raise ValueError(f"composite PESQ term must be one of {PESQ_TERMS}, got {pesq_term!r}")
    if pesq_term == "wb" and fs >= 16000:
        return pesq_wb(ref, enh, fs)
    return pesq_raw_nb(ref, enh, fs)


def composite(ref, enh, fs, pesq_term="wb", pesq_value=None):
    """CSIG, CBAK, COVL and their inputs for one pair (ref = clean, enh = processed)."""
    if pesq_value is None:      # first: PESQ refuses some inputs, and then the rest is moot
        pesq_value = pesq_input(ref, enh, fs, pesq_term)
    ref = ref.astype(np.float64) + _MATLAB_EPS
    enh = enh.astype(np.float64) + _MATLAB_EPS
    wss_dist = _best_mean(wss(ref, enh, fs))
    llr_mean = _best_mean(llr(ref, enh, fs))
    seg = float(np.mean(segmental_snr(ref, enh, fs)))
    csig = 3.093 - 1.029 * llr_mean + 0.603 * pesq_value - 0.009 * wss_dist
    cbak = 1.634 + 0.478 * pesq_value - 0.007 * wss_dist + 0.063 * seg
    covl = 1.594 + 0.805 * pesq_value - 0.512 * llr_mean - 0.007 * wss_dist
    return {"csig": float(np.clip(csig, 1, 5)), "cbak": float(np.clip(cbak, 1, 5)),
            "covl": float(np.clip(covl, 1, 5)), "llr": llr_mean, "wss": wss_dist,
            "segsnr": seg, "pesq": float(pesq_value)}
