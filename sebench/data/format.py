"""``sebench data format``: a data dir whose audio is at one sample rate in a readable format.

The recipe's stage 2 (ESPnet's ``format_wav_scp.sh``). Every audio field of the source
(``wav.scp``, ``clean.scp``, ``clean_rev.scp``, ``noise.scp``) is checked per utterance:

- a mono WAV/FLAC file already at the target rate is kept where it is (no copy);
- anything else (another rate, a compressed format such as AAC ``.m4a`` decoded by PyAV,
  a Kaldi pipe, a channel to select) is decoded, resampled with soxr and written under
  ``DST/audio/<field>/<key>.<wav|flac>`` (16-bit; float WAV for the rare file whose
  resampled peak exceeds full scale, so that paired files are never clipped or rescaled
  differently).

Keys, ``utt2spk`` and every other ``utt2*``/``spk2*`` file carry over (restricted to the
utterances that formatted), other files are copied as they are, and ``utt2num_samples``,
``utt2dur`` and ``utt2fs`` are written for ``wav.scp``. With ``derive_noise``, ``noise.scp``
is written as wav - clean (float WAV), e.g. for BSS-eval SIR on a corpus that ships only
noisy/clean pairs. A rerun keeps finished outputs; an utterance whose audio is unusable
(unreadable, truncated: a WAV shorter than its header, a FLAC kept as it is that does not
decode to its end) is listed in ``DST/skipped.txt`` and left out with a warning, and a run
where every utterance fails is an error. A write error (full, read-only or failing disk)
stops the run: it says nothing about the source.
"""
import os
import shutil

import numpy as np

from sebench.audio import decode
from sebench.audio.io import audio_info, check_complete, read, write
from sebench.audio.resample import resample
from sebench.data.datadir import AUDIO_SCPS, DataDir, SCP_FIELDS_REV
from sebench.errors import AudioError, ConfigError, OutputError, SebenchError
from sebench.utils.log import get_logger

log = get_logger("sebench.format")

DEFAULTS = {
    "fs": 16000,
    "audio_format": "wav",    # wav | flac, for the files that are rewritten
    "channel": None,          # None: a multi-channel file is an error; an index or "mean"
    "copy": False,            # rewrite even the files usable as they are
    "derive_noise": False,    # noise.scp = wav - clean
    "force": False,           # rewrite outputs that exist
    "nj": 1,
    "cmd": "run.pl",
}
#: written from the formatted audio, never copied from the source
REGENERATED = ("utt2num_samples", "utt2dur", "utt2fs")
#: files the format stage writes itself
OWN_FILES = ("skipped.txt", "format.yaml")
#: libsndfile major formats read fast enough to keep in place
KEPT_FORMATS = ("WAV", "WAVEX", "FLAC", "RF64")
NOISE_FIELD = "noise"


def _safe_name(key):
    return key.replace(os.sep, "%2F")


