"""Data-dir operations: fix, subset, split, combine, info."""
import os
import random
import shutil
import time

from sebench.audio.io import audio_info
from sebench.data.datadir import DataDir, DataDirError, parse_kv_lines
from sebench.errors import AudioError
from sebench.utils.log import get_logger

log = get_logger("data")


def fix(path):
    """Sort every file, drop duplicate keys (first wins) and utterances missing from any file.

    The originals are kept in ``DIR/.backup/<timestamp>/``. Returns a dict of what changed.
    """
    ddir = DataDir(path).require()
    backup = ddir.path / ".backup" / time.strftime("%Y%m%d-%H%M%S")
    backup.mkdir(parents=True, exist_ok=True)
    maps, duplicates = {}, 0
    for name in ddir.files():
        shutil.copy2(ddir.file(name), backup / name)
        if name == "spk2utt":
            continue  # always regenerated from utt2spk
        mapping = {}
        for _, key, value in parse_kv_lines(ddir.file(name)):
            if value is None:
                continue
            if key in mapping:
                duplicates += 1
                continue
            mapping[key] = value
        maps[name] = mapping
    keys = set(maps["wav.scp"])
    for mapping in maps.values():
        keys &= set(mapping)
    dropped = sorted(set(maps["wav.scp"]) - keys)
    for name, mapping in maps.items():
        kept = {k: v for k, v in mapping.items() if k in keys}
        if name == "utt2spk":
            ddir.write_utt2spk(kept)
        else:
            ddir.write(name, kept)
    if dropped:
        log.warning("%s: dropped %d utterance(s) missing from some file, e.g. %s",
                    ddir.path, len(dropped), dropped[0])
    return {"kept": len(keys), "dropped": dropped, "duplicates": duplicates, "backup": str(backup)}


def subset(src, out, first=None, random_n=None, seed=0, speakers=None, keys=None):
    """Copy a subset of ``src`` into ``out``: exactly one selection criterion."""
    ddir = DataDir(src).require()
    chosen = [c for c in (first, random_n, speakers, keys) if c is not None]
    if len(chosen) != 1:
        raise DataDirError("subset: give exactly one of --first, --random, --spk-list, --utt-list")
    all_keys = ddir.keys
    if first is not None:
        selected = all_keys[:first]
    elif random_n is not None:
        if random_n > len(all_keys):
            raise DataDirError(f"subset: asked for {random_n} random utterances, "
                               f"{ddir.path} has {len(all_keys)}")
        selected = sorted(random.Random(seed).sample(all_keys, random_n))
    elif speakers is not None:
        spk = set(speakers)
        utt2spk = ddir.utt2spk()
        selected = [k for k in all_keys if utt2spk.get(k) in spk]
    else:
        wanted = set(keys)
        missing = wanted - set(all_keys)
        if missing:
            log.warning("subset: %d requested key(s) not in %s, e.g. %s", len(missing), ddir.path,
                        sorted(missing)[0])
        selected = [k for k in all_keys if k in wanted]
    if not selected:
        raise DataDirError("subset: the selection is empty")
    ddir.copy_to(out, selected)
    return len(selected)


