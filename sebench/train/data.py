"""Training data: data-dir datasets with seeded random crops, length-bucketed batches.

Every random choice is a function of (seed, epoch, index), never of worker scheduling, so
a resumed run sees exactly the batches the uninterrupted run would have seen, and shards
under DDP partition the same global batches.
"""
import os

import numpy as np
import torch

from sebench.audio.io import audio_info, read, select_channel
from sebench.data.datadir import DataDir
from sebench.data.scan import training_check
from sebench.errors import AudioError, SebenchError
from sebench.simulate.seeding import item_rng
from sebench.train.valid_subset import recorded_subset

FIELD_SCP = {"wav": "wav.scp", "clean": "clean.scp", "clean_rev": "clean_rev.scp",
             "noise": "noise.scp"}


class AudioDataset(torch.utils.data.Dataset):
    """Utterances of a data dir; ``fields`` picks the scp files read together (same crop)."""

    def __init__(self, data_dir, fields=("wav",), fs=16000, segment=None, seed=0,
                 random_crop=True, max_utts=None, channel=None, skip_bad=False, subset_file=None):
        ddir = DataDir(data_dir)
        ddir.require()
        self.path, self.fs, self.seed = str(data_dir), int(fs), int(seed)
        self.fields = tuple(fields)
        scps, self.labels = {}, {}
        for field in [f for f in self.fields if f.startswith("label:")]:
            name = field.split(":", 1)[1]
            if not ddir.has(f"utt2{name}"):
                raise SebenchError(f"{data_dir}: utt2{name} is missing (label it with "
                                   f"`sebench label`)")
            self.labels[field] = {k: float(v.split()[0]) for k, v in ddir.read(f"utt2{name}").items()}
        for field in [f for f in self.fields if not f.startswith("label:")]:
            if field not in FIELD_SCP:
                raise SebenchError(f"unknown data field {field!r}")
            if not ddir.has(FIELD_SCP[field]):
                raise SebenchError(f"{data_dir}: {FIELD_SCP[field]} is missing (this training "
                                   f"method needs {', '.join(FIELD_SCP[f] for f in self.fields)})")
            scps[field] = ddir.read(FIELD_SCP[field])
        keys = sorted(set.intersection(*(set(s) for s in list(scps.values()) +
                                         list(self.labels.values()))))
        keys = [k for k in keys if all(np.isfinite(lab[k]) for lab in self.labels.values())]
        if max_utts or subset_file:   # speaker-stratified, seeded, recorded (valid_subset.py)
            keys = recorded_subset(subset_file, data_dir, keys, max_utts or None, self.seed)
        if not keys:
            raise SebenchError(f"{data_dir}: no utterance has all of {', '.join(self.fields)}")
        self.channel = channel
        # every file read once up front (cached): NaN, truncation, rate, channels, lengths
        keys, scanned, self.channels = training_check(data_dir, scps, keys, self.fs, channel,
                                                      skip_bad)
        if not keys:
            raise SebenchError(f"{data_dir}: no usable utterance left")
        self.keys, self.scps = keys, scps
        self.segment = int(round(float(segment) * self.fs)) if segment else None
        self.random_crop = random_crop
        self.num_samples = self._lengths(ddir, scanned)
        self.epoch = 0

    def _lengths(self, ddir, scanned):
        known = ddir.read("utt2num_samples") if ddir.has("utt2num_samples") else {}
        out = []
        for k in self.keys:
            if k in scanned:
                out.append(scanned[k])
            elif k in known:                # pipe entries: listed lengths, else ask the header
                out.append(int(known[k]))
            else:
                rate, frames, _ = audio_info(self.scps["wav"][k])
                if rate != self.fs:
                    raise AudioError(self.scps["wav"][k], f"sample rate is {rate} Hz; "
                                                          f"the model runs at {self.fs} Hz")
                out.append(frames)
        return out

    def lengths(self):
        """Lengths after cropping, for bucketing."""
        if self.segment is None:
            return list(self.num_samples)
        return [min(n, self.segment) for n in self.num_samples]

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, index):
        key, total = self.keys[index], self.num_samples[index]
        start, stop = 0, total
        if self.segment is not None and total > self.segment:
            if self.random_crop:
                rng = item_rng(self.seed, index, "crop", self.epoch)
                start = int(rng.integers(0, total - self.segment + 1))
            stop = start + self.segment
        item = {"key": key}
        for field, values in self.labels.items():
            item[field] = torch.tensor(values[key], dtype=torch.float32)
        for field in self.scps:
            path = self.scps[field][key]
            audio, rate = read(path, channel="all", start=start, stop=stop) \
                if not path.endswith("|") else read(path, channel="all")
            audio = select_channel(audio, self.channel if audio.shape[1] > 1 else None, path,
                                   "--data.channel")
            if rate != self.fs:
                raise AudioError(path, f"sample rate is {rate} Hz; the model runs at {self.fs} Hz")
            if path.endswith("|"):
                audio = audio[start:stop]
            item[field] = torch.from_numpy(np.ascontiguousarray(audio))
        lengths = {item[f].shape[0] for f in self.scps}
        if len(lengths) != 1:
            raise SebenchError(f"{self.path}: utterance {key} has fields of different lengths "
                               f"{sorted(lengths)}")
        return item


