"""DNSMOS P.808 and P.835 (SIG/BAK/OVRL) from the official ONNX models in the speechmos wheel.

Scores are the mean over 9.01 s windows; clips shorter than 9.01 s are doubled until long
enough, as DNSMOS defines. Which windows (``windows``):

- ``official`` (default): exactly those of microsoft/DNS-Challenge ``dnsmos_local.py`` and
  the ``speechmos`` package, so scores sit beside published ones. Hops are 1 s, counted from
  the clip's whole seconds (``int(floor(seconds) - 9.01) + 1``), which can leave up to ~2 s
  at the end unscored; and each window ends at ``int((i + 9.01) * 16000)``, which rounds one
  sample short for i = 7..23, so the official loop drops those windows: a clip of 17 s or
  longer is scored without its windows starting at 7-23 s.
- ``full``: every 9.01 s window a 1 s hop apart that fits, so less than one hop is left
  unscored and nothing is dropped (differs from published numbers on most clips).

Input is an array at 16 kHz (other rates are resampled). P.835 is reported raw and with
DNSMOS's polynomial calibration; P.808 has no calibration. Model files are loaded from the
installed wheel only (never a web API) and their sha256 is checked against pinned values.
Our own loop rather than ``speechmos.dnsmos.run``: that one imports librosa and requests
(seconds per scoring job) and cannot score only some windows (the training labeller).
"""
import hashlib
import importlib.util
import os
import threading

import numpy as np

from sebench.audio.resample import resample
from sebench.errors import SebenchError

FS = 16000
WINDOW_S = 9.01
HOP_S = 1.0
#: values of the ``dnsmos_windows`` option (see the module doc)
WINDOW_MODES = ("official", "full")
MODEL_SHA256 = {  # microsoft/DNS-Challenge DNSMOS/DNSMOS, as shipped by speechmos
    "sig_bak_ovr.onnx": "269fbebdb513aa23cddfbb593542ecc540284a91849ac50516870e1ac78f6edd",
    "model_v8.onnx": "9246480c58567bc6affd4200938e77eef49468c8bc7ed3776d109c07456f6e91",
}
# P.835 calibration polynomials (non-personalised model), highest power first.
_POLY = {"sig": [-0.08397278, 1.22083953, 0.0052439],
         "bak": [-0.13166888, 1.60915514, -0.39604546],
         "ovrl": [-0.06766283, 1.11546468, 0.04602535]}

_lock = threading.Lock()
_instance = None


