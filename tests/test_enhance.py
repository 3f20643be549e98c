"""`sebench enhance` and `sebench pack`: inputs, chunking, rates, channels, skipping, zips."""
import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import run_cli, write_wav
from sebench.cli.main import main
from sebench.data import DataDir
from sebench.enhance.engine import Enhancer
from sebench.enhance.factory import build_enhancer, check_enhancer, parse_spec, spec_string
from sebench.errors import ConfigError, SebenchError
from sebench.models.classical import CLASSICAL
from sebench.models.store import compose, export_model, load_model


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, paired_data):
    root = tmp_path_factory.mktemp("inputs")
    wavs = DataDir(paired_data / "valid").read("wav.scp")
    for i, (key, path) in enumerate(sorted(wavs.items())):
        x, fs = sf.read(path)
        write_wav(root / "tree" / f"room{i % 2}" / f"{key}.wav", x, fs)
    return root


def test_folder_tree_is_mirrored_and_finished_outputs_skipped(trained_exp, inputs, tmp_path):
    out = tmp_path / "enh"
    p = run_cli("enhance", trained_exp, inputs / "tree", "-o", out)
    produced = sorted(x.relative_to(out) for x in out.rglob("*.wav"))
    expected = sorted(x.relative_to(inputs / "tree") for x in (inputs / "tree").rglob("*.wav"))
    assert produced == expected and "RTF" in p.stderr
    scp = DataDir(out).read("wav.scp")
    assert len(scp) == len(expected) and all(sf.info(v).samplerate == 16000 for v in scp.values())
    stamp = {f: f.stat().st_mtime_ns for f in out.rglob("*.wav")}
    p = run_cli("enhance", trained_exp, inputs / "tree", "-o", out)
    assert "already existed" in p.stderr and all(f.stat().st_mtime_ns == t for f, t in stamp.items())
    run_cli("enhance", trained_exp, inputs / "tree", "-o", out, "--force")
    assert any(f.stat().st_mtime_ns != t for f, t in stamp.items())


def test_scp_datadir_glob_and_sharded_inputs(trained_exp, inputs, paired_data, tmp_path):
    run_cli("enhance", trained_exp, paired_data / "valid", "-o", tmp_path / "dd")
    assert DataDir(tmp_path / "dd").keys == DataDir(paired_data / "valid").keys
    run_cli("enhance", trained_exp, paired_data / "valid" / "wav.scp", "-o", tmp_path / "scp")
    run_cli("enhance", trained_exp, str(inputs / "tree" / "**" / "*.wav"), "-o", tmp_path / "glob")
    run_cli("enhance", trained_exp, paired_data / "valid", "-o", tmp_path / "nj2", "--nj", 2)
    for key, path in DataDir(tmp_path / "dd").read("wav.scp").items():
        a = sf.read(path)[0]
        # jobs run one thread each; float sums may differ in the last bit before quantisation
        np.testing.assert_allclose(a, sf.read(DataDir(tmp_path / "nj2").read("wav.scp")[key])[0],
                                   atol=1.5 / 32768)
        assert np.array_equal(a, sf.read(DataDir(tmp_path / "scp").read("wav.scp")[key])[0])


def test_long_file_chunked_matches_unchunked(trained_exp, paired_data):
    model, _ = load_model(trained_exp)
    wavs = [sf.read(p)[0] for p in DataDir(paired_data / "train").read("wav.scp").values()]
    long = np.concatenate(wavs)[None, :].astype(np.float32)          # ~20 s
    whole = Enhancer(model, chunk=None).enhance(long)
    chunked = Enhancer(model, chunk=4.0, overlap=1.0).enhance(long)
    assert chunked.shape == whole.shape
    err = 10 * np.log10(np.sum(whole ** 2) / np.sum((whole - chunked) ** 2))
    assert err > 25, f"chunked differs from unchunked: {err:.1f} dB"


