"""`sebench data glimpses`: noise-only stretches of recordings by an energy threshold (paper
003's noise examples for the MAE trained on real device recordings)."""
import numpy as np
import pytest
import soundfile as sf

from conftest import run_cli, write_wav
from sebench.data import DataDir
from sebench.data.glimpses import find_glimpses

FS = 16000


def speech_pause_speech(pause=1.0, noise=0.001, seed=0):
    rng = np.random.default_rng(seed)
    loud = 0.3 * np.sin(2 * np.pi * 200 * np.arange(FS) / FS)
    x = np.concatenate([loud, np.zeros(int(pause * FS)), loud, np.zeros(int(0.2 * FS))])
    return (x + noise * rng.standard_normal(x.size)).astype(np.float32)


@pytest.mark.timeout(30)
def test_find_glimpses_returns_the_pause_and_drops_short_ones():
    runs = find_glimpses(speech_pause_speech(), FS, window=0.1, below_db=30, min_seconds=0.5)
    assert runs == [(FS, 2 * FS)]                 # the 1 s pause; the 0.2 s tail is too short
    assert find_glimpses(speech_pause_speech(), FS, below_db=30, min_seconds=0.1) == \
        [(FS, 2 * FS), (3 * FS, int(3.2 * FS))]
    # a noise floor less than below_db under the speech is not background
    assert find_glimpses(speech_pause_speech(noise=0.1), FS, below_db=30) == []
    assert find_glimpses(np.zeros(10, np.float32), FS) == []


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_glimpses_cli_writes_a_data_dir_of_the_pauses(tmp_path):
    src = tmp_path / "rec"
    scp = {}
    for i in range(2):
        scp[f"r{i}"] = str(write_wav(src / f"r{i}.wav", speech_pause_speech(seed=i)))
    DataDir(src).write("wav.scp", scp)
    DataDir(src).write_utt2spk({"r0": "f1", "r1": "m2"})
    proc = run_cli("data", "glimpses", src, tmp_path / "g", "--below-db", 30)
    assert "2 noise-only glimpses, 2.0 s" in proc.stdout
    out = DataDir(tmp_path / "g")
    assert out.read("utt2spk") == {"r0-glimpse000": "f1", "r1-glimpse000": "m2"}
    audio, fs = sf.read(out.read("wav.scp")["r0-glimpse000"])
    assert fs == FS and audio.size == FS and np.abs(audio).max() < 0.01
    assert np.allclose(audio, sf.read(scp["r0"])[0][FS:2 * FS], atol=1e-6)   # a verbatim cut
    # nothing quiet enough: a one-line error naming the data dir
    proc = run_cli("data", "glimpses", src, tmp_path / "g2", "--below-db", 120, check=False)
    assert proc.returncode != 0 and "rec" in proc.stderr and "below-db" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "g2" / "wav.scp").exists()
