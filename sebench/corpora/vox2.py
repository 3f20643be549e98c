"""VoxCeleb2 (Chung et al. 2018) as real noisy speech: ``dev/aac/idNNNNN/<video>/NNNNN.m4a``.

The speaker is the ``id`` folder; the key is ``<speaker>-<video>-<clip>``. Paper 000 holds out
7 validation and 10 test speakers of the dev set (``conf/corpora/vox2.yaml``). A million files
are scanned speaker folder by speaker folder (``os.scandir``, nothing decoded, no per-file
``stat``), optionally sharded over ``--nj`` jobs (speakers split in sorted order, each job one
JSON line per speaker), and written line by line, so memory stays flat; any ``--nj`` writes
the same data dirs. The AAC audio is decoded later by ``sebench data format`` (PyAV), which
also writes the durations.
"""
import os

from sebench.corpora.jobs import scan
from sebench.corpora.layout import (LayoutError, check_root, find_dir, list_dirs, scan_files,
                                    stem, warn_left_out)
from sebench.corpora.splits import as_list, check_listed
from sebench.errors import ConfigError
from sebench.utils.log import get_logger

log = get_logger("corpora")

TITLE = "VoxCeleb2 (Chung et al. 2018), as real noisy speech"

TREE = """\
voxceleb2/                             (--root)
├── dev/
│   └── aac/
│       └── id00012/                   one folder per speaker
│           └── 21Uxsk56VDQ/           one folder per video
│               └── 00001.m4a          AAC clips (.wav accepted too)
└── test/                              (optional: the official test set)
    └── aac/ ...                       same layout
"""

DEFAULTS = {
    "valid_speakers": [],
    "test_speakers": [],
}

HELP = {
    "valid_speakers": "dev speakers held out for validation (paper 000's 7 in "
                      "conf/corpora/vox2.yaml)",
    "test_speakers": "dev speakers held out for testing (paper 000's 10)",
}

SHARDED = True      # --nj/--cmd: speaker folders scanned by parallel jobs

SETS = """\
train           dev/ minus the validation and test speakers
valid           dev/ clips of valid_speakers
test            dev/ clips of test_speakers
official_test   test/aac/ (when present)
All sets: wav.scp (.m4a paths), utt2spk (id folder), utt2video. No durations (AAC headers are
not read); `sebench data format` writes utt2num_samples."""

AUDIO = (".m4a", ".wav")


def _aac_dir(root, split):
    base = find_dir(root, split)
    return find_dir(base, "aac", "wav") if base else None


def _speaker_folders(aac_dirs):
    """``[(split, speaker)]`` of every speaker folder, the unit a shard job scans; and the
    files lying directly in an ``aac/`` folder (not at <speaker>/<video>/<clip>)."""
    items, odd = [], []
    for split, aac_dir in aac_dirs.items():
        items += [(split, spk) for spk in list_dirs(aac_dir)]
        odd += [f"{split}/{rel}" for rel, _ in scan_files(aac_dir, ("",), recursive=False)]
    return items, odd


def _scan_speaker(aac_dirs, split, spk):
    """One speaker's clips as a row: ``{split, spk, clips: [[rel, path], ...]}``."""
    folder = os.path.join(aac_dirs[split], spk)
    files = list(scan_files(folder, ("",)))     # every file, so that none vanishes unreported
    return {"split": split, "spk": spk,
            "clips": [[rel, path] for rel, path in files if rel.lower().endswith(AUDIO)],
            "other": [rel for rel, _ in files if not rel.lower().endswith(AUDIO)]}


def _write(rows, route, output, odd, folders):
    """The scanned rows (speakers in sorted order) into the sets ``route(split, spk)`` names."""
    writers = {}
    try:
        for row in rows:
            spk = row["spk"]
            odd += [f"{row['split']}/{spk}/{rel}" for rel in row.get("other", [])]
            for rel, path in row["clips"]:
                parts = rel.split("/")
                if len(parts) != 2:
                    odd.append(f"{row['split']}/{spk}/{rel}")
                    continue
                name = route(row["split"], spk)
                if name not in writers:
                    writers[name] = output.writer(name, probe=False)
                writers[name].add(f"{spk}-{parts[0]}-{stem(parts[1])}", spk,
                                  {"video": parts[0]}, wav=path)
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    warn_left_out("vox2", folders, odd, "are not <speaker>/<video>/<clip>.m4a (or .wav); left out")
    order = ("train", "valid", "test", "official_test")
    return [writers[name].close() for name in sorted(writers, key=order.index)]


def prepare(root, cfg, output, jobs=None):
    """The sets, or None inside a shard job (``jobs``: a
    :class:`sebench.corpora.jobs.ShardJobs`; a shard job writes its speakers' rows instead)."""
    root = check_root("vox2", root, TREE)
    dev, test = _aac_dir(root, "dev"), _aac_dir(root, "test")
    if dev is None:     # train, valid and test all come from dev/: without it, no split
        raise LayoutError("vox2", root, "no dev/aac/ folder" + (
            " (test/aac/ alone gives no train, valid or test set)" if test else ""), TREE)
    valid_spk, test_spk = set(as_list(cfg["valid_speakers"])), set(as_list(cfg["test_speakers"]))
    if valid_spk & test_spk:
        raise ConfigError(f"valid_speakers and test_speakers share "
                          f"{', '.join(sorted(valid_spk & test_spk))}")
    aac_dirs = {split: folder for split, folder in (("dev", dev), ("test", test)) if folder}
    if not (jobs and jobs.shard):
        if not (valid_spk and test_spk):
            log.warning("vox2: no valid_speakers/test_speakers configured; everything goes to "
                        "train (the paper's split is in conf/corpora/vox2.yaml)")
        check_listed(sorted(valid_spk | test_spk), list_dirs(dev), "speaker(s)",
                     os.path.relpath(dev, root) + "/")
    items, odd = _speaker_folders(aac_dirs)
    rows = scan(lambda i: _scan_speaker(aac_dirs, *items[i]), len(items), jobs, "vox2 speakers")
    if rows is None:
        return None

    def route(split, spk):
        if split == "test":
            return "official_test"
        return "valid" if spk in valid_spk else "test" if spk in test_spk else "train"
    summaries = _write(rows, route, output, odd, ", ".join(aac_dirs.values())) if items else []
    if not summaries:
        raise LayoutError("vox2", root, "no <speaker>/<video>/<clip>.m4a files found", TREE)
    return summaries
