"""VoxCeleb2 (Chung et al. 2018) as real noisy speech: ``dev/aac/idNNNNN/<video>/NNNNN.m4a``.

The speaker is the ``id`` folder; the key is ``<speaker>-<video>-<clip>``. Paper 000 holds out
7 validation and 10 test speakers of the dev set (``conf/corpora/vox2.yaml``). A million files
are scanned in one streaming pass (``os.scandir``, nothing decoded, no per-file ``stat``) and
written line by line, so memory stays flat; the AAC audio is decoded later by
``sebench data format`` (PyAV), which also writes the durations.
"""
import os

from sebench.corpora.layout import LayoutError, check_root, find_dir, list_dirs, scan_files, stem
from sebench.corpora.splits import as_list, check_listed
from sebench.errors import ConfigError
from sebench.utils.log import get_logger, progress

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


def _stream(aac_dir, route, output, label):
    """One pass over ``aac_dir``: every clip to the writer ``route(speaker)`` names."""
    writers, odd = {}, []
    try:
        for rel, path in progress(scan_files(aac_dir, AUDIO), desc=f"vox2 {label}", unit="file"):
            parts = rel.split("/")
            if len(parts) != 3:
                odd.append(rel)
                continue
            spk, video, clip = parts[0], parts[1], stem(parts[2])
            name = route(spk)
            if name not in writers:
                writers[name] = output.writer(name, probe=False)
            writers[name].add(f"{spk}-{video}-{clip}", spk, {"video": video}, wav=path)
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    if odd:
        log.warning("vox2 %s: %d file(s) not at <speaker>/<video>/<clip> left out, e.g. %s",
                    label, len(odd), odd[0])
    order = ("train", "valid", "test", "official_test")
    return [writers[name].close() for name in sorted(writers, key=order.index)]


def prepare(root, cfg, output):
    root = check_root("vox2", root, TREE)
    dev, test = _aac_dir(root, "dev"), _aac_dir(root, "test")
    if dev is None and test is None:
        raise LayoutError("vox2", root, "no dev/aac/ or test/aac/ folder", TREE)
    valid_spk, test_spk = set(as_list(cfg["valid_speakers"])), set(as_list(cfg["test_speakers"]))
    if valid_spk & test_spk:
        raise ConfigError(f"valid_speakers and test_speakers share "
                          f"{', '.join(sorted(valid_spk & test_spk))}")
    summaries = []
    if dev is not None:
        if not (valid_spk and test_spk):
            log.warning("vox2: no valid_speakers/test_speakers configured; everything goes to "
                        "train (the paper's split is in conf/corpora/vox2.yaml)")
        check_listed(sorted(valid_spk | test_spk), list_dirs(dev), "speaker(s)",
                     os.path.relpath(dev, root) + "/")

        def route(spk):
            return "valid" if spk in valid_spk else "test" if spk in test_spk else "train"
        summaries += _stream(dev, route, output, "dev")
    if test is not None:
        summaries += _stream(test, lambda spk: "official_test", output, "test")
    if not summaries:
        raise LayoutError("vox2", root, "no <speaker>/<video>/<clip>.m4a files found", TREE)
    return summaries
