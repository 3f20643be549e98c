"""sebench plot-spectrogram: log-mel panels per system and a dprnn's encoder feature maps."""
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from sebench.cli.main import main
from sebench.models.store import build_from_config, export_model
from sebench.results.spectrogram import find_audio, log_mel

FS = 16000
# librosa's first mel spectrogram (import and JIT) takes seconds on a busy 2-core machine
pytestmark = pytest.mark.slow


def _tone(seconds, freq, seed):
    t = np.arange(int(seconds * FS)) / FS
    rng = np.random.default_rng(seed)
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)).astype("float32")


@pytest.fixture
def sources(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    clean, noisy = _tone(1.0, 440, 0), _tone(1.0, 440, 1) + 0.2 * np.random.default_rng(2).standard_normal(FS).astype("float32")
    sf.write(data / "u1_clean.wav", clean, FS)
    sf.write(data / "u1.wav", noisy, FS)
    (data / "wav.scp").write_text(f"u1 {data / 'u1.wav'}\n")
    (data / "clean.scp").write_text(f"u1 {data / 'u1_clean.wav'}\n")
    enhanced = tmp_path / "enhanced"
    enhanced.mkdir()
    sf.write(enhanced / "u1.wav", clean * 0.9, FS)
    return data, enhanced


def test_log_mel_puts_a_tone_in_its_band():
    image, hop = log_mel(_tone(0.5, 3000, 0), FS)
    assert hop == 160 and image.shape[0] == 80
    low = image[:10].mean()
    band = int(np.argmax(image.mean(axis=1)))
    assert image[band].mean() > low + 30          # the tone's band, far above the low bands
    assert 40 < band < 70                          # 3 kHz sits in the upper-middle mel bands


def test_find_audio_names_the_missing_key(sources):
    data, enhanced = sources
    assert find_audio(str(enhanced), "u1").endswith("u1.wav")
    assert find_audio(str(data / "clean.scp"), "u1").endswith("u1_clean.wav")
    with pytest.raises(Exception, match="no utterance 'u9'"):
        find_audio(str(data), "u9")


def test_plot_spectrogram_draws_audio_and_encoder_panels(sources, tmp_path, capsys):
    data, enhanced = sources
    cfg = {"name": "dprnn", "filters": 8, "kernel": 16, "stride": 8, "hidden": 8,
           "chunk_size": 20}
    torch.manual_seed(0)
    model = build_from_config(cfg)
    export_model(str(tmp_path / "m"), cfg, model.state_dict())
    out = tmp_path / "fig" / "spec.png"
    rc = main(["plot-spectrogram", "--key", "u1", "--panels",
               f"clean={data / 'clean.scp'},noisy={data},enh={enhanced},gone={tmp_path / 'nope'}",
               "--encoders", f"E(Y)={tmp_path / 'm'}", "--encoder-input", str(data),
               "--skip-missing", "--out", str(out)])
    assert rc == 0 and out.is_file() and os.path.getsize(out) > 10000
    printed = capsys.readouterr().out
    assert "clean:" in printed and "E(Y):" in printed and "gone" not in printed
    # without --skip-missing a missing source is an error naming it
    rc = main(["plot-spectrogram", "--key", "u1", "--panels", f"gone={tmp_path / 'nope'}",
               "--out", str(tmp_path / "x.png")])
    assert rc == 1 and not (tmp_path / "x.png").exists()


def test_encoder_panels_refuse_a_model_without_an_encoder(sources, tmp_path):
    data, _ = sources
    export_model(str(tmp_path / "s"), {"kind": "classical", "name": "specsub"}, None)
    rc = main(["plot-spectrogram", "--key", "u1", "--encoders", f"x={tmp_path / 's'}",
               "--encoder-input", str(data), "--out", str(tmp_path / "y.png")])
    assert rc == 1 and not (tmp_path / "y.png").exists()
