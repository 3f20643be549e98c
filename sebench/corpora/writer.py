"""Writing prepared data dirs: streamed, checked, and swapped into place whole.

A :class:`SetWriter` appends ``key value`` lines to one temporary file per data-dir file as
utterances arrive (so a million-utterance set never sits in memory), then on ``close()``
sorts any file that did not arrive in ``LC_ALL=C`` order, rejects duplicate keys, derives
``spk2utt`` and renames the finished folder onto the data dir. A killed run leaves the old
data dir (or none) and a hidden temporary folder, never a half-written data dir, and a rerun
writes the same bytes.

Audio fields follow :class:`sebench.data.datadir.DataDir`: ``wav``, ``clean``, ``clean_rev``
and ``noise`` go to ``<name>.scp``; metadata ``{x: value}`` goes to ``utt2x``.
"""
import os
import shutil
from dataclasses import dataclass, field

from sebench.data.datadir import SCP_FIELDS, spk2utt_from_utt2spk
from sebench.errors import AudioError, SebenchError
from sebench.utils.log import get_logger, progress

log = get_logger("corpora")


@dataclass
class Utt:
    """One utterance before it is written: key, speaker, audio paths, metadata."""
    key: str
    spk: str = None
    scps: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


@dataclass
class SetSummary:
    """What one prepared data dir holds."""
    name: str
    path: str
    utterances: int = 0
    speakers: int = 0
    seconds: float = None          # None when durations were not read (m4a, or --durations false)
    skipped: int = 0               # unreadable audio headers, left out
    files: list = field(default_factory=list)
    unit: str = "utterances"

    def line(self):
        speakers = f", {self.speakers} speakers" if self.unit == "utterances" else ""
        hours = f", {self.seconds / 3600:.3f} h" if self.seconds is not None else ""
        skipped = (f", {self.skipped} unreadable or truncated file(s) left out" if self.skipped
                   else "")
        return f"{self.path}: {self.utterances} {self.unit}{speakers}{hours}{skipped}"


def _remove_leftovers(parent, name):
    """Temporary folders of earlier runs of this set that were killed (their process is gone)."""
    for entry in os.listdir(parent):
        for tag in (f".{name}.tmp-", f".{name}.old-"):
            pid = entry[len(tag):] if entry.startswith(tag) else ""
            if pid.isdigit() and not _alive(int(pid)):
                path = os.path.join(parent, entry)
                shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)


def _alive(pid):
    if pid == os.getpid():
        return False  # our own leftover (an earlier writer of this set in this process)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Stream:
    """One temporary ``key value`` file, appended in arrival order."""

    def __init__(self, path):
        self.path = path
        self.handle = open(path, "w", encoding="utf-8")
        self.count = 0
        self.last = None
        self.in_order = True

    def write(self, key, value):
        if self.last is not None and key <= self.last:
            self.in_order = False
        self.last = key
        self.handle.write(f"{key} {value}\n")
        self.count += 1

    def finish(self, set_name):
        """Close, sort when needed, and fail on a duplicate key."""
        self.handle.close()
        if self.in_order:
            return  # strictly increasing keys: sorted, no duplicates
        with open(self.path, encoding="utf-8") as f:
            lines = f.readlines()
        lines.sort(key=lambda line: line.split(" ", 1)[0])
        previous = None
        for line in lines:
            key = line.split(" ", 1)[0]
            if key == previous:
                raise SebenchError(f"set {set_name}: two files map to the key {key!r}")
            previous = key
        with open(self.path, "w", encoding="utf-8") as f:
            f.writelines(lines)


