"""The self-contained corpus: espeak-ng speech, generated noise, `sebench synth-corpus`."""
import json
import subprocess
import sys

import librosa
import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, run_cli
from sebench.data import DataDir
from sebench.synth import noise as noisegen
from sebench.synth.espeak import synthesize
from sebench.synth.text import sentence


@pytest.mark.slow
def test_espeak_speech_is_reproducible_with_plausible_f0(tmp_path):
    text = "The quiet student polished the shiny brass kettle before sunrise."
    a, fs = synthesize(text, "en-us+m3", 160, 40, 50)
    b, _ = synthesize(text, "en-us+m3", 160, 40, 50)
    assert fs == 22050 and np.array_equal(a, b)
    # and across processes (espeak-ng would otherwise seed its noise from the clock)
    code = ("import sys, numpy as np; from sebench.synth.espeak import synthesize; "
            f"np.save(sys.argv[1], synthesize({text!r}, 'en-us+m3', 160, 40, 50)[0])")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.npy")], check=True)
    assert np.array_equal(a, np.load(tmp_path / "c.npy"))
    assert len(a) / fs > 2.0 and np.sqrt(np.mean(a ** 2)) > 0.01
    f0, voiced, _ = librosa.pyin(a.astype(float), fmin=50, fmax=500, sr=fs)
    assert np.mean(voiced) > 0.2
    assert 70 <= np.nanmedian(f0[voiced]) <= 300
    hi, _ = synthesize(text, "en-us+f2", 160, 80, 50)
    f0_hi, v_hi, _ = librosa.pyin(hi.astype(float), fmin=50, fmax=500, sr=fs)
    assert np.nanmedian(f0_hi[v_hi]) > np.nanmedian(f0[voiced])


def test_sentences_vary_and_are_seeded():
    rng1, rng2 = np.random.default_rng(1), np.random.default_rng(1)
    s1 = [sentence(rng1) for _ in range(20)]
    assert s1 == [sentence(rng2) for _ in range(20)] and len(set(s1)) > 15


@pytest.mark.parametrize("kind", noisegen.TYPES)
def test_noise_generators(kind):
    def speech(rng):
        return np.sin(2 * np.pi * 150 * np.arange(8000) / 16000) * rng.uniform(0.5, 1)
    x = noisegen.generate(kind, np.random.default_rng(3), 16000, 16000, speech_fn=speech)
    y = noisegen.generate(kind, np.random.default_rng(3), 16000, 16000, speech_fn=speech)
    assert x.shape == (16000,) and np.all(np.isfinite(x)) and np.array_equal(x, y)
    assert abs(20 * np.log10(np.sqrt(np.mean(x ** 2))) + 25) < 0.5


def test_noise_colours_have_their_slopes():
    rng = np.random.default_rng(0)
    for kind, lo_minus_hi in (("white", 0), ("pink", 10), ("brown", 20)):
        x = noisegen.generate(kind, rng, 64000, 16000)
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(x.size, 1 / 16000)
        ratio = 10 * np.log10(spec[(f > 200) & (f < 400)].mean() / spec[(f > 2000) & (f < 4000)].mean())
        assert abs(ratio - lo_minus_hi) < 3.5, (kind, ratio)


@pytest.mark.slow
def test_synth_corpus_cli(tmp_path):
    out = tmp_path / "corpus"
    run_cli("synth-corpus", "--out", out, "--config", REPO / "conf/synth/tiny.yaml",
            "--utts_per_speaker.train", 2, "--noise_types", "[white,babble,hum]")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clean_train"]["speakers"] == 4 and summary["clean_train"]["files"] == 8
    spk = {s: set(DataDir(out / "data" / f"clean_{s}").utt2spk().values())
           for s in ("train", "valid", "test")}
    assert not (spk["train"] & spk["valid"]) and not (spk["train"] & spk["test"])
    assert not (spk["valid"] & spk["test"])
    noise = DataDir(out / "data" / "noise_train")
    assert set(noise.read("utt2category").values()) == {"white", "babble", "hum"}
    for path in DataDir(out / "data" / "clean_test").read("wav.scp").values():
        x, fs = sf.read(path)
        assert fs == 16000 and np.max(np.abs(x)) > 0.05
    assert run_cli("data", "validate", out / "data" / "clean_train").returncode == 0
    # deterministic and shardable: a 2-job build gives the same bytes
    run_cli("synth-corpus", "--out", tmp_path / "c2", "--config", REPO / "conf/synth/tiny.yaml",
            "--utts_per_speaker.train", 2, "--noise_types", "[white,babble,hum]", "--nj", 2)
    for sub in ("clean_train", "noise_test"):
        a = DataDir(out / "data" / sub).read("wav.scp")
        b = DataDir(tmp_path / "c2" / "data" / sub).read("wav.scp")
        assert a.keys() == b.keys()
        assert all(open(a[k], "rb").read() == open(b[k], "rb").read() for k in a)
