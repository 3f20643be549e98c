"""DNSMOS windows and clips batched through the ONNX sessions score as one run per window."""
import numpy as np
import pytest

pytest.importorskip("speechmos")
pytest.importorskip("onnxruntime")


def _clips():
    rng = np.random.default_rng(4)
    out = []
    for seconds, f0 in ((2.0, 140), (10.5, 180), (12.3, 220)):
        t = np.arange(int(seconds * 16000)) / 16000
        speech = 0.2 * np.sin(2 * np.pi * f0 * t) * (1 + np.sin(2 * np.pi * 3 * t))
        out.append((speech + 0.03 * rng.standard_normal(t.size)).astype(np.float32))
    return out


@pytest.mark.slow
def test_batched_scores_equal_unbatched():
    from sebench.metrics.dnsmos import DNSMOS
    clips = _clips()
    one = DNSMOS(threads=1, max_batch=1)
    batched = DNSMOS(threads=1, max_batch=3)
    runs = []
    original = batched.p835.run
    batched.p835 = type("Spy", (), {"run": lambda self, o, feed: (runs.append(len(feed["input_1"])),
                                                                  original(o, feed))[1]})()
    expected = [one(c) for c in clips]
    together = batched.score_batch(clips)
    per_clip = [batched(clips[1])]
    # 2 s -> tiled 16 s: 7 windows; 10.5 s: 1; 12.3 s: 3 -> 11 windows in runs of <= 3
    assert runs[:4] == [3, 3, 3, 2] and max(runs) == 3
    for exp, got in zip(expected, together):
        assert exp.keys() == got.keys()
        for k in exp:
            assert got[k] == pytest.approx(exp[k], abs=1e-5)
    for exp, got in zip(expected[1:], per_clip):
        assert all(got[k] == pytest.approx(exp[k], abs=1e-5) for k in exp)
    first = batched.score_batch(clips, models=("p808",), short_clips="first_window")
    assert [set(r) for r in first] == [{"p808"}] * 3
    assert first[1]["p808"] == pytest.approx(expected[1]["p808"], abs=1e-5)   # one window anyway
    with pytest.raises(ValueError, match="max_batch"):
        DNSMOS(max_batch=0)
