"""Enhance a list of inputs with one enhancer: skip finished outputs, resample to the model
rate and back, group equally long files into batches, peak-normalise and write atomically.

``enhance_items`` is one job's work (the CLI shards the inputs across jobs); it returns one
row per input (``done``, ``skipped``, ``failed`` with the reason, or ``not_attempted`` after a
full or read-only disk stopped the job), so one bad file never sinks the others.
"""
import os
import time
from dataclasses import dataclass

import numpy as np

from sebench.audio.io import audio_info, peak_normalize, read, write
from sebench.audio.resample import resample
from sebench.errors import OutputError, SebenchError
from sebench.utils.log import progress


@dataclass
class OutputOptions:
    out: str
    keep_rate: bool = False
    channel: object = "all"       # "all", "mean" or a channel index
    batch_size: int = 4
    force: bool = False
    references: dict = None       # key -> clean reference path, for oracle enhancers


def channel_option(text):
    return text if text in ("all", "mean") else int(text)


def _todo(items, opts, rows):
    todo = []
    for it in items:
        out = os.path.join(opts.out, it.rel)
        if os.path.isfile(out) and not opts.force:
            rows.append({"key": it.key, "out": out, "status": "skipped"})
            continue
        try:
            rate, frames, _ = audio_info(it.path)
            todo.append((frames / rate, it, out))
        except SebenchError as e:
            rows.append({"key": it.key, "out": out, "status": "failed", "error": str(e)})
    return sorted(todo, key=lambda t: t[0])


def _groups(todo, engine, batch_size):
    """Batches of files of identical duration: zero padding would change what recurrent
    models see, and the output must not depend on how files happened to be grouped."""
    i = 0
    while i < len(todo):
        seconds = todo[i][0]
        group = [todo[i]]
        if engine.chunk is None or seconds * engine.fs <= engine.chunk:
            while (i + len(group) < len(todo) and len(group) < batch_size
                   and todo[i + len(group)][0] == seconds):
                group.append(todo[i + len(group)])
        i += len(group)
        yield group


def _read_at(path, fs, channel):
    audio, rate = read(path, channel="all" if channel == "all" else channel)
    audio = audio.T if audio.ndim == 2 else audio[None, :]      # (channels, samples)
    if rate != fs:
        audio = np.stack([resample(ch, rate, fs) for ch in audio])
    return audio, rate


def _reference(it, audio, fs, opts):
    """The clean reference of ``it``, shaped as its (resampled) input."""
    path = (opts.references or {}).get(it.key)
    if path is None:
        raise SebenchError(f"{it.path}: no clean reference for '{it.key}' in --ref")
    ref, _ = _read_at(path, fs, opts.channel)
    if ref.shape != audio.shape:
        raise SebenchError(f"{path}: the clean reference is {ref.shape[-1]} samples x "
                           f"{ref.shape[0]} channel(s), its input {it.path} "
                           f"{audio.shape[-1]} x {audio.shape[0]}")
    return ref


def enhance_items(items, engine, opts):
    """``engine``: an ``enhance.engine.Enhancer``; ``items``: ``enhance.inputs.Item`` list."""
    fs = engine.fs
    rows = []
    todo = _todo(items, opts, rows)
    references = {}

    def load(it):
        audio, rate = _read_at(it.path, fs, opts.channel)
        if engine.needs_reference:
            references[it.key] = _reference(it, audio, fs, opts)
        return audio, rate

    def save(audio, rate, it, out, seconds, elapsed):
        if rate != fs and not opts.keep_rate:
            audio = np.stack([resample(ch, fs, rate) for ch in audio])
        else:
            rate = fs
        audio, gain = peak_normalize(audio)
        write(out, audio.T if audio.shape[0] > 1 else audio[0], rate)
        rows.append({"key": it.key, "out": os.path.abspath(out), "status": "done",
                     "seconds": seconds, "elapsed": elapsed, "rescaled": gain != 1.0})

    bar = progress(total=len(todo), desc="enhance", unit="file")
    done_items = 0
    # one file at a time with a reference (oracles are cheap; no padded references)
    batch_size = 1 if engine.needs_reference else opts.batch_size
    for group in _groups(todo, engine, batch_size):
        done_items += len(group)
        stop = _enhance_group(group, engine, load, save, rows, references)
        bar.update(len(group))
        if stop:    # disk full or read-only: every later write would fail the same way
            rows += [{"key": it.key, "out": out, "status": "not_attempted"}
                     for _, it, out in todo[done_items:]]
            break
    bar.close()
    return rows


def _enhance_group(group, engine, load, save, rows, references):
    """Enhance and write one batch; failures become rows. Returns the OutputError that
    should stop the job (a full or read-only disk), else None."""
    loaded = []
    for sec, it, out in group:
        try:
            loaded.append((load(it), sec, it, out))
        except SebenchError as e:
            rows.append({"key": it.key, "out": out, "status": "failed", "error": str(e)})
    if not loaded:
        return None
    t0 = time.perf_counter()
    try:
        if len(loaded) == 1:
            outs = [engine.enhance(loaded[0][0][0], references.pop(loaded[0][2].key, None))]
        else:
            longest = max(a.shape[-1] for (a, _), *_ in loaded)
            padded = [np.pad(a, ((0, 0), (0, longest - a.shape[-1]))) for (a, _), *_ in loaded]
            outs = [o[:, :a.shape[-1]] for o, ((a, _), *_) in
                    zip(engine.enhance_many(padded), loaded)]
    except SebenchError as e:    # e.g. too short for the model: these files fail, not all
        rows += [{"key": it.key, "out": out, "status": "failed", "error": f"{it.path}: {e}"}
                 for _, _, it, out in loaded]
        return None
    elapsed = (time.perf_counter() - t0) / len(loaded)
    stop = None
    for o, ((_, rate), sec, it, out) in zip(outs, loaded):
        try:
            save(o, rate, it, out, sec, elapsed)
        except OutputError as e:     # this file fails; the batch goes on
            rows.append({"key": it.key, "out": out, "status": "failed", "error": str(e)})
            stop = stop or (e if e.stops_batch else None)
    return stop
