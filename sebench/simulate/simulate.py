"""``sebench simulate``: DNS-style mixtures from clean speech, noise and (optionally) RIRs.

Item ``i`` is planned from its own generator (seed, i), so shards reproduce a single job
exactly and adding options never reshuffles unrelated draws. Sources are streamed: one
utterance's clean speech, noise and RIR are in memory at a time.
"""
import os
import re

import numpy as np

from sebench.audio.io import audio_info, read, write
from sebench.audio.levels import peak_db, rms_db
from sebench.audio.resample import resample
from sebench.errors import AudioError, ConfigError, OutputError, SebenchError
from sebench.simulate.degrade import DEFAULTS as DEGRADE_DEFAULTS
from sebench.simulate.degrade import degrade
from sebench.simulate.mix import draw_noise_offset, fit_noise, mix
from sebench.simulate.seeding import draw_uniform, item_rng

DEFAULTS = {
    "fs": 16000,
    "num": None,                  # None: one mixture per clean utterance
    "seed": 0,
    "snr_range": [-5.0, 20.0],    # dB, continuous U[lo, hi] on active speech power
    "snrs": None,                 # a list, e.g. [0, 5, 10, 15, 20]: draw one of these instead
    "snr_reference": "active",    # active: P.56 active speech level | global: RMS over all
    "level_mode": "mixture_rms",  # mixture_rms (dBFS) | speech_active (P.56 dBov of dry speech)
    "level_range": [-38.0, -18.0],
    "reverb_prob": 0.5,           # used when --rir is given
    "segment": None,              # seconds: a random fixed-length crop (zero-padded if short)
    "clip_peak": 0.99,            # mixtures peaking above it are rescaled (all components)
    "dynamic_range_db": None,     # e.g. 40: white noise floor this far below the mixture peak
    "noise_loop": True,           # loop noise shorter than the speech (else an error)
    "noise_include": None,        # regex on noise keys: only these noises
    "noise_exclude": None,        # regex on noise keys: never these (keep types out of a set)
    "noise_labels": None,         # regex with named groups on noise keys: utt2<group> per item
                                  # (e.g. "^(?P<city>london|paris)" -> utt2city, for breakdowns)
    "channel": None,              # multi-channel sources: None refuses, an index or 'mean'
    "subtype": "PCM_16",          # PCM_16 or FLOAT (exact wav = clean_rev + noise on disk)
    "on_error": "fail",           # fail | skip unusable sources (listed in skipped.txt);
                                  # write errors stop either way
    "unpaired": False,            # real-like set: channel effects, only wav.scp written
    "degrade": DEGRADE_DEFAULTS,
    "utt_prefix": "",
}

#: segments drawn from one noise file before its silence counts as an unusable source
NOISE_REDRAWS = 20
AUDIO_KINDS = ("wav", "clean", "noise", "clean_rev")   # folders under the output dir
#: what a finished run indexes; wav.scp is written last, so it exists only when all did
INDEX_FILES = ("clean.scp", "noise.scp", "clean_rev.scp", "utt2spk", "spk2utt",
               "utt2num_samples", "utt2category", "meta.csv", "skipped.txt", "config.yaml",
               "wav.scp")
META_COLUMNS = ("utt", "speaker", "clean", "noise", "noise_offset", "snr_db", "snr_measured",
                "level_dbfs", "level_measured", "speech_gain", "noise_gain", "rir", "rt60",
                "clipped_rescaled", "segment_offset", "channel_effects", "num_samples")


def noise_labels(pattern, keys):
    """{key: {group: value}} of ``pattern``'s named groups on each noise key; a key that does
    not match is an error (its mixtures would have no label)."""
    regex = re.compile(pattern)
    if not regex.groupindex:
        raise ConfigError(f"noise_labels {pattern!r} has no named group, e.g. (?P<city>...)")
    out = {}
    for key in keys:
        m = regex.search(key)
        if not m or any(v is None for v in m.groupdict().values()):
            raise ConfigError(f"noise_labels {pattern!r} does not label noise file {key!r}")
        out[key] = m.groupdict()
    return out


