"""Audio sources named on the command line (sebench/data/sources.py)."""
import pytest

from conftest import tone, write_wav
from sebench.cli.main import main
from sebench.data import DataDir
from sebench.data.sources import audio_map
from sebench.errors import SebenchError

pytestmark = pytest.mark.timeout(60)


def _datadir(root, with_clean):
    wav = write_wav(root / "noisy.wav", tone(0.5, seed=1))
    d = DataDir(root)
    d.write("wav.scp", {"u1": str(wav)})
    if with_clean:
        d.write("clean.scp", {"u1": str(write_wav(root / "clean.wav", tone(0.5)))})
    return d


def test_reference_data_dir_needs_clean_scp(tmp_path, capsys):
    """Regression: a --ref data dir without clean.scp fell back to wav.scp, scoring the
    estimates against the noisy input (plausible-looking PESQ on a blind test set)."""
    paired = _datadir(tmp_path / "paired", True)
    real = _datadir(tmp_path / "real", False)
    assert audio_map(str(paired.path), "ref") == paired.read("clean.scp")
    assert audio_map(str(real.path), "enh") == real.read("wav.scp")
    with pytest.raises(SebenchError, match="has no clean.scp"):
        audio_map(str(real.path), "ref")
    assert main(["score", "--enh", str(real.path), "--ref", str(real.path), "--metrics", "sisdr",
                 "--out", str(tmp_path / "scores")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--ref" in err and "no clean.scp" in err
    # the scp file itself still works when wav.scp really is the reference
    assert audio_map(str(real.path / "wav.scp"), "ref") == real.read("wav.scp")
