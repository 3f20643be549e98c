"""Decoding compressed audio that libsndfile cannot read (AAC in .m4a, ...) with PyAV.

libsndfile (soundfile) reads wav, flac, ogg/vorbis, opus and mp3; VoxCeleb2 is AAC in
``.m4a``, which it does not. :func:`sebench.audio.io.read` hands files with one of
:data:`AV_EXTENSIONS` to :func:`read_av`, so every command reads what ``sebench data format``
reads. The samples are what FFmpeg's decoder gives (encoder priming is trimmed where the
container's edit list says so, as the ``ffmpeg`` command does).
"""
import os

import numpy as np

from sebench.errors import AudioError

#: containers/codecs decoded with PyAV (FFmpeg) instead of libsndfile
AV_EXTENSIONS = (".m4a", ".aac", ".mp4", ".m4b", ".webm", ".mka", ".wma", ".3gp")


def needs_av(path):
    """True for a plain file whose extension libsndfile cannot decode."""
    return isinstance(path, (str, os.PathLike)) and str(path).lower().endswith(AV_EXTENSIONS)


def _open(path):
    try:
        import av
    except ImportError:
        raise AudioError(path, "decoding this format needs PyAV (pip install av)") from None
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise AudioError(path, f"unreadable audio ({e})") from None
    if not container.streams.audio:
        container.close()
        raise AudioError(path, "no audio stream")
    return av, container


def read_av(path, start=0, stop=None):
    """Decode the first audio stream: float32 ``(samples, channels)`` and the sample rate."""
    av, container = _open(path)
    with container:
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate)
        # planar float at the stream's own layout and rate: no resampling, only a format change
        resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=rate)
        chunks = []
        try:
            for frame in container.decode(stream):
                chunks += [f.to_ndarray() for f in resampler.resample(frame)]
            chunks += [f.to_ndarray() for f in resampler.resample(None)]
        except (av.error.FFmpegError, ValueError) as e:
            raise AudioError(path, f"unreadable audio ({e})") from None
    if not chunks:
        raise AudioError(path, "empty audio (0 samples)")
    data = np.concatenate(chunks, axis=1).T          # (samples, channels)
    return np.ascontiguousarray(data[start:stop], dtype=np.float32), rate


def info_av(path):
    """(sample_rate, num_samples, channels), exact: the stream is decoded to count samples
    (container durations of AAC include priming and padding)."""
    data, rate = read_av(path)
    return rate, data.shape[0], data.shape[1]
