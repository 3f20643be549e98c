"""SRMR: speech-to-reverberation modulation energy ratio (Falk, Zheng & Chan, TASLP 2010).

Non-intrusive. The signal passes a 23-channel gammatone filterbank (Slaney's fourth-order
ERB filters, centre frequencies ERB-spaced from 125 Hz to fs/2); each channel's Hilbert
envelope passes 8 second-order band-pass modulation filters (Q = 2, centre frequencies
log-spaced 4-128 Hz); modulation energies are taken in 256 ms Hamming frames every 64 ms and
averaged over frames. The score is the energy of the 4 lowest modulation bands over that of
bands 5..K*, where K* is chosen from the bandwidth of the acoustic channel below which 90 %
of the energy lies (the paper's bandwidth adaptation).

Conventions (the "slow", un-normalised SRMR of the SRMR Toolbox, as used in the REVERB
challenge): time-domain gammatone filtering, Hilbert envelope at the audio rate, frames that
lie wholly inside the signal, symmetric Hamming window. Audio at a rate other than 8 or
16 kHz is resampled to 16 kHz. Unlike the MATLAB toolbox there is no silence-removing VAD, so
long pauses lower the score a little (as in SRMRpy and torchmetrics). The ratio is invariant
to the signal's gain. ``norm=True`` gives the variability-reduced SRMR_norm (Santos et al.
2014: energies clamped to a 30 dB range below the peak, modulation filters up to 30 Hz).
"""
import numpy as np

from sebench.metrics.intrusive import MetricError

EAR_Q = 9.26449   # Glasberg & Moore ERB parameters
MIN_BW = 24.7
N_ACOUSTIC = 23
LOW_FREQ = 125.0
N_MODULATION = 8
FRAME_S, HOP_S = 0.256, 0.064


def erb_centre_freqs(fs, n=N_ACOUSTIC, low_freq=LOW_FREQ):
    """ERB-spaced centre frequencies from just below fs/2 down to ``low_freq`` (descending)."""
    high = fs / 2
    k = np.arange(1, n + 1)
    step = (np.log(low_freq + EAR_Q * MIN_BW) - np.log(high + EAR_Q * MIN_BW)) / n
    return -EAR_Q * MIN_BW + np.exp(k * step) * (high + EAR_Q * MIN_BW)


def erb_bandwidth(cf):
    return cf / EAR_Q + MIN_BW


def gammatone_sos(fs, cf):
    """Fourth-order gammatone filter as 4 biquads (Slaney 1993), unit gain at ``cf``."""
    t = 1.0 / fs
    b = 1.019 * 2 * np.pi * erb_bandwidth(cf)
    theta = 2 * np.pi * cf * t
    decay = np.exp(-b * t)
    den = np.array([1.0, -2 * np.cos(theta) * decay, np.exp(-2 * b * t)])
    sections = []
    for sign, root in ((1, np.sqrt(3 + 2 ** 1.5)), (-1, np.sqrt(3 + 2 ** 1.5)),
                       (1, np.sqrt(3 - 2 ** 1.5)), (-1, np.sqrt(3 - 2 ** 1.5))):
        a1 = -t * decay * (np.cos(theta) + sign * root * np.sin(theta))
        sections.append(np.concatenate([[t, a1, 0.0], den]))
    sos = np.array(sections)
    # normalise by the cascade's magnitude at the centre frequency
    z1 = np.exp(-1j * theta)
    response = np.prod([(s[0] + s[1] * z1) / (s[3] + s[4] * z1 + s[5] * z1 * z1) for s in sos])
    sos[0, :3] /= abs(response)
    return sos


def modulation_centre_freqs(min_cf=4.0, max_cf=128.0, n=N_MODULATION):
    return min_cf * (max_cf / min_cf) ** (np.arange(n) / (n - 1))


def modulation_filter(cf, fs, q=2.0):
    """Second-order band-pass (b, a) centred on ``cf`` with quality factor ``q``."""
    w0 = np.tan(np.pi * cf / fs)
    bw = w0 / q
    b = np.array([bw, 0.0, -bw])
    a = np.array([1 + bw + w0 ** 2, 2 * w0 ** 2 - 2, 1 - bw + w0 ** 2])
    return b / a[0], a / a[0]


