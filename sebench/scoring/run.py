"""``sebench score``: pair inputs, score every utterance (optionally sharded), write results.

Outputs in OUT: scores.csv (a row per utterance, a column per metric, error and warning
columns), utt2<metric> files, summary.json and RESULTS.md (mean, std, 95 % CI, count,
failures with reasons; with --noisy, the noisy input's scores and the improvement).
"""
import csv
import json
import math
import os

import numpy as np

from sebench.data.datadir import write_kv
from sebench.data.sources import audio_map  # noqa: F401 - re-exported for the CLI
from sebench.metrics import METRIC_UNIT, UNITS
from sebench.scoring.compute import REASON_SEP, failed_row, score_pair
from sebench.utils.fileio import atomic_path, atomic_write_text
from sebench.utils.log import get_logger, progress

log = get_logger("score")


def pair_keys(enh, ref, noisy):
    """Keys of the estimate that the other inputs also have (by key, else by basename)."""
    def align(other, name):
        if other is None:
            return None
        if set(enh) <= set(other):
            return other
        by_base = {}
        for k, v in other.items():
            by_base.setdefault(k.rsplit("-", 1)[-1], []).append(v)
        aligned = {}
        for k in enh:
            if k in other:
                aligned[k] = other[k]
            elif len(by_base.get(k.rsplit("-", 1)[-1], [])) == 1:
                aligned[k] = by_base[k.rsplit("-", 1)[-1]][0]
        missing = len(enh) - len(aligned)
        if missing:
            log.warning("%d estimate(s) have no %s partner and are not scored", missing, name)
        return aligned
    ref_a, noisy_a = align(ref, "reference"), align(noisy, "noisy")
    keys = [k for k in sorted(enh) if (ref_a is None or k in ref_a) and
            (noisy_a is None or k in noisy_a)]
    return keys, ref_a, noisy_a


def score_keys(keys, enh, ref, noisy, noise, units, cache, options, predictors=()):
    """Rows for ``keys``: {'key', 'enh': row, 'noisy': row or None}."""
    rows = []
    qp = {p.column: p.identity() for p in predictors} if noisy else {}
    for key in progress(keys, desc="score", unit="utt"):
        r = ref.get(key) if ref else None
        n = noise.get(key) if noise else None
        row = {"key": key, "enh": score_pair(enh[key], r, units, noise_path=n,
                                             predictors=predictors, **options)}
        if noisy:
            ckey = cache.key(units, noisy[key], r, n, **options, **({"qp": qp} if qp else {}))
            cached = cache.get(ckey)
            if cached is None:
                cached = score_pair(noisy[key], r, units, noise_path=n, predictors=predictors,
                                    **options)
                cache.put(ckey, cached)
            row["noisy"] = cached
        rows.append(row)
    return rows


def collect_shards(split, shards, units, with_noisy, predictors=()):
    """The rows every job wrote (``split/rows.N.jsonl``, one per shard of keys); a job that
    wrote none (it failed) gets NaN rows naming its log, so the other jobs' scores are still
    reported. Returns (rows, numbers of the failed jobs)."""
    rows, failed = [], []
    for job, keys in enumerate(shards, 1):
        path = os.path.join(split, f"rows.{job}.jsonl")
        if os.path.isfile(path):
            with open(path) as f:
                rows += [json.loads(line) for line in f if line.strip()]
            continue
        failed.append(job)
        reason = f"scoring job {job} failed (see log/score.{job}.log)"
        for key in keys:
            rows.append({"key": key, "enh": failed_row(units, reason, predictors)})
            if with_noisy:
                rows[-1]["noisy"] = failed_row(units, reason, predictors)
    return rows, failed


