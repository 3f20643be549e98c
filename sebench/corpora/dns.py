"""Microsoft DNS Challenge: the Interspeech 2020 (DNS1) tree and the ICASSP 2021 / DNS3 trees.

DNS1 clean speech is flat (``book_00000_chp_0009_reader_06709_0.wav``: the reader id is the
speaker); DNS2/DNS3 put it in language/style folders (``clean/read_speech/...``,
``clean/german_speech/...``) that become ``utt2category``. The synthetic test pairs share
``fileid_N``: ``clean/clean_fileid_0.wav`` with ``noisy/clnsp126_..._snr15_tl-22_fileid_0.wav``
(SNR and target level from the name go to ``utt2snr``/``utt2level``). In ``with_reverb`` the
release's ``clean/`` is the reverberant speech, so it is written to ``clean_rev.scp`` as well as
``clean.scp`` (the reference the challenge scores against). The blind set is classified by
name or sub-folder: ``noreverb*``, ``reverb*``, everything else real recordings. The later
challenges' blind test release (``ICASSP_blind_test_set/track_N/noisy/``, real recordings per
track; ``track_2/adaptation_data/`` holds clean enrolment speech, not test clips) becomes one
set per track, ``blind_track1``, ``blind_track2``; so does a ``blind_dir`` with ``track_N/``.

Paper 002's test sets: the DNS2 (ICASSP 2021) preliminary test set,
``ICASSP_dev_test_set/track_1/synthetic/{clean,noisy}``, pairs ``synthetic_<cat>_clean_fileid_N``
(``<cat>``: emotion, singing; none for read and non-English speech) with the noisy
``synthetic_<cat>_..._fileid_N`` (``test_dns2_synthetic``, ``utt2category``), and its
``track_1/real_recordings/`` when present (``test_dns2_real``). The DNS3 (Interspeech 2021)
preliminary test set is the DNS3 release's ``dev_testset/``: its real recordings (a
``real_recordings/`` folder, else the ``*realrec*`` clips) become ``test_dns3_real``.
``require`` names sets that must be found: a release without them stops with the tree.
"""
import csv
import os
import re

from sebench.corpora.layout import (LayoutError, check_root, find_dir, list_dirs, make_key,
                                    scan_files, stem, warn_left_out)
from sebench.corpora.splits import draw_fraction
from sebench.corpora.writer import SetSummary, Utt
from sebench.data.datadir import write_kv
from sebench.errors import ConfigError, SebenchError
from sebench.utils.log import get_logger

log = get_logger("corpora")

TITLE = "DNS Challenge (Interspeech 2020 / DNS1, ICASSP 2021 and DNS3 trees)"

TREE = """\
DNS/                                  (--root: the DNS-Challenge folder, or datasets/ itself)
└── datasets/                         (datasets_fullband/ with --band fullband)
    ├── clean/                        DNS1: book_00000_chp_0009_reader_06709_0.wav (flat)
    │   └── read_speech/ ...          DNS2/3: clean/<read_speech|german_speech|...>/*.wav
    ├── noise/                        *.wav, any depth (noise_fullband/ in fullband)
    ├── impulse_responses/            SLR26/, SLR28/ RIR wavs (DNS2/3, optional)
    ├── acoustic_params/              optional RIR table RIR_table_simple.csv:
    │                                 wavfile,channel,T60_WB,C50_WB,isRealRIR
    ├── test_set/                     DNS1 dev test set
    │   ├── synthetic/no_reverb/clean/clean_fileid_0.wav
    │   ├── synthetic/no_reverb/noisy/clnsp1_train_69005_1_snr15_tl-21_fileid_0.wav
    │   ├── synthetic/with_reverb/{clean,noisy}/   same pairing by fileid_N
    │   └── real_recordings/*.wav
    ├── blind_test_set/               noreverb_*.wav, reverb_*.wav, real recordings
    │                                 (or noreverb/, reverb/, real/ sub-folders)
    ├── ICASSP_dev_test_set/          DNS2 (ICASSP 2021) preliminary test set
    │   └── track_1/synthetic/clean/synthetic_clean_fileid_105.wav
    │       track_1/synthetic/clean/synthetic_emotion_clean_fileid_12.wav (singing_ too)
    │       track_1/synthetic/noisy/synthetic_emotion_157018_snr14_tl-22_fileid_12.wav
    │       track_1/real_recordings/*.wav  (optional)
    ├── ICASSP_blind_test_set/        later (ICASSP) blind test release: real recordings
    │   ├── track_1/noisy/*.wav       ms_realrec_english_..._fileid_2.wav
    │   └── track_2/noisy/*.wav       (track_2/adaptation_data/ is left out)
    └── dev_testset/                  DNS3 (Interspeech 2021) preliminary test set: real
        └── real_recordings/*.wav     recordings (or *realrec*.wav clips); other clips unpaired
At least one of clean/, noise/, test_set/, blind_test_set/, ICASSP_blind_test_set/ must
be there.
"""

