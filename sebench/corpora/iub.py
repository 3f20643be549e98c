"""The IU Bloomington speech-quality corpus (Dong & Williamson 2020): 36,000 clips of 3-6 s from
COSINE and VOiCES with crowdsourced ratings (ITU-R BS.1534, 0-100).

The release (a Google Drive folder) has no published file list, so its layout could not be
checked against a reference; sebench expects the documented layout below and finds the
columns by name. Ratings go to ``utt2mos`` on the 1-5 scale: a CSV on 0-100 is mapped
linearly (``1 + 4 r / 100``, paper 000), one on 1-5 is kept, and any value outside the scale
is refused (one line naming the CSV row). Human ratings only ever go to ``utt2mos``; DNSMOS
labels are written by ``sebench label`` elsewhere. Paper 000 draws 1,800 validation and 1,800
test clips at random; the rest trains.
"""
import csv
import glob
import math
import os

from sebench.corpora.layout import LayoutError, check_root, make_key, scan_files, stem
from sebench.corpora.splits import as_list, draw_count
from sebench.corpora.writer import Utt
from sebench.errors import ConfigError, SebenchError
from sebench.utils.log import get_logger

log = get_logger("corpora")

TITLE = "IU Bloomington MOS corpus (Dong & Williamson 2020), COSINE and VOiCES subsets"

TREE = """\
iub/                                   (--root; the layout sebench expects, see README)
├── ratings.csv                        every *.csv in the root is read (or --csv FILE)
│     file column:   file | filename | file_name | path | wav | audio | audio_file | clip
│                    (path relative to the CSV or the root, or a bare file name)
│     rating column: mos | rating | score | mean_rating | mean_score | average
│                    (0-100 or 1-5; several rows of one file are averaged)
│     optional:      subset | dataset | corpus  (COSINE / VOiCES)
├── COSINE/ ...                        *.wav, any depth
└── VOiCES/ ...                        *.wav, any depth
"""

DEFAULTS = {
    "csv": None,
    "key_column": None,
    "score_column": None,
    "scale": "auto",
    "valid_num": 1800,
    "test_num": 1800,
    "seed": 0,
}

HELP = {
    "csv": "ratings CSV (a path, relative to the root or absolute; default: every *.csv in "
           "the root)",
    "key_column": "column naming the audio file (default: found by name)",
    "score_column": "column holding the rating (default: found by name)",
    "scale": "rating scale: 0-100 (mapped linearly to 1-5), 1-5 (kept), or auto (0-100 when "
             "any rating exceeds 5); values outside the scale are refused",
    "valid_num": "clips drawn for validation (paper 000: 1800)",
    "test_num": "clips drawn for testing (paper 000: 1800)",
    "seed": "seed of the validation/test draw",
}

SETS = """\
all     every rated clip: wav.scp, utt2mos (1-5), utt2subset (COSINE/VOiCES)
train   all minus valid and test
valid   valid_num clips drawn with the seed
test    test_num clips drawn with the seed"""

KEY_COLUMNS = ("file", "filename", "file_name", "path", "wav", "audio", "audio_file", "clip")
SCORE_COLUMNS = ("mos", "rating", "score", "mean_rating", "mean_score", "average")
SUBSET_COLUMNS = ("subset", "dataset", "corpus")
SCALES = {"0-100": (0.0, 100.0), "1-5": (1.0, 5.0)}
AUDIO = (".wav", ".flac")


def _column(fieldnames, wanted, explicit, what, path):
    if explicit:
        if explicit not in fieldnames:
            raise SebenchError(f"{path}: no column {explicit!r} ({what}); columns are "
                               f"{', '.join(fieldnames)}")
        return explicit
    lower = {name.strip().lower(): name for name in fieldnames}
    for name in wanted:
        if name in lower:
            return lower[name]
    if what == "subset":
        return None
    raise SebenchError(f"{path}: no {what} column (looked for {', '.join(wanted)}; columns are "
                       f"{', '.join(fieldnames)}); name it with --{what}-column")


