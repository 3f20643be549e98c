"""Oracle STFT masks (paper 004's references): the masks, and `sebench enhance --ref`."""
import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import write_wav
from sebench.cli.main import main
from sebench.data import DataDir
from sebench.models.oracle import OracleMask, oracle_mask

pytestmark = pytest.mark.timeout(120)


def test_masks_on_known_magnitudes():
    clean = torch.tensor([3.0, 1.0, 2.0, 0.0]) * torch.exp(1j * torch.tensor([0.3, 1.0, -2.0, 0.0]))
    noise = torch.tensor([1.0, 3.0, 2.0, 1.0]) * torch.exp(1j * torch.tensor([2.0, -1.0, 0.5, 1.0]))
    assert torch.allclose(oracle_mask(clean, noise, "irm"), torch.tensor([0.75, 0.25, 0.5, 0.0]))
    assert oracle_mask(clean, noise, "ibm").tolist() == [1.0, 0.0, 0.0, 0.0]   # ties are noise


def sisdr(est, ref):
    ref, est = ref - ref.mean(), est - est.mean()
    target = (est @ ref) / (ref @ ref) * ref
    return 10 * np.log10((target @ target) / ((est - target) @ (est - target)))


@pytest.fixture()
def noisy_set(tmp_path):
    """Three 1 s pairs: a modulated tone at 0 dB in white noise; one key lacks its clean file."""
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    wav, clean = {}, {}
    for i in range(3):
        x = 0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t) * (t * 4 % 1 < 0.6)
        y = x + 0.1 * rng.standard_normal(len(t))
        wav[f"u{i}"] = str(write_wav(tmp_path / "noisy" / f"u{i}.wav", y.astype(np.float32)))
        clean[f"u{i}"] = str(write_wav(tmp_path / "clean" / f"u{i}.wav", x.astype(np.float32)))
    data = DataDir(tmp_path / "data")
    data.write("wav.scp", wav)
    data.write("clean.scp", clean)
    return tmp_path


@pytest.mark.parametrize("mask, gain_db", [("irm", 8.0), ("ibm", 8.0)])
def test_oracle_enhance_through_the_cli(noisy_set, mask, gain_db):
    data, out = noisy_set / "data", noisy_set / f"enh_{mask}"
    assert main(["enhance", f"classical:oracle_mask,mask={mask}", str(data), "--ref", str(data),
                 "-o", str(out)]) == 0
    for key in ("u0", "u1", "u2"):
        x = sf.read(noisy_set / "clean" / f"{key}.wav")[0]
        y = sf.read(noisy_set / "noisy" / f"{key}.wav")[0]
        e = sf.read(out / f"{key}.wav")[0]
        assert len(e) == len(y)
        assert sisdr(e, x) > sisdr(y, x) + gain_db


def test_oracle_needs_the_reference_and_others_refuse_it(noisy_set, capsys, caplog):
    data = noisy_set / "data"
    assert main(["enhance", "classical:oracle_mask", str(data), "-o", str(noisy_set / "e1")]) == 1
    assert "needs the clean references: --ref" in capsys.readouterr().err
    assert main(["enhance", "classical:specsub", str(data), "--ref", str(data),
                 "-o", str(noisy_set / "e2")]) == 1
    assert "takes no clean reference" in capsys.readouterr().err
    # one key without a clean file: that input fails, the others are written
    scp = DataDir(data).read("clean.scp")
    del scp["u1"]
    DataDir(data).write("clean.scp", scp)
    out = noisy_set / "e3"
    assert main(["enhance", "classical:oracle_mask", str(data), "--ref", str(data),
                 "-o", str(out)]) == 1
    assert "1 of 3 input(s) failed" in capsys.readouterr().err
    assert "u1.wav: no clean reference for 'u1' in --ref" in caplog.text
    assert sorted(p.name for p in out.glob("*.wav")) == ["u0.wav", "u2.wav"]


def test_oracle_rejects_a_missing_reference_tensor():
    with pytest.raises(Exception, match="clean reference"):
        OracleMask()(torch.zeros(1, 1600), None)


def test_inputs_may_follow_the_options(noisy_set):
    """The recipe writes `enhance SPEC --ref DIR DATA -o OUT` (the spec's words, then the set)."""
    data, out = noisy_set / "data", noisy_set / "e4"
    assert main(["enhance", "classical:oracle_mask", "--ref", str(data), str(data),
                 "-o", str(out)]) == 0
    assert len(list(out.glob("*.wav"))) == 3