DEFAULTS = {
    "band": "wideband",
    "valid_fraction": 0.05,
    "seed": 0,
    "spk_regex": r"(reader_\d+)",
    "rir_table": None,
    "blind_dir": None,
    "require": None,
}

HELP = {
    "band": "wideband (datasets/) or fullband (datasets_fullband/)",
    "valid_fraction": "share of clean speakers (speaker-disjoint) and of noise files held out "
                      "for clean_valid/noise_valid (0: none)",
    "seed": "seed of the validation draws",
    "spk_regex": "speaker = first group of this regex on the clean file name (no match: the "
                 "utterance is its own speaker)",
    "rir_table": "RIR table CSV (default: acoustic_params*/RIR_table_simple.csv when present)",
    "blind_dir": "another blind test set folder, classified like blind_test_set/ (or, with "
                 "track_N/noisy/ folders, like ICASSP_blind_test_set/)",
    "require": "comma list of sets that must be found (e.g. test_dns2_synthetic,"
               "test_dns3_real): a release without one stops with the expected tree",
}

SETS = """\
clean, clean_train, clean_valid   clean speech sources for `sebench simulate` (utt2spk = reader
                                  id, utt2category on DNS2/3); valid is speaker-disjoint
noise, noise_train, noise_valid   noise sources (utt2category when in sub-folders)
rirs/                             rir.scp + rir_meta.csv (id, rt60, c50, is_real, channel,
                                  source): `sebench simulate --rir <out>/rirs`
test_synthetic_no_reverb          wav.scp (noisy), clean.scp, utt2snr, utt2level
test_synthetic_with_reverb        the same, plus clean_rev.scp (= the reverberant clean/)
test_real_recordings              wav.scp only (DNSMOS, SRMR)
blind_noreverb, blind_reverb,     the blind test set, wav.scp only
blind_real
blind_track1, blind_track2        ICASSP_blind_test_set/track_N/noisy/, wav.scp only
dev_testset                       DNS2/3 dev test clips, wav.scp only
test_dns2_synthetic               DNS2 preliminary synthetic test: wav.scp, clean.scp,
                                  utt2snr, utt2level, utt2category (emotion, singing, speech)
test_dns2_real                    DNS2 preliminary real recordings, wav.scp only
test_dns3_real                    DNS3 preliminary test set's real recordings, wav.scp only"""

AUDIO = (".wav", ".flac")
PARTS = {"clean": ("clean", "clean_fullband"), "noise": ("noise", "noise_fullband"),
         "rirs": ("impulse_responses",), "test_set": ("test_set",),
         "blind": ("blind_test_set",), "blind_tracks": ("ICASSP_blind_test_set",),
         "dev": ("dev_testset", "dev_testset_fullband"), "dns2_dev": ("ICASSP_dev_test_set",)}
