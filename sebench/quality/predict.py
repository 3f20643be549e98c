"""Scores of a trained predictor for every utterance of a data dir (label scale)."""
import torch

from sebench.audio.io import read
from sebench.audio.resample import resample
from sebench.data.sources import audio_map
from sebench.quality.windows import DEFAULT_WINDOW_SECONDS, score_in_windows, window_samples
from sebench.utils.log import progress


@torch.no_grad()
def predict(q, source, device="cpu", window_seconds=DEFAULT_WINDOW_SECONDS):
    """Scores; recordings longer than ``window_seconds`` are averaged over windows."""
    scale = q.scale
    window = window_samples(window_seconds, q.fs)
    out = {}
    for key, path in progress(sorted(audio_map(source, "wav").items()), desc="predict"):
        audio, rate = read(path, channel="mean")
        if rate != q.fs:
            audio = resample(audio, rate, q.fs)
        score = score_in_windows(q, torch.from_numpy(audio).unsqueeze(0).to(device), None, window)
        out[key] = float(scale.denormalize(score)[0])
    return out
