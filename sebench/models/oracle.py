"""Oracle STFT masks: what a mask-based enhancer could reach if it knew the clean speech.

A ``classical`` enhancer that needs the clean reference (``needs_reference``): ``sebench
enhance classical:oracle_mask,mask=irm IN --ref DATA_DIR -o OUT`` reads each input's clean
signal x from DATA_DIR's ``clean.scp``; the noise is n = y - x (as ``noise.scp`` is derived
for VBD). On the noisy STFT Y (paper 004: 25 ms window, 10 ms hop):

- ``irm``: |X| / (|X| + |N|), the magnitude-ratio mask of paper 004's eq. 5 for the clean
  signal;
- ``ibm``: 1 where |X| > |N| (the IRM thresholded at 0.5, as paper 004 derives its IBM).

The masked noisy STFT (noisy phase) is the output. Rows of this kind are references (upper
bounds for masking), not systems.
"""
from torch import nn

from sebench.audio.stft import STFTConfig, istft, stft
from sebench.errors import ConfigError

# 25 ms Hann window, 10 ms hop at 16 kHz (paper 004's oracle masks)
PAPER004_STFT = {"n_fft": 400, "hop_length": 160, "win_length": 400, "window": "hann"}


def oracle_mask(clean_spec, noise_spec, kind):
    """The clean-speech mask on the mixture STFT: IRM |X|/(|X|+|N|) or IBM 1[|X| > |N|]."""
    clean, noise = clean_spec.abs(), noise_spec.abs()
    if kind == "ibm":
        return (clean > noise).to(clean.dtype)
    return clean / (clean + noise).clamp_min(1e-12)


class OracleMask(nn.Module):
    needs_reference = True

    def __init__(self, fs=16000, stft=None, mask="irm"):
        super().__init__()
        if mask not in ("irm", "ibm"):
            raise ConfigError(f"oracle_mask: mask must be irm or ibm, got {mask!r}")
        self.fs, self.mask = int(fs), mask
        self.stft_cfg = STFTConfig(**(stft or PAPER004_STFT))

    def forward(self, wave, reference):
        """``wave`` (B, samples) noisy, ``reference`` (B, samples) clean -> {"wave", "spec"}."""
        if reference is None or reference.shape != wave.shape:
            raise ConfigError("oracle_mask needs the clean reference, shaped as the input")
        spec = stft(wave, self.stft_cfg)
        mask = oracle_mask(stft(reference, self.stft_cfg), stft(wave - reference, self.stft_cfg),
                           self.mask)
        est = spec * mask
        return {"wave": istft(est, self.stft_cfg, length=wave.shape[-1]), "spec": est}
