"""Scores of a trained predictor for every utterance of a data dir (label scale)."""
import torch

from sebench.audio.io import read
from sebench.audio.resample import resample
from sebench.data.sources import audio_map
from sebench.utils.log import progress


@torch.no_grad()
def predict(q, source, device="cpu"):
    scale = q.scale
    out = {}
    for key, path in progress(sorted(audio_map(source, "wav").items()), desc="predict"):
        audio, rate = read(path, channel="mean")
        if rate != q.fs:
            audio = resample(audio, rate, q.fs)
        score = q(torch.from_numpy(audio).unsqueeze(0).to(device))
        out[key] = float(scale.denormalize(score)[0])
    return out
