"""Scores against the field's reference implementations, on the real recordings in ../shared/data.

Prints: the composite measures (means of CSIG/CBAK/COVL/WSS) on the 24 VoiceBank-DEMAND
noisy/clean pairs with each PESQ term; composite.m's values on NOIZEUS sp09 pairs (8 kHz);
and the largest |sebench - speechmos| DNSMOS difference per clip length, for each windowing
(clips cut from the VBD noisy speech, and the 24 VBD clips as they are).
Run: .venv/bin/python bench/metric_parity.py   (~3 minutes on one core)
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
VBD = DATA / "vbd_test_subset"
NOIZEUS = DATA / "noizeus"
SP09 = ("babble_10dB/sp09_babble_sn10", "street_0dB/sp09_street_sn0", "car_5dB/sp09_car_sn5")
CLIP_SECONDS = (3, 9.5, 10, 12, 20)


def vbd_pairs():
    return [(p, VBD / "noisy" / p.name) for p in sorted((VBD / "clean").glob("*.wav"))
            if (VBD / "noisy" / p.name).exists()]


def composite_figures():
    from sebench.metrics.composite import PESQ_TERMS, composite
    pairs = vbd_pairs()
    for term in PESQ_TERMS:
        rows = [composite(sf.read(c)[0], sf.read(n)[0], 16000, pesq_term=term) for c, n in pairs]
        means = {k: np.mean([r[k] for r in rows]) for k in ("csig", "cbak", "covl", "wss")}
        print(f"VBD {len(pairs)} pairs, composite_pesq={term}: " +
              " ".join(f"{k.upper()} {v:.4f}" for k, v in means.items()))
    clean, fs = sf.read(NOIZEUS / "clean" / "sp09.wav")
    for condition in SP09:
        r = composite(clean, sf.read(NOIZEUS / "noisy" / f"{condition}.wav")[0], fs)
        print(f"NOIZEUS sp09 vs {condition.split('/')[1]} (8 kHz, raw P.862 {r['pesq']:.4f}): "
              + " ".join(f"{k.upper()} {r[k]:.6f}" for k in ("csig", "cbak", "covl", "wss")))


def dnsmos_figures():
    from speechmos import dnsmos as official

    from sebench.metrics.dnsmos import DNSMOS, WINDOW_MODES
    ours = DNSMOS(threads=1)
    speech = np.concatenate([sf.read(n, dtype="float32")[0] for _, n in vbd_pairs()])
    clips = {f"{s} s": [speech[o:o + int(s * 16000)] for o in (0, 200000, 500000)]
             for s in CLIP_SECONDS}
    clips["VBD clips as they are"] = [sf.read(n, dtype="float32")[0] for _, n in vbd_pairs()]
    for name, audio in clips.items():
        refs = [official.run(a.astype(np.float64), 16000) for a in audio]
        for mode in WINDOW_MODES:
            worst = {k: 0.0 for k in ("p808", "sig", "bak", "ovrl")}
            for a, ref in zip(audio, refs):
                mine = ours(a, 16000, windows=mode)
                for k in worst:
                    worst[k] = max(worst[k], abs(mine[k] - ref[f"{k}_mos"]))
            print(f"DNSMOS {name} ({len(audio)} clips), windows={mode}: max |diff| vs speechmos "
                  + " ".join(f"{k} {v:.1e}" for k, v in worst.items()), flush=True)


def main():
    if not DATA.is_dir():
        sys.exit(f"{DATA} not found")
    composite_figures()
    dnsmos_figures()


if __name__ == "__main__":
    main()