_DESCRIPTIONS = {
    ("composite_pesq", "wb"): "P.862.2 MOS-LQO at 16 kHz, raw P.862 at 8 kHz (published VBD "
                              "convention)",
    ("composite_pesq", "raw_nb"): "raw P.862 at every rate (Loizou's composite.m)",
    ("dnsmos_windows", "official"): "those of dnsmos_local.py / speechmos",
    ("dnsmos_windows", "full"): "every 1 s hop that fits (not the official windows)",
    ("dnsmos_short_clips", "reference"): "every window of the doubled clip",
    ("dnsmos_short_clips", "first_window"): "first window of the doubled clip only",
    ("on_rate_mismatch", "resample"): "estimate resampled to the reference's rate (soxr)",
    ("on_rate_mismatch", "error"): "refused",
}


def conventions(units, cfg):
    """The scoring conventions in force for these units (recorded in summary.json)."""
    used = {"composite_pesq": "composite" in units, "dnsmos_windows": "dnsmos" in units,
            "dnsmos_short_clips": "dnsmos" in units, "on_rate_mismatch": True}
    return {key: cfg[key] for key, relevant in used.items() if relevant}


def estimated_cost(path, units, dnsmos_short_clips="reference", dnsmos_windows="official",
                   predictors=()):
    """Rough CPU seconds to score one file (from its header), for balancing shards: DNSMOS
    costs per window, and a short clip tiled to 9.01 s may need several."""
    from sebench.audio.io import audio_info
    from sebench.errors import AudioError
    from sebench.metrics.dnsmos import DNSMOS

    try:
        rate, frames, _ = audio_info(path)
    except (AudioError, OSError):
        return 0.0          # unreadable: fails at once
    seconds = frames / rate
    from sebench.scoring.predictors import COST
    cost = sum(UNITS[u].cost * seconds for u in units if u != "dnsmos") + \
        COST * seconds * len(predictors)
    if "dnsmos" in units:
        cost += UNITS["dnsmos"].cost * DNSMOS.num_windows(int(seconds * 16000), dnsmos_short_clips,
                                                         dnsmos_windows)
    return cost


def _stats(values):
    values = np.asarray([v for v in values if v is not None and math.isfinite(v)])
    n = len(values)
    if n == 0:
        return {"mean": None, "std": None, "ci95": None, "count": 0}
    std = float(values.std(ddof=1)) if n > 1 else 0.0
    if n > 1:
        from scipy.special import stdtrit   # Student-t quantile; scipy.stats takes ~1 s to import
        ci = float(stdtrit(n - 1, 0.975) * std / math.sqrt(n))
    else:
        ci = None
    return {"mean": float(values.mean()), "std": std, "ci95": ci, "count": n}


def summarize(rows, columns):
    summary = {"utterances": len(rows), "metrics": {}}
    known = set(UNITS) | set(METRIC_UNIT) | set(columns)     # reasons' prefixes of one metric
    for col in columns:
        enh_vals = [r["enh"].get(col) for r in rows]
        entry = _stats(enh_vals)
        reasons, failures = {}, 0
        for r in rows:
            v = r["enh"].get(col)
            if v is None or not math.isfinite(v):
                failures += 1
                own = METRIC_UNIT.get(col, "dnsmos" if col.startswith("dnsmos") else col)
                for reason in (r["enh"].get("error") or "unknown").split(REASON_SEP):
                    prefix = reason.split(":", 1)[0]
                    if prefix == own or prefix == col or prefix not in known:
                        reasons[reason] = reasons.get(reason, 0) + 1
        entry["failures"] = failures
        entry["failure_reasons"] = reasons
        if rows and "noisy" in rows[0]:
            entry["noisy"] = _stats([r["noisy"].get(col) for r in rows])
            deltas = [r["enh"][col] - r["noisy"][col] for r in rows
                      if math.isfinite(r["enh"].get(col, math.nan))
                      and math.isfinite(r["noisy"].get(col, math.nan))]
            entry["delta"] = _stats(deltas)
        summary["metrics"][col] = entry
    summary["warnings"] = sum(1 for r in rows if r["enh"].get("warning"))
    return summary


