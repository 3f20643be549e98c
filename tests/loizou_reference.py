"""Hu & Loizou's composite measures written out from composite.m, frame by frame, as the
tests' oracle. Deliberately independent of sebench.metrics.composite: loops where composite.m
loops, 1-based indices where its band searches use them, scipy's Toeplitz solver for the LPC
normal equations (composite.m runs Levinson-Durbin), MATLAB's round-half-away-from-zero.
"""
import numpy as np
from scipy.linalg import solve_toeplitz, toeplitz

EPS = np.finfo(np.float64).eps   # MATLAB's eps

# composite.m's wss(): centre frequencies and bandwidths (Hz) of the 25 critical bands
CENT_FREQ = [50.0000, 120.000, 190.000, 260.000, 330.000, 400.000, 470.000, 540.000, 617.372,
             703.378, 798.717, 904.128, 1020.38, 1148.30, 1288.72, 1442.54, 1610.70, 1794.16,
             1993.93, 2211.08, 2446.71, 2701.97, 2978.04, 3276.17, 3597.63]
BANDWIDTH = [70.0000, 70.0000, 70.0000, 70.0000, 70.0000, 70.0000, 70.0000, 77.3724, 86.0056,
             95.3398, 105.411, 116.256, 127.914, 140.423, 153.823, 168.154, 183.457, 199.776,
             217.153, 235.631, 255.255, 276.072, 298.126, 321.465, 346.136]


def matlab_round(x):
    return int(np.floor(x + 0.5))


def frames(signal, fs):
    """composite.m's framing: 30 ms, hop floor(len/4), Hanning 0.5*(1-cos(2*pi*n/(N+1)))."""
    winlength = matlab_round(30 * fs / 1000)
    skiprate = winlength // 4
    num_frames = int(np.floor(len(signal) / skiprate - winlength / skiprate))
    window = 0.5 * (1 - np.cos(2 * np.pi * np.arange(1, winlength + 1) / (winlength + 1)))
    for k in range(num_frames):
        start = k * skiprate
        yield signal[start:start + winlength] * window


def local_peaks(energy, slope):
    """composite.m's search, 1-based: right of a rising band it keeps clean_energy(n-1)."""
    num_crit = len(energy)
    peaks = np.zeros(num_crit - 1)
    for i in range(1, num_crit):
        n = i
        if slope[i - 1] > 0:
            while n < num_crit and slope[n - 1] > 0:
                n += 1
            peaks[i - 1] = energy[n - 1 - 1]      # clean_energy(n-1)
        else:
            while n > 0 and slope[n - 1] <= 0:
                n -= 1
            peaks[i - 1] = energy[n + 1 - 1]      # clean_energy(n+1)
    return peaks


def wss_frames(clean, processed, fs):
    num_crit, kmax, klocmax = 25, 20.0, 1.0
    winlength = matlab_round(30 * fs / 1000)
    n_fft = 2 ** int(np.ceil(np.log2(2 * winlength)))
    n_fftby2 = n_fft // 2
    max_freq = fs / 2
    min_factor = np.exp(-30.0 / (2.0 * 2.303))
    j = np.arange(n_fftby2)
    crit_filter = np.zeros((num_crit, n_fftby2))
    for i in range(num_crit):
        f0 = CENT_FREQ[i] / max_freq * n_fftby2
        bw = BANDWIDTH[i] / max_freq * n_fftby2
        norm_factor = np.log(BANDWIDTH[0]) - np.log(BANDWIDTH[i])
        crit_filter[i] = np.exp(-11 * ((j - np.floor(f0)) / bw) ** 2 + norm_factor)
        crit_filter[i] *= crit_filter[i] > min_factor
    out = []
    for c, p in zip(frames(clean, fs), frames(processed, fs)):
        energies = []
        for frame in (c, p):
            spec = np.abs(np.fft.fft(frame, n_fft)) ** 2
            e = crit_filter @ spec[:n_fftby2]      # sum(spec(1:n_fftby2) .* crit_filter(i,:))
            energies.append(10 * np.log10(np.maximum(e, 1e-10)))
        weights, slopes = [], []
        for e in energies:
            slope = e[1:] - e[:-1]
            peak = local_peaks(e, slope)
            w_max = kmax / (kmax + e.max() - e[:-1])
            w_loc = klocmax / (klocmax + peak - e[:-1])
            weights.append(w_max * w_loc)
            slopes.append(slope)
        w = (weights[0] + weights[1]) / 2.0
        out.append(np.sum(w * (slopes[0] - slopes[1]) ** 2) / np.sum(w))
    return np.array(out)


def llr_frames(clean, processed, fs):
    order = 10 if fs < 10000 else 16
    out = []
    for c, p in zip(frames(clean, fs), frames(processed, fs)):
        coeffs, lags = [], []
        for frame in (c, p):
            r = np.array([frame[:len(frame) - k] @ frame[k:] for k in range(order + 1)])
            a = solve_toeplitz(r[:order], r[1:order + 1])
            coeffs.append(np.concatenate([[1.0], -a]))
            lags.append(r)
        r_clean = toeplitz(lags[0])
        out.append(np.log((coeffs[1] @ r_clean @ coeffs[1]) / (coeffs[0] @ r_clean @ coeffs[0])))
    return np.array(out)


def segsnr_frames(clean, processed, fs):
    out = []
    for c, p in zip(frames(clean, fs), frames(processed, fs)):
        snr = 10 * np.log10(np.sum(c ** 2) / (np.sum((c - p) ** 2) + EPS) + EPS)
        out.append(min(max(snr, -10.0), 35.0))
    return np.array(out)


def best_95(values):
    values = np.sort(values)
    return float(np.mean(values[:matlab_round(len(values) * 0.95)]))


def composite(clean, processed, fs, pesq_value):
    """CSIG, CBAK, COVL, WSS, LLR, segSNR as composite.m computes them from ``pesq_value``."""
    n = min(len(clean), len(processed))
    clean = np.asarray(clean[:n], dtype=np.float64) + EPS
    processed = np.asarray(processed[:n], dtype=np.float64) + EPS
    wss = best_95(wss_frames(clean, processed, fs))
    llr = best_95(llr_frames(clean, processed, fs))
    seg = float(np.mean(segsnr_frames(clean, processed, fs)))
    csig = 3.093 - 1.029 * llr + 0.603 * pesq_value - 0.009 * wss
    cbak = 1.634 + 0.478 * pesq_value - 0.007 * wss + 0.063 * seg
    covl = 1.594 + 0.805 * pesq_value - 0.512 * llr - 0.007 * wss
    clamp = lambda v: min(max(v, 1.0), 5.0)  # noqa: E731
    return {"csig": clamp(csig), "cbak": clamp(cbak), "covl": clamp(covl), "wss": wss,
            "llr": llr, "segsnr": seg}


def raw_p862(mos_lqo):
    """P.862.1's mapping MOS-LQO = 0.999 + 4 / (1 + exp(-1.4945 x + 4.6607)), inverted."""
    return (4.6607 - np.log(4.0 / (mos_lqo - 0.999) - 1.0)) / 1.4945