def model_dir():
    spec = importlib.util.find_spec("speechmos")  # locate without importing (it pulls requests)
    if spec is None or not spec.submodule_search_locations:
        raise SebenchError("DNSMOS needs the 'speechmos' package (pip install speechmos)")
    return os.path.join(list(spec.submodule_search_locations)[0], "dnsmos_models")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class DNSMOS:
    """``DNSMOS()(audio, fs)`` -> dict with p808, sig, bak, ovrl, sig_raw, bak_raw, ovrl_raw;
    ``score_batch([audio, ...], fs)`` -> one dict per clip.

    Both ONNX models take a batch dimension (inputs ``(N, 144160)`` and ``(N, 900, 120)``), so
    the windows of a clip (and of several clips) can go through each session together,
    ``max_batch`` at a time. The default is 1 (one run per window, as dnsmos_local.py does):
    on the 2-core CPU measured (bench/dnsmos_batch_bench.py) batching saved nothing, since
    P.835's convolutions (97 % of its time) cost the same per window at any batch size, and
    batches of 8+ were slower (cache); scores are identical either way.
    """

    def __init__(self, threads=1, max_batch=1):
        if int(max_batch) < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch!r}")
        self.max_batch = int(max_batch)
        import onnxruntime as ort

        folder = model_dir()
        self.models = {}
        for name, expected in MODEL_SHA256.items():
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                raise SebenchError(f"{path}: DNSMOS model missing from the speechmos wheel")
            digest = sha256(path)
            if digest != expected:
                raise SebenchError(f"{path}: sha256 {digest} does not match the pinned DNSMOS "
                                   f"model {expected}; refusing to report incomparable scores")
            self.models[name] = digest
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self.p835 = ort.InferenceSession(os.path.join(folder, "sig_bak_ovr.onnx"), opts,
                                         providers=providers)
        self.p808 = ort.InferenceSession(os.path.join(folder, "model_v8.onnx"), opts,
                                         providers=providers)
        from sebench.metrics.dnsmos_features import LogMel
        self._log_mel = LogMel(FS)

    @staticmethod
    def windows(num_samples, mode="official"):
        """Start samples of the 9.01 s windows scored on a clip of ``num_samples`` (>= 9.01 s)."""
        length, hop = int(WINDOW_S * FS), int(HOP_S * FS)
        if mode == "full":
            return list(range(0, num_samples - length + 1, hop))
        if mode != "official":
            raise ValueError(f"DNSMOS windows must be one of {WINDOW_MODES}, got {mode!r}")
        # dnsmos_local.py's loop, float arithmetic included (its window ends round down for
        # some hops, and it skips those windows as too short)
        num_hops = int(np.floor(num_samples / FS) - WINDOW_S) + 1
        starts = []
        for idx in range(num_hops):
            start, end = int(idx * hop), min(int((idx + WINDOW_S) * hop), num_samples)
            if end - start >= length:
                starts.append(start)
        return starts

    @staticmethod
    def tiled_length(num_samples):
        """Length of a clip after DNSMOS's doubling of clips shorter than one window."""
        length = int(WINDOW_S * FS)
        while 0 < num_samples < length:
            num_samples *= 2
        return num_samples

    @classmethod
    def num_windows(cls, num_samples, short_clips="reference", windows="official"):
        """How many windows a clip of ``num_samples`` at 16 kHz is scored on (its cost)."""
        if num_samples <= 0:
            return 1
        if num_samples < int(WINDOW_S * FS) and short_clips == "first_window":
            return 1
        return max(1, len(cls.windows(cls.tiled_length(num_samples), windows)))

    def __call__(self, audio, fs=FS, models=("p835", "p808"), short_clips="reference",
                 windows="official"):
        """``windows``: official or full (see the module doc). ``short_clips``: clips under
        9.01 s are tiled by doubling, as DNSMOS defines; with "reference" every window of the
        tiled signal is scored (a 2 s clip -> 16 s -> 7 windows, like dnsmos_local.py), with
        "first_window" only the first (7x cheaper; the training-time labeller's choice)."""
        return self.score_batch([audio], fs, models, short_clips, windows)[0]

    def _segments(self, audio, fs, short_clips, windows):
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError("DNSMOS takes mono audio")
        if fs != FS:
            audio = resample(audio, fs, FS)
        if not np.any(audio):
            raise ValueError("digital silence")
        length = int(WINDOW_S * FS)
        short = audio.size < length
        while audio.size < length:  # DNSMOS's definition for short clips: repeat them
            audio = np.concatenate([audio, audio])
        starts = self.windows(audio.size, windows)
        if short and short_clips == "first_window":
            starts = starts[:1]
        return [audio[start:start + length] for start in starts]

    def _run(self, session, inputs):
        """One session over a list of same-shaped inputs, ``max_batch`` at a time."""
        out = []
        for lo in range(0, len(inputs), self.max_batch):
            out.append(session.run(None, {"input_1": np.stack(inputs[lo:lo + self.max_batch])})[0])
        return np.concatenate(out) if out else np.zeros((0, 3), np.float32)

    def score_batch(self, audios, fs=FS, models=("p835", "p808"), short_clips="reference",
                    windows="official"):
        """Scores of several clips; their windows share the ONNX runs (same scores as one
        clip at a time: every window is computed independently)."""
        segments = [self._segments(a, fs, short_clips, windows) for a in audios]
        flat = [seg for segs in segments for seg in segs]
        bounds = np.cumsum([0] + [len(segs) for segs in segments])
        p835 = self._run(self.p835, flat) if "p835" in models else None
        p808 = self._run(self.p808, [self._log_mel(seg[:-160]) for seg in flat])[:, 0] \
            if "p808" in models else None
        results = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            out = {"p808": float(np.mean(p808[lo:hi].astype(np.float64)))} \
                if p808 is not None else {}
            if p835 is not None:
                for col, key in enumerate(("sig", "bak", "ovrl")):
                    values = p835[lo:hi, col].astype(np.float64)
                    out[f"{key}_raw"] = float(np.mean(values))
                    out[key] = float(np.mean(np.polyval(_POLY[key], values)))
            results.append(out)
        return results


def get_dnsmos():
    """A process-wide instance (the ONNX sessions take ~0.5 s to load)."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = DNSMOS()
    return _instance
