"""Whole-file audio checks, done once per file and cached.

A header says the rate, the channel count and the length, but not whether a sample is NaN
or the data was cut short: :func:`scan_paths` reads every file once (in blocks, so memory
stays small) and records its rate, channels, length, non-finite samples (how many, where the
first is), peak and truncation. Results are cached under ``<cache>/scan`` (see
:mod:`sebench.utils.cache`) keyed by the file's absolute path, size and modification time,
so a rerun, a resume or another data dir listing the same files does not read them again.
Kaldi pipe entries (``cmd |``) are not scanned (their content is only known when run).

``sebench train`` checks every training and validation file this way before the first step
(:func:`training_check`), and ``sebench data validate --samples`` reports the same problems.
"""
import hashlib
import json
import os

import numpy as np

from sebench.audio.io import audio_info, wav_truncation
from sebench.errors import AudioError, SebenchError
from sebench.utils.cache import cache_dir
from sebench.utils.fileio import atomic_write_text
from sebench.utils.log import get_logger, progress

log = get_logger("sebench.scan")

#: bump when the recorded fields or their meaning change (old entries are then ignored)
SCAN_VERSION = 1
#: shorter training files are refused: no STFT or crop makes sense of a few milliseconds
MIN_TRAIN_SECONDS = 0.1
_BLOCK = 1 << 18


def is_pipe(path):
    return str(path).strip().endswith("|")


def scan_file(path):
    """One file's facts: fs, frames, channels, nonfinite, first_nonfinite, peak, truncated,
    or ``error`` (a reason) when it cannot be read."""
    import soundfile as sf

    try:
        fs, frames, channels = audio_info(path)
    except AudioError as e:
        return {"error": e.problem}
    result = {"fs": fs, "frames": frames, "channels": channels, "nonfinite": 0,
              "first_nonfinite": None, "peak": 0.0, "truncated": None}
    cut = wav_truncation(path)
    if cut:
        result["truncated"] = (f"truncated: the header declares {cut[0]} bytes of audio, "
                               f"the file holds {cut[1]}")
    done = 0
    try:
        with sf.SoundFile(path) as f:
            while True:
                block = f.read(_BLOCK, dtype="float32", always_2d=True)
                if not len(block):
                    break
                finite = np.isfinite(block)
                if not finite.all():
                    rows = finite.all(axis=1)
                    if result["first_nonfinite"] is None:
                        result["first_nonfinite"] = done + int(np.argmin(rows))
                    result["nonfinite"] += int(block.size - np.count_nonzero(finite))
                    block = np.where(finite, block, 0.0)
                result["peak"] = max(result["peak"], float(np.max(np.abs(block))))
                done += len(block)
    except (sf.LibsndfileError, RuntimeError) as e:
        return dict(result, error=f"unreadable after {done} of {frames} samples ({e})")
    if done < frames and not result["truncated"]:
        result["truncated"] = f"truncated: holds {done} of the {frames} samples its header declares"
    if frames == 0:
        result["error"] = "empty audio (0 samples)"
    return result


def scan_paths(paths, desc="scan"):
    """``{path: facts}`` for every path (None for pipes), from the cache where still valid."""
    paths = sorted(set(paths))
    out, todo = {}, []
    stamps = {}
    for p in paths:
        if is_pipe(p):
            out[p] = None
            continue
        try:
            st = os.stat(p)
            stamps[p] = [st.st_size, st.st_mtime_ns]
        except OSError:
            out[p] = scan_file(p)       # not found / unreadable: says why, not cached
            continue
    cache = _Cache()
    for p, stamp in stamps.items():
        hit = cache.get(p, stamp)
        if hit is None:
            todo.append(p)
        else:
            out[p] = hit
    if todo:
        for p in progress(todo, desc=desc, unit="file"):
            out[p] = scan_file(p)
            cache.put(p, stamps[p], out[p])
        cache.save()
    return out