def split_keys(keys, num_shards):
    """Contiguous, balanced shards of a sorted key list (deterministic)."""
    keys = sorted(keys)
    n = len(keys)
    return [keys[i * n // num_shards:(i + 1) * n // num_shards] for i in range(num_shards)]


def split_speakers(utt2spk, num_shards):
    """Shards on speaker boundaries: whole speakers, contiguous in sorted order, sizes balanced."""
    by_spk = {}
    for utt in sorted(utt2spk):
        by_spk.setdefault(utt2spk[utt], []).append(utt)
    speakers = sorted(by_spk)
    if num_shards > len(speakers):
        raise DataDirError(f"cannot split {len(speakers)} speaker(s) into {num_shards} shards")
    total = len(utt2spk)
    shards, current, done = [], [], 0
    for i, spk in enumerate(speakers):
        current += by_spk[spk]
        done += len(by_spk[spk])
        remaining_shards = num_shards - len(shards) - 1
        remaining_spk = len(speakers) - i - 1
        target = total * (len(shards) + 1) / num_shards
        if remaining_shards > 0 and (done >= target or remaining_spk == remaining_shards):
            shards.append(current)
            current = []
    shards.append(current)
    return shards


def split(path, num_shards, per_speaker=False):
    """Write ``DIR/split<N>/<1..N>/`` (Kaldi's layout); reuses an up-to-date split."""
    ddir = DataDir(path).require()
    if num_shards < 1:
        raise DataDirError(f"split: number of shards must be >= 1, got {num_shards}")
    keys = ddir.keys
    if num_shards > len(keys):
        raise DataDirError(f"split: {ddir.path} has {len(keys)} utterance(s), "
                           f"cannot make {num_shards} shards")
    shards = (split_speakers(ddir.utt2spk(), num_shards) if per_speaker
              else split_keys(keys, num_shards))
    root = ddir.path / f"split{num_shards}{'spk' if per_speaker else ''}"
    stamp = root / ".source_mtime"
    mtime = str(max(os.path.getmtime(ddir.file(n)) for n in ddir.files()))
    if stamp.is_file() and stamp.read_text() == mtime:
        return [root / str(i + 1) for i in range(num_shards)]
    out = []
    for i, shard in enumerate(shards):
        out.append(ddir.copy_to(root / str(i + 1), shard).path)
    stamp.write_text(mtime)
    return out


def combine(out, sources):
    """Union of data dirs; a key present in two sources is an error (prefix keys first)."""
    dirs = [DataDir(s).require() for s in sources]
    merged, origin = {}, {}
    names = sorted(set().union(*(d.files() for d in dirs)) - {"spk2utt"})
    for d in dirs:
        for key in d.keys:
            if key in origin:
                raise DataDirError(f"combine: key {key!r} is in both {origin[key]} and {d.path}")
            origin[key] = d.path
        for name in names:
            if not d.has(name):
                if name != "wav.scp":
                    log.warning("combine: %s has no %s; its utterances will lack it", d.path, name)
                continue
            merged.setdefault(name, {}).update(d.read(name))
    outdir = DataDir(out)
    for name, mapping in merged.items():
        if name == "utt2spk":
            outdir.write_utt2spk(mapping)
        else:
            outdir.write(name, mapping)
    return len(origin)


def info(path):
    """Counts, hours, rates and speakers of a data dir (uses utt2num_samples/utt2fs if present)."""
    ddir = DataDir(path).require()
    keys = ddir.keys
    n2s = ddir.read("utt2num_samples") if ddir.has("utt2num_samples") else {}
    n2fs = ddir.read("utt2fs") if ddir.has("utt2fs") else {}
    wav = ddir.read("wav.scp")
    seconds, rates, unreadable = [], {}, 0
    for key in keys:
        try:
            if key in n2s and key in n2fs:
                frames, fs = int(n2s[key]), int(n2fs[key])
            else:
                fs, frames, _ = audio_info(wav[key])
        except (AudioError, ValueError):
            unreadable += 1
            continue
        seconds.append(frames / fs)
        rates[fs] = rates.get(fs, 0) + 1
    speakers = set(ddir.utt2spk().values()) if ddir.has("utt2spk") else set()
    total = sum(seconds)
    return {
        "path": str(ddir.path),
        "utterances": len(keys),
        "speakers": len(speakers),
        "hours": total / 3600.0,
        "mean_seconds": total / len(seconds) if seconds else 0.0,
        "min_seconds": min(seconds) if seconds else 0.0,
        "max_seconds": max(seconds) if seconds else 0.0,
        "sample_rates": {str(k): v for k, v in sorted(rates.items())},
        "files": ddir.files(),
        "unreadable": unreadable,
    }