_FILEID = re.compile(r"fileid_(\d+)$")
_DNS2_CLEAN = re.compile(r"^(.*?)clean_fileid_(\d+)$")   # namespace prefix, file id
_TRACK = re.compile(r"^track_?(\d+)$", re.IGNORECASE)
_SNR = re.compile(r"_snr(-?\d+(?:\.\d+)?)_")
_LEVEL = re.compile(r"_tl(-?\d+(?:\.\d+)?)_")
RIR_COLUMNS = ("id", "rt60", "c50", "is_real", "channel", "source", "path")


def _datasets_dir(root, band):
    sub = {"wideband": "datasets", "fullband": "datasets_fullband"}.get(band)
    if sub is None:
        raise ConfigError(f"band must be wideband or fullband, got {band!r}")
    for base in (os.path.join(root, sub), root):
        if any(find_dir(base, *names) for part, names in PARTS.items() if part != "rirs"):
            return base
    raise LayoutError("dns", root, f"no clean/, noise/, test_set/ or (ICASSP_)blind_test_set/ "
                                   f"in {sub}/ or the root", TREE)


def _category(rel):
    return rel.split("/", 1)[0] if "/" in rel else None


def _sources(folder, spk_regex=None):
    """Clean or noise source utterances (key = relative path without extension)."""
    pattern = re.compile(spk_regex) if spk_regex else None
    utts = []
    for rel, path in scan_files(folder, AUDIO):
        key = make_key(stem(rel))
        spk = None
        if pattern:
            m = pattern.search(os.path.basename(rel))
            spk = (m.group(1) if m.groups() else m.group(0)) if m else None
        utts.append(Utt(key, spk, {"wav": path}, {"category": _category(rel)}))
    return utts


def _clean_sets(folder, cfg, root):
    utts = _sources(folder, cfg["spk_regex"])
    if not utts:
        raise LayoutError("dns", root, f"{folder} holds no .wav/.flac files", TREE)
    # a file without a speaker in its name would be a speaker of its own, and its real
    # speaker's other files could land on the other side of a speaker-disjoint split
    no_spk = [u for u in utts if u.spk is None]
    spk_regex = f"spk_regex {cfg['spk_regex']!r}" if cfg["spk_regex"] else "no spk_regex"
    if len(no_spk) == len(utts) and cfg["valid_fraction"]:
        raise SebenchError(f"{folder}: none of its {len(utts)} clean file(s) names a speaker "
                           f"({spk_regex} matches none, e.g. {no_spk[0].key}), so clean_valid "
                           "cannot be speaker-disjoint; set spk_regex, or valid_fraction 0")
    warn_left_out("dns", folder, [u.key for u in no_spk],
                  f"name no speaker ({spk_regex} matches none): each is its own speaker in "
                  "utt2spk and goes to clean_train, never clean_valid")
    valid_spk = draw_fraction({u.spk for u in utts if u.spk is not None},
                              cfg["valid_fraction"], cfg["seed"], "dns-clean-valid")
    return {"clean": utts,
            "clean_train": [u for u in utts if u.spk not in valid_spk],
            "clean_valid": [u for u in utts if u.spk is not None and u.spk in valid_spk]}


def _noise_sets(folder, cfg, root):
    utts = _sources(folder)
    if not utts:
        raise LayoutError("dns", root, f"{folder} holds no .wav/.flac files", TREE)
    valid = draw_fraction({u.key for u in utts}, cfg["valid_fraction"], cfg["seed"],
                          "dns-noise-valid")
    return {"noise": utts,
            "noise_train": [u for u in utts if u.key not in valid],
            "noise_valid": [u for u in utts if u.key in valid]}


def _name_meta(name):
    snr, level = _SNR.search(name + "_"), _LEVEL.search(name + "_")
    return {"snr": snr.group(1) if snr else None, "level": level.group(1) if level else None}