class SetWriter:
    """Stream one data dir: ``add(key, spk, {"snr": 5}, wav=..., clean=...)``, then ``close()``."""

    def __init__(self, path, probe=False, header_cache=None):
        self.path = os.path.abspath(path)
        self.name = os.path.basename(self.path)
        self.probe = probe
        # path -> (fs, frames) or the error: sets that share files read each header once
        self.header_cache = {} if header_cache is None else header_cache
        parent = os.path.dirname(self.path)
        os.makedirs(parent, exist_ok=True)
        _remove_leftovers(parent, self.name)
        self.tmp = os.path.join(parent, f".{self.name}.tmp-{os.getpid()}")
        os.makedirs(self.tmp)
        self.streams = {}
        self.count = 0
        self.seconds = 0.0
        self.skipped = []

    def add(self, key, spk=None, meta=None, **scps):
        """One utterance: audio paths by SCP field (``wav`` required, ``clean``, ``clean_rev``,
        ``noise``), the speaker (default: the key itself, Kaldi's convention) and ``meta``
        ``{name: value}`` written to ``utt2<name>``. Returns False when the audio header was
        unreadable and the utterance left out."""
        if not key or any(c.isspace() for c in key):
            raise SebenchError(f"set {self.name}: invalid key {key!r} (empty or with whitespace)")
        if not scps.get("wav"):
            raise SebenchError(f"set {self.name}: utterance {key!r} has no wav path")
        unknown = set(scps) - set(SCP_FIELDS)
        if unknown:
            raise SebenchError(f"set {self.name}: unknown audio field(s) {sorted(unknown)}")
        files = {SCP_FIELDS[name]: path for name, path in scps.items() if path is not None}
        files.update({f"utt2{name}": value for name, value in (meta or {}).items()
                      if value is not None})
        if self.probe:
            header = self._header(scps["wav"])
            if isinstance(header, str):
                self.skipped.append(header)
                return False
            fs, frames = header
            files["utt2num_samples"], files["utt2fs"] = frames, fs
            self.seconds += frames / fs
        files["utt2spk"] = spk or key
        for name, value in files.items():
            text = str(value)
            if "\n" in text or not text.strip():
                raise SebenchError(f"set {self.name}: {name} of {key!r} is empty or multi-line")
            stream = self.streams.get(name)
            if stream is None:
                stream = self.streams[name] = _Stream(os.path.join(self.tmp, name))
            stream.write(key, text)
        self.count += 1
        return True

    def _header(self, path):
        if path not in self.header_cache:
            from sebench.audio.io import audio_info, check_complete
            try:
                fs, frames, _ = audio_info(path)
                check_complete(path)    # a cut WAV's header would list audio it does not hold
                self.header_cache[path] = (fs, frames)
            except AudioError as e:
                self.header_cache[path] = str(e)
        return self.header_cache[path]

    def close(self):
        """Finish every file and swap the data dir into place; returns a :class:`SetSummary`."""
        try:
            return self._close()
        except BaseException:
            self.abort()
            raise

    def _close(self):
        if self.skipped:
            log.warning("%s: %d unreadable or truncated file(s) left out, e.g. %s",
                        self.name, len(self.skipped), self.skipped[0])
        if not self.count:
            raise SebenchError(f"set {self.name}: no utterances found")
        for name, stream in self.streams.items():
            stream.finish(self.name)
            if stream.count != self.count:
                if name.endswith(".scp"):
                    raise SebenchError(f"set {self.name}: {name} has {stream.count} of "
                                       f"{self.count} utterances")
                log.warning("%s: %s known for %d of %d utterances; not written", self.name,
                            name, stream.count, self.count)
                os.unlink(stream.path)
        utt2spk = {}
        with open(os.path.join(self.tmp, "utt2spk"), encoding="utf-8") as f:
            for line in f:
                key, spk = line.rstrip("\n").split(" ", 1)
                utt2spk[key] = spk
        spk2utt = spk2utt_from_utt2spk(utt2spk)
        with open(os.path.join(self.tmp, "spk2utt"), "w", encoding="utf-8") as f:
            f.writelines(f"{spk} {' '.join(utts)}\n" for spk, utts in sorted(spk2utt.items()))
        files = sorted(os.listdir(self.tmp))
        self._swap()
        return SetSummary(self.name, self.path, self.count, len(spk2utt),
                          self.seconds if self.probe else None, len(self.skipped), files)

    def _swap(self):
        old = None
        if os.path.lexists(self.path):
            old = os.path.join(os.path.dirname(self.path), f".{self.name}.old-{os.getpid()}")
            os.rename(self.path, old)
        os.rename(self.tmp, self.path)
        if old:
            shutil.rmtree(old, ignore_errors=True) if os.path.isdir(old) else os.unlink(old)

    def abort(self):
        for stream in self.streams.values():
            if not stream.handle.closed:
                stream.handle.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_sets(out, sets, probe=False, prefix="", header_cache=None):
    """Write several in-memory sets: ``{name: [Utt, ...]}`` -> summaries."""
    summaries = []
    header_cache = {} if header_cache is None else header_cache
    for name, utts in sets.items():
        writer = SetWriter(os.path.join(out, prefix + name), probe=probe,
                           header_cache=header_cache)
        quiet = len(utts) < 5000 or os.environ.get("SEBENCH_NO_PROGRESS") == "1"
        try:
            for utt in progress(utts, desc=name, unit="utt", disable=quiet):
                writer.add(utt.key, utt.spk, utt.meta, **utt.scps)
        except BaseException:
            writer.abort()
            raise
        summaries.append(writer.close())
    return summaries
