"""Curation of real noisy training data by per-utterance labels (``sebench data curate``).

Current practice for training on real recordings keeps only utterances whose DNSMOS and
active-speech ratio clear thresholds. The thresholds name label files of the data dir
(``utt2dnsmos_ovrl``, ``utt2dnsmos_p808``, ...) plus ``active_ratio``: the share of the
clip that is active speech by ITU-T P.56 (``sebench.audio.levels``), computed here once and
written to ``utt2active_ratio`` beside the audio's other labels so a rerun reads it back.
``wada_snr`` (the WADA estimate of the clip's SNR, ``sebench.metrics.wada``) is computed and
kept the same way: paper 001's unpaired real recordings average about 10 dB by WADA-SNR.
A ``keep`` value is a minimum, or ``[lo, hi]``: both bounds inclusive (WADA-SNR near 10 dB:
``wada_snr: [5, 15]``). An utterance without a value for a threshold is dropped. The report
gives the hours each threshold of the grid keeps on its own, then the hours the configured
combination keeps.
"""
import math

from sebench.errors import ConfigError, SebenchError
from sebench.utils.log import get_logger, progress

log = get_logger("sebench.curate")

ACTIVE = "active_ratio"
DEFAULTS = {
    "keep": {},      # {label: minimum or [lo, hi]} the curated set must reach on every label
    "grid": {},      # {label: [minimum, ...]} the thresholds whose kept hours are reported
}


WADA = "wada_snr"


def _active_ratio(audio, fs):
    from sebench.audio.levels import active_level_db
    return active_level_db(audio, fs, return_activity=True)[1]


def _wada(audio, fs):
    from sebench.metrics.wada import wada_snr
    return wada_snr(audio)


#: labels computed from the audio (once, into utt2<name>): name -> (function, progress text)
COMPUTED = {ACTIVE: (_active_ratio, "active speech"), WADA: (_wada, "WADA-SNR")}


def computed_label(ddir, name):
    """{key: value} of a computed label of a data dir, computed once into utt2<name>."""
    from sebench.audio import io
    function, desc = COMPUTED[name]
    if ddir.has(f"utt2{name}"):
        values = ddir.read(f"utt2{name}")
        if set(values) >= set(ddir.keys):
            return {k: float(v) for k, v in values.items()}
    wav, values = ddir.read("wav.scp"), {}
    for key in progress(ddir.keys, desc=desc, unit="utt"):
        try:
            audio, fs = io.read(wav[key])
            values[key] = function(audio, fs)
        except SebenchError as e:       # one unusable file is dropped, not the whole set
            log.warning("%s: %s (left out)", key, e)
    ddir.write(f"utt2{name}", {k: f"{v:.4f}" for k, v in sorted(values.items())})
    return values


def active_ratios(ddir):
    """{key: share of active speech} of a data dir, computed once into utt2active_ratio."""
    return computed_label(ddir, ACTIVE)


def _bounds(name, value):
    """A ``keep`` value -> (lo, hi): a minimum, or an inclusive [lo, hi]."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or float(value[0]) > float(value[1]):
            raise ConfigError(f"curate keep.{name}: expected a minimum or [lo, hi] with "
                              f"lo <= hi, got {value!r}")
        return float(value[0]), float(value[1])
    return float(value), math.inf


def _labels(ddir, names):
    values = {}
    for name in names:
        if name in COMPUTED:
            values[name] = computed_label(ddir, name)
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
    """The keys whose every label lies in its (lo, hi) bounds."""
    return [k for k in keys if all(
        not math.isnan(values[n].get(k, math.nan)) and lo <= values[n].get(k, -math.inf) <= hi
        for n, (lo, hi) in thresholds.items())]


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
            subset = _kept(keys, values, {name: (float(lo), math.inf)})
            rows.append((name, float(lo), len(subset), hours(subset)))
    bounds = {n: _bounds(n, v) for n, v in keep.items()}
    kept = _kept(keys, values, bounds)
    if not kept:
        raise SebenchError(f"{src}: no utterance clears {keep}; lower the thresholds")
    ops.subset(src, dst, keys=kept)
    rows.append(("kept: " + ", ".join(f"{n} >= {lo:g}" if hi == math.inf else
                                      f"{lo:g} <= {n} <= {hi:g}"
                                      for n, (lo, hi) in bounds.items()), None,
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