def _synthetic_sets(test_dir):
    sets = {}
    for condition, tag in (("no_reverb", "noreverb"), ("with_reverb", "reverb")):
        base = os.path.join(test_dir, "synthetic", condition)
        noisy_dir, clean_dir = find_dir(base, "noisy"), find_dir(base, "clean")
        if not noisy_dir:
            continue
        if not clean_dir:
            raise LayoutError("dns", test_dir, f"synthetic/{condition}/ has noisy/ but no clean/",
                              TREE)
        clean = {}
        for rel, path in scan_files(clean_dir, AUDIO, recursive=False):
            m = _FILEID.search(stem(rel))
            if m:
                clean[m.group(1)] = path
        utts, unpaired = [], []
        for rel, path in scan_files(noisy_dir, AUDIO, recursive=False):
            m = _FILEID.search(stem(rel))
            if not m or m.group(1) not in clean:
                unpaired.append(rel)
                continue
            scps = {"wav": path, "clean": clean[m.group(1)]}
            if condition == "with_reverb":
                scps["clean_rev"] = clean[m.group(1)]
            utts.append(Utt(f"{tag}_fileid_{m.group(1)}", None, scps, _name_meta(stem(rel))))
        if unpaired:
            log.warning("dns synthetic/%s: %d noisy file(s) without a clean_fileid_N partner "
                        "left out, e.g. %s", condition, len(unpaired), unpaired[0])
        sets[f"test_synthetic_{condition}"] = utts
    return sets


def _unpaired(folder):
    return [Utt(make_key(stem(rel)), None, {"wav": path}, _name_meta(stem(rel)))
            for rel, path in scan_files(folder, AUDIO)]


def _blind_sets(folder):
    sets = {"blind_noreverb": [], "blind_reverb": [], "blind_real": []}
    for utt in _unpaired(folder):
        head = utt.key.lower().replace("-", "_")
        if head.startswith(("noreverb", "no_reverb")):
            sets["blind_noreverb"].append(utt)
        elif head.startswith(("reverb", "with_reverb")):
            sets["blind_reverb"].append(utt)
        else:
            sets["blind_real"].append(utt)
    return sets


def _track_sets(folder):
    """One set of real recordings per ``track_N/`` folder: ``blind_track<N>`` from its
    ``noisy/`` (or the whole track but its ``adaptation_data/``, clean enrolment speech)."""
    sets = {}
    for name in list_dirs(folder):
        m = _TRACK.match(name)
        if m:
            track = os.path.join(folder, name)
            noisy = find_dir(track, "noisy")
            sets[f"blind_track{int(m.group(1))}"] = _unpaired(noisy) if noisy else [
                u for u in _unpaired(track) if not u.key.startswith("adaptation_data-")]
    return sets


def _dns2_sets(folder):
    """``ICASSP_dev_test_set/track_1/``: synthetic pairs by (namespace, fileid) and real
    recordings. File ids repeat across namespaces (``synthetic_clean_fileid_47`` and
    ``synthetic_emotion_clean_fileid_47`` are different clips)."""
    track = find_dir(folder, "track_1") or folder
    sets, base = {}, os.path.join(track, "synthetic")
    noisy_dir, clean_dir = find_dir(base, "noisy"), find_dir(base, "clean")
    if noisy_dir:
        if not clean_dir:
            raise LayoutError("dns", folder, "track_1/synthetic/ has noisy/ but no clean/", TREE)
        clean = {}
        for rel, path in scan_files(clean_dir, AUDIO, recursive=False):
            m = _DNS2_CLEAN.match(stem(rel))
            if m:
                clean[(m.group(1), m.group(2))] = path
        spaces = sorted({ns for ns, _ in clean}, key=len, reverse=True)   # longest first
        utts, unpaired = [], []
        for rel, path in scan_files(noisy_dir, AUDIO, recursive=False):
            name, m = stem(rel), _FILEID.search(stem(rel))
            space = next((ns for ns in spaces if name.startswith(ns)), None)
            if not m or (space, m.group(1)) not in clean:
                unpaired.append(rel)
                continue
            kind = space[len("synthetic_"):].strip("_") if space.startswith("synthetic_") else ""
            meta = dict(_name_meta(name), category=kind or "speech")
            key = f"dns2_{kind + '_' if kind else ''}fileid_{m.group(1)}"
            utts.append(Utt(key, None, {"wav": path, "clean": clean[(space, m.group(1))]}, meta))
        if unpaired:
            log.warning("dns ICASSP_dev_test_set: %d noisy file(s) without a clean partner left "
                        "out, e.g. %s", len(unpaired), unpaired[0])
        sets["test_dns2_synthetic"] = utts
    real = find_dir(track, "real_recordings")
    if real:
        sets["test_dns2_real"] = _unpaired(real)
    return sets