class Sources:
    """Clean, noise and RIR lists (key -> path) with speakers and RIR metadata."""

    def __init__(self, clean, utt2spk, noise, rirs=None, rir_meta=None, cfg=None):
        cfg = cfg or DEFAULTS
        self.clean_keys = sorted(clean)
        self.clean, self.utt2spk = clean, utt2spk
        keys = sorted(noise)
        if cfg.get("noise_include"):
            keys = [k for k in keys if re.search(cfg["noise_include"], k)]
        if cfg.get("noise_exclude"):
            keys = [k for k in keys if not re.search(cfg["noise_exclude"], k)]
        if not keys:
            raise ConfigError("no noise file left after noise_include/noise_exclude")
        if cfg.get("noise_labels"):
            noise_labels(cfg["noise_labels"], keys)      # every kept noise must match
        if not self.clean_keys:
            raise ConfigError("no clean speech given")
        self.noise_keys, self.noise = keys, noise
        self.rir_keys = sorted(rirs) if rirs else []
        self.rirs, self.rir_meta = rirs or {}, rir_meta or {}


def _read_source(path, fs, channel, what):
    audio, rate = read(path, channel=channel)
    if rate != fs:  # documented handling: sources at another rate are resampled
        audio = resample(audio, rate, fs)
    if not np.any(audio):
        raise AudioError(path, f"{what} is digital silence")
    return audio.astype(np.float64)


def _utt_id(prefix, speaker, clean_key, index):
    base = clean_key if clean_key.startswith(speaker) else f"{speaker}-{clean_key}"
    return f"{prefix}{base}-{index:06d}"


