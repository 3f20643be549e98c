"""Spectrogram figures: log-mel spectrograms of one utterance as several systems hear it
(paper 004's Fig. 3, paper 000's Figs. 2-3) and a masking network's encoder feature map
log|E(A(y))| (paper 004's Fig. 4), one panel each, sharing one colour scale per kind."""
import os

import numpy as np

from sebench.audio.io import read
from sebench.data.sources import audio_map
from sebench.errors import SebenchError
from sebench.results.figure import save_figure

# 25 ms / 10 ms at 16 kHz, 80 mel bands: the usual log-mel front end of SE papers' figures.
N_FFT, HOP, N_MELS = 400, 160, 80
FLOOR_DB = 80.0     # dynamic range shown below the figure's loudest bin


def find_audio(source, key):
    """The audio path of ``key`` in SOURCE: an audio file itself, or a data dir (wav.scp),
    an scp file or a folder of audio named by key."""
    if os.path.isfile(source) and not source.endswith(".scp"):
        return source
    paths = audio_map(source, "panel")
    if key not in paths:
        near = ", ".join(sorted(paths)[:3])
        raise SebenchError(f"{source}: no utterance {key!r} (it has {len(paths)}; e.g. {near})")
    return paths[key]


def log_mel(audio, fs, n_mels=N_MELS):
    """(n_mels, frames) log-mel power in dB (not normalised: panels share one scale)."""
    import librosa
    n_fft, hop = round(N_FFT * fs / 16000), round(HOP * fs / 16000)
    mel = librosa.feature.melspectrogram(y=audio, sr=fs, n_fft=n_fft, hop_length=hop,
                                         n_mels=n_mels, power=2.0)
    return 10.0 * np.log10(np.maximum(mel, 1e-10)), hop


def encoder_map(model_path, audio, fs):
    """(channels, frames) log|E(A(y))| of a masking model's encoder for the input ``audio``."""
    import torch

    from sebench.models.store import load_model
    model, cfg = load_model(model_path)
    if not hasattr(model, "encode"):
        raise SebenchError(f"{model_path}: a {type(model).__name__} has no encoder to draw "
                           "(a masking model such as dprnn)")
    want = int(cfg.get("fs", fs)) if isinstance(cfg, dict) else fs
    if want != fs:
        raise SebenchError(f"{model_path}: the model runs at {want} Hz, the audio is {fs} Hz")
    with torch.no_grad():
        _, encoded = model.encode(torch.from_numpy(audio)[None])
    feature = encoded[0].abs().numpy()
    stride = getattr(model, "stride", None) or max(1, len(audio) // max(1, feature.shape[1]))
    return 20.0 * np.log10(np.maximum(feature, 1e-6)), stride


def draw(panels, out, title=None):
    """panels: [(label, image (rows, frames), seconds per frame, kind)]; one row per panel;
    the panels of one kind share one colour scale (the loudest bin minus FLOOR_DB)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not panels:
        raise SebenchError("nothing to draw: give at least one panel")
    top = {}
    for _, image, _, kind in panels:
        top[kind] = max(top.get(kind, -np.inf), float(np.max(image)))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.1 * len(panels)), squeeze=False)
    for ax, (label, image, step, kind) in zip(axes[:, 0], panels):
        extent = (0.0, image.shape[1] * step, 0, image.shape[0])
        shown = ax.imshow(image, origin="lower", aspect="auto", extent=extent, cmap="magma",
                          vmin=top[kind] - FLOOR_DB, vmax=top[kind])
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("mel band" if kind == "mel" else "channel", fontsize=8)
        fig.colorbar(shown, ax=ax, pad=0.01).set_label("dB", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, out)


def spectrogram_figure(key, audio_panels, encoder_panels, encoder_input, out, title=None,
                       n_mels=N_MELS, skip_missing=False):
    """Draw the figure; returns [(label, source path or model)] of the panels drawn.

    audio_panels: [(label, source)]: a log-mel panel of ``key`` from each source.
    encoder_panels: [(label, model)]: log|E(A(y))| of each model for ``encoder_input``'s
    ``key`` (the noisy input). skip_missing: leave out sources without ``key`` (a run of
    some systems) instead of failing."""
    panels, drawn, rate = [], [], None
    for label, source in audio_panels:
        try:
            path = find_audio(source, key)
        except SebenchError:
            if skip_missing and not os.path.exists(source):
                continue
            raise
        audio, fs = read(path, channel="mean")
        if rate is not None and fs != rate:
            raise SebenchError(f"{path}: {fs} Hz, but the first panel is at {rate} Hz")
        rate = fs
        image, hop = log_mel(audio, fs, n_mels)
        panels.append((label, image, hop / fs, "mel"))
        drawn.append((label, path))
    if encoder_panels:
        if encoder_input is None:
            raise SebenchError("encoder panels need --encoder-input (the noisy source)")
        path = find_audio(encoder_input, key)
        audio, fs = read(path, channel="mean")
        for label, model in encoder_panels:
            if skip_missing and not os.path.exists(model):
                continue
            image, stride = encoder_map(model, audio, fs)
            panels.append((label, image, stride / fs, "encoder"))
            drawn.append((label, model))
    draw(panels, out, title)
    return drawn