class Formatter:
    """Formats utterance ``i`` of ``src`` into ``dst`` (item-wise, so it shards)."""

    def __init__(self, src, dst, cfg):
        self.cfg = cfg
        if cfg["audio_format"] not in ("wav", "flac"):
            raise ConfigError(f"audio_format: wav or flac, got {cfg['audio_format']!r}")
        self.src = DataDir(src).require()
        self.dst = DataDir(dst)
        if self.src.path == self.dst.path:
            raise ConfigError(f"{dst}: the output must differ from the source data dir")
        self.fs = int(cfg["fs"])
        self.keys = self.src.keys
        self.scps = {SCP_FIELDS_REV[name]: self.src.read(name) for name in self.src.audio_files()}
        self.derive_noise = bool(cfg["derive_noise"])
        if self.derive_noise and NOISE_FIELD in self.scps:
            raise ConfigError(f"{self.src.path} already has noise.scp; drop --derive-noise")
        if self.derive_noise and "clean" not in self.scps:   # e.g. a real set in a recipe
            log.warning("%s has no clean.scp: no noise to derive", self.src.path)
            self.derive_noise = False

    @property
    def num(self):
        return len(self.keys)

    def _out(self, field, key, ext):
        return str(self.dst.path / "audio" / field / f"{_safe_name(key)}.{ext}")

    def _usable_as_is(self, path):
        """Frames of a mono WAV/FLAC plain file at the target rate, else None."""
        if self.cfg["copy"] or path.strip().endswith("|") or decode.needs_av(path):
            return None
        import soundfile as sf
        try:
            info = sf.info(path)
        except (sf.LibsndfileError, RuntimeError, TypeError, OSError):
            return None
        if info.format in KEPT_FORMATS and info.samplerate == self.fs and info.channels == 1:
            # a file kept as it is is never decoded here: a cut FLAC would fail only in training
            check_complete(path, info.frames if info.format == "FLAC" else None)
            return info.frames
        return None

    def _existing(self, field, key):
        if self.cfg["force"]:
            return None
        for ext in dict.fromkeys((self.cfg["audio_format"], "wav")):
            out = self._out(field, key, ext)
            if os.path.isfile(out):
                return out
        return None

    def _write(self, field, key, audio):
        """16-bit in the configured format; float WAV when the peak exceeds full scale."""
        if np.max(np.abs(audio)) > 1.0:
            out = self._out(field, key, "wav")
            write(out, audio, self.fs, subtype="FLOAT")
            return out, True
        out = self._out(field, key, self.cfg["audio_format"])
        write(out, audio, self.fs)
        return out, False

    def _format_one(self, field, key, path):
        """(output path, frames, how) for one audio file."""
        done = self._existing(field, key)
        if done:
            return done, audio_info(done)[1], "existing"
        check_complete(path)    # a cut WAV would otherwise convert silently shorter
        frames = self._usable_as_is(path)
        if frames is not None:
            return path, frames, "kept"
        audio, rate = read(path, channel=self.cfg["channel"])
        audio = resample(audio, rate, self.fs)
        out, as_float = self._write(field, key, audio)
        return out, audio.shape[0], "float" if as_float else "converted"

    def _derive_noise(self, key, wav, clean):
        done = self._existing(NOISE_FIELD, key)
        if done:
            return done, "existing"
        noisy, _ = read(wav, fs=self.fs)
        ref, _ = read(clean, fs=self.fs)
        if noisy.shape != ref.shape:
            raise AudioError(wav, f"{noisy.shape[0]} samples but its clean reference has "
                                  f"{ref.shape[0]}; cannot derive noise = wav - clean")
        out = self._out(NOISE_FIELD, key, "wav")
        write(out, noisy - ref, self.fs, subtype="FLOAT")   # may exceed full scale
        return out, "derived"

    def make(self, index):
        key = self.keys[index]
        row = {"index": index, "key": key, "paths": {}, "how": {}}
        try:
            for field, scp in self.scps.items():
                if key in scp:
                    out, frames, how = self._format_one(field, key, scp[key])
                    row["paths"][field], row["how"][field] = out, how
                    if field == "wav":
                        row["num_samples"] = frames
            if self.derive_noise and "clean" in row["paths"]:
                row["paths"][NOISE_FIELD], row["how"][NOISE_FIELD] = self._derive_noise(
                    key, row["paths"]["wav"], row["paths"]["clean"])
        except OutputError:
            raise   # a full or read-only disk stops the run; only unusable sources are skipped
        except SebenchError as e:
            row["error"] = str(e)
        return row

    def finish(self, rows):
        """Write the data dir from the items' rows; returns counts of what was done."""
        failed = [r for r in rows if "error" in r]
        rows = [r for r in rows if "error" not in r]
        if not rows:
            raise SebenchError(f"{self.src.path}: no utterance could be formatted; first: "
                               f"{failed[0]['error'] if failed else 'the data dir is empty'}")
        keys = {r["key"] for r in rows}
        fields = sorted({f for r in rows for f in r["paths"]})
        for field in fields:
            self.dst.write(f"{field}.scp", {r["key"]: r["paths"][field] for r in rows
                                            if field in r["paths"]})
        self.dst.write("utt2num_samples", {r["key"]: str(r["num_samples"]) for r in rows})
        self.dst.write("utt2dur", {r["key"]: f"{r['num_samples'] / self.fs:.4f}" for r in rows})
        self.dst.write("utt2fs", {r["key"]: str(self.fs) for r in rows})
        self._copy_metadata(keys)
        skipped = self.dst.path / "skipped.txt"
        if failed:
            from sebench.utils.fileio import atomic_write_text
            atomic_write_text(skipped, "".join(f"{r['key']} {r['error']}\n" for r in failed))
        elif skipped.exists():
            skipped.unlink()
        counts = {"utterances": len(rows), "failed": len(failed)}
        for r in rows:
            for how in r["how"].values():
                counts[how] = counts.get(how, 0) + 1
        return counts

    def _copy_metadata(self, keys):
        kv_files = set(self.src.files())
        for name in kv_files - set(AUDIO_SCPS) - set(REGENERATED) - {"spk2utt"}:
            mapping = {k: v for k, v in self.src.read(name).items() if k in keys}
            if name == "utt2spk":
                self.dst.write_utt2spk(mapping)
            else:
                self.dst.write(name, mapping)
        for entry in self.src.path.iterdir():
            if (entry.is_file() and entry.name not in kv_files and entry.name not in OWN_FILES
                    and not entry.name.startswith(".")):
                shutil.copy2(entry, self.dst.path / entry.name)


def format_data_dir(src, dst, cfg, args, command_line=None):
    """Run the format over every utterance, in-process or sharded through the runner
    (``args`` carries the hidden ``--shard/--rows-out`` of a shard job); returns the counts,
    or None inside a shard job."""
    from sebench import config as cfgmod
    from sebench.jobs import sebench_argv
    from sebench.jobs.shards import generate

    formatter = Formatter(src, dst, cfg)
    workdir = os.path.join(formatter.dst.path, "split")
    job_cfg = os.path.join(workdir, "config.yaml")
    if not getattr(args, "shard", None):
        cfgmod.save_config(dict(cfg, nj=1), job_cfg)      # what every shard job re-reads
    command = sebench_argv() + ["data", "format", str(formatter.src.path),
                                str(formatter.dst.path), "--config", job_cfg]
    rows = generate(formatter.make, formatter.num, args, cfg["nj"], cfg["cmd"], workdir,
                    command, "format", "format")
    if rows is None:
        return None
    counts = formatter.finish(rows)
    cfgmod.save_config(cfg, formatter.dst.path / "format.yaml", command=command_line)
    files = ", ".join(f"{n} {how}" for how, n in sorted(counts.items())
                      if how not in ("utterances", "failed"))
    log.info("%s: %d utterance(s) at %d Hz (files: %s)", formatter.dst.path,
             counts["utterances"], formatter.fs, files)
    if counts["failed"]:
        log.warning("%d failed of %d utterance(s) and were left out (reasons in %s/skipped.txt)",
                    counts["failed"], counts["failed"] + counts["utterances"], formatter.dst.path)
    if counts.get("float"):
        log.warning("%d file(s) exceeded full scale after resampling and were written as "
                    "float WAV", counts["float"])
    return counts
