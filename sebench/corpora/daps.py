"""DAPS, Device and Produced Speech (Mysore 2015): 20 speakers x 5 scripts, 44.1 kHz.

``clean/f1_script1_clean.wav`` ... (f1-f10, m1-m10; script1-script5) and the same recordings
replayed and re-recorded on consumer devices in real rooms, one folder per device/room
(``ipad_office1/f1_script1_ipad_office1.wav``; devices ipad, ipadflat, iphone). Paper 003
splits speakers *and* scripts three ways, disjoint and gender-balanced: a clean segment that
trains the clean autoencoder (CAE), a mixture segment for the mixture autoencoder (MAE) and a
test segment. The paper does not give the counts; ``conf/corpora/daps.yaml`` sets them (4/3/3
speakers per gender, 2/2/1 scripts by default) and the seed of the draw, or lists the
speakers and scripts outright.
"""
import os
import re

from sebench.corpora.layout import (LayoutError, check_root, find_dir, list_dirs, scan_files,
                                    stem, warn_left_out)
from sebench.corpora.splits import as_list, check_listed, draw_counts
from sebench.corpora.writer import Utt
from sebench.errors import ConfigError
from sebench.utils.log import get_logger

log = get_logger("corpora")

TITLE = "DAPS, Device and Produced Speech (Mysore 2015)"

TREE = """\
daps/                                  (--root)
├── clean/                             f1_script1_clean.wav ... m10_script5_clean.wav (44.1k)
├── ipad_office1/                      f1_script1_ipad_office1.wav ... (same speakers/scripts)
├── ipad_livingroom1/ ...              one folder per <device>_<room>: ipad_{office1,office2,
│                                      confroom1,confroom2,livingroom1,bedroom1,balcony1},
│                                      ipadflat_{office1,confroom1},
│                                      iphone_{livingroom1,bedroom1,balcony1}
├── cleanraw/, produced/               (not used)
└── supplementary_files/, sample/      (not used)
"""

SEGMENTS = ("cae", "mae", "test")

DEFAULTS = {
    "seed": 0,
    "speakers_per_gender": {"cae": 4, "mae": 3, "test": 3},
    "scripts_per_segment": {"cae": 2, "mae": 2, "test": 1},
    "speakers": None,
    "scripts": None,
    "devices": None,
}

HELP = {
    "seed": "seed of the speaker and script draws",
    "speakers_per_gender": "speakers of each gender drawn for each segment (cae, mae, test)",
    "scripts_per_segment": "scripts drawn for each segment",
    "speakers": "explicit speakers per segment, {cae: [f1, m1, ...], mae: [...], test: [...]} "
                "(overrides the draw)",
    "scripts": "explicit scripts per segment, {cae: [script1, ...], ...} (overrides the draw)",
    "devices": "regex on <device>_<room> folder names to keep (default: all)",
}

SETS = """\
cae_clean     clean/ recordings of the CAE segment (speakers x scripts)
mae_clean     clean/ recordings of the MAE segment (for simulated mixtures)
mae_device    device/room recordings of the MAE segment: wav.scp (device), clean.scp (paired
              clean/ file), utt2device, utt2room
test_clean    clean/ recordings of the test segment (for simulated test mixtures)
test_device   device/room recordings of the test segment, paired like mae_device
All sets: utt2spk (f1 ... m10), utt2script, utt2gender (f/m)."""

_CLEAN = re.compile(r"^([fm]\d+)_(script\d+)_clean$")
NOT_DEVICES = {"clean", "cleanraw", "produced", "sample", "supplementary_files"}


def _segments(cfg, found, key, per, label, grouped_by):
    """{segment: ids} from an explicit mapping or a seeded draw per group (gender or all)."""
    explicit = cfg[key]
    if explicit:
        if not isinstance(explicit, dict) or set(explicit) != set(SEGMENTS):
            raise ConfigError(f"{key} must map each of {', '.join(SEGMENTS)} to a list")
        chosen = {seg: sorted(as_list(explicit[seg])) for seg in SEGMENTS}
        for seg in SEGMENTS:
            check_listed(chosen[seg], found, f"{key}.{seg}", "clean/")
        flat = [x for seg in SEGMENTS for x in chosen[seg]]
        if len(flat) != len(set(flat)):
            raise ConfigError(f"{key}: the segments must be disjoint")
        return chosen
    counts = cfg[per]
    if not isinstance(counts, dict) or set(counts) != set(SEGMENTS):
        raise ConfigError(f"{per} must give a count for each of {', '.join(SEGMENTS)}")
    chosen = {seg: [] for seg in SEGMENTS}
    for group in sorted({grouped_by(x) for x in found}):
        members = [x for x in found if grouped_by(x) == group]
        drawn = draw_counts(members, counts, cfg["seed"], f"daps-{label}-{group}")
        for seg in SEGMENTS:
            chosen[seg] += drawn[seg]
    return {seg: sorted(ids) for seg, ids in chosen.items()}


