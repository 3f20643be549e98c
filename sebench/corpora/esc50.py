"""ESC-50 (Piczak 2015): 2,000 five-second environmental sounds, 50 classes, 5 folds, 44.1 kHz.

``meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take) describes
``audio/{fold}-{src_file}-{take}-{target}.wav``. Paper 001 tests on noise types seen and unseen
in training; sebench holds out whole categories as unseen (drawn with a seed, or listed) and
splits the seen categories by fold (clips of one source recording share a fold, so folds
keep train and test recordings apart). Keys start with the category, so ``sebench simulate
--noise_include '^(dog|rain)-'`` selects types.
"""
import csv
import os

from sebench.corpora.layout import LayoutError, check_root, find_dir, make_key, stem
from sebench.corpora.splits import as_list, check_listed, draw_count
from sebench.corpora.writer import Utt
from sebench.errors import ConfigError, SebenchError
from sebench.utils.log import get_logger

log = get_logger("corpora")

TITLE = "ESC-50 environmental sounds (Piczak 2015), as noise"

TREE = """\
ESC-50/                                (--root, e.g. the ESC-50-master checkout)
├── audio/                             1-100032-A-0.wav: {fold}-{src_file}-{take}-{target}
└── meta/
    └── esc50.csv                      filename,fold,target,category,esc10,src_file,take
"""

DEFAULTS = {
    "num_unseen": 10,
    "unseen_categories": None,
    "valid_folds": [4],
    "test_folds": [5],
    "esc10": False,
    "seed": 0,
}

HELP = {
    "num_unseen": "categories held out as unseen noise types, drawn with the seed",
    "unseen_categories": "explicit unseen categories (overrides num_unseen)",
    "valid_folds": "folds of the seen categories used for validation",
    "test_folds": "folds of the seen categories used for the seen-noise test",
    "esc10": "use only the ESC-10 subset",
    "seed": "seed of the unseen-category draw",
}

SETS = """\
noise               every clip
noise_train         seen categories, folds not in valid_folds/test_folds
noise_valid         seen categories, valid_folds
noise_test_seen     seen categories, test_folds
noise_test_unseen   unseen categories, all folds
All sets: wav.scp, utt2category, utt2fold; keys <category>-<file stem>."""

COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")


def read_meta(path):
    """Rows of esc50.csv as dicts; a missing column or a bad fold is an error naming the row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SebenchError(f"{path}: no column(s) {', '.join(missing)}; expected "
                                   f"{','.join(COLUMNS)}")
            rows = []
            for no, row in enumerate(reader, 2):
                try:
                    row["fold"] = int(row["fold"])
                except ValueError:
                    raise SebenchError(f"{path}:{no}: fold {row['fold']!r} is not a number") \
                        from None
                row["esc10"] = row["esc10"].strip().lower() == "true"
                rows.append(row)
    except OSError as e:
        raise SebenchError(f"{path}: cannot read ({e.strerror})") from None
    return rows


def prepare(root, cfg, output):
    root = check_root("esc50", root, TREE)
    audio_dir, meta_dir = find_dir(root, "audio"), find_dir(root, "meta")
    meta_path = os.path.join(meta_dir, "esc50.csv") if meta_dir else None
    if audio_dir is None:
        raise LayoutError("esc50", root, "no audio/ folder", TREE)
    if meta_path is None or not os.path.isfile(meta_path):
        raise LayoutError("esc50", root, "no meta/esc50.csv", TREE)
    rows = [r for r in read_meta(meta_path) if r["esc10"] or not cfg["esc10"]]
    categories = sorted({r["category"] for r in rows})
    valid_folds, test_folds = (set(int(f) for f in as_list(cfg[k]))
                               for k in ("valid_folds", "test_folds"))
    if valid_folds & test_folds:
        raise ConfigError(f"valid_folds and test_folds share fold(s) "
                          f"{sorted(valid_folds & test_folds)}")
    if cfg["unseen_categories"] is not None:
        unseen = set(as_list(cfg["unseen_categories"]))
        check_listed(unseen, categories, "unseen category", meta_path)
    else:
        unseen = draw_count(categories, int(cfg["num_unseen"]), cfg["seed"], "esc50-unseen")
    log.info("esc50: unseen categories: %s", ", ".join(sorted(unseen)) or "none")
    sets = {name: [] for name in ("noise", "noise_train", "noise_valid", "noise_test_seen",
                                  "noise_test_unseen")}
    missing = []
    for row in rows:
        path = os.path.join(audio_dir, row["filename"])
        if not os.path.isfile(path):
            missing.append(row["filename"])
            continue
        utt = Utt(make_key(row["category"], stem(row["filename"])), None, {"wav": path},
                  {"category": row["category"], "fold": row["fold"]})
        sets["noise"].append(utt)
        if row["category"] in unseen:
            sets["noise_test_unseen"].append(utt)
        elif row["fold"] in test_folds:
            sets["noise_test_seen"].append(utt)
        elif row["fold"] in valid_folds:
            sets["noise_valid"].append(utt)
        else:
            sets["noise_train"].append(utt)
    if missing:
        log.warning("esc50: %d file(s) of esc50.csv not in audio/ left out, e.g. %s",
                    len(missing), missing[0])
    if not sets["noise"]:
        raise LayoutError("esc50", root, "none of the files in meta/esc50.csv is in audio/", TREE)
    return output.write(sets)
