import numpy as np
import pytest
import torch

from conftest import tone, write_wav
from sebench import audio
from sebench.audio.stft import STFTConfig, istft, stft
from sebench.errors import AudioError


def test_write_read_roundtrip_atomic(tmp_path):
    x = tone(0.5)
    path = tmp_path / "sub" / "a.wav"
    audio.write(path, x, 16000)
    y, fs = audio.read(path)
    assert fs == 16000 and y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y - x)) < 1e-4
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.wav"]  # no temp left behind
    audio.write(tmp_path / "f.flac", x, 16000)
    assert audio.read(tmp_path / "f.flac")[0].shape == x.shape


def test_write_refuses_clipping_and_nan(tmp_path):
    with pytest.raises(AudioError, match="exceeds full scale"):
        audio.write(tmp_path / "c.wav", np.array([0.5, 1.5]), 16000)
    audio.write(tmp_path / "f.wav", np.array([0.5, 1.5], dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="non-finite"):
        audio.write(tmp_path / "n.wav", np.array([0.1, np.nan]), 16000, subtype="FLOAT")
    assert not (tmp_path / "c.wav").exists()


def test_read_errors_name_file_and_problem(tmp_path):
    with pytest.raises(AudioError, match="missing.wav: file not found"):
        audio.read(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="bad.wav: unreadable audio"):
        audio.read(bad)
    write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32))
    with pytest.raises(AudioError, match="empty audio"):
        audio.read(tmp_path / "empty.wav")
    x = tone(0.1)
    x[5] = np.nan
    write_wav(tmp_path / "nan.wav", x, subtype="FLOAT")
    with pytest.raises(AudioError, match="1 non-finite"):
        audio.read(tmp_path / "nan.wav")
    with pytest.raises(AudioError, match="expected 8000 Hz"):
        audio.read(write_wav(tmp_path / "r.wav", tone(0.1)), fs=8000)


def test_channel_selection(tmp_path):
    st = np.stack([tone(0.2, amp=0.1), tone(0.2, amp=0.4)], axis=1)
    path = write_wav(tmp_path / "st.wav", st)
    with pytest.raises(AudioError, match="has 2 channels"):
        audio.read(path)
    assert np.max(audio.read(path, channel=1)[0]) > 0.35
    assert audio.read(path, channel="mean")[0].ndim == 1
    assert audio.read(path, channel="all")[0].shape == (3200, 2)
    with pytest.raises(AudioError, match="channel 2 requested"):
        audio.read(path, channel=2)


def test_pipe_entry(tmp_path):
    path = write_wav(tmp_path / "p.wav", tone(0.1))
    y, fs = audio.read(f"cat {path} |")
    assert y.size == 1600 and fs == 16000
    with pytest.raises(AudioError, match="pipe command failed"):
        audio.read("false |")


def test_resample_keeps_tone():
    x = tone(1.0, fs=48000, freq=1000.0)
    y = audio.resample(x, 48000, 16000)
    assert y.shape == (16000,)
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spec) - 1000) <= 1
    assert audio.resample(x, 16000, 16000) is x


def test_p56_active_level_of_known_signal():
    fs = 16000
    rng = np.random.default_rng(0)
    # 2 s bursts of noise at -20 dB RMS separated by 2 s of silence: the global RMS is
    # 3 dB lower, the active level is the burst level (hangover adds a little silence).
    burst = rng.standard_normal(2 * fs)
    burst *= 10 ** (-20 / 20) / np.sqrt(np.mean(burst ** 2))
    x = np.concatenate([burst, np.zeros(2 * fs), burst, np.zeros(2 * fs)])
    assert audio.rms_db(x) == pytest.approx(-23.0, abs=0.05)
    level, activity = audio.levels.active_level_db(x, fs, return_activity=True)
    # each burst is followed by the 200 ms hangover and ~50 ms of envelope decay
    assert level == pytest.approx(-20.0 - 10 * np.log10(2.25 / 2.0), abs=0.15)
    assert 0.5 < activity < 0.6
    continuous = np.concatenate([burst, burst])
    assert audio.active_level_db(continuous, fs) == pytest.approx(-20.0, abs=0.1)
    # scaling by 6 dB moves the level by 6 dB
    assert audio.active_level_db(x * 2, fs) == pytest.approx(level + 6.02, abs=0.05)
    assert audio.active_level_db(np.zeros(1000), fs) == -np.inf


def test_stft_istft_roundtrip():
    cfg = STFTConfig(n_fft=512, hop_length=128, win_length=512)
    x = torch.randn(2, 16000)
    spec = stft(x, cfg)
    assert spec.shape == (2, 257, 16000 // 128 + 1) and spec.is_complex()
    y = istft(spec, cfg, length=16000)
    assert torch.allclose(x, y, atol=1e-5)