def test_wrong_rate_and_stereo_input(trained_exp, paired_data, tmp_path):
    x, fs = sf.read(sorted(DataDir(paired_data / "valid").read("wav.scp").values())[0])
    import soxr
    write_wav(tmp_path / "in" / "r8k.wav", soxr.resample(x, fs, 8000), fs=8000)
    write_wav(tmp_path / "in" / "stereo.wav", np.stack([x, 0.5 * x[::-1]], axis=1))
    run_cli("enhance", trained_exp, tmp_path / "in", "-o", tmp_path / "out")
    assert sf.info(tmp_path / "out" / "r8k.wav").samplerate == 8000
    stereo, _ = sf.read(tmp_path / "out" / "stereo.wav")
    assert stereo.shape == (len(x), 2)
    write_wav(tmp_path / "mono" / "left.wav", x)
    run_cli("enhance", trained_exp, tmp_path / "mono", "-o", tmp_path / "mono_out")
    left, _ = sf.read(tmp_path / "mono_out" / "left.wav")
    np.testing.assert_allclose(stereo[:, 0], left, atol=2 / 32768)
    run_cli("enhance", trained_exp, tmp_path / "in" / "r8k.wav", "-o", tmp_path / "keep",
            "--keep-rate")
    assert sf.info(tmp_path / "keep" / "r8k.wav").samplerate == 16000


def test_pack_round_trip(trained_exp, paired_data, tmp_path):
    run_cli("pack", trained_exp, tmp_path / "m.zip")
    env_cache = {"SEBENCH_CACHE_DIR": str(tmp_path / "cache")}
    import os
    run_cli("enhance", tmp_path / "m.zip", paired_data / "valid", "-o", tmp_path / "z",
            env=dict(os.environ, **env_cache))
    run_cli("enhance", trained_exp, paired_data / "valid", "-o", tmp_path / "e")
    for key, path in DataDir(tmp_path / "e").read("wav.scp").items():
        assert np.array_equal(sf.read(path)[0], sf.read(DataDir(tmp_path / "z").read("wav.scp")[key])[0])


def test_bad_inputs_fail_clearly_and_lose_nothing(trained_exp, paired_data, tmp_path):
    x, _ = sf.read(sorted(DataDir(paired_data / "valid").read("wav.scp").values())[0])
    write_wav(tmp_path / "in" / "good.wav", x)
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF....not audio")
    p = run_cli("enhance", trained_exp, tmp_path / "in", "-o", tmp_path / "out", check=False)
    assert p.returncode == 1 and "broken.wav" in p.stderr
    assert (tmp_path / "out" / "good.wav").is_file() and not (tmp_path / "out" / "broken.wav").exists()
    p = run_cli("enhance", tmp_path / "nomodel", tmp_path / "in", "-o", tmp_path / "o2", check=False)
    assert p.returncode == 1 and "nomodel" in p.stderr
    p = run_cli("enhance", trained_exp, tmp_path / "missing", "-o", tmp_path / "o3", check=False)
    assert p.returncode == 1 and "missing" in p.stderr


class Gain(torch.nn.Module):
    """A weightless test enhancer (the ``classical`` kind's plumbing; spectral subtraction
    comes from another workstream)."""

    def __init__(self, gain=1.0, fs=16000):
        super().__init__()
        self.gain, self.fs = float(gain), int(fs)

    def forward(self, wave):
        return {"wave": wave * self.gain}


@pytest.fixture
def gain_enhancer():
    CLASSICAL.register("test_gain", Gain)
    yield
    CLASSICAL.unregister("test_gain")