class _Cache:
    """``<cache>/scan/v<N>/<2 hex>.json`` shards: {abspath: [size, mtime_ns, facts]}."""

    def __init__(self):
        self.root = os.path.join(cache_dir("scan"), f"v{SCAN_VERSION}")
        self.shards, self.dirty = {}, set()

    def _shard(self, path):
        key = os.path.abspath(path).encode("utf-8", "surrogateescape")
        name = hashlib.sha1(key).hexdigest()[:2]
        if name not in self.shards:
            self.shards[name] = self._load(name)
        return name

    def _load(self, name):
        try:
            with open(os.path.join(self.root, name + ".json"), encoding="utf-8") as f:
                data = json.load(f)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, path, stamp):
        entry = self.shards[self._shard(path)].get(os.path.abspath(path))
        if entry and entry[:2] == stamp:
            return entry[2]
        return None

    def put(self, path, stamp, facts):
        name = self._shard(path)
        self.shards[name][os.path.abspath(path)] = stamp + [facts]
        self.dirty.add(name)

    def save(self):
        for name in sorted(self.dirty):
            merged = dict(self._load(name), **self.shards[name])   # keep what others added
            try:
                atomic_write_text(os.path.join(self.root, name + ".json"), json.dumps(merged))
            except (OSError, SebenchError) as e:   # a read-only cache only costs a rescan
                log.warning("scan cache not saved (%s); files will be read again next time", e)
                return
        self.dirty.clear()


def problems(facts, fs=None, channel=None, channel_option="channel"):
    """Why a scanned file cannot be used (a list of reasons; empty when fine). ``fs``: the
    rate required; ``channel``: what the command will select (None: mono required)."""
    if facts is None:
        return []
    if facts.get("error"):
        return [facts["error"]]
    out = []
    if facts["truncated"]:
        out.append(facts["truncated"])
    if facts["nonfinite"]:
        first = facts["first_nonfinite"] / facts["fs"]
        out.append(f"contains {facts['nonfinite']} non-finite (NaN/inf) samples, the first at "
                   f"{first:.3f} s")
    if fs is not None and facts["fs"] != fs:
        out.append(f"sample rate is {facts['fs']} Hz, expected {fs} Hz")
    n = facts["channels"]
    if n > 1 and channel is None:
        out.append(f"has {n} channels; select one with {channel_option} (0..{n - 1}) or 'mean'")
    elif isinstance(channel, int) and n > 1 and channel >= n:
        out.append(f"channel {channel} requested but the file has {n}")
    return out


def is_silent(facts):
    return bool(facts) and not facts.get("error") and facts["peak"] == 0.0


def training_check(data_dir, scps, keys, fs, channel=None, skip_bad=False):
    """Scan every file of ``scps`` (field -> {key: path}) for ``keys``; returns
    ``(usable keys, {key: frames of the first field}, {path: channels})``.

    A key is unusable when any of its files is (unreadable, truncated, NaN/inf, another rate,
    unselected channels, shorter than MIN_TRAIN_SECONDS) or its files differ in length. With ``skip_bad`` such keys are left
    out with a warning; otherwise one error names the first files and the way out.
    """
    paths = [scps[field][k] for field in scps for k in keys]
    facts = scan_paths(paths, desc=f"scan {os.path.basename(os.path.normpath(data_dir))}")
    bad, bad_keys, frames, channels, silent = [], set(), {}, {}, 0
    for key in keys:
        reasons, lengths = [], {}
        for field in scps:
            path = scps[field][key]
            f = facts.get(path)
            found = problems(f, fs, channel, "--data.channel")
            if not found and f and f["frames"] < MIN_TRAIN_SECONDS * f["fs"]:
                found = [f"too short: {f['frames'] / f['fs']:.3f} s (training needs at least "
                         f"{MIN_TRAIN_SECONDS} s)"]
            reasons += [f"{path}: {r}" for r in found]
            if f and not f.get("error"):
                lengths[field] = f["frames"]
                channels[path] = f["channels"]
                silent += field == "wav" and is_silent(f)
        if not reasons and len(set(lengths.values())) > 1:
            sizes = ", ".join(f"{field} {n}" for field, n in lengths.items())
            reasons.append(f"{key}: files differ in length ({sizes} samples)")
        if reasons:
            bad.append("; ".join(reasons))
            bad_keys.add(key)
        elif lengths:
            frames[key] = next(iter(lengths.values()))
    if silent:
        log.warning("%s: %d utterance(s) are digital silence", data_dir, silent)
    if not bad:
        return list(keys), frames, channels
    listing = "; ".join(bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
    if not skip_bad:
        raise SebenchError(f"{data_dir}: {len(bad)} of {len(keys)} utterance(s) unusable: "
                           f"{listing} (set --data.skip_bad true to leave them out; "
                           f"`sebench data validate --samples {data_dir}` lists every problem)")
    log.warning("%s: leaving out %d of %d utterance(s) (data.skip_bad): %s", data_dir, len(bad),
                len(keys), listing)
    return [k for k in keys if k not in bad_keys], frames, channels
