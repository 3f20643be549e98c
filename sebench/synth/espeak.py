"""Offline speech synthesis with libespeak-ng from the ``espeakng-loader`` wheel (ctypes).

espeak-ng keeps state between calls (its noise generator, phoneme caches), so the same text
can come out differently inside one long-lived process, and it seeds its noise from the clock.
``synthesize`` therefore runs each utterance in a freshly forked worker that loads the library,
pins its random seed and exits: the output depends on the inputs alone.
"""
import ctypes
import os
import pickle
import select
import signal
import time

import numpy as np

from sebench.errors import SebenchError

ESPEAK_RATE = 22050            # libespeak-ng's native output rate
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 3, 4
_ESPEAK_CHARS_UTF8 = 1

#: English voices (language variants) shipped in espeak-ng-data/lang/gmw
ENGLISH_VOICES = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
#: voice variants (espeak-ng-data/voices/!v) that sound like distinct talkers
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")


def _paths():
    try:
        import espeakng_loader
    except ImportError as e:
        raise SebenchError("speech synthesis needs the espeakng-loader wheel "
                           "(pip install espeakng-loader)") from e
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


def _synth_in_this_process(text, voice, rate_wpm, pitch, pitch_range, seed=1):
    lib_path, data_path = _paths()
    lib = ctypes.CDLL(lib_path)
    # espeak_Initialize wants the folder that *contains* espeak-ng-data
    parent = data_path.rsplit("/", 1)[0].encode()
    lib.espeak_Initialize.restype = ctypes.c_int
    fs = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, ctypes.c_char_p(parent), 0)
    if fs <= 0:
        raise SebenchError(f"libespeak-ng failed to initialise (data at {data_path})")
    # espeak-ng seeds its own noise generator (frication, aspiration) from the clock at
    # initialisation; a fixed seed makes the waveform a function of the inputs alone.
    if hasattr(lib, "espeak_ng_SetRandSeed"):
        lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
    chunks = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                     ctypes.c_void_p)

    def on_audio(wav, num_samples, events):
        if num_samples > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0

    callback = callback_type(on_audio)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(ctypes.c_char_p(voice.encode())) != 0:
        raise SebenchError(f"espeak-ng has no voice {voice!r}")
    lib.espeak_SetParameter(_ESPEAK_RATE, int(rate_wpm), 0)
    lib.espeak_SetParameter(_ESPEAK_PITCH, int(pitch), 0)
    lib.espeak_SetParameter(_ESPEAK_RANGE, int(pitch_range), 0)
    data = text.encode("utf-8") + b"\0"
    err = lib.espeak_Synth(ctypes.c_char_p(data), ctypes.c_size_t(len(data)), 0, 0, 0,
                           _ESPEAK_CHARS_UTF8, None, None)
    lib.espeak_Synchronize()
    if err != 0:
        raise SebenchError(f"espeak-ng failed on {text[:40]!r} (error {err})")
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return audio.astype(np.float32) / 32768.0, fs


def synthesize(text, voice="en-us", rate_wpm=160, pitch=50, pitch_range=50, seed=1, timeout=60):
    """Synthesise ``text``; returns (float32 waveform, sample rate 22050), reproducibly.

    A bare ``os.fork`` (not multiprocessing) keeps the per-utterance cost near 10 ms.
    """
    args = (text, voice, rate_wpm, pitch, pitch_range, seed)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: synthesise, send the pickled result, exit without cleanup
        os.close(read_fd)
        try:
            payload = pickle.dumps(("ok",) + _synth_in_this_process(*args))
        except BaseException as e:  # noqa: BLE001 - reported by the parent
            payload = pickle.dumps(("error", f"{type(e).__name__}: {e}"))
        with os.fdopen(write_fd, "wb") as f:
            f.write(payload)
        os._exit(0)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + timeout
    with os.fdopen(read_fd, "rb", buffering=0) as f:
        while True:
            ready, _, _ = select.select([f], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise SebenchError(f"espeak-ng timed out after {timeout} s on {text[:40]!r}")
            block = f.read(1 << 20)
            if not block:
                break
            chunks.append(block)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        raise SebenchError(f"espeak-ng worker died (status {status}) on {text[:40]!r}")
    result = pickle.loads(b"".join(chunks))
    if result[0] != "ok":
        raise SebenchError(f"speech synthesis failed for voice {voice!r}: {result[1]}")
    return result[1], result[2]
