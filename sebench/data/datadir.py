"""Kaldi-style data directories.

A data dir is a folder of ``key value`` text files, sorted with LC_ALL=C (byte order,
which for UTF-8 equals Python's code-point order) and with unique keys:

- ``wav.scp``: the input audio (noisy or real recordings); it defines the utterance set
- ``clean.scp`` (dry clean reference), ``clean_rev.scp`` (reverberant clean), ``noise.scp``
- ``utt2spk`` / ``spk2utt``, ``utt2num_samples``, ``utt2fs``, ``utt2mos`` and any ``utt2<name>``

Values are the rest of the line, so Kaldi pipe entries (``cmd ... |``) survive.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

from sebench.errors import SebenchError
from sebench.utils.fileio import atomic_write_text

AUDIO_SCPS = ("wav.scp", "clean.scp", "clean_rev.scp", "noise.scp")
#: short names used by the Python API: utt["wav"], utt["clean"], ...
SCP_FIELDS = {name[:-4]: name for name in AUDIO_SCPS}


class DataDirError(SebenchError):
    pass


BOM = "\ufeff"


def read_text(path):
    """A Kaldi text file as a string: UTF-8, with a leading byte-order mark dropped.

    Windows editors add the (invisible) mark; kept, it would become part of the first key
    and surface as a key no other file has. It is dropped rather than refused because it can
    never be meant as content; ``data validate`` warns and ``data fix`` rewrites the file
    without it, for Kaldi's own tools, which do not drop it.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataDirError(f"{path}: cannot read ({e.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = data[e.start:e.start + 1]
        raise DataDirError(f"{path}: not UTF-8 text (byte {e.start} is {bad!r}); "
                           "save it as UTF-8") from None
    return text[1:] if text.startswith(BOM) else text


def has_bom(path):
    with open(path, "rb") as f:
        return f.read(3) == BOM.encode("utf-8")


def parse_kv_lines(path, text=None):
    """Parse a ``key value`` file into a list of (line_no, key, value); no checks beyond syntax."""
    if text is None:
        text = read_text(path)
    entries = []
    for no, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        entries.append((no, parts[0], parts[1].strip() if len(parts) > 1 else None))
    return entries


def read_kv(path):
    """Read a ``key value`` file into a dict (file order), raising on syntax errors or duplicates."""
    if not os.path.isfile(path):
        raise DataDirError(f"{path}: file not found")
    out = {}
    for no, key, value in parse_kv_lines(path):
        if value is None:
            raise DataDirError(f"{path}:{no}: line has a key ({key!r}) but no value")
        if key in out:
            raise DataDirError(f"{path}:{no}: duplicate key {key!r}")
        out[key] = value
    return out


def read_list(path):
    """First word of every non-empty line (speaker or key lists)."""
    return [line.split()[0] for line in read_text(path).splitlines() if line.strip()]


def format_kv(mapping):
    """Sorted (LC_ALL=C) ``key value`` lines; keys must be non-empty and whitespace-free."""
    lines = []
    for key in sorted(mapping):
        if not key or any(c.isspace() for c in key):
            raise DataDirError(f"invalid key {key!r}: keys must be non-empty without whitespace")
        value = mapping[key]
        if isinstance(value, (list, tuple)):
            value = " ".join(str(v) for v in value)
        lines.append(f"{key} {value}")
    return "".join(line + "\n" for line in lines)


def write_kv(path, mapping):
    atomic_write_text(path, format_kv(mapping))


def spk2utt_from_utt2spk(utt2spk):
    spk2utt = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    return spk2utt


@dataclass
class Utterance:
    """One utterance of a data dir: ``utt["wav"]``, ``utt["clean"]``, ``utt.spk``, ``utt.meta``."""
    key: str
    paths: dict = field(default_factory=dict)
    spk: str = None
    meta: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.paths[name]

    def get(self, name, default=None):
        return self.paths.get(name, default)


class DataDir:
    """Read, write and iterate a Kaldi-style data directory."""

    def __init__(self, path):
        self.path = Path(os.path.abspath(path))
        self._cache = {}

    def __repr__(self):
        return f"DataDir({str(self.path)!r})"

    # -- files -------------------------------------------------------------------------
    def file(self, name):
        return self.path / name

    def has(self, name):
        return self.file(name).is_file()

    def files(self):
        """Every ``key value`` file present (scp files and utt2*/spk2* maps)."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir()
                      if p.is_file() and (p.name.endswith(".scp") or p.name.startswith(("utt2", "spk2"))))

    def audio_files(self):
        return [name for name in AUDIO_SCPS if self.has(name)]

    def read(self, name):
        if name not in self._cache:
            self._cache[name] = read_kv(self.file(name))
        return dict(self._cache[name])

    def read_float(self, name):
        out = {}
        for key, value in self.read(name).items():
            try:
                out[key] = float(value)
            except ValueError:
                raise DataDirError(f"{self.file(name)}: value {value!r} of {key!r} is not a number") from None
        return out

    def write(self, name, mapping):
        self.path.mkdir(parents=True, exist_ok=True)
        write_kv(self.file(name), mapping)
        self._cache.pop(name, None)

    def write_utt2spk(self, utt2spk):
        """utt2spk and the spk2utt derived from it, always together."""
        self.write("utt2spk", utt2spk)
        self.write("spk2utt", spk2utt_from_utt2spk(utt2spk))

    # -- contents ----------------------------------------------------------------------
    def exists(self):
        return self.has("wav.scp")

    def require(self):
        if not self.path.is_dir():
            raise DataDirError(f"{self.path}: data dir not found")
        if not self.has("wav.scp"):
            raise DataDirError(f"{self.path}: not a data dir (no wav.scp)")
        return self

    @property
    def keys(self):
        return sorted(self.read("wav.scp"))

    def __len__(self):
        return len(self.read("wav.scp"))

    def utt2spk(self):
        if self.has("utt2spk"):
            return self.read("utt2spk")
        return {k: k for k in self.keys}  # Kaldi's convention when speakers are unknown

    def utterances(self):
        """Iterate :class:`Utterance` records in key order."""
        self.require()
        scps = {SCP_FIELDS_REV[name]: self.read(name) for name in self.audio_files()}
        utt2spk = self.utt2spk()
        metas = {name[4:]: self.read(name) for name in self.files()
                 if name.startswith("utt2") and name != "utt2spk"}
        for key in self.keys:
            paths = {field_: m[key] for field_, m in scps.items() if key in m}
            meta = {name: m[key] for name, m in metas.items() if key in m}
            yield Utterance(key, paths, utt2spk.get(key), meta)

    __iter__ = utterances

    def copy_to(self, out, keys=None):
        """Write this data dir's files restricted to ``keys`` (default: all) into ``out``."""
        out = DataDir(out)
        keyset = set(self.keys if keys is None else keys)
        for name in self.files():
            if name == "spk2utt":
                continue
            mapping = {k: v for k, v in self.read(name).items() if k in keyset}
            if name == "utt2spk":
                out.write_utt2spk(mapping)
            else:
                out.write(name, mapping)
        return out


SCP_FIELDS_REV = {v: k for k, v in SCP_FIELDS.items()}
