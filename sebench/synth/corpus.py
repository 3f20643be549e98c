"""``sebench synth-corpus``: the self-contained corpus, built offline and deterministically.

Speakers are espeak-ng English voices combined with voice variants; each speaker has its
own base speaking rate and pitch, jittered per utterance. Train, valid and test speakers are
disjoint. Noise files of every type are generated separately per split. Item ``i`` (an
utterance or a noise file) depends only on (seed, i), so the corpus shards like simulation.
"""
import os

import numpy as np

from sebench.audio.io import peak_normalize, write
from sebench.audio.levels import active_level_db
from sebench.audio.resample import resample
from sebench.errors import ConfigError
from sebench.simulate.seeding import item_rng
from sebench.synth import noise as noisegen
from sebench.synth.espeak import ENGLISH_VOICES, VARIANTS, synthesize
from sebench.synth.text import sentence

SPLITS = ("train", "valid", "test")
DEFAULTS = {
    "fs": 16000,
    "seed": 0,
    "speakers": {"train": 8, "valid": 2, "test": 2},
    "utts_per_speaker": {"train": 10, "valid": 4, "test": 4},
    "voices": list(ENGLISH_VOICES),
    "variants": list(VARIANTS),
    "rate_wpm": [135, 195],       # a speaker's base rate; utterances jitter it by ±8 %
    "pitch": [25, 75],            # espeak pitch 0-99, per speaker; ±6 per utterance
    "pitch_range": [30, 80],
    "speech_level_db": -26.0,     # P.56 active level of every clean utterance (dBov)
    "noise_types": list(noisegen.TYPES),
    "noise_per_type": {"train": 2, "valid": 1, "test": 1},
    "noise_seconds": 8.0,
}


def _speaker_table(cfg):
    """All (voice, variant) speakers, shuffled by the seed and dealt out to the splits."""
    pool = [(v, var) for v in cfg["voices"] for var in cfg["variants"]]
    order = item_rng(cfg["seed"], 0, "speakers").permutation(len(pool))
    need = sum(int(cfg["speakers"][s]) for s in SPLITS)
    if need > len(pool):
        raise ConfigError(f"synth-corpus: {need} speakers requested but only {len(pool)} "
                          "voice/variant combinations exist")
    table, start = [], 0
    for split in SPLITS:
        for j in range(int(cfg["speakers"][split])):
            voice, variant = pool[order[start + j]]
            rng = item_rng(cfg["seed"], start + j, "speaker-traits")
            table.append({"split": split, "speaker": f"{voice}_{variant}", "voice": voice,
                          "variant": variant, "rate": rng.uniform(*cfg["rate_wpm"]),
                          "pitch": rng.uniform(*cfg["pitch"]),
                          "range": rng.uniform(*cfg["pitch_range"])})
        start += int(cfg["speakers"][split])
    return table


class CorpusBuilder:
    def __init__(self, cfg, out):
        self.cfg, self.out, self.fs = cfg, out, int(cfg["fs"])
        self.items = []
        for spk in _speaker_table(cfg):
            for n in range(int(cfg["utts_per_speaker"][spk["split"]])):
                self.items.append(("speech", spk, n))
        for split in SPLITS:
            for kind in cfg["noise_types"]:
                if kind not in noisegen.TYPES:
                    raise ConfigError(f"unknown noise type {kind!r}; known: "
                                      f"{', '.join(noisegen.TYPES)}")
                for n in range(int(cfg["noise_per_type"][split])):
                    self.items.append(("noise", {"split": split, "type": kind}, n))

    def speak(self, rng, voice, variant, rate, pitch, pitch_range, text):
        audio, rate_in = synthesize(text, f"{voice}+{variant}", int(round(rate)),
                                    int(round(pitch)), int(round(pitch_range)),
                                    seed=int(rng.integers(1, 2 ** 31 - 1)))
        return resample(audio, rate_in, self.fs).astype(np.float64)

    def make(self, index):
        kind, info, n = self.items[index]
        rng = item_rng(self.cfg["seed"], index, "item")
        if kind == "speech":
            return self._speech(rng, info, n)
        return self._noise(rng, info, n)

    def _speech(self, rng, spk, n):
        text = sentence(rng)
        rate = spk["rate"] * rng.uniform(0.92, 1.08)
        pitch = float(np.clip(spk["pitch"] + rng.uniform(-6, 6), 0, 99))
        audio = self.speak(rng, spk["voice"], spk["variant"], rate, pitch, spk["range"], text)
        level = active_level_db(audio, self.fs)
        audio = audio * 10 ** ((self.cfg["speech_level_db"] - level) / 20)
        audio, _ = peak_normalize(audio)
        utt = f"{spk['speaker']}-{n:04d}"
        path = os.path.join(self.out, "clean", spk["split"], spk["speaker"], utt + ".wav")
        write(path, audio.astype(np.float32), self.fs)
        return {"kind": "speech", "split": spk["split"], "key": utt, "speaker": spk["speaker"],
                "path": path, "text": text, "num_samples": len(audio)}

    def _babble_talker(self, rng):
        voice = self.cfg["voices"][int(rng.integers(len(self.cfg["voices"])))]
        variant = self.cfg["variants"][int(rng.integers(len(self.cfg["variants"])))]
        return self.speak(rng, voice, variant, rng.uniform(*self.cfg["rate_wpm"]),
                          rng.uniform(*self.cfg["pitch"]), rng.uniform(*self.cfg["pitch_range"]),
                          sentence(rng))

    def _noise(self, rng, info, n):
        num = int(round(float(self.cfg["noise_seconds"]) * self.fs))
        audio = noisegen.generate(info["type"], rng, num, self.fs, speech_fn=self._babble_talker)
        audio, _ = peak_normalize(audio)
        key = f"{info['type']}-{info['split']}{n:02d}"
        path = os.path.join(self.out, "noise", info["split"], info["type"], key + ".wav")
        write(path, audio.astype(np.float32), self.fs)
        return {"kind": "noise", "split": info["split"], "key": key, "speaker": info["type"],
                "path": path, "text": "", "num_samples": num}


def write_data_dirs(rows, out, fs):
    """data/clean_<split> (wav.scp, utt2spk, text) and data/noise_<split> (wav.scp, utt2category)."""
    from sebench.data.datadir import DataDir
    summary = {}
    for split in SPLITS:
        for kind, name in (("speech", f"clean_{split}"), ("noise", f"noise_{split}")):
            sel = [r for r in rows if r["kind"] == kind and r["split"] == split]
            if not sel:
                continue
            ddir = DataDir(os.path.join(out, "data", name))
            ddir.write("wav.scp", {r["key"]: r["path"] for r in sel})
            ddir.write("utt2num_samples", {r["key"]: str(r["num_samples"]) for r in sel})
            if kind == "speech":
                ddir.write_utt2spk({r["key"]: r["speaker"] for r in sel})
                ddir.write("text", {r["key"]: r["text"] for r in sel})
            else:
                ddir.write_utt2spk({r["key"]: r["key"] for r in sel})
                ddir.write("utt2category", {r["key"]: r["speaker"] for r in sel})
            summary[name] = {"files": len(sel),
                             "minutes": round(sum(r["num_samples"] for r in sel) / fs / 60, 2),
                             "speakers": len({r["speaker"] for r in sel})}
    return summary
