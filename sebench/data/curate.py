"""Curation of real noisy training data by per-utterance labels (``sebench data curate``).

Current practice for training on real recordings keeps only utterances whose DNSMOS and
active-speech ratio clear thresholds. The thresholds name label files of the data dir
(``utt2dnsmos_ovrl``, ``utt2dnsmos_p808``, ...) plus ``active_ratio``: the share of the
clip that is active speech by ITU-T P.56 (``sebench.audio.levels``), computed here once and
written to ``utt2active_ratio`` beside the audio's other labels so a rerun reads it back.
An utterance without a value for a threshold is dropped. The report gives the hours each
threshold of the grid keeps on its own, then the hours the configured combination keeps.
"""
import math

from sebench.errors import ConfigError, SebenchError
from sebench.utils.log import get_logger, progress

log = get_logger("sebench.curate")

ACTIVE = "active_ratio"
DEFAULTS = {
    "keep": {},      # {label: minimum} the curated set must reach on every label
    "grid": {},      # {label: [minimum, ...]} the thresholds whose kept hours are reported
}


def active_ratios(ddir):
    """{key: share of active speech} of a data dir, computed once into utt2active_ratio."""
    from sebench.audio import io
    from sebench.audio.levels import active_level_db
    if ddir.has(f"utt2{ACTIVE}"):
        ratios = ddir.read(f"utt2{ACTIVE}")
        if set(ratios) >= set(ddir.keys):
            return {k: float(v) for k, v in ratios.items()}
    wav, ratios = ddir.read("wav.scp"), {}
    for key in progress(ddir.keys, desc="active speech", unit="utt"):
        try:
            audio, fs = io.read(wav[key])
        except SebenchError as e:       # one unreadable file is dropped, not the whole set
            log.warning("%s: %s (left out)", key, e)
            continue
        ratios[key] = active_level_db(audio, fs, return_activity=True)[1]
    ddir.write(f"utt2{ACTIVE}", {k: f"{v:.4f}" for k, v in sorted(ratios.items())})
    return ratios


def _labels(ddir, names):
    values = {}
    for name in names:
        if name == ACTIVE:
            values[name] = active_ratios(ddir)
            continue
        if not ddir.has(f"utt2{name}"):
            raise SebenchError(f"{ddir.path}: no utt2{name} for the threshold on {name} "
                               "(run `sebench label` first, e.g. --source dnsmos)")
        values[name] = {}
        for key, text in ddir.read(f"utt2{name}").items():
            try:
                values[name][key] = float(text)
            except ValueError:
                continue
    return values


def _kept(keys, values, thresholds):
    return [k for k in keys if all(
        not math.isnan(values[n].get(k, math.nan)) and values[n].get(k, -math.inf) >= lo
        for n, lo in thresholds.items())]


def curate(src, dst, cfg):
    """Write the utterances of ``src`` clearing ``cfg['keep']`` to ``dst``; returns the
    report rows ``[(label, minimum or None, utterances, hours)]`` (None: all, then kept)."""
    from sebench.data import ops
    from sebench.data.datadir import DataDir
    keep, grid = dict(cfg.get("keep") or {}), dict(cfg.get("grid") or {})
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"curate grid.{name}: expected a list of minimums")
    if not keep:
        raise ConfigError("curate: keep is empty (give at least one {label: minimum})")
    ddir = DataDir(src).require()
    if not (ddir.has("utt2num_samples") and ddir.has("utt2fs")):
        raise SebenchError(f"{src}: no utt2num_samples/utt2fs (format it with "
                           "`sebench data format` first)")
    n2s, n2fs = ddir.read("utt2num_samples"), ddir.read("utt2fs")
    keys = ddir.keys
    values = _labels(ddir, sorted(set(keep) | set(grid)))

    def hours(subset):
        return sum(int(n2s[k]) / int(n2fs[k]) for k in subset) / 3600.0

    rows = [("all", None, len(keys), hours(keys))]
    for name, minimums in grid.items():
        for lo in minimums:
            subset = _kept(keys, values, {name: float(lo)})
            rows.append((name, float(lo), len(subset), hours(subset)))
    kept = _kept(keys, values, {n: float(v) for n, v in keep.items()})
    if not kept:
        raise SebenchError(f"{src}: no utterance clears {keep}; lower the thresholds")
    ops.subset(src, dst, keys=kept)
    rows.append(("kept: " + ", ".join(f"{n} >= {v:g}" for n, v in keep.items()), None,
                 len(kept), hours(kept)))
    return rows


def format_report(src, rows):
    lines = [f"Curation of {src}: hours kept by each threshold alone, then by the "
             "configured combination.", "", "| threshold | utterances | hours | share |",
             "|---|---|---|---|"]
    total = rows[0][3] or 1.0
    for name, lo, n, h in rows:
        label = name if lo is None else f"{name} >= {lo:g}"
        lines.append(f"| {label} | {n} | {h:.3f} | {100 * h / total:.1f} % |")
    return "\n".join(lines) + "\n"