def test_classical_enhancer_needs_no_model_dir(gain_enhancer, paired_data, tmp_path, capsys):
    assert main(["enhance", "classical:test_gain,gain=0.5", str(paired_data / "valid"),
                 "-o", str(tmp_path / "half")]) == 0
    key, path = sorted(DataDir(paired_data / "valid").read("wav.scp").items())[0]
    x, _ = sf.read(path)
    np.testing.assert_allclose(sf.read(DataDir(tmp_path / "half").read("wav.scp")[key])[0],
                               0.5 * x, atol=1 / 32768)
    # the same enhancer stored as a model dir (kind classical: model.yaml, no weights)
    export_model(tmp_path / "m", {"kind": "classical", "name": "test_gain", "gain": 0.5}, None)
    assert not (tmp_path / "m" / "model.pt").exists()
    assert main(["enhance", str(tmp_path / "m"), path, "-o", str(tmp_path / "dir")]) == 0
    assert np.array_equal(sf.read(tmp_path / "dir" / f"{key}.wav")[0],
                          sf.read(DataDir(tmp_path / "half").read("wav.scp")[key])[0])
    assert main(["enhance", "classical:test_gain,gian=2", path, "-o", str(tmp_path / "e")]) == 1
    assert "unknown option(s) gian" in capsys.readouterr().err


def test_validation_and_enhance_write_the_same_peak_normalised_audio(gain_enhancer, tmp_path,
                                                                     monkeypatch):
    """Regression: validation rescaled above a 0.99 peak, enhance only above 1.0."""
    x = 0.995 * np.sin(np.linspace(0, 200, 16000)).astype(np.float32)
    write_wav(tmp_path / "in" / "loud.wav", x, subtype="FLOAT")
    DataDir(tmp_path / "in").write("wav.scp", {"loud": str(tmp_path / "in" / "loud.wav")})
    assert main(["enhance", "classical:test_gain", str(tmp_path / "in"), "-o",
                 str(tmp_path / "enh")]) == 0
    from sebench.train.validation import BackgroundScorer
    monkeypatch.setattr(BackgroundScorer, "_start", lambda self, step: None)
    BackgroundScorer(str(tmp_path / "exp"), str(tmp_path / "in"), "sisdr").launch(
        3, lambda w: Gain()(w)["wave"])
    enhanced = sf.read(tmp_path / "enh" / "loud.wav")[0]
    validated = sf.read(tmp_path / "exp" / "valid" / "step00000003" / "enh" / "loud.wav")[0]
    assert np.array_equal(enhanced, validated)
    assert abs(np.max(np.abs(enhanced)) - 0.99) < 1e-4


def test_composite_of_trained_models(gain_enhancer, trained_exp, tmp_path):
    export_model(tmp_path / "half", {"kind": "classical", "name": "test_gain", "gain": 0.5}, None)
    compose(tmp_path / "chain", "chain", {"first": str(trained_exp), "second": str(tmp_path / "half")})
    stored, cfg = load_model(tmp_path / "chain")
    assert cfg["kind"] == "composite" and list(cfg["parts"]) == ["first", "second"]
    se, _ = load_model(trained_exp)
    x = torch.randn(1, 8000) * 0.1
    with torch.no_grad():
        expected = 0.5 * se(x)["wave"]
        torch.testing.assert_close(stored(x)["wave"], expected)
        spec = f"composite:chain,first={trained_exp},second={tmp_path / 'half'}"
        torch.testing.assert_close(build_enhancer(spec)(x)["wave"], expected)


def test_enhancer_specs_parse_and_fail_early(trained_exp, tmp_path):
    spec = parse_spec("robust_q:exp/q,after=exp/sup,steps=5,lr=0.5,step=plain")
    assert spec == {"kind": "robust_q", "source": "exp/q", "after": "exp/sup", "steps": 5,
                    "lr": 0.5, "step": "plain"}
    assert parse_spec(spec_string(spec)) == spec
    assert parse_spec(str(trained_exp)) == {"kind": "model", "source": str(trained_exp)}
    with pytest.raises(ConfigError, match="unknown option.*stepz"):
        check_enhancer(f"robust_q:{trained_exp},stepz=3")
    with pytest.raises(ConfigError, match="unknown enhancer kind"):
        build_enhancer({"kind": "specsub", "source": "x"})
    with pytest.raises(SebenchError, match="nomodel: not a model"):
        check_enhancer(f"robust_q:{tmp_path / 'nomodel'}")
