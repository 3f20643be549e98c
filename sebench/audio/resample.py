"""Resampling with soxr (band-limited, high quality, fast)."""
import numpy as np
import soxr


def resample(audio, fs_in, fs_out, quality="HQ"):
    """Resample ``(samples,)`` or ``(samples, channels)`` float audio; identity when rates agree."""
    if int(fs_in) == int(fs_out):
        return audio
    out = soxr.resample(np.asarray(audio, dtype=np.float32), int(fs_in), int(fs_out), quality=quality)
    return np.ascontiguousarray(out, dtype=np.float32)
