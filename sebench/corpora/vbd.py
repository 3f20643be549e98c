"""VoiceBank-DEMAND (Valentini-Botinhao et al. 2016/2017), the Edinburgh DataShare release.

Noisy and clean files share their names (``p232_001.wav``, 48 kHz); the log files give each
utterance's noise type and SNR, one ``<utterance> <noise> <snr>`` line per file
(``p232_001 living 2.5``), which become ``utt2noise`` and ``utt2snr``. Validation follows either
paper: listed speakers (paper 000: p226 and p287, 770 utterances) or a seeded utterance split
(paper 004: 90/10).
"""
import os
import re

from sebench.corpora.layout import LayoutError, check_root, find_dir, scan_files, stem
from sebench.corpora.splits import as_list, check_listed, draw_fraction
from sebench.corpora.writer import Utt
from sebench.errors import ConfigError, SebenchError
from sebench.utils.log import get_logger

log = get_logger("corpora")

TITLE = "VoiceBank-DEMAND (Valentini-Botinhao 2016/2017)"

TREE = """\
VBD/                                   (--root)
├── clean_trainset_28spk_wav/          p226_001.wav ... (48 kHz)
├── noisy_trainset_28spk_wav/          same names
├── clean_trainset_56spk_wav/          (optional: --train-set 56spk)
├── noisy_trainset_56spk_wav/
├── clean_testset_wav/                 p232_001.wav ..., p257_*.wav
├── noisy_testset_wav/
└── logfiles/                          (or the log files directly in the root)
    ├── log_trainset_28spk.txt         one "<utterance> <noise> <snr>" line per file
    ├── log_trainset_56spk.txt
    └── log_testset.txt
"""

DEFAULTS = {
    "train_set": "28spk",
    "valid_split": "speakers",
    "valid_speakers": ["p226", "p287"],
    "valid_fraction": 0.1,
    "seed": 0,
}

HELP = {
    "train_set": "training set: 28spk or 56spk",
    "valid_split": "speakers (paper 000: valid_speakers), random (paper 004: a seeded "
                   "valid_fraction of the utterances) or none",
    "valid_speakers": "validation speakers for valid_split=speakers",
    "valid_fraction": "share of training utterances for valid_split=random",
    "seed": "seed of the random validation split",
}

SETS = """\
train_all   the whole noisy training set: wav.scp (noisy), clean.scp, utt2noise, utt2snr
train       train_all minus the validation utterances
valid       the validation utterances (valid_split)
test        the 824 test pairs: wav.scp (noisy), clean.scp, utt2noise, utt2snr"""

_SPK = re.compile(r"^(p\d+)_")


def read_log(path):
    """``{utterance: (noise, snr)}`` from a VBD log file; a malformed line is an error."""
    entries = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3:
                raise SebenchError(f"{path}:{no}: expected '<utterance> <noise> <snr>', got "
                                   f"{line.strip()!r}")
            try:
                snr = float(parts[2])
            except ValueError:
                raise SebenchError(f"{path}:{no}: SNR {parts[2]!r} is not a number") from None
            entries[stem(parts[0])] = (parts[1], snr)
    return entries


def _pairs(root, split, logs_dir):
    """Utts of every noisy file of a split that has a clean partner and a log line."""
    dirs = {}
    for kind in ("clean", "noisy"):
        dirs[kind] = find_dir(root, f"{kind}_{split}_wav")
        if dirs[kind] is None:
            raise LayoutError("vbd", root, f"no {kind}_{split}_wav/ folder", TREE)
    log_path = os.path.join(logs_dir, f"log_{split}.txt")
    if not os.path.isfile(log_path):
        raise LayoutError("vbd", root, f"no log_{split}.txt (in logfiles/ or the root)", TREE)
    clean = {stem(rel): path for rel, path in scan_files(dirs["clean"], (".wav",), False)}
    noisy = {stem(rel): path for rel, path in scan_files(dirs["noisy"], (".wav",), False)}
    if not noisy:
        raise LayoutError("vbd", root, f"no .wav files in noisy_{split}_wav/", TREE)
    logs = read_log(log_path)
    utts, unpaired, unlogged = [], [], []
    for key in sorted(noisy):
        if key not in clean:
            unpaired.append(key)
        elif key not in logs:
            unlogged.append(key)
        else:
            m = _SPK.match(key)
            noise, snr = logs[key]
            utts.append(Utt(key, m.group(1) if m else key,
                            {"wav": noisy[key], "clean": clean[key]},
                            {"noise": noise, "snr": f"{snr:g}"}))
    for what, keys in (("without a clean partner", unpaired),
                       (f"not in log_{split}.txt", unlogged)):
        if keys:
            log.warning("vbd %s: %d noisy file(s) %s left out, e.g. %s", split, len(keys), what,
                        keys[0])
    if not utts:
        raise LayoutError("vbd", root, f"no noisy file of {split} has both a clean partner and "
                                       "a log line", TREE)
    return utts


def prepare(root, cfg, output):
    root = check_root("vbd", root, TREE)
    if cfg["train_set"] not in ("28spk", "56spk"):
        raise ConfigError(f"train_set must be 28spk or 56spk, got {cfg['train_set']!r}")
    logs_dir = find_dir(root, "logfiles") or root
    train = _pairs(root, f"trainset_{cfg['train_set']}", logs_dir)
    test = _pairs(root, "testset", logs_dir)
    mode = cfg["valid_split"]
    if mode == "speakers":
        speakers = as_list(cfg["valid_speakers"])
        check_listed(speakers, {u.spk for u in train}, "valid_speakers",
                     f"the {cfg['train_set']} training set")
        valid_keys = {u.key for u in train if u.spk in speakers}
    elif mode == "random":
        valid_keys = draw_fraction([u.key for u in train], cfg["valid_fraction"], cfg["seed"],
                                   "vbd-valid")
    elif mode == "none":
        valid_keys = set()
    else:
        raise ConfigError(f"valid_split must be speakers, random or none, got {mode!r}")
    sets = {"train_all": train,
            "train": [u for u in train if u.key not in valid_keys],
            "valid": [u for u in train if u.key in valid_keys],
            "test": test}
    return output.write(sets)