class Simulator:
    def __init__(self, cfg, sources, out, frames_cache=None):
        """``frames_cache``: source lengths shared with other simulators of the same sources."""
        self.cfg, self.src, self.out = cfg, sources, out
        self.fs = int(cfg["fs"])
        n = len(sources.clean_keys)
        order_rng = item_rng(cfg["seed"], 0, "clean-order")
        self.order = order_rng.permutation(n) if cfg["num"] is not None else np.arange(n)
        self.num = int(cfg["num"]) if cfg["num"] is not None else n
        if cfg["on_error"] not in ("fail", "skip"):
            raise ConfigError(f"on_error must be fail or skip, got {cfg['on_error']!r}")
        self._frames_cache = {} if frames_cache is None else frames_cache

    def plan(self, index):
        """Every random draw of item ``index``, in a fixed order."""
        cfg, src = self.cfg, self.src
        rng = item_rng(cfg["seed"], index, "simulate")
        plan = {"clean": src.clean_keys[self.order[index % len(self.order)]],
                "noise": src.noise_keys[int(rng.integers(len(src.noise_keys)))],
                "snr_db": (float(draw_uniform(rng, {"choice": cfg["snrs"]})) if cfg["snrs"]
                           else draw_uniform(rng, cfg["snr_range"])),
                "level_db": draw_uniform(rng, cfg["level_range"]),
                "reverb": bool(src.rir_keys) and rng.random() < float(cfg["reverb_prob"]),
                "rir": src.rir_keys[int(rng.integers(len(src.rir_keys)))] if src.rir_keys else None,
                "rng": rng}
        if not plan["reverb"]:
            plan["rir"] = None
        return plan

    def make(self, index):
        try:
            return self._make(index)
        except OutputError:
            raise   # a full or read-only disk is no unusable source: never skipped
        except (SebenchError, OSError) as e:
            if self.cfg["on_error"] == "skip":
                return {"index": index, "skipped": str(e)}
            raise SebenchError(f"item {index}: {e} (--on_error skip leaves out the items whose "
                               "sources are unusable and lists them in skipped.txt)") from None

    def audio_path(self, kind, utt):
        return os.path.join(self.out, kind, utt + ".wav")

    def output_paths(self, index):
        """Every audio path item ``index`` may write (whether or not it did)."""
        key = self.src.clean_keys[self.order[index % len(self.order)]]
        utt = _utt_id(self.cfg["utt_prefix"], self.src.utt2spk.get(key, key), key, index)
        return [self.audio_path(kind, utt) for kind in AUDIO_KINDS]

    def _make(self, index):
        cfg = self.cfg
        row, signals = self.render(index)
        sub = cfg["subtype"]
        row["wav"] = self._write("wav", row["utt"], signals["wav"], sub)
        if not cfg["unpaired"]:
            row["clean_path"] = self._write("clean", row["utt"], signals["clean"], sub)
            row["noise_path"] = self._write("noise", row["utt"], signals["noise"], sub)
            if signals["clean_rev"] is not None:
                row["clean_rev"] = self._write("clean_rev", row["utt"], signals["clean_rev"], sub)
        return row

    def render(self, index):
        """Item ``index`` in memory: its meta row and signals {wav, clean, noise, clean_rev}
        (clean_rev None without reverb); what ``sebench simulate`` writes and what the
        trainer's on-the-fly streams (``sebench.train.onthefly``) feed the model."""
        cfg, src, fs = self.cfg, self.src, self.fs
        p = self.plan(index)
        rng = p["rng"]
        clean_path = src.clean[p["clean"]]
        clean, segment_offset = self._clean(clean_path, rng)
        noise_path = src.noise[p["noise"]]
        noise, noise_offset = self._noise(noise_path, len(clean), rng)
        rir, direct, rt60 = None, 0, ""
        if p["rir"]:
            rir_path = src.rirs[p["rir"]]
            rir, _ = read(rir_path, channel=0 if cfg["channel"] is None else cfg["channel"])
            meta = src.rir_meta.get(p["rir"], {})
            direct = int(meta["direct_index"]) if meta.get("direct_index") not in (None, "") \
                else int(np.argmax(np.abs(rir)))
            rt60 = meta.get("rt60", "")
        m = mix(clean, noise, fs, p["snr_db"], p["level_db"], cfg["level_mode"], rir=rir,
                direct_index=direct, clip_peak=float(cfg["clip_peak"]),
                dynamic_range_db=cfg["dynamic_range_db"], floor_rng=rng,
                snr_reference=cfg["snr_reference"])
        speaker = src.utt2spk.get(p["clean"], p["clean"])
        utt = _utt_id(cfg["utt_prefix"], speaker, p["clean"], index)
        row = {"index": index, "utt": utt, "speaker": speaker, "clean": clean_path,
               "noise": noise_path, "noise_offset": noise_offset,
               "snr_db": round(p["snr_db"], 3), "snr_measured": round(m.snr_db, 3),
               "level_dbfs": round(p["level_db"], 3), "level_measured": round(m.level_db, 3),
               "speech_gain": f"{m.speech_gain:.6g}", "noise_gain": f"{m.noise_gain:.6g}",
               "rir": p["rir"] or "", "rt60": rt60, "clipped_rescaled": int(m.clipped_rescaled),
               "segment_offset": segment_offset, "num_samples": len(m.mixture)}
        mixture = m.mixture
        if cfg["unpaired"]:
            mixture, row["channel_effects"] = self._degrade(mixture, p, rng, row)
        return row, {"wav": mixture, "clean": m.clean, "noise": m.noise,
                     "clean_rev": m.clean_rev}

    def _clean(self, path, rng):
        """The clean speech and its crop offset; with ``segment``, only the crop is read."""
        cfg, fs = self.cfg, self.fs
        if not cfg["segment"]:
            return _read_source(path, fs, cfg["channel"], "clean speech"), 0
        seg = int(round(float(cfg["segment"]) * fs))
        frames = self._frames(path, cache=False)
        if frames is not None and frames >= seg:
            state = rng.bit_generator.state
            offset = int(rng.integers(0, frames - seg + 1))
            clean = self._read_part(path, offset, seg)
            if clean is not None and np.any(clean):
                return clean, offset
            rng.bit_generator.state = state   # silent crop or short file: the full path below
        clean = _read_source(path, fs, cfg["channel"], "clean speech")
        segment_offset = 0
        if len(clean) >= seg:
            segment_offset = int(rng.integers(0, len(clean) - seg + 1))
            clean = clean[segment_offset:segment_offset + seg]
        else:
            clean = np.pad(clean, (0, seg - len(clean)))
        if not np.any(clean):  # a crop of pure silence carries no speech: take the start
            clean = _read_source(path, fs, cfg["channel"], "clean speech")[:seg]
            clean = np.pad(clean, (0, seg - len(clean)))
            segment_offset = 0
        return clean, segment_offset

    def _noise(self, path, length, rng):
        """The noise segment under the mixture and its offset; a noise file at the output
        rate and at least as long as the speech is read only there (DNS noise files run
        20-60 s for 3 s mixtures)."""
        cfg = self.cfg
        frames = self._frames(path, cache=True)
        if frames is not None and frames >= length:
            state = rng.bit_generator.state
            offset = draw_noise_offset(frames, length, rng)
            noise = self._read_part(path, offset, length)
            if noise is not None and np.any(noise):
                return noise, offset
            rng.bit_generator.state = state   # silent segment or short file: the full path
        noise_full = _read_source(path, self.fs, cfg["channel"], "noise")
        # real noise clips hold stretches of digital silence (ESC-50 pads its clips with
        # zeros): a silent segment is redrawn, the first draw unchanged for all other files
        for _ in range(NOISE_REDRAWS):
            try:
                noise, offset = fit_noise(noise_full, length, rng, loop=cfg["noise_loop"])
            except ConfigError as e:
                raise AudioError(path, str(e)) from None
            if np.any(noise):
                return noise, offset
        raise AudioError(path, f"noise is silent in {NOISE_REDRAWS} drawn segments of "
                               f"{length} samples")

    def _frames(self, path, cache):
        """Length of a seekable source already at the output rate, else None (read whole)."""
        if path in self._frames_cache:
            return self._frames_cache[path]
        frames = None
        if not str(path).rstrip().endswith("|"):    # Kaldi pipes cannot seek
            try:
                rate, num, _ = audio_info(path)
                frames = num if rate == self.fs and num > 0 else None
            except AudioError:
                frames = None                       # the full read reports it
        if cache:   # noise files are reused across mixtures; one entry per file, not per item
            self._frames_cache[path] = frames
        return frames

    def _read_part(self, path, start, length):
        """Samples [start, start + length) as float64, or None when that fails or the file
        holds fewer than its header says (the whole-file read then decides, and reports)."""
        try:
            audio, _ = read(path, channel=self.cfg["channel"], start=start, stop=start + length)
        except AudioError:
            return None
        return audio.astype(np.float64) if len(audio) == length else None

    def _degrade(self, mixture, plan, rng, row):
        """Channel effects, then back to the drawn level (rescaled if that would clip)."""
        cfg = self.cfg
        y, desc = degrade(mixture, self.fs, rng, dict(DEGRADE_DEFAULTS, **(cfg["degrade"] or {})))
        y = y * 10 ** ((plan["level_db"] - rms_db(y)) / 20)
        if peak_db(y) > 20 * np.log10(cfg["clip_peak"]):
            y = y * cfg["clip_peak"] / np.max(np.abs(y))
            row["clipped_rescaled"] = 1
        row["level_measured"] = round(rms_db(y), 3)
        return y, desc

    def _write(self, kind, utt, audio, subtype):
        path = self.audio_path(kind, utt)
        audio = np.asarray(audio, dtype=np.float32)
        if subtype.startswith("PCM") and np.max(np.abs(audio)) > 1.0:
            # a component (the noise, say) may exceed full scale where the mixture does not,
            # since speech and noise partly cancel; keep it exact rather than clip it
            subtype = "FLOAT"
        write(path, audio, self.fs, subtype=subtype, sync=False)  # one sync per shard
        return path


def load_rirs(rir_dir):
    """rir.scp (or a folder of wavs) and rir_meta.csv when present."""
    from sebench.data.sources import audio_map
    from sebench.simulate.tables import read_csv
    if rir_dir is None:
        return None, None
    scp = os.path.join(rir_dir, "rir.scp")
    rirs = audio_map(scp if os.path.isfile(scp) else rir_dir, "rir")
    if not rirs:
        raise SebenchError(f"--rir {rir_dir}: no RIRs found")
    meta_path = os.path.join(rir_dir, "rir_meta.csv")
    meta = {r["id"]: r for r in read_csv(meta_path)} if os.path.isfile(meta_path) else {}
    for key in list(rirs)[:1]:
        audio_info(rirs[key])  # fail early, naming the file, if the RIRs are unreadable
    return rirs, meta
