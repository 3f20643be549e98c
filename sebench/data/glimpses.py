"""Noise-only glimpses of real recordings, found by an energy threshold (paper 003, §2.4: "such
clips can be easily separated from clips that contain a mixture ... using a simple thresholding
operation on the energy of the signals").

Each recording is cut into windows; a window whose power is at least ``below_db`` dB under the
recording's loudest window counts as background, and runs of such windows at least
``min_seconds`` long become the utterances of a new data dir (``sebench data glimpses``). The
threshold is relative to each recording because device/room recordings differ in level.
"""
import os

import numpy as np

from sebench.audio.io import read, write
from sebench.config import Range
from sebench.data.datadir import DataDir
from sebench.errors import SebenchError

DEFAULTS = {"below_db": 30.0, "window": 0.1, "min_seconds": 0.5}
CHECKS = {"below_db": Range(0, lo_open=True), "window": Range(0, lo_open=True),
          "min_seconds": Range(0)}


def find_glimpses(wave, fs, window=0.1, below_db=30.0, min_seconds=0.5):
    """[(start, stop)] sample ranges of ``wave`` where every ``window``-second window is
    ``below_db`` dB or more under the loudest one, each run ``min_seconds`` or longer."""
    hop = max(1, int(round(window * fs)))
    count = len(wave) // hop
    if count == 0:
        return []
    frames = np.asarray(wave[:count * hop], dtype=np.float64).reshape(count, hop)
    power_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)
    quiet = power_db <= power_db.max() - float(below_db)
    runs, start = [], None
    for i, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if (i - start) * hop >= min_seconds * fs:
                runs.append((start * hop, i * hop))
            start = None
    return runs


def write_glimpses(src, out, window=0.1, below_db=30.0, min_seconds=0.5):
    """The glimpses of every recording of data dir ``src`` as data dir ``out`` (wav.scp,
    utt2spk from the source's speaker, utt2num_samples); returns (glimpses, seconds)."""
    source = DataDir(src)
    source.require()
    speakers = source.utt2spk()
    scp, utt2spk, lengths, total = {}, {}, {}, 0.0
    for key, path in sorted(source.read("wav.scp").items()):
        wave, fs = read(path)
        if wave.ndim > 1:
            wave = wave.mean(axis=1)
        for k, (a, b) in enumerate(find_glimpses(wave, fs, window, below_db, min_seconds)):
            utt = f"{key}-glimpse{k:03d}"
            scp[utt] = os.path.abspath(os.path.join(out, "audio", utt + ".wav"))
            write(scp[utt], wave[a:b], fs, subtype="FLOAT")
            utt2spk[utt] = speakers.get(key, key)
            lengths[utt] = str(b - a)
            total += (b - a) / fs
    if not scp:
        raise SebenchError(f"{src}: no stretch of {min_seconds} s lies {below_db} dB under its "
                           "recording's loudest window (lower --below-db or --min-seconds)")
    result = DataDir(out)
    result.write_utt2spk(utt2spk)
    result.write("utt2num_samples", lengths)
    result.write("wav.scp", scp)        # last: a complete dir has a wav.scp
    return len(scp), total
