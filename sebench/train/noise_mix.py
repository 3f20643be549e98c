"""Extra noise for the reference-free baselines (NyTT, MixIT): fit a noise-stream batch to a
speech batch and scale it to a drawn SNR. Every draw comes from ``item_rng(seed, step, ...)``,
so a resumed run adds exactly the noise the uninterrupted one did."""
import numpy as np
import torch

from sebench.audio.io import read
from sebench.errors import ConfigError
from sebench.simulate.seeding import draw_uniform, item_rng
from sebench.train.losses import sample_mask


def check_snr_range(value, option):
    """``[lo, hi]`` dB (lo <= hi), or None where the option allows it."""
    if value is None:
        return None
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and value[0] <= value[1]):
        raise ConfigError(f"method_options.{option}: expected [lo, hi] in dB, got {value!r}")
    return [float(v) for v in value]


def fit_noise(noise, noise_lengths, batch_size, length):
    """(batch_size, length): noise item i % len(noise) for row i, each tiled over its true
    length so a clip shorter than the speech loops, then cut to ``length``."""
    rows = []
    for i in range(batch_size):
        j = i % noise.shape[0]
        clip = noise[j, :max(int(noise_lengths[j]), 1)]
        reps = -(-length // clip.shape[0])
        rows.append(clip.repeat(reps)[:length])
    return torch.stack(rows)


def scale_to_snr(speech, noise, lengths, snr_db):
    """``noise`` scaled so that power(speech) / power(noise) = snr_db per row, over each row's
    true length (padding is zeroed). ``snr_db`` (B,) tensor."""
    mask = sample_mask(lengths, speech.shape[-1], speech.device)
    noise = noise * mask
    p_s = ((speech * mask) ** 2).sum(-1)
    p_n = (noise ** 2).sum(-1).clamp_min(1e-12)
    gain = torch.sqrt(p_s / p_n * 10.0 ** (-snr_db.to(speech) / 10.0))
    return noise * gain[:, None]


def draw_snrs(seed, index, salt, count, snr_range):
    rng = item_rng(seed, index, salt)
    return torch.tensor([draw_uniform(rng, snr_range) for _ in range(count)], dtype=torch.float32)


def training_noise(batch, noise_batch, seed, step, snr_range, salt):
    """The noise added to ``batch["wav"]`` at training step ``step``: the noise stream's batch
    fitted to it, scaled to SNRs drawn from ``snr_range`` (None: as recorded)."""
    wav, lengths = batch["wav"], batch["lengths"]
    noise = fit_noise(noise_batch["wav"], noise_batch["lengths"], wav.shape[0], wav.shape[-1])
    noise = noise.to(wav) * sample_mask(lengths, wav.shape[-1], wav.device)
    if snr_range is None:
        return noise, None
    snrs = draw_snrs(seed, step, salt, wav.shape[0], snr_range)
    return scale_to_snr(wav, noise, lengths, snrs), snrs


def validation_noise(batch, noise_set, seed, snr_range, salt):
    """A fixed noise per validation utterance (chosen and scaled by a draw seeded with its
    key), read from the start of a noise-stream file: the same at every validation."""
    import zlib
    wav, lengths = batch["wav"], batch["lengths"]
    rows, snrs = [], []
    for key in batch["keys"]:
        rng = item_rng(seed, zlib.crc32(key.encode()), salt)
        index = int(rng.integers(len(noise_set.keys)))
        path = noise_set.scps["wav"][noise_set.keys[index]]
        audio, _ = read(path, channel="all", stop=wav.shape[-1])
        clip = torch.from_numpy(np.ascontiguousarray(audio[:, 0]))
        rows.append(clip)
        snrs.append(draw_uniform(rng, snr_range) if snr_range is not None else 0.0)
    padded = torch.zeros(len(rows), max(len(r) for r in rows))
    for i, r in enumerate(rows):
        padded[i, :len(r)] = r
    noise = fit_noise(padded, torch.tensor([len(r) for r in rows]), len(rows), wav.shape[-1])
    noise = noise.to(wav) * sample_mask(lengths, wav.shape[-1], wav.device)
    if snr_range is None:
        return noise
    return scale_to_snr(wav, noise, lengths, torch.tensor(snrs))
