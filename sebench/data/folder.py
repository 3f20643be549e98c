"""``sebench data from-folder``: a data dir from any folder tree of wav/flac files.

Noisy and clean files are paired by relative path (extension ignored), or by file
name when that name is unique in the clean tree. The utterance key is the relative
path without extension, ``/`` replaced by ``-`` and whitespace by ``_``.
"""
import os
import re
from pathlib import Path

from sebench.audio.io import audio_info, is_audio_file
from sebench.data.datadir import DataDir, DataDirError
from sebench.errors import AudioError
from sebench.utils.log import get_logger

log = get_logger("data")


def list_audio(root):
    """Relative paths (POSIX, sorted) of every audio file below ``root``, recursively.

    Hidden files and folders (``.name``) are skipped: they are temporaries of interrupted
    writes (``.x.wav.ab12cd34.tmp.wav``), macOS ``._x.wav`` resource forks or tool state,
    never recordings meant to be listed.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataDirError(f"{root}: folder not found")
    found = []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in names:
            if is_audio_file(name) and not name.startswith("."):
                found.append((Path(folder) / name).relative_to(root).as_posix())
    return sorted(found)


def key_of(relpath):
    stem = os.path.splitext(relpath)[0]
    return re.sub(r"\s+", "_", stem.replace("/", "-"))


def speaker_of(relpath, key, spk_regex):
    """Speaker from ``spk_regex`` (first group, or the whole match) on the file name;
    without a regex, the parent folder (the key itself for files at the top)."""
    if spk_regex:
        m = re.search(spk_regex, os.path.basename(relpath))
        if not m:
            raise DataDirError(f"--spk-regex {spk_regex!r} does not match file {relpath!r}")
        return m.group(1) if m.groups() else m.group(0)
    parent = os.path.dirname(relpath)
    return parent.replace("/", "-") if parent else key


def pair_files(noisy_rel, clean_rel):
    """Map noisy relpath -> clean relpath, by relative stem, else by unique file stem."""
    by_stem = {os.path.splitext(c)[0]: c for c in clean_rel}
    by_name = {}
    for c in clean_rel:
        by_name.setdefault(os.path.splitext(os.path.basename(c))[0], []).append(c)
    pairs = {}
    for n in noisy_rel:
        stem = os.path.splitext(n)[0]
        if stem in by_stem:
            pairs[n] = by_stem[stem]
        else:
            cands = by_name.get(os.path.basename(stem), [])
            if len(cands) == 1:
                pairs[n] = cands[0]
    return pairs


def from_folder(noisy_dir, out_dir, clean_dir=None, spk_regex=None):
    """Build a data dir; returns a summary dict (paired, unpaired counts, rate mismatches)."""
    noisy_root = Path(os.path.abspath(noisy_dir))
    noisy_rel = list_audio(noisy_root)
    if not noisy_rel:
        raise DataDirError(f"{noisy_root}: no audio files (.wav, .flac, ...) found")
    clean_root = Path(os.path.abspath(clean_dir)) if clean_dir else None
    summary = {"noisy_files": len(noisy_rel)}
    if clean_root:
        clean_rel = list_audio(clean_root)
        pairs = pair_files(noisy_rel, clean_rel)
        summary.update(clean_files=len(clean_rel), paired=len(pairs),
                       noisy_without_clean=len(noisy_rel) - len(pairs),
                       clean_without_noisy=len(set(clean_rel) - set(pairs.values())))
        if not pairs:
            raise DataDirError(f"no noisy file in {noisy_root} has a clean partner in {clean_root} "
                               "(paired by relative path or unique file name)")
        if summary["noisy_without_clean"]:
            log.warning("%d noisy file(s) have no clean partner and are left out, e.g. %s",
                        summary["noisy_without_clean"], sorted(set(noisy_rel) - set(pairs))[0])
        selected = sorted(pairs)
    else:
        pairs, selected = {}, noisy_rel
    wav, clean, utt2spk, n2s, n2fs = {}, {}, {}, {}, {}
    mismatched = 0
    for rel in selected:
        key = key_of(rel)
        if key in wav:
            raise DataDirError(f"two files map to the same key {key!r} (e.g. {rel}); rename one")
        path = (noisy_root / rel).as_posix()
        try:
            fs, frames, _ = audio_info(path)
        except AudioError as e:
            log.warning("skipping unreadable file: %s", e)
            continue
        wav[key], n2s[key], n2fs[key] = path, frames, fs
        utt2spk[key] = speaker_of(rel, key, spk_regex)
        if rel in pairs:
            clean[key] = (clean_root / pairs[rel]).as_posix()
            try:
                if audio_info(clean[key])[0] != fs:
                    mismatched += 1
            except AudioError:
                pass  # `validate` reports it with the file name
    summary.update(utterances=len(wav), rate_mismatches=mismatched)
    out = DataDir(out_dir)
    out.write("wav.scp", wav)
    if clean:
        out.write("clean.scp", clean)
    out.write_utt2spk(utt2spk)
    out.write("utt2num_samples", n2s)
    out.write("utt2fs", n2fs)
    return summary
