"""Paper 002's arithmetic as options: J_MSE over all K = 512 bins of the Hermitian spectrum
(``bins: full``) and PESQNet on the amplitude spectrogram (``feature: magnitude``)."""
import pytest
import torch

from sebench.errors import ConfigError
from sebench.quality import build_predictor
from sebench.train.losses import ComplexMSE, masked_mean_per_utt

pytestmark = pytest.mark.timeout(60)


def test_full_bins_is_the_mean_over_the_whole_hermitian_spectrum():
    torch.manual_seed(0)
    frames = torch.randn(2, 40, 512)                      # (utterance, frame, sample)
    full = torch.fft.fft(frames, dim=-1).abs() ** 2       # all K = 512 bins
    half = torch.fft.rfft(frames, dim=-1).abs() ** 2      # the 257 stored bins
    mask = torch.ones(2, 40)
    err = half.transpose(1, 2)                            # (B, F, T)
    expected = full.mean(dim=(1, 2))                      # 1/(L K) sum over k = 0..K-1
    assert torch.allclose(masked_mean_per_utt(err, mask, "full"), expected, rtol=1e-5)
    # the stored-bin mean differs only through the DC and Nyquist bins' weight:
    # 257/256 with no error there, 257/512 with all of it there
    inner = err.clone()
    inner[:, [0, -1]] = 0
    edges = torch.zeros_like(err)
    edges[:, [0, -1]] = err[:, [0, -1]]

    def ratio(e):
        return masked_mean_per_utt(e, mask, "full") / masked_mean_per_utt(e, mask, "half")
    assert torch.allclose(ratio(inner), torch.full((2,), 257 / 256), rtol=1e-5)
    assert torch.allclose(ratio(edges), torch.full((2,), 257 / 512), rtol=1e-5)


def test_bins_must_be_half_or_full():
    with pytest.raises(ConfigError, match="bins must be half or full"):
        ComplexMSE(bins="all")


@pytest.mark.slow    # builds two PESQNets
def test_pesqnet_on_the_amplitude_spectrogram_reads_the_level():
    torch.manual_seed(0)
    cfg = {"kind": "predictor", "name": "pesqnet", "channels": [4, 4], "conv_out": 4,
           "hidden": 8, "fc": 8}
    amp = build_predictor(dict(cfg, feature="magnitude"))
    log = build_predictor(dict(cfg, feature="log"))
    log.load_state_dict(amp.state_dict())
    mag = torch.rand(1, 257, 50) + 0.1
    assert torch.equal(amp.features(mag), mag)                     # |S| as it is
    assert not torch.allclose(amp.forward_mag(mag), amp.forward_mag(4 * mag))
    # the log alternative removes the level: the same score at any gain
    assert torch.allclose(log.forward_mag(mag), log.forward_mag(4 * mag), atol=1e-5)