def _dns3_real(folder):
    """The DNS3 preliminary test set's real recordings: ``real_recordings/`` when the release
    has one, else the clips named ``*realrec*`` (``ms_realrec_...``, ``audioset_realrec_...``)."""
    real = find_dir(folder, "real_recordings")
    if real:
        return _unpaired(real)
    return [u for u in _unpaired(folder) if "realrec" in u.key.lower()]


# -- impulse responses -------------------------------------------------------------------------
def _find_rir_table(root, datasets, explicit):
    if explicit:
        if not os.path.isfile(explicit):
            raise ConfigError(f"rir_table {explicit}: file not found")
        return explicit
    for base in (datasets, root):
        for name in list_dirs(base):
            if name.startswith("acoustic_params"):
                path = os.path.join(base, name, "RIR_table_simple.csv")
                if os.path.isfile(path):
                    return path
    return None


def read_rir_table(path):
    """Rows of a DNS RIR table: ``wavfile,channel,T60_WB,C50_WB,isRealRIR`` (header names are
    matched case-insensitively; ``file`` is accepted for ``wavfile``)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SebenchError(f"{path}: empty RIR table")
    header = [h.strip().lower() for h in rows[0]]
    col = {name: header.index(name) for name in header}
    file_col = col.get("wavfile", col.get("file"))
    if file_col is None or "t60_wb" not in col:
        raise SebenchError(f"{path}: expected columns wavfile,channel,T60_WB,C50_WB,isRealRIR; "
                           f"got {','.join(rows[0])}")
    out = []
    for row in rows[1:]:
        if len(row) <= file_col or not row[file_col].strip():
            continue  # the release has a units line under the header

        def get(name):
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""
        try:
            float(get("t60_wb"))
        except ValueError:
            continue
        out.append({"wavfile": row[file_col].strip().replace("\\", "/"), "rt60": get("t60_wb"),
                    "c50": get("c50_wb"), "is_real": get("isrealrir"), "channel": get("channel")})
    return out


def _rir_files(rir_dir):
    """Relative path -> path of the RIR wavs; SLR28's isotropic and point-source noise
    recordings are not RIRs and are left out."""
    files = {}
    for rel, path in scan_files(rir_dir, (".wav",)):
        parts = rel.lower().split("/")
        if "pointsource_noises" in parts or "_noise" in parts[-1]:
            continue
        files[rel] = path
    return files


def _match_table(rows, files):
    """Table rows -> scanned files, by the path after ``impulse_responses/`` or by suffix."""
    by_suffix = {}
    for rel in files:
        parts = rel.split("/")
        for k in range(1, len(parts) + 1):
            by_suffix.setdefault("/".join(parts[-k:]), []).append(rel)
    matched, missing = {}, 0
    for row in rows:
        name = row["wavfile"]
        if "impulse_responses/" in name:
            name = name.split("impulse_responses/", 1)[1]
        parts = [p for p in name.split("/") if p not in ("", ".")]
        found = None
        for k in range(len(parts), 0, -1):
            cands = by_suffix.get("/".join(parts[-k:]), [])
            if len(cands) == 1:
                found = cands[0]
                break
        if found is None:
            missing += 1
        elif found not in matched:
            matched[found] = row
    return matched, missing


def write_rirs(out_dir, root, rir_dir, table_path):
    """``rir.scp`` and ``rir_meta.csv`` for the corpus's RIRs; returns a :class:`SetSummary`."""
    from sebench.simulate.tables import write_csv
    files = _rir_files(rir_dir)
    if not files:
        raise LayoutError("dns", root, f"no RIR .wav files in {rir_dir}", TREE)
    rows = {rel: {} for rel in files}
    if table_path:
        matched, missing = _match_table(read_rir_table(table_path), files)
        log.info("dns rirs: %d of %d RIR files listed in %s (%d table rows without a file)",
                 len(matched), len(files), table_path, missing)
        if not matched:
            raise SebenchError(f"{table_path}: none of its rows names a file under {rir_dir}")
        rows = matched
    meta = []
    for rel in sorted(rows):
        row = rows[rel]
        meta.append({"id": make_key(stem(rel)), "rt60": row.get("rt60", ""),
                     "c50": row.get("c50", ""), "is_real": row.get("is_real", ""),
                     "channel": row.get("channel", ""), "source": rel.split("/", 1)[0],
                     "path": files[rel]})
    os.makedirs(out_dir, exist_ok=True)
    write_kv(os.path.join(out_dir, "rir.scp"), {m["id"]: m["path"] for m in meta})
    write_csv(os.path.join(out_dir, "rir_meta.csv"), meta, RIR_COLUMNS)
    return SetSummary(os.path.basename(out_dir), out_dir, utterances=len(meta),
                      files=["rir.scp", "rir_meta.csv"], unit="RIRs")