def lower_cutoffs(cfs, fs, q=2.0):
    """The toolbox's K* thresholds: cf minus half the bandwidth cf/Q (with the bilinear
    pre-warp), which it calls the lower 3 dB edge (the exact edge is slightly higher)."""
    return cfs - np.tan(np.pi * cfs / fs) / q * fs / (2 * np.pi)


def _frame_energies(y, frame, hop, window_sq):
    """Sum of (window * y)^2 over each whole frame; ``frame`` is a multiple of ``hop``."""
    per = frame // hop
    blocks = len(y) // hop
    y2 = (y[:blocks * hop] ** 2).reshape(blocks, hop)
    partial = y2 @ window_sq.reshape(per, hop).T          # (blocks, per)
    n_frames = blocks - per + 1
    return sum(partial[k:k + n_frames, k] for k in range(per))


def modulation_energy(x, fs, max_cf=128.0):
    """Per-frame modulation energy, shape (23 acoustic channels, 8 modulation bands, frames)."""
    from scipy.signal import lfilter, sosfilt

    frame, hop = int(np.ceil(FRAME_S * fs)), int(np.ceil(HOP_S * fs))
    if len(x) < frame:
        raise MetricError(f"too short for SRMR ({len(x) / fs:.3f} s < {FRAME_S} s)")
    window_sq = np.hamming(frame) ** 2
    mod_filters = [modulation_filter(cf, fs) for cf in modulation_centre_freqs(4.0, max_cf)]
    # one acoustic channel at a time: all 23 at once take ~2 GB per minute of 16 kHz audio
    envelopes = (hilbert_envelope(sosfilt(gammatone_sos(fs, cf), x)) for cf in erb_centre_freqs(fs))
    return np.array([[_frame_energies(lfilter(b, a, env), frame, hop, window_sq)
                      for b, a in mod_filters] for env in envelopes])


def hilbert_envelope(x):
    """|analytic signal| along the last axis, over the exact length (as MATLAB's hilbert),
    from two real FFTs: the imaginary part is the Hilbert transform of x."""
    from scipy.fft import irfft, rfft

    n = x.shape[-1]
    spectrum = rfft(x, axis=-1)
    spectrum *= -1j
    spectrum[..., 0] = 0
    if n % 2 == 0:
        spectrum[..., -1] = 0
    return np.hypot(x, irfft(spectrum, n=n, axis=-1))


def srmr(x, fs, norm=False):
    """SRMR of a mono signal (higher = less reverberant)."""
    from sebench.audio.resample import resample

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("SRMR takes mono audio")
    if not np.all(np.isfinite(x)):
        raise MetricError("estimate has non-finite samples")
    if not np.any(x):
        raise MetricError("estimate is digital silence")
    if fs not in (8000, 16000):
        x, fs = resample(x, fs, 16000), 16000
    x = x / np.max(np.abs(x))    # the ratio is gain-invariant; this only keeps filters in range
    max_cf = 30.0 if norm else 128.0
    energy = modulation_energy(x, fs, max_cf)
    if norm:   # SRMR_norm: clamp to a 30 dB range below the peak before averaging
        peak = energy.mean(axis=0).max()
        energy = np.clip(energy, peak * 1e-3, peak)
    return _ratio(energy.mean(axis=2), fs, modulation_centre_freqs(4.0, max_cf))


def _ratio(energy, fs, mod_cfs):
    total = energy.sum()
    if not total > 0:
        raise MetricError("no modulation energy (silent estimate)")
    # acoustic channels from the lowest up: the first where 90 % of the energy is reached
    per_channel = energy.sum(axis=1)[::-1]
    k90 = int(np.argmax(np.cumsum(per_channel) * 100 / total > 90))
    bandwidth = erb_bandwidth(erb_centre_freqs(fs)[::-1][k90])
    cutoffs = lower_cutoffs(mod_cfs, fs)
    k_star = max(5, 4 + int(np.sum(cutoffs[4:] <= bandwidth)))
    high = energy[:, 4:k_star].sum()
    if not high > 0:
        raise MetricError("no high-band modulation energy")
    return float(energy[:, :4].sum() / high)
