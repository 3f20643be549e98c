"""``sebench data validate``: check a data dir and list every problem, not just the first."""
import os
from dataclasses import dataclass, field

from sebench.audio.io import audio_info
from sebench.data.datadir import AUDIO_SCPS, DataDir, parse_kv_lines, spk2utt_from_utt2spk
from sebench.errors import AudioError
from sebench.utils.log import progress

NUMERIC_MAPS = ("utt2num_samples", "utt2fs")


@dataclass
class Report:
    path: str
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    num_utts: int = 0

    @property
    def ok(self):
        return not self.problems

    def format(self):
        lines = [f"{self.path}: {self.num_utts} utterances, "
                 f"{len(self.problems)} problem(s), {len(self.warnings)} warning(s)"]
        lines += [f"  ERROR   {p}" for p in self.problems]
        lines += [f"  WARNING {w}" for w in self.warnings]
        return "\n".join(lines)


def _check_file_syntax(path, report):
    """Syntax, LC_ALL=C order and key uniqueness of one file; returns its mapping."""
    name = os.path.basename(path)
    mapping, prev = {}, None
    sorted_reported = False
    for no, key, value in parse_kv_lines(path):
        if value is None:
            report.problems.append(f"{name}:{no}: key {key!r} has no value")
            continue
        if key in mapping:
            report.problems.append(f"{name}:{no}: duplicate key {key!r}")
            continue
        if prev is not None and key < prev and not sorted_reported:
            report.problems.append(f"{name}:{no}: not sorted (LC_ALL=C): {key!r} after {prev!r}; "
                                   "run `sebench data fix`")
            sorted_reported = True
        prev = key
        mapping[key] = value
    return mapping


def validate(path, check_audio=True):
    """Return a :class:`Report`; ``check_audio`` opens every listed audio file's header."""
    ddir = DataDir(path)
    report = Report(str(ddir.path))
    if not ddir.path.is_dir():
        report.problems.append("data dir not found")
        return report
    if not ddir.has("wav.scp"):
        report.problems.append("wav.scp is missing (it defines the utterances)")
        return report
    maps = {name: _check_file_syntax(ddir.file(name), report) for name in ddir.files()}
    keys = set(maps["wav.scp"])
    report.num_utts = len(keys)
    if not keys:
        report.problems.append("wav.scp is empty")
    for name, mapping in maps.items():
        if name in ("wav.scp", "spk2utt"):
            continue
        missing, extra = keys - set(mapping), set(mapping) - keys
        if missing:
            report.problems.append(f"{name}: {len(missing)} utterance(s) of wav.scp missing, "
                                   f"e.g. {sorted(missing)[0]!r}; run `sebench data fix`")
        if extra:
            report.problems.append(f"{name}: {len(extra)} key(s) not in wav.scp, "
                                   f"e.g. {sorted(extra)[0]!r}; run `sebench data fix`")
    if "utt2spk" in maps and "spk2utt" in maps:
        expected = {s: " ".join(u) for s, u in spk2utt_from_utt2spk(maps["utt2spk"]).items()}
        if expected != {s: " ".join(v.split()) for s, v in maps["spk2utt"].items()}:
            report.problems.append("spk2utt does not match utt2spk; run `sebench data fix`")
    elif "utt2spk" in maps:
        report.warnings.append("spk2utt is missing (derivable from utt2spk: `sebench data fix`)")
    for name in NUMERIC_MAPS + tuple(n for n in maps if n.startswith("utt2") and "mos" in n):
        for key, value in maps.get(name, {}).items():
            try:
                float(value)
            except ValueError:
                report.problems.append(f"{name}: value {value!r} of {key!r} is not a number")
                break
    if check_audio:
        _check_audio(maps, keys, report)
    return report


def _check_audio(maps, keys, report):
    scps = [n for n in AUDIO_SCPS if n in maps]
    relative = [n for n in scps if any(not v.endswith("|") and not os.path.isabs(v)
                                       for v in maps[n].values())]
    for name in relative:
        report.warnings.append(f"{name}: relative paths (absolute paths keep the dir usable "
                               "from any working directory)")
    bad_files = 0
    for key in progress(sorted(keys), desc="validate", unit="utt", leave=False):
        rates = {}
        for name in scps:
            if key not in maps[name]:
                continue
            try:
                fs, frames, _ = audio_info(maps[name][key])
            except AudioError as e:
                bad_files += 1
                if bad_files <= 50:
                    report.problems.append(f"{name}: {key}: {e}")
                continue
            rates[name] = fs
            if name == "wav.scp":
                _compare(maps, "utt2num_samples", key, frames, report)
                _compare(maps, "utt2fs", key, fs, report)
        if len(set(rates.values())) > 1:
            report.problems.append(f"{key}: sample rates disagree across scp files: "
                                   + ", ".join(f"{n}={r}" for n, r in rates.items()))
    if bad_files > 50:
        report.problems.append(f"... and {bad_files - 50} more unreadable audio entries")


def _compare(maps, name, key, actual, report):
    if name in maps and key in maps[name]:
        try:
            listed = int(float(maps[name][key]))
        except ValueError:
            return
        if listed != actual:
            report.problems.append(f"{name}: {key}: lists {listed} but wav.scp audio has {actual}")
