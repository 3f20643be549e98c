"""The P.808 DNSMOS model's input: a log-mel spectrogram, computed as the reference script
computes it with librosa (stft n_fft 321, hop 160, centred with zero padding, periodic Hann;
120 Slaney-normalised mel bands on the Slaney mel scale; power in dB relative to the segment's
maximum, floored 80 dB below it; then (dB + 40) / 40).

Written in numpy so a scoring job does not import librosa (1.5-2 s of start-up per job, which
dominated sharded scoring of short test sets). tests/test_metrics.py checks it against librosa.
"""
import numpy as np

N_FFT, HOP, N_MELS = 321, 160, 120


# Slaney's mel scale: linear (F_SP Hz per mel) below 1 kHz, logarithmic above
F_SP, MIN_LOG_HZ = 200.0 / 3, 1000.0
MIN_LOG_MEL, LOGSTEP = MIN_LOG_HZ / F_SP, np.log(6.4) / 27.0


def hz_to_mel(freqs):
    freqs = np.asarray(freqs, dtype=np.float64)
    log_part = MIN_LOG_MEL + np.log(np.maximum(freqs, MIN_LOG_HZ) / MIN_LOG_HZ) / LOGSTEP
    return np.where(freqs >= MIN_LOG_HZ, log_part, freqs / F_SP)


def mel_to_hz(mels):
    mels = np.asarray(mels, dtype=np.float64)
    log_part = MIN_LOG_HZ * np.exp(LOGSTEP * (mels - MIN_LOG_MEL))
    return np.where(mels >= MIN_LOG_MEL, log_part, F_SP * mels)


def mel_filterbank(sr, n_fft=N_FFT, n_mels=N_MELS):
    """Triangular filters on the Slaney mel scale from 0 Hz to sr/2, each with unit area
    in Hz ('slaney' normalisation); shape (n_mels, 1 + n_fft // 2)."""
    bins = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    widths = np.diff(edges)
    rise = (bins[None, :] - edges[:-2, None]) / widths[:-1, None]
    fall = (edges[2:, None] - bins[None, :]) / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rise, fall))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def power_spectrogram(x, n_fft=N_FFT, hop=HOP):
    """|STFT|^2, shape (1 + n_fft // 2, frames); frames centred (zero padding n_fft // 2)."""
    x = np.pad(np.asarray(x, dtype=np.float32), n_fft // 2)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    n_frames = 1 + (len(x) - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n_frames] * window
    spectrum = np.fft.rfft(frames, axis=-1)
    return (spectrum.real ** 2 + spectrum.imag ** 2).T


class LogMel:
    """Callable: segment (float32, 16 kHz) -> (frames, 120) float32 model input."""

    def __init__(self, sr=16000):
        self.filters = mel_filterbank(sr)

    def __call__(self, segment):
        mel = self.filters @ power_spectrogram(segment)
        db = 10.0 * np.log10(np.maximum(mel, 1e-10))
        db -= 10.0 * np.log10(max(float(mel.max()), 1e-10))
        db = np.maximum(db, db.max() - 80.0)
        return ((db + 40) / 40).T.astype(np.float32)
