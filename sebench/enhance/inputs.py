"""What `sebench enhance` accepts: files, folders (recursive), globs, scp files, data dirs.

Each input becomes (key, source path, output relative path): folders keep their tree under
the output folder, single files and scp/data-dir entries are written as ``<key>.wav``.
"""
import glob
import os
from dataclasses import dataclass

from sebench.audio.io import is_audio_file
from sebench.data.datadir import DataDir, read_kv
from sebench.data.folder import key_of, list_audio
from sebench.errors import SebenchError


@dataclass(frozen=True)
class Item:
    key: str
    path: str
    rel: str


def _from_folder(root):
    return [Item(key_of(rel), os.path.join(os.path.abspath(root), rel),
                 os.path.splitext(rel)[0] + ".wav") for rel in list_audio(root)]


def resolve_inputs(specs):
    items = []
    for spec in specs:
        if os.path.isdir(spec):
            if DataDir(spec).has("wav.scp"):
                items += [Item(k, v, k + ".wav") for k, v in DataDir(spec).read("wav.scp").items()]
            else:
                found = _from_folder(spec)
                if not found:
                    raise SebenchError(f"{spec}: folder holds no audio files")
                items += found
        elif os.path.isfile(spec):
            if is_audio_file(spec):
                stem = os.path.splitext(os.path.basename(spec))[0]
                items.append(Item(key_of(stem), os.path.abspath(spec), stem + ".wav"))
            else:   # an scp file: key path
                items += [Item(k, v, k + ".wav") for k, v in read_kv(spec).items()]
        elif any(c in spec for c in "*?["):
            matches = sorted(p for p in glob.glob(spec, recursive=True) if is_audio_file(p))
            if not matches:
                raise SebenchError(f"{spec}: the pattern matches no audio files")
            for p in matches:
                stem = os.path.splitext(os.path.basename(p))[0]
                items.append(Item(key_of(stem), os.path.abspath(p), stem + ".wav"))
        else:
            raise SebenchError(f"{spec}: no such file, folder or pattern")
    seen = {}
    for it in items:
        if it.rel in seen and seen[it.rel] != it.path:
            raise SebenchError(f"two inputs would write the same output {it.rel}: "
                               f"{seen[it.rel]} and {it.path}")
        seen[it.rel] = it.path
    unique = {it.rel: it for it in items}
    return [unique[r] for r in sorted(unique)]
