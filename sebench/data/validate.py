"""``sebench data validate``: check a data dir and list every problem, not just the first.

Without ``--no-audio`` every listed file's header is opened: unreadable, empty, truncated
(a WAV whose data is shorter than its header says), multi-channel (commands read mono unless
told which channel), a rate other than ``--fs`` (or, without it, a rate most files do not
have), lengths that disagree with ``utt2num_samples``/``utt2fs`` and ``wav.scp``/``clean.scp``
pairs of different lengths are problems.
``--samples`` also reads every sample once (cached, see :mod:`sebench.data.scan`):
NaN/inf samples and data that cannot be decoded to its end are problems, digital silence a
warning.
"""
import os
from collections import Counter
from dataclasses import dataclass, field

from sebench.audio.io import audio_info, wav_truncation
from sebench.data.datadir import AUDIO_SCPS, DataDir, has_bom, parse_kv_lines, spk2utt_from_utt2spk
from sebench.data.scan import is_silent, problems, scan_paths
from sebench.errors import AudioError, SebenchError
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
    try:
        lines = parse_kv_lines(path)
    except SebenchError as e:
        report.problems.append(str(e).replace(str(path), name, 1))
        return None
    if has_bom(path):
        report.warnings.append(f"{name}: starts with a UTF-8 byte-order mark (sebench ignores it; "
                               "Kaldi tools do not: `sebench data fix` removes it)")
    for no, key, value in lines:
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


def validate(path, check_audio=True, fs=None, samples=False):
    """Return a :class:`Report`; ``check_audio`` opens every listed audio file's header,
    ``fs`` is the rate every file must have, ``samples`` reads every sample (cached)."""
    ddir = DataDir(path)
    report = Report(str(ddir.path))
    if not ddir.path.is_dir():
        report.problems.append("data dir not found")
        return report
    if not ddir.has("wav.scp"):
        report.problems.append("wav.scp is missing (it defines the utterances)")
        return report
    maps = {name: _check_file_syntax(ddir.file(name), report) for name in ddir.files()}
    maps = {name: m for name, m in maps.items() if m is not None}     # unreadable: reported
    if "wav.scp" not in maps:
        return report
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
    if check_audio or samples:
        _check_audio(maps, keys, report, fs, samples)
    return report


def _header_facts(path):
    """What the header reveals, in the form of :func:`sebench.data.scan.scan_file`."""
    try:
        fs, frames, channels = audio_info(path)
    except AudioError as e:
        return {"error": e.problem}
    if frames == 0:
        return {"error": "empty audio (0 samples)"}
    cut = wav_truncation(path)
    truncated = (f"truncated: the header declares {cut[0]} bytes of audio, the file holds "
                 f"{cut[1]}") if cut else None
    return {"fs": fs, "frames": frames, "channels": channels, "nonfinite": 0,
            "first_nonfinite": None, "peak": None, "truncated": truncated}


def _check_audio(maps, keys, report, fs=None, samples=False):
    scps = [n for n in AUDIO_SCPS if n in maps]
    relative = [n for n in scps if any(not v.endswith("|") and not os.path.isabs(v)
                                       for v in maps[n].values())]
    for name in relative:
        report.warnings.append(f"{name}: relative paths (absolute paths keep the dir usable "
                               "from any working directory)")
    scanned = scan_paths([maps[n][k] for n in scps for k in keys if k in maps[n]],
                         desc="validate samples") if samples else {}
    bad_files, silent, wav_rates, unequal = 0, [], {}, []
    for key in progress(sorted(keys), desc="validate", unit="utt", leave=False):
        rates, frames = {}, {}
        for name in scps:
            if key not in maps[name]:
                continue
            path = maps[name][key]
            facts = scanned[path] if samples else _header_facts(path)
            reasons = problems(facts, fs, None, "--data.channel/--channel")
            if reasons:
                bad_files += 1
                if bad_files <= 50:
                    report.problems.append(f"{name}: {key}: {path}: {'; '.join(reasons)}")
            if facts is None or facts.get("error"):
                continue
            if samples and is_silent(facts):
                silent.append(key)
            rates[name], frames[name] = facts["fs"], facts["frames"]
            if name == "wav.scp":
                wav_rates[key] = facts["fs"]
                _compare(maps, "utt2num_samples", key, facts["frames"], report)
                _compare(maps, "utt2fs", key, facts["fs"], report)
        if len(set(rates.values())) > 1:
            report.problems.append(f"{key}: sample rates disagree across scp files: "
                                   + ", ".join(f"{n}={r}" for n, r in rates.items()))
        elif "clean.scp" in frames and "wav.scp" in frames \
                and frames["clean.scp"] != frames["wav.scp"]:
            unequal.append(f"{key} (wav.scp {frames['wav.scp']}, clean.scp "
                           f"{frames['clean.scp']} samples)")
    if bad_files > 50:
        report.problems.append(f"... and {bad_files - 50} more audio entries with problems")
    if unequal:     # a pair must line up sample for sample (losses, intrusive metrics)
        report.problems.append(f"{len(unequal)} wav.scp/clean.scp pair(s) differ in length, "
                               f"e.g. {unequal[0]}")
    counts = Counter(wav_rates.values())
    if fs is None and len(counts) > 1:     # without --fs, the rate most files have is the norm
        usual = counts.most_common(1)[0][0]
        odd = ", ".join(f"{r} Hz: {n} (e.g. {min(k for k, v in wav_rates.items() if v == r)!r})"
                        for r, n in sorted(counts.items()) if r != usual)
        report.problems.append(f"wav.scp: mixed sample rates: {counts[usual]} file(s) at {usual} "
                               f"Hz, {odd}; resample, or check with --fs")
    if silent:
        report.warnings.append(f"wav.scp: {len(silent)} utterance(s) are digital silence, "
                               f"e.g. {silent[0]!r}")


def _compare(maps, name, key, actual, report):
    if name in maps and key in maps[name]:
        try:
            listed = int(float(maps[name][key]))
        except ValueError:
            return
        if listed != actual:
            report.problems.append(f"{name}: {key}: lists {listed} but wav.scp audio has {actual}")
