"""Paper 004's Table IV: how strongly a masking network's encoder responds to speech and to
noise. Each model encodes the oracle clean signal x and the oracle noise v = y - x of every
test utterance on its own; the table gives the mean L2 norm of the encoder output E(A(x))
and E(A(v)) and their ratio (higher: the encoder passes speech and rejects noise).

The norm of an utterance is the mean over frames of the L2 norm across channels (so it
does not grow with the utterance's length); the table averages it over utterances.
"""
import numpy as np
import torch

from sebench.audio.io import read
from sebench.data import DataDir
from sebench.errors import SebenchError
from sebench.models.store import load_model
from sebench.utils.fileio import atomic_write_text


def frame_norm(encoded):
    """(1, C, L) encoder output -> the mean over frames of the L2 norm across channels."""
    return float(encoded.norm(dim=1).mean())


def pairs(data_dir, max_utts=None):
    """``[(key, clean, noise)]`` float32 arrays from a data dir's clean.scp and noise.scp."""
    d = DataDir(data_dir)
    for name in ("clean.scp", "noise.scp"):
        if not d.has(name):
            raise SebenchError(f"{data_dir}: no {name} (format with --derive-noise for noise.scp)")
    clean, noise = d.read("clean.scp"), d.read("noise.scp")
    keys = sorted(set(clean) & set(noise))[:max_utts]
    return [(k, read(clean[k])[0], read(noise[k])[0]) for k in keys]


@torch.no_grad()
def encoder_norms(model, utterances):
    """(mean clean norm, mean noise norm) of ``model.encode`` over the utterances."""
    if not hasattr(model, "encode"):
        raise SebenchError(f"{type(model).__name__} has no encoder to measure (a dprnn model)")
    clean = [frame_norm(model.encode(torch.from_numpy(x)[None])[1]) for _, x, _ in utterances]
    noise = [frame_norm(model.encode(torch.from_numpy(v)[None])[1]) for _, _, v in utterances]
    return float(np.mean(clean)), float(np.mean(noise))


def encoder_norm_table(data_dir, systems, out, max_utts=None, names=None):
    """Write the Markdown table for ``systems`` [(name, model path)]; returns the rows."""
    utterances = pairs(data_dir, max_utts)
    if not utterances:
        raise SebenchError(f"{data_dir}: no utterance has both clean.scp and noise.scp entries")
    rows = []
    for name, path in systems:
        model, _ = load_model(path)
        c, n = encoder_norms(model, utterances)
        rows.append((name, c, n, c / n if n > 0 else float("inf")))
    names = names or {}
    lines = [f"Mean L2 norm of the encoder output on {len(utterances)} utterances of {data_dir} "
             "fed the oracle clean signal and the oracle noise (paper 004, Table IV).", "",
             "| system | L2 clean | L2 noise | clean / noise |", "|---|---|---|---|"]
    lines += [f"| {names.get(s, s)} | {c:.4f} | {n:.4f} | {r:.2f} |" for s, c, n, r in rows]
    atomic_write_text(out, "\n".join(lines) + "\n")
    return rows