def _fmt(x, digits=3):
    return "–" if x is None else f"{x:.{digits}f}"


def results_markdown(summary, info):
    lines = ["# Scores", "", f"- estimate: `{info['enh']}`"]
    for k in ("ref", "noisy"):
        if info.get(k):
            lines.append(f"- {k}: `{info[k]}`")
    lines += [f"- utterances: {summary['utterances']}",
              "- PESQ: ITU-T P.862 reference code via `pesq`; pesq_wb = P.862.2 MOS-LQO at 16 kHz, "
              "pesq_nb = P.862.1 MOS-LQO at 8 or 16 kHz as given (other rates resampled with "
              "soxr)",
              "- SI-SDR is zero-mean; SDR/SIR/SAR capped at 120 dB",
              f"- DNSMOS models: {info.get('dnsmos_models') or 'not used'}"]
    lines += [f"- {col}: sebench quality predictor `{path}`"
              for col, path in info.get("predictors", {}).items()]
    lines += [f"- {key}: {value} ({_DESCRIPTIONS[key, value]})"
              for key, value in info.get("conventions", {}).items()]
    lines += [f"- sebench {info['provenance']['sebench']}, git {info['provenance']['git_commit']}",
              ""]
    has_noisy = any("noisy" in e for e in summary["metrics"].values())
    header = "| metric | mean | std | 95% CI | n | failures |"
    if has_noisy:
        header += " noisy | Δ |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for col, e in summary["metrics"].items():
        line = (f"| {col} | {_fmt(e['mean'])} | {_fmt(e['std'])} | ±{_fmt(e['ci95'])} | "
                f"{e['count']} | {e['failures']} |")
        if has_noisy:
            line += f" {_fmt(e['noisy']['mean'])} | {_fmt(e['delta']['mean'])} |"
        lines.append(line)
    reasons = {}
    for e in summary["metrics"].values():
        for reason, count in e["failure_reasons"].items():
            reasons[reason] = max(reasons.get(reason, 0), count)
    if reasons:
        lines += ["", "## Failures", ""]
        lines += [f"- {count} × {reason}" for reason, count in sorted(reasons.items())]
    return "\n".join(lines) + "\n"


def write_outputs(out, rows, columns, info):
    os.makedirs(out, exist_ok=True)
    rows = sorted(rows, key=lambda r: r["key"])
    path = os.path.join(out, "scores.csv")
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["key"] + columns + ["error", "warning"])
        for r in rows:
            writer.writerow([r["key"]] + [_csv(r["enh"].get(c)) for c in columns]
                            + [r["enh"].get("error", ""), r["enh"].get("warning", "")])
    for col in columns:
        write_kv(os.path.join(out, f"utt2{col}"),
                 {r["key"]: _csv(r["enh"].get(col)) for r in rows})
    _remove_stale_columns(out, columns)
    summary = summarize(rows, columns)
    summary.update(info)
    atomic_write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    atomic_write_text(os.path.join(out, "RESULTS.md"), results_markdown(summary, info))
    if any("noisy" in r for r in rows):
        atomic_write_text(os.path.join(out, "rows.jsonl"), "".join(json.dumps(r) + "\n"
                                                                  for r in rows))
    return summary


def _remove_stale_columns(out, columns):
    """Remove the ``utt2<metric>`` files of an earlier score into ``out`` that this one did
    not write: statistics over them would describe audio this run never scored. Only metric
    and predictor columns go; other ``utt2*`` files (e.g. a data dir's) are not ours."""
    from sebench.metrics import METRIC_UNIT, UNITS
    ours = set(METRIC_UNIT) | {c for u in UNITS.values() for c in u.columns}
    for name in os.listdir(out):
        column = name[4:]
        if (name.startswith("utt2") and column not in columns
                and (column in ours or column.startswith("qp_"))
                and os.path.isfile(os.path.join(out, name))):
            os.remove(os.path.join(out, name))


def _csv(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.6g}" if isinstance(value, float) else str(value)
