"""One row from several training seeds: the per-utterance scores averaged over the seeds'
score dirs, written as an ordinary score dir (so the report, the breakdowns and the Wilcoxon
test read it as any other), plus each metric's per-seed means, their mean and their standard
deviation in ``summary.json`` under ``seeds``."""
import csv
import glob
import json
import math
import os

import numpy as np

from sebench.errors import SebenchError
from sebench.utils.log import get_logger

log = get_logger("sebench.score")
#: summary.json fields a combined dir keeps from its first seed (they do not vary by seed)
SHARED_INFO = ("ref", "noisy", "dnsmos_models", "predictors", "conventions")


def _read_scores(folder):
    path = os.path.join(folder, "scores.csv")
    if not os.path.isfile(path):
        raise SebenchError(f"{folder}: no scores.csv (score this seed first)")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or header[0] != "key":
            raise SebenchError(f"{path}: not a sebench scores.csv")
        columns = [c for c in header[1:] if c not in ("error", "warning")]
        rows = {}
        for row in reader:
            values = dict(zip(header, row))
            rows[values["key"]] = {c: _float(values.get(c)) for c in columns}
    return columns, rows


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _noisy_rows(folder):
    path = os.path.join(folder, "rows.jsonl")
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return {r["key"]: r.get("noisy") for r in map(json.loads, f) if r.get("noisy")}


def combine_seeds(runs, out):
    """``runs`` [(label, score dir)] -> the combined score dir ``out``; returns its summary."""
    from sebench.scoring.run import write_outputs
    from sebench.utils.fileio import atomic_write_text
    from sebench.version import provenance

    if len(runs) < 1:
        raise SebenchError("--runs: give at least one LABEL=SCORE_DIR")
    tables = [(label, folder) + _read_scores(folder) for label, folder in runs]
    columns = [c for c in tables[0][2] if all(c in t[2] for t in tables)]
    keys = sorted(set.intersection(*(set(t[3]) for t in tables)))
    if not keys or not columns:
        raise SebenchError(f"{out}: the seeds' score dirs share no utterance or metric "
                           f"({', '.join(f for _, f in runs)})")
    for label, folder, _, rows in tables:
        if len(rows) != len(keys):
            log.warning("%s (%s): %d utterances not scored in every seed are left out",
                        folder, label, len(rows) - len(keys))
    noisy = _noisy_rows(tables[0][1])
    averaged = []
    for key in keys:
        enh = {}
        for c in columns:
            values = [t[3][key][c] for t in tables if math.isfinite(t[3][key][c])]
            enh[c] = float(np.mean(values)) if values else math.nan
        missing = [t[0] for t in tables if not math.isfinite(t[3][key].get(columns[0], math.nan))]
        if missing:
            enh["warning"] = f"not scored in {', '.join(missing)}"
        row = {"key": key, "enh": enh}
        if key in noisy:
            row["noisy"] = noisy[key]
        averaged.append(row)
    with open(os.path.join(tables[0][1], "summary.json")) as f:
        first = json.load(f)
    info = {k: first[k] for k in SHARED_INFO if k in first}
    info.update(enh=f"mean over seeds of {', '.join(f for _, f in runs)}",
                provenance=provenance())
    for stale in glob.glob(os.path.join(out, "utt2*")):   # metrics an earlier combine had
        if os.path.basename(stale)[4:] not in columns:
            os.remove(stale)
    summary = write_outputs(out, averaged, columns, info)
    for c in columns:
        means = [float(np.nanmean([t[3][k][c] for k in keys])) if any(
            math.isfinite(t[3][k][c]) for k in keys) else math.nan for t in tables]
        finite = [m for m in means if math.isfinite(m)]
        summary["metrics"][c]["seeds"] = {
            "values": dict(zip((t[0] for t in tables), means)),
            "mean": float(np.mean(finite)) if finite else None,
            "std": float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0,
            "n": len(finite)}
    summary["seeds"] = [label for label, _ in runs]
    atomic_write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    return summary
