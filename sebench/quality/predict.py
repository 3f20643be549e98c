"""Scores of a trained predictor for every utterance of a data dir (label scale)."""
import torch

from sebench.audio.io import read
from sebench.audio.resample import resample
from sebench.data.sources import audio_map
from sebench.quality.windows import DEFAULT_WINDOW_SECONDS, score_in_windows, window_samples
from sebench.utils.log import progress


@torch.no_grad()
def predict_wave(q, audio, rate, device="cpu", window_seconds=DEFAULT_WINDOW_SECONDS):
    """One mono recording's score on the label's scale (resampled to the predictor's rate;
    longer than ``window_seconds``: the mean over windows)."""
    if rate != q.fs:
        audio = resample(audio, rate, q.fs)
    wave = torch.from_numpy(audio).float().unsqueeze(0).to(device)
    score = score_in_windows(q, wave, None, window_samples(window_seconds, q.fs))
    return float(q.scale.denormalize(score)[0])


def predict(q, source, device="cpu", window_seconds=DEFAULT_WINDOW_SECONDS):
    """Scores; recordings longer than ``window_seconds`` are averaged over windows."""
    out = {}
    for key, path in progress(sorted(audio_map(source, "wav").items()), desc="predict"):
        audio, rate = read(path, channel="mean")
        out[key] = predict_wave(q, audio, rate, device, window_seconds)
    return out
