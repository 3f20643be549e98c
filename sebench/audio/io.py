"""Reading and writing audio with soundfile.

``read`` always returns float32 ``(samples,)`` (or ``(samples, channels)`` with
``channel='all'``) and the sample rate, and turns every way a file can be unusable
into an :class:`~sebench.errors.AudioError` that names the file and the problem.
``write`` is atomic. Kaldi-style pipe entries (``"sox a.flac -t wav - |"``) are read
by running the command.
"""
import io
import os
import subprocess

import numpy as np
import soundfile as sf

from sebench.audio import decode
from sebench.errors import AudioError
from sebench.utils.fileio import atomic_path

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".sph", ".aif", ".aiff", ".mp3",
                    ".opus") + decode.AV_EXTENSIONS


def _open_source(path):
    """A path, or the stdout of a Kaldi pipe command ending in '|'."""
    spec = str(path).strip()
    if spec.endswith("|"):
        proc = subprocess.run(spec[:-1], shell=True, capture_output=True)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise AudioError(spec, f"pipe command failed (code {proc.returncode}): "
                                   f"{err[-1] if err else 'no message'}")
        return io.BytesIO(proc.stdout)
    if not os.path.exists(spec):
        raise AudioError(spec, "file not found")
    if os.path.isdir(spec):
        raise AudioError(spec, "is a folder, not an audio file")
    return spec


def audio_info(path):
    """(sample_rate, num_samples, channels) without reading the samples."""
    src = _open_source(path)
    if decode.needs_av(src):
        return decode.info_av(src)
    try:
        info = sf.info(src)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(path, f"unreadable audio ({e})") from None
    return info.samplerate, info.frames, info.channels


def read(path, channel=None, fs=None, allow_nonfinite=False, start=0, stop=None):
    """Read audio as float32.

    channel: None requires mono (a multi-channel file is an error that says so);
        an int selects that channel; 'mean' averages channels; 'all' keeps them.
    fs: when given, a file at another rate is an error (resample explicitly instead).
    start/stop: sample range, read without loading the rest of the file.
    """
    src = _open_source(path)
    try:
        if decode.needs_av(src):          # AAC/.m4a and other formats libsndfile lacks
            data, rate = decode.read_av(src, start, stop)
        else:
            data, rate = sf.read(src, dtype="float32", always_2d=True, start=start, stop=stop)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(path, f"unreadable audio ({e})") from None
    if data.shape[0] == 0:
        raise AudioError(path, "empty audio (0 samples)")
    n_ch = data.shape[1]
    if channel is None:
        if n_ch != 1:
            raise AudioError(path, f"has {n_ch} channels; select one (channel=0..{n_ch - 1}) "
                                   "or 'mean'")
        data = data[:, 0]
    elif channel == "mean":
        data = data.mean(axis=1)
    elif channel == "all":
        pass
    else:
        if not 0 <= int(channel) < n_ch:
            raise AudioError(path, f"channel {channel} requested but the file has {n_ch}")
        data = data[:, int(channel)]
    if not allow_nonfinite and not np.all(np.isfinite(data)):
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise AudioError(path, f"contains {bad} non-finite (NaN/inf) samples")
    if fs is not None and rate != fs:
        raise AudioError(path, f"sample rate is {rate} Hz, expected {fs} Hz")
    return np.ascontiguousarray(data, dtype=np.float32), int(rate)


def write(path, audio, fs, subtype="PCM_16"):
    """Write audio atomically. ``audio`` is ``(samples,)`` or ``(samples, channels)``.

    Writing integer PCM clips at full scale; the caller is told by an AudioError
    rather than silently clipped, so rescale first (``peak_normalize``) if needed.
    """
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2) or audio.shape[0] == 0:
        raise AudioError(path, f"refusing to write audio of shape {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise AudioError(path, "refusing to write non-finite samples")
    if subtype.startswith("PCM") and np.max(np.abs(audio)) > 1.0:
        raise AudioError(path, f"peak {np.max(np.abs(audio)):.3f} exceeds full scale for "
                               f"{subtype}; rescale first or write FLOAT")
    fmt = "FLAC" if str(path).lower().endswith(".flac") else "WAV"
    with atomic_path(path) as tmp:
        channels = 1 if audio.ndim == 1 else audio.shape[1]
        with sf.SoundFile(tmp, "w", int(fs), channels, subtype=subtype, format=fmt) as f:
            _no_peak_chunk(f)
            f.write(audio)


_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def _no_peak_chunk(sound_file):
    """libsndfile stamps float WAVs with a PEAK chunk holding the write time; without it the
    same samples always give the same bytes (reproducible outputs, content-hash caches)."""
    try:
        sf._snd.sf_command(sound_file._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
    except AttributeError:  # soundfile internals moved; the file is still correct
        pass


def peak_normalize(audio, peak=0.99):
    """Scale so the peak is at most ``peak``; returns (audio, gain). Gain 1 when already below."""
    top = float(np.max(np.abs(audio))) if audio.size else 0.0
    gain = peak / top if top > peak else 1.0
    return (audio * gain).astype(audio.dtype, copy=False), gain


def is_audio_file(name):
    return str(name).lower().endswith(AUDIO_EXTENSIONS)
