"""Mixing one utterance: reverberation, SNR on active speech, level, clipping, noise floor.

Order of operations (compare DNS-Challenge ``audiolib.snr_mixer``):

1. reverberation: the clean speech is convolved with the RIR from its direct-path sample
   on, so the reverberant speech stays time-aligned with the dry target (no lag to undo);
2. SNR: the noise is scaled so that the *active* speech level (ITU-T P.56, of the
   reverberant speech when reverb is applied) lies ``snr_db`` above the noise RMS over the
   utterance (``snr_reference="active"``). DNS compares plain RMS values (its ``active_rms``
   threshold is a dB value compared with a linear RMS), which makes pauses lower the
   effective SNR; ``snr_reference="global"`` uses the speech's RMS over the whole utterance,
   pauses included (paper 001's Table 2 lists unprocessed SI-SDR equal to the nominal SNR);
3. level: one gain for all components sets either the mixture RMS (``mixture_rms``, dBFS,
   paper 002's U[-38, -18]) or the dry speech's active level (``speech_active``, -26 dBov);
4. optional noise floor: white noise ``dynamic_range_db`` below the mixture peak is added to
   the noise component (paper 001 scales its mixtures to a 40 dB dynamic range);
5. clipping: a mixture peak above ``clip_peak`` rescales every component by the same factor
   and the event is reported — never clipped silently, never retried.

``mixture == speech + noise`` holds to float precision after every step, where ``speech``
is the reverberant speech with reverb and the dry speech without.
"""
from dataclasses import dataclass

import numpy as np

from sebench.audio.levels import ActiveLevel, active_level_db, peak_db, rms_db
from sebench.errors import ConfigError


SNR_REFERENCES = ("active", "global")


class _GlobalLevel:
    """The speech's plain RMS level, with ``ActiveLevel``'s ``db(gain)`` interface."""

    def __init__(self, speech):
        self.level = rms_db(speech)

    def db(self, gain=1.0):
        return self.level + 20 * np.log10(gain)


@dataclass
class Mixture:
    mixture: np.ndarray
    clean: np.ndarray            # dry speech, aligned with the mixture
    clean_rev: np.ndarray        # reverberant speech (None without reverb)
    noise: np.ndarray            # the noise exactly as added
    speech_gain: float           # gain applied to the source speech
    noise_gain: float            # gain applied to the source noise
    clipped_rescaled: bool
    level_db: float              # the mixture's resulting RMS level in dBFS
    snr_db: float                # the measured SNR (on the snr_reference speech level)


def reverberate(clean, rir, direct_index=0):
    """Convolve with the RIR from its direct path on; output as long as the input."""
    from scipy.signal import fftconvolve   # here: scipy.signal costs ~1 s of start-up

    rir = np.asarray(rir, dtype=np.float64)[int(direct_index):]
    if rir.size == 0:
        raise ConfigError("RIR is empty after its direct-path index")
    return fftconvolve(np.asarray(clean, dtype=np.float64), rir)[:len(clean)]


def mix(clean, noise, fs, snr_db, level_db, level_mode="mixture_rms", rir=None, direct_index=0,
        clip_peak=0.99, dynamic_range_db=None, floor_rng=None, snr_reference="active"):
    """Mix one utterance; ``clean`` and ``noise`` are equally long float arrays."""
    if snr_reference not in SNR_REFERENCES:
        raise ConfigError(f"snr_reference must be active or global, got {snr_reference!r}")
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    if clean.shape != noise.shape:
        raise ConfigError(f"clean ({clean.shape}) and noise ({noise.shape}) lengths differ")
    speech_gain = 1.0
    if level_mode == "speech_active":   # the dry clean speech at the target active level
        speech_gain = 10 ** ((level_db - active_level_db(clean, fs)) / 20)
        clean = clean * speech_gain
    elif level_mode != "mixture_rms":
        raise ConfigError(f"level_mode must be mixture_rms or speech_active, got {level_mode!r}")
    clean_rev = reverberate(clean, rir, direct_index) if rir is not None else None
    speech = clean_rev if clean_rev is not None else clean
    noise_rms_db = rms_db(noise)
    if not np.isfinite(noise_rms_db) or noise_rms_db < -200:
        raise ConfigError("noise is digital silence")
    speech_level = ActiveLevel(speech, fs) if snr_reference == "active" else _GlobalLevel(speech)
    noise_gain = 10 ** ((speech_level.db() - snr_db - noise_rms_db) / 20)
    noise = noise * noise_gain
    mixture = speech + noise
    later_gain = 1.0                          # what the speech gets from here on
    if level_mode == "mixture_rms":
        gain = 10 ** ((level_db - rms_db(mixture)) / 20)
        clean, noise, mixture = clean * gain, noise * gain, mixture * gain
        clean_rev = clean_rev * gain if clean_rev is not None else None
        speech_gain, noise_gain = speech_gain * gain, noise_gain * gain
        later_gain *= gain
    if dynamic_range_db is not None:
        rng = floor_rng if floor_rng is not None else np.random.default_rng(0)
        floor = rng.standard_normal(len(mixture)) * 10 ** ((peak_db(mixture) - dynamic_range_db) / 20)
        noise = noise + floor
        mixture = (clean_rev if clean_rev is not None else clean) + noise
    peak = float(np.max(np.abs(mixture))) if mixture.size else 0.0
    clipped = peak > clip_peak
    if clipped:
        gain = clip_peak / peak
        clean, noise, mixture = clean * gain, noise * gain, mixture * gain
        clean_rev = clean_rev * gain if clean_rev is not None else None
        speech_gain, noise_gain = speech_gain * gain, noise_gain * gain
        later_gain *= gain
    return Mixture(mixture=mixture, clean=clean, clean_rev=clean_rev, noise=noise,
                   speech_gain=float(speech_gain), noise_gain=float(noise_gain),
                   clipped_rescaled=bool(clipped), level_db=float(rms_db(mixture)),
                   snr_db=float(speech_level.db(later_gain) - rms_db(noise)))


def draw_noise_offset(noise_len, length, rng, loop=True):
    """Where a ``length``-sample segment starts in a noise of ``noise_len`` samples; the one
    draw ``fit_noise`` makes, so a caller can read just that segment from the file."""
    if noise_len == 0:
        raise ConfigError("noise file is empty")
    if noise_len >= length:
        return int(rng.integers(0, noise_len - length + 1))
    if not loop:
        raise ConfigError(f"noise is shorter ({noise_len} samples) than the speech ({length}) "
                          "and noise_loop is off")
    return int(rng.integers(0, noise_len))


def fit_noise(noise, length, rng, loop=True):
    """Crop ``noise`` to ``length`` at a random offset, looping it when it is shorter.

    Returns (segment, offset). Looping wraps around the file end, so every offset is valid.
    """
    noise = np.asarray(noise)
    offset = draw_noise_offset(len(noise), length, rng, loop)
    if len(noise) >= length:
        return noise[offset:offset + length], offset
    reps = int(np.ceil((offset + length) / len(noise)))
    return np.tile(noise, reps)[offset:offset + length], offset
