"""Named training data streams: one data dir (or on-the-fly stream declaration, see
``sebench.train.onthefly``), dataset and batch sampler per stream.

A method declares ``streams = {"paired": ("wav", "clean"), "unpaired": ("wav",)}``. The
first (primary) stream defines the epoch; every other stream cycles through its own epochs
as often as the primary needs a batch. Each stream's (epoch, position) is part of the
trainer's state, so a resumed run draws exactly the batches the uninterrupted one would.
Streams other than the primary draw their crops and batch order from a seed derived from
the run's seed and the stream's name, so two streams over one data dir stay independent.
"""
import zlib

from sebench.errors import SebenchError
from sebench.simulate.seeding import item_rng
from sebench.train.data import (AudioDataset, BucketBatchSampler, data_file_options, make_loader,
                                train_crop_seconds)
from sebench.train.onthefly import OnTheFlyDataset, stream_file


def stream_seed(seed, name, primary):
    return int(seed) if primary else zlib.crc32(f"{int(seed)}:{name}".encode()) & 0x7FFFFFFF


class Stream:
    def __init__(self, name, data_dir, fields, fs, dcfg, seed, dist, primary):
        self.name, self.path, self.primary = name, data_dir, primary
        seed = stream_seed(seed, name, primary)
        if stream_file(data_dir):   # a declared on-the-fly stream: mixed as it is read
            self.dataset = OnTheFlyDataset(data_dir, fields, fs=fs,
                                           segment=train_crop_seconds(dcfg), seed=seed)
        else:
            self.dataset = AudioDataset(data_dir, fields, fs=fs, segment=train_crop_seconds(dcfg),
                                        seed=seed, **data_file_options(dcfg))
        self.sampler = BucketBatchSampler(self.dataset.lengths(), dcfg["batch_size"], seed=seed,
                                          bucket_batches=dcfg["bucket_batches"],
                                          world_size=dist.world_size, rank=dist.rank)
        self.seed = seed
        self.loader = make_loader(self.dataset, self.sampler, dcfg["num_workers"], seed)
        if len(self.sampler.global_batches(0)) == 0:
            raise SebenchError(f"{data_dir}: {len(self.dataset)} utterances make no full batch "
                               f"of {dcfg['batch_size']} x {dist.world_size} process(es)")
        self.epoch = self.position = 0
        self._batches = None

    def start(self, epoch, position=0):
        """Iterate from batch ``position`` of ``epoch``."""
        self.epoch, self.position = int(epoch), int(position)
        self.sampler.set_epoch(self.epoch, self.position)
        self.dataset.set_epoch(self.epoch)
        # the loader's draws depend on the epoch alone, not on where in it the run started
        seed = item_rng(self.seed, self.epoch, "loader").integers(2 ** 63)
        self.loader.generator.manual_seed(int(seed))
        self._batches = None

    def batches_per_epoch(self):
        return len(self.sampler.global_batches(0))

    def next_batch(self):
        """The next batch, moving on to the next epoch at the end of this one (cycling)."""
        if self._batches is None:
            self._batches = iter(self.loader)
        try:
            batch = next(self._batches)
        except StopIteration:
            self.start(self.epoch + 1)
            self._batches = iter(self.loader)
            batch = next(self._batches)
        self.position += 1
        return batch

    def state(self):
        return {"epoch": self.epoch, "position": self.position}
