"""On-the-fly training streams: every item mixed when it is read, by ``sebench simulate``'s
own code (``Simulator.render``), never written to disk.

A stream is declared by a YAML file (``--train NAME=FILE.yaml``, or a folder holding
``stream.yaml``, which ``sebench simulate --onthefly`` writes)::

    clean: data/clean_train      # data dir, scp or folder, as `sebench simulate --clean`
    noise: data/noise_train
    rir: data/rirs               # optional
    config: simulate.yaml        # a simulation config file, or the mapping itself
    epoch_size: 2000             # optional: items per epoch (default: one per clean file)

Relative paths are relative to the stream file. Item ``i`` of epoch ``e`` draws its clean
file, crop, noise, noise offset, SNR, level (and RIR) from a generator that depends only on
(seed, epoch, i): a resumed run draws exactly what the uninterrupted one would, and data
loader workers and DDP ranks (which split the batch sampler's indices) need no coordination.
Every epoch sees a fresh permutation of the clean files and fresh pairings. The trainer's
crop (``data.segment`` / ``data.max_seconds``), when set, is the length mixed; otherwise
the simulation config's ``segment`` (one of them is required: items must be bounded).
"""
import os

import numpy as np
import torch

from sebench.config import check_values, load_yaml, merge
from sebench.errors import ConfigError, SebenchError
from sebench.simulate.seeding import item_rng

STREAM_FILE = "stream.yaml"
STREAM_KEYS = ("clean", "noise", "rir", "config", "epoch_size")
#: fields an on-the-fly item can give (clean_rev is the dry speech without reverberation)
FIELDS = ("wav", "clean", "noise", "clean_rev")


def stream_file(path):
    """The stream declaration behind a ``--train`` value, or None for a data dir."""
    path = os.fspath(path)
    if os.path.isfile(path) and path.endswith((".yaml", ".yml")):
        return path
    candidate = os.path.join(path, STREAM_FILE)
    return candidate if os.path.isfile(candidate) else None


def stream_is_paired(path):
    """Whether the stream declared at ``path`` (a file or a folder with stream.yaml) mixes
    with references (its simulation config is not ``unpaired``)."""
    declared = stream_file(path)
    return bool(declared) and not load_stream(declared)["cfg"]["unpaired"]


def simulation_config(cfg, where):
    """``sebench simulate``'s defaults merged with ``cfg``; unknown keys and bad values are
    errors naming ``where``."""
    from sebench.cli.simulate import CHECKS
    from sebench.simulate.simulate import DEFAULTS
    checks = {k: v for k, v in CHECKS.items() if k != "nj"}
    try:
        out = merge(DEFAULTS, cfg or {})
        check_values(out, DEFAULTS, checks)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    return out


