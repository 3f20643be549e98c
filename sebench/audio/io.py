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
import wave

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
    data = select_channel(data, channel, path)
    if not allow_nonfinite and not np.all(np.isfinite(data)):
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise AudioError(path, f"contains {bad} non-finite (NaN/inf) samples")
    if fs is not None and rate != fs:
        raise AudioError(path, f"sample rate is {rate} Hz, expected {fs} Hz")
    return np.ascontiguousarray(data, dtype=np.float32), int(rate)


def select_channel(data, channel, path, option="--channel"):
    """``(samples, channels)`` -> what ``channel`` asks for (see :func:`read`); ``option``
    names the user's setting in the error for a multi-channel file read as mono."""
    n_ch = data.shape[1]
    if channel is None:
        if n_ch != 1:
            raise AudioError(path, f"has {n_ch} channels; select one with {option} "
                                   f"(0..{n_ch - 1}) or 'mean'")
        return data[:, 0]
    if channel == "mean":
        return data.mean(axis=1)
    if channel == "all":
        return data
    if not 0 <= int(channel) < n_ch:
        raise AudioError(path, f"channel {channel} requested but the file has {n_ch}")
    return data[:, int(channel)]


def wav_truncation(path):
    """For a RIFF/WAVE file whose data chunk is cut short (a copy or write that stopped):
    ``(declared_bytes, present_bytes)``; None when complete, not a WAV file, or a stream
    whose header gives no size. libsndfile reads such a file silently as a shorter one."""
    spec = str(path).strip()
    if spec.endswith("|") or not os.path.isfile(spec):
        return None
    size = os.path.getsize(spec)
    with open(spec, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            declared = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                present = size - pos - 8
                if declared in (0, 0xFFFFFFFF) or declared <= present:   # streamed or complete
                    return None
                return declared, present
            pos += 8 + declared + (declared & 1)
    return None


def check_complete(path, flac_frames=None):
    """Raise :class:`AudioError` when ``path`` holds less audio than its header declares: a
    WAV data chunk cut short (header vs file size), or, given ``flac_frames`` (the header's
    count), a FLAC file that decodes to fewer frames or loses sync (decoded block-wise, since
    a FLAC header says nothing about the bytes that follow it)."""
    cut = wav_truncation(path)
    if cut:
        raise AudioError(path, f"truncated: the header declares {cut[0]} bytes of audio, the "
                               f"file holds {cut[1]}")
    if flac_frames is None:
        return
    done = 0
    try:
        with sf.SoundFile(str(path).strip()) as f:
            while True:
                block = f.read(65536, dtype="float32", always_2d=True)
                if not len(block):
                    break
                done += len(block)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(path, f"truncated or corrupt: unreadable after {done} of "
                               f"{flac_frames} samples ({e})") from None
    if done < flac_frames:
        raise AudioError(path, f"truncated: holds {done} of the {flac_frames} samples its "
                               "header declares")


def write(path, audio, fs, subtype="PCM_16", sync=True):
    """Write audio atomically. ``audio`` is ``(samples,)`` or ``(samples, channels)``.

    Writing integer PCM clips at full scale; the caller is told by an AudioError
    rather than silently clipped, so rescale first (``peak_normalize``) if needed.
    ``sync=False`` skips the per-file fsync: batch producers that write thousands of files
    sync the file system once when the batch is done (``fileio.sync_filesystem``).
    """
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2) or audio.shape[0] == 0:
        raise AudioError(path, f"refusing to write audio of shape {audio.shape}")
    peak = float(np.max(np.abs(audio)))   # NaN or inf when any sample is
    if not np.isfinite(peak):
        raise AudioError(path, "refusing to write non-finite samples")
    if subtype.startswith("PCM") and peak > 1.0:
        raise AudioError(path, f"peak {peak:.3f} exceeds full scale for "
                               f"{subtype}; rescale first or write FLOAT")
    fmt = "FLAC" if str(path).lower().endswith(".flac") else "WAV"
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    # encoded in memory: libsndfile fsyncs every file it closes, which cost more than the
    # encoding itself; the bytes are the same
    if fmt == "WAV" and subtype == "PCM_16" and audio.dtype == np.float32 and channels <= 2:
        encoded = _pcm16_wav(_float32_to_pcm16(audio), int(fs), channels)
    else:
        encoded = io.BytesIO()
        with sf.SoundFile(encoded, "w", int(fs), channels, subtype=subtype, format=fmt) as f:
            _no_peak_chunk(f)
            f.write(audio)
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(encoded.getbuffer())
        if sync:
            out.flush()
            os.fsync(out.fileno())


def _float32_to_pcm16(audio):
    """float32 in [-1, 1] -> int16 with libsndfile's own rule for WAV (scale by 2**31, round
    half to even, clip to int32, keep the top 16 bits): the same bytes as handing it the
    floats, in a quarter of the time (tests/test_simulate.py pins the equality)."""
    scaled = np.rint(audio * np.float32(2.0 ** 31))   # exact: a power-of-two scale
    np.clip(scaled, -2.0 ** 31, 2.0 ** 31 - 128, out=scaled)   # 2**31 - 128: top float32
    return (scaled.astype(np.int32) >> 16).astype(np.int16)


def _pcm16_wav(pcm, fs, channels):
    """The canonical 44-byte-header WAV that libsndfile writes for 16-bit mono and stereo,
    through the standard library (a third of libsndfile's per-file overhead)."""
    encoded = io.BytesIO()
    with wave.open(encoded, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(fs)
        w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
    return encoded


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