def _check_device_folder(root, device_room):
    """Warn about the files of a device folder that no utterance can use (another name
    pattern, FLAC, sub-folders' files): they would otherwise vanish without a word."""
    pattern = re.compile(rf"^[fm]\d+_script\d+_{re.escape(device_room)}\.wav$")
    folder = os.path.join(root, device_room)
    odd = [rel for rel, _ in scan_files(folder, ("",)) if not pattern.match(rel)]
    warn_left_out("daps", folder, odd, f"are not <speaker>_<script>_{device_room}.wav; left out")


def prepare(root, cfg, output):
    root = check_root("daps", root, TREE)
    clean_dir = find_dir(root, "clean")
    if clean_dir is None:
        raise LayoutError("daps", root, "no clean/ folder", TREE)
    clean, odd = {}, []
    for rel, path in scan_files(clean_dir, ("",), recursive=False):   # every file: none silently
        m = _CLEAN.match(stem(rel)) if rel.lower().endswith(".wav") else None
        if m:
            clean[(m.group(1), m.group(2))] = path
        else:
            odd.append(rel)
    warn_left_out("daps", clean_dir, odd, "are not <speaker>_<script>_clean.wav; left out")
    if not clean:
        raise LayoutError("daps", root, "no <speaker>_<script>_clean.wav files in clean/", TREE)
    device_re = re.compile(cfg["devices"]) if cfg["devices"] else None
    devices = [d for d in list_dirs(root) if d not in NOT_DEVICES and "_" in d
               and (device_re is None or device_re.search(d))]
    for device_room in devices:
        _check_device_folder(root, device_room)
    speakers = sorted({spk for spk, _ in clean})
    scripts = sorted({script for _, script in clean})
    spk_seg = _segments(cfg, speakers, "speakers", "speakers_per_gender", "speakers",
                        lambda s: s[0])
    script_seg = _segments(cfg, scripts, "scripts", "scripts_per_segment", "scripts",
                           lambda s: "all")
    log.info("daps segments: %s", "; ".join(
        f"{seg}: {' '.join(spk_seg[seg])} / {' '.join(script_seg[seg])}" for seg in SEGMENTS))
    sets = {}
    for seg in SEGMENTS:
        members = [(spk, script) for spk in spk_seg[seg] for script in script_seg[seg]]
        missing = [f"{spk}_{script}" for spk, script in members if (spk, script) not in clean]
        if missing:
            log.warning("daps %s: %d clean recording(s) missing, e.g. %s", seg, len(missing),
                        missing[0])
        meta = {(spk, script): {"script": script, "gender": spk[0]} for spk, script in members}
        sets[f"{seg}_clean"] = [Utt(f"{spk}_{script}", spk, {"wav": clean[(spk, script)]},
                                    meta[(spk, script)])
                                for spk, script in members if (spk, script) in clean]
        if seg == "cae":
            continue
        device_utts = []
        for device_room in devices:
            device, room = device_room.split("_", 1)
            folder = os.path.join(root, device_room)
            for spk, script in members:
                path = os.path.join(folder, f"{spk}_{script}_{device_room}.wav")
                if (spk, script) in clean and os.path.isfile(path):
                    device_utts.append(Utt(f"{spk}_{script}_{device_room}", spk,
                                           {"wav": path, "clean": clean[(spk, script)]},
                                           dict(meta[(spk, script)], device=device, room=room)))
        sets[f"{seg}_device"] = device_utts
    if devices and not sets["test_device"]:
        log.warning("daps: no device recordings of the test segment in %s", ", ".join(devices))
    return output.write(sets)