def train_crop_seconds(dcfg):
    """The training crop: ``data.segment``, capped by ``data.max_seconds`` (either may be
    null); memory then grows with batch_size x crop, never with the longest file."""
    caps = [float(s) for s in (dcfg.get("segment"), dcfg.get("max_seconds")) if s]
    return min(caps) if caps else None


def data_file_options(dcfg):
    """The AudioDataset options that say how files are read (``data.channel``, ``skip_bad``)."""
    return {"channel": dcfg.get("channel"), "skip_bad": bool(dcfg.get("skip_bad"))}


def collate(items):
    """Pad to the longest item; ``lengths`` keeps the true sample counts."""
    lengths = torch.tensor([it["wav"].shape[0] for it in items])
    batch = {"keys": [it["key"] for it in items], "lengths": lengths}
    longest = int(lengths.max())
    for field in items[0]:
        if field == "key":
            continue
        if items[0][field].dim() == 0:     # per-utterance labels
            batch[field] = torch.stack([it[field] for it in items])
            continue
        out = torch.zeros(len(items), longest)
        for i, it in enumerate(items):
            out[i, :it[field].shape[0]] = it[field]
        batch[field] = out
    return batch


class BucketBatchSampler:
    """Seeded, length-bucketed batches; resumable from (epoch, position); DDP-aware.

    Each epoch shuffles the utterances with (seed, epoch), sorts them by length inside
    buckets of ``bucket_batches`` batches (so padding stays small), and shuffles the batch
    order. With ``world_size`` > 1 every global batch of ``batch_size * world_size`` items is
    split across ranks, so the union of the ranks' batches is the single-process batch.
    """

    def __init__(self, lengths, batch_size, seed=0, shuffle=True, drop_last=False,
                 bucket_batches=20, world_size=1, rank=0):
        self.lengths = np.asarray(lengths)
        self.batch_size, self.seed, self.shuffle = int(batch_size), int(seed), shuffle
        self.drop_last, self.bucket_batches = drop_last, int(bucket_batches)
        self.world_size, self.rank = int(world_size), int(rank)
        self.epoch, self.start_batch = 0, 0

    def global_batches(self, epoch):
        n, size = len(self.lengths), self.batch_size * self.world_size
        order = item_rng(self.seed, epoch, "batches").permutation(n) if self.shuffle \
            else np.arange(n)
        bucket = size * self.bucket_batches
        batches = []
        for lo in range(0, n, bucket):
            idx = order[lo:lo + bucket]
            idx = idx[np.argsort(-self.lengths[idx], kind="stable")]
            batches += [idx[i:i + size] for i in range(0, len(idx), size)]
        if self.drop_last or self.world_size > 1:  # every rank needs an equal share
            batches = [b for b in batches if len(b) == size]
        if self.shuffle:
            perm = item_rng(self.seed, epoch, "batch-order").permutation(len(batches))
            batches = [batches[i] for i in perm]
        return batches

    def set_epoch(self, epoch, start_batch=0):
        self.epoch, self.start_batch = int(epoch), int(start_batch)

    def __len__(self):
        return max(0, len(self.global_batches(self.epoch)) - self.start_batch)

    def __iter__(self):
        for b in self.global_batches(self.epoch)[self.start_batch:]:
            yield [int(i) for i in b[self.rank::self.world_size]]


def make_loader(dataset, sampler, num_workers=0, seed=0):
    """A loader with its own generator: starting an iterator draws a worker seed from it,
    which would otherwise come from torch's global RNG and shift every later draw of a
    resumed run (reseed ``loader.generator`` where an epoch starts)."""
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate,
                                       num_workers=int(num_workers),
                                       persistent_workers=False, generator=generator,
                                       multiprocessing_context="fork" if num_workers else None)


def feature_statistics(model, dataset, max_utts=200):
    """Per-bin mean and std of an STFT model's raw features over (part of) the training data."""
    total, total_sq, frames = None, None, 0
    with torch.no_grad():
        for i in range(min(len(dataset), int(max_utts))):
            wav = dataset[i]["wav"].unsqueeze(0)
            feat = model.raw_features(model.analysis(wav))[0]       # (frames, bins)
            feat = feat.double()
            total = feat.sum(0) if total is None else total + feat.sum(0)
            total_sq = (feat ** 2).sum(0) if total_sq is None else total_sq + (feat ** 2).sum(0)
            frames += feat.shape[0]
    mean = total / frames
    std = (total_sq / frames - mean ** 2).clamp_min(0).sqrt()
    return mean.float(), std.float()


def utt_count(path):
    return len(DataDir(path).keys) if os.path.isdir(path) else 0