def prepare(root, cfg, output):
    root = check_root("dns", root, TREE)
    datasets = _datasets_dir(root, cfg["band"])
    dirs = {part: find_dir(datasets, *names) for part, names in PARTS.items()}
    if cfg["blind_dir"]:
        if not os.path.isdir(cfg["blind_dir"]):
            raise ConfigError(f"blind_dir {cfg['blind_dir']}: folder not found")
        dirs["blind"] = cfg["blind_dir"]
    log.info("dns: found %s", ", ".join(p for p, d in dirs.items() if d) or "nothing")
    sets = {}
    if dirs["clean"]:
        sets.update(_clean_sets(dirs["clean"], cfg, root))
    if dirs["noise"]:
        sets.update(_noise_sets(dirs["noise"], cfg, root))
    if dirs["test_set"]:
        sets.update(_synthetic_sets(dirs["test_set"]))
        real = find_dir(dirs["test_set"], "real_recordings")
        if real:
            sets["test_real_recordings"] = _unpaired(real)
    if cfg["blind_dir"] and any(_TRACK.match(n) for n in list_dirs(dirs["blind"])):  # in tracks
        dirs["blind_tracks"], dirs["blind"] = dirs["blind"], find_dir(datasets, *PARTS["blind"])
    if dirs["blind"]:
        sets.update(_blind_sets(dirs["blind"]))
    if dirs["blind_tracks"]:
        tracks = _track_sets(dirs["blind_tracks"])
        if not tracks:
            raise LayoutError("dns", root, f"{dirs['blind_tracks']}: no track_N/ folders", TREE)
        sets.update(tracks)
    if dirs["dev"]:
        sets["dev_testset"] = _unpaired(dirs["dev"])
        real = _dns3_real(dirs["dev"])
        if real:
            sets["test_dns3_real"] = real
    if dirs["dns2_dev"]:
        sets.update(_dns2_sets(dirs["dns2_dev"]))
    required = [r.strip() for r in str(cfg.get("require") or "").split(",") if r.strip()]
    missing = [r for r in required if not sets.get(r)]
    if missing:
        raise LayoutError("dns", root, f"required set(s) {', '.join(missing)} not found in the "
                                       "release", TREE)
    if not any(sets.values()):
        raise LayoutError("dns", root, "no audio files in any of the DNS folders found", TREE)
    summaries = output.write(sets)
    if dirs["rirs"]:
        table = _find_rir_table(root, datasets, cfg["rir_table"])
        summaries.append(write_rirs(output.path("rirs"), root, dirs["rirs"], table))
    return summaries