def load_stream(path):
    """The declaration at ``path``: {clean, noise, rir, cfg, epoch_size}, paths absolute."""
    spec = load_yaml(path)
    unknown = sorted(set(spec) - set(STREAM_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(STREAM_KEYS)})")
    for key in ("clean", "noise", "config"):
        if not spec.get(key):
            raise ConfigError(f"{path}: {key} is missing")
    base = os.path.dirname(os.path.abspath(path))

    def here(p):
        return p if os.path.isabs(str(p)) else os.path.join(base, str(p))

    config = spec["config"]
    if not isinstance(config, dict):
        config = load_yaml(here(config))
    size = spec.get("epoch_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ConfigError(f"{path}: epoch_size must be a positive integer, got {size!r}")
    return {"clean": here(spec["clean"]), "noise": here(spec["noise"]),
            "rir": here(spec["rir"]) if spec.get("rir") else None,
            "cfg": simulation_config(config, path), "epoch_size": size}


def write_stream(out, clean, noise, rir, cfg):
    """``sebench simulate --onthefly``: the declaration of a stream over these sources, with
    the resolved simulation config, as ``OUT/stream.yaml`` (written atomically)."""
    from sebench.config import dump_config
    from sebench.utils.fileio import atomic_write_text
    os.makedirs(out, exist_ok=True)
    sim_cfg = {k: v for k, v in cfg.items() if k not in ("nj", "cmd", "num")}
    spec = {"clean": os.path.abspath(clean), "noise": os.path.abspath(noise),
            "rir": os.path.abspath(rir) if rir else None, "config": sim_cfg,
            "epoch_size": cfg.get("num")}
    atomic_write_text(os.path.join(out, STREAM_FILE), dump_config(spec))
    return os.path.join(out, STREAM_FILE)


def epoch_seed(seed, sim_seed, epoch):
    """The simulation seed of one epoch: a function of (trainer seed, config seed, epoch)."""
    return int(item_rng(seed, epoch, "onthefly-epoch", sim_seed).integers(2 ** 31))


class OnTheFlyDataset(torch.utils.data.Dataset):
    """Items mixed when read; same interface as ``AudioDataset`` (lengths, set_epoch)."""

    def __init__(self, path, fields=("wav",), fs=16000, segment=None, seed=0):
        from sebench.data.sources import audio_map, speaker_map
        from sebench.simulate.simulate import Sources, load_rirs
        self.path = stream_file(path) or os.fspath(path)
        spec = load_stream(self.path)
        cfg = spec["cfg"]
        if segment:
            cfg["segment"] = float(segment)
        if not cfg["segment"]:
            raise ConfigError(f"{self.path}: an on-the-fly stream needs a segment length "
                              "(the trainer's data.segment or the config's segment)")
        if int(cfg["fs"]) != int(fs):
            raise ConfigError(f"{self.path}: the simulation runs at {cfg['fs']} Hz; the model "
                              f"at {fs} Hz")
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise SebenchError(f"{self.path}: an on-the-fly stream gives {', '.join(FIELDS)}, "
                               f"not {unknown[0]}")
        if cfg["unpaired"] and any(f != "wav" for f in fields):
            raise SebenchError(f"{self.path}: an unpaired (real-like) stream gives only wav; "
                               f"this method needs {', '.join(fields)}")
        self.fields, self.fs, self.seed = tuple(fields), int(fs), int(seed)
        clean = audio_map(spec["clean"], "clean")
        noise = audio_map(spec["noise"], "noise")
        rirs, rir_meta = load_rirs(spec["rir"])
        self.sources = Sources(clean, speaker_map(spec["clean"], clean), noise, rirs, rir_meta,
                               cfg)
        self.cfg = cfg
        self.num = int(spec["epoch_size"] or len(self.sources.clean_keys))
        self.segment = int(round(float(cfg["segment"]) * self.fs))
        self.epoch = 0
        self._sims = {}
        self._frames = {}   # source lengths, shared by every epoch's simulator

    def lengths(self):
        return [self.segment] * self.num

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def __len__(self):
        return self.num

    def simulator(self, epoch):
        """The ``Simulator`` of one epoch (its seed and clean-file order)."""
        from sebench.simulate.simulate import Simulator
        if epoch not in self._sims:
            cfg = dict(self.cfg, num=self.num, on_error="fail",
                       seed=epoch_seed(self.seed, self.cfg["seed"], epoch))
            sim = Simulator(cfg, self.sources, out=None, frames_cache=self._frames)
            self._sims = {epoch: sim}   # one epoch at a time: the order is n integers
        return self._sims[epoch]

    def draw(self, epoch, index):
        """Item ``index`` of ``epoch``: a pure function of (seed, epoch, index)."""
        try:
            row, signals = self.simulator(epoch).render(int(index))
        except (SebenchError, OSError) as e:
            raise SebenchError(f"{self.path}: epoch {epoch} item {index}: {e}") from None
        if signals["clean_rev"] is None:
            signals["clean_rev"] = signals["clean"]
        item = {"key": f"{row['utt']}-e{epoch}"}
        for field in self.fields:
            audio = np.asarray(signals[field], dtype=np.float32)
            item[field] = torch.from_numpy(np.ascontiguousarray(audio))
        return item

    def __getitem__(self, index):
        return self.draw(self.epoch, index)
