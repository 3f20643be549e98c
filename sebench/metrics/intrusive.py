"""Intrusive metrics: PESQ (P.862.2 wideband, P.862 narrowband), STOI/ESTOI, SI-SDR, SNR,
BSS-eval SDR/SIR/SAR. Inputs are float arrays of equal length at rate ``fs``.

Which PESQ: the ITU reference C code through the ``pesq`` package (ludlows/PESQ).
``pesq_wb`` is P.862.2 MOS-LQO at 16 kHz (the score SE papers report as "PESQ"); other rates
are resampled (soxr) to 16 kHz first. ``pesq_nb`` is the P.862.1 MOS-LQO of P.862, which the
ITU code runs at 8 or 16 kHz: 8 and 16 kHz input is scored at its own rate (the ``pesq``
package documents nb at 16 kHz; resampling 16 kHz to 8 kHz first scores ~0.09 higher), other
rates are resampled to 16 kHz (above 16 kHz) or 8 kHz.
``pesq_raw_nb`` inverts the P.862.1 mapping to the raw P.862 score. References longer than
``pesq_guard.SAFE_SECONDS`` are scored in a child process that first checks the C code's
utterance limit (see sebench.metrics.pesq_guard).
"""
import numpy as np

from sebench.audio.resample import resample
from sebench.metrics import pesq_guard

_EPS = np.finfo(np.float64).eps


class MetricError(Exception):
    """A metric that cannot be computed for this input; the message is the recorded reason."""


def _check_not_silent(ref, enh):
    if not np.any(ref):
        raise MetricError("reference is digital silence")
    if not np.any(enh):
        raise MetricError("estimate is digital silence")


def pesq_rate(fs, mode):
    """The rate PESQ runs at for input at ``fs`` (see the module doc)."""
    if mode == "wb" or fs in (8000, 16000):
        return 16000 if mode == "wb" else fs
    return 16000 if fs > 16000 else 8000


def _call_pesq(fs, ref, enh, mode, check_limits=False):
    from pesq import NoUtterancesError, PesqError, pesq

    if check_limits:
        try:
            pesq_guard.check_utterances(ref, enh, fs, mode)
        except pesq_guard.PesqLimitError as e:
            raise MetricError(str(e)) from None
    try:
        return float(pesq(fs, ref, enh, mode))
    except NoUtterancesError:
        raise MetricError("PESQ found no utterances (silent or too quiet)") from None
    except PesqError as e:
        raise MetricError(f"PESQ error: {type(e).__name__}: {e}") from None


def _pesq(ref, enh, fs, mode):
    target = pesq_rate(fs, mode)
    if fs != target:
        ref, enh, fs = resample(ref, fs, target), resample(enh, fs, target), target
    _check_not_silent(ref, enh)
    if len(ref) < fs // 4:
        raise MetricError(f"too short for PESQ ({len(ref) / fs:.2f} s < 0.25 s)")
    ref, enh = ref.astype(np.float64), enh.astype(np.float64)
    if len(ref) <= pesq_guard.SAFE_SECONDS * fs:
        return _call_pesq(fs, ref, enh, mode)
    try:                        # long: check the C code's limits, in a crash-proof child
        return pesq_guard.run_isolated(_call_pesq, fs, ref, enh, mode, True)
    except RuntimeError as e:
        raise MetricError(f"PESQ {e} on {len(ref) / fs:.1f} s of audio") from None


def pesq_wb(ref, enh, fs):
    return _pesq(ref, enh, fs, "wb")


def pesq_nb(ref, enh, fs):
    return _pesq(ref, enh, fs, "nb")


def mos_lqo_to_raw(mos):
    """Invert the P.862.1 mapping (MOS-LQO -> raw P.862)."""
    return (4.6607 - np.log(4.0 / (mos - 0.999) - 1.0)) / 1.4945


def pesq_raw_nb(ref, enh, fs):
    """Raw P.862 (narrowband) score, as Loizou's composite measures use it."""
    return float(mos_lqo_to_raw(pesq_nb(ref, enh, fs)))


def stoi(ref, enh, fs, extended=False):
    from pystoi import stoi as _stoi

    _check_not_silent(ref, enh)
    if len(ref) < int(0.4 * fs):
        raise MetricError(f"too short for STOI ({len(ref) / fs:.2f} s; needs ~0.4 s)")
    value = float(_stoi(ref.astype(np.float64), enh.astype(np.float64), fs, extended=extended))
    if not np.isfinite(value):
        raise MetricError("STOI undefined (no speech frames above its 40 dB range)")
    return value


def estoi(ref, enh, fs):
    return stoi(ref, enh, fs, extended=True)


def si_sdr(ref, enh, fs=None, zero_mean=True):
    """Scale-invariant SDR in dB (Le Roux et al. 2019), zero-mean by default."""
    if not np.any(enh):
        raise MetricError("estimate is digital silence (SI-SDR undefined)")
    ref = ref.astype(np.float64)
    enh = enh.astype(np.float64)
    if zero_mean:
        ref, enh = ref - ref.mean(), enh - enh.mean()
    energy = np.dot(ref, ref)
    if energy <= 0:
        raise MetricError("reference is silent (SI-SDR undefined)")
    target = np.dot(enh, ref) / energy * ref
    noise = enh - target
    return float(10 * np.log10((np.dot(target, target) + _EPS) / (np.dot(noise, noise) + _EPS)))


def snr(ref, enh, fs=None):
    """Plain SNR in dB of the estimate against the reference (no scaling)."""
    ref = ref.astype(np.float64)
    err = ref - enh.astype(np.float64)
    if not np.any(ref):
        raise MetricError("reference is silent (SNR undefined)")
    return float(10 * np.log10(np.dot(ref, ref) / (np.dot(err, err) + _EPS)))


def bss_eval(ref, enh, fs=None, noise=None):
    """BSS-eval v4-style SDR/SIR/SAR (512-tap distortion filter; see sebench.metrics.bss).

    With one source the interference subspace is empty, so SIR needs the noise as a second
    reference; without it SIR is reported as missing (not +inf). Values are capped at 120 dB
    (energy ratios floored at 1e-12): an estimate within the filter's reach of the reference
    scores 120, where mir_eval would report inf.
    """
    from sebench.metrics.bss import bss_eval as _bss_eval

    _check_not_silent(ref, enh)
    return _bss_eval(ref, enh, noise=noise)