def read_ratings(path, key_column=None, score_column=None):
    """``[(line, file entry, rating, subset)]`` from one ratings CSV."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []
            key_col = _column(fields, KEY_COLUMNS, key_column, "key", path)
            score_col = _column(fields, SCORE_COLUMNS, score_column, "score", path)
            subset_col = _column(fields, SUBSET_COLUMNS, None, "subset", path)
            rows = []
            for no, row in enumerate(reader, 2):
                entry = (row.get(key_col) or "").strip()
                if not entry:
                    continue
                text = (row.get(score_col) or "").strip()
                try:
                    rating = float(text)
                except ValueError:
                    rating = math.nan
                if not math.isfinite(rating):
                    raise SebenchError(f"{path}:{no}: {score_col}={text!r} is not a number")
                subset = (row.get(subset_col) or "").strip() if subset_col else ""
                rows.append((no, entry, rating, subset))
    except OSError as e:
        raise SebenchError(f"{path}: cannot read ratings ({e.strerror})") from None
    return rows


def to_mos(rows_by_csv, scale):
    """Map ratings onto MOS 1-5, refusing any value outside the scale; returns the scale."""
    values = [r for rows in rows_by_csv.values() for _, _, r, _ in rows]
    if scale == "auto":
        scale = "0-100" if values and max(values) > 5.0 else "1-5"
    if scale not in SCALES:
        raise ConfigError(f"scale must be auto, 0-100 or 1-5, got {scale!r}")
    lo, hi = SCALES[scale]
    for path, rows in rows_by_csv.items():
        for no, _, rating, _ in rows:
            if not lo <= rating <= hi:
                raise SebenchError(f"{path}:{no}: rating {rating:g} is outside the {scale} scale")
    return scale, (lambda r: 1.0 + 4.0 * r / 100.0) if scale == "0-100" else (lambda r: r)


def _csv_paths(root, explicit):
    if explicit:
        paths = [p if os.path.isabs(p) else os.path.join(root, p) for p in as_list(explicit)]
        for p in paths:
            if not os.path.isfile(p):
                raise ConfigError(f"csv {p}: file not found")
        return paths
    paths = sorted(glob.glob(os.path.join(root, "*.csv")))
    if not paths:
        raise LayoutError("iub", root, "no ratings CSV (*.csv) in the root", TREE)
    return paths


def _resolver(root):
    """Map a CSV file entry to an audio file under the root."""
    files = dict(scan_files(root, AUDIO))  # relpath -> path
    if not files:
        raise LayoutError("iub", root, "no .wav files under the root", TREE)
    by_name, by_stem = {}, {}
    for rel in files:
        by_name.setdefault(os.path.basename(rel), []).append(rel)
        by_stem.setdefault(stem(rel), []).append(rel)

    def resolve(entry, csv_dir):
        entry = entry.replace("\\", "/")
        for base in (csv_dir, root):
            candidate = os.path.normpath(os.path.join(base, entry))
            rel = os.path.relpath(candidate, root).replace(os.sep, "/")
            if rel in files:
                return rel
        for table, name in ((by_stem, stem(entry)), (by_name, os.path.basename(entry)),
                            (by_name, os.path.basename(entry) + ".wav")):
            cands = table.get(name, [])
            if len(cands) == 1:
                return cands[0]
        return None
    return files, resolve


def prepare(root, cfg, output):
    root = check_root("iub", root, TREE)
    rows_by_csv = {p: read_ratings(p, cfg["key_column"], cfg["score_column"])
                   for p in _csv_paths(root, cfg["csv"])}
    scale, mapping = to_mos(rows_by_csv, cfg["scale"])
    files, resolve = _resolver(root)
    sums, counts, subsets, unresolved = {}, {}, {}, []
    for path, rows in rows_by_csv.items():
        for no, entry, rating, subset in rows:
            rel = resolve(entry, os.path.dirname(path))
            if rel is None:
                unresolved.append(f"{os.path.basename(path)}:{no} {entry}")
                continue
            sums[rel] = sums.get(rel, 0.0) + rating
            counts[rel] = counts.get(rel, 0) + 1
            subsets[rel] = subset or (rel.split("/", 1)[0] if "/" in rel else None)
    if unresolved:
        log.warning("iub: %d rating row(s) name no audio file under the root, e.g. %s",
                    len(unresolved), unresolved[0])
    if not sums:
        raise LayoutError("iub", root, "no rating row names an audio file under the root", TREE)
    log.info("iub: %d rated clips (%s scale), %d audio files without a rating", len(sums), scale,
             len(files) - len(sums))
    utts = [Utt(make_key(stem(rel)), None, {"wav": files[rel]},
                {"mos": f"{mapping(sums[rel] / counts[rel]):.4f}", "subset": subsets[rel]})
            for rel in sorted(sums)]
    keys = [u.key for u in utts]
    n_valid, n_test = int(cfg["valid_num"]), int(cfg["test_num"])
    if n_valid + n_test >= len(keys):
        raise ConfigError(f"iub has {len(keys)} rated clips; valid_num + test_num "
                          f"({n_valid} + {n_test}) must leave some for training")
    valid = draw_count(keys, n_valid, cfg["seed"], "iub-valid")
    test = draw_count(sorted(set(keys) - valid), n_test, cfg["seed"], "iub-test")
    return output.write({"all": utts,
                         "train": [u for u in utts if u.key not in valid | test],
                         "valid": [u for u in utts if u.key in valid],
                         "test": [u for u in utts if u.key in test]})
