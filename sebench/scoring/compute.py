"""Scoring one utterance robustly: every failure becomes NaN plus a recorded reason.

Silent, too-short, non-finite, multi-channel or unreadable audio never stops a run and is
never retried (a deterministic error would fail again). An estimate at another rate than its
reference is resampled to the reference's rate (a warning), or refused with
``on_rate_mismatch="error"``.
"""
import hashlib
import json
import math
import os

import numpy as np

from sebench.audio.io import read
from sebench.audio.resample import resample
from sebench.errors import AudioError, SebenchError
from sebench.metrics import UNITS
from sebench.metrics.intrusive import MetricError


REASON_SEP = " | "

#: the scoring conventions a user can choose (``sebench score`` config keys) and their values
CHOICES = {"composite_pesq": ("wb", "raw_nb"),          # sebench.metrics.composite.PESQ_TERMS
           "dnsmos_windows": ("official", "full"),      # sebench.metrics.dnsmos.WINDOW_MODES
           "dnsmos_short_clips": ("reference", "first_window"),
           "on_rate_mismatch": ("resample", "error")}


def check_options(options):
    """ConfigError unless every convention in ``options`` has one of its allowed values."""
    from sebench.errors import ConfigError

    for key, allowed in CHOICES.items():
        if key in options and options[key] not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {options[key]!r}")


def compute_unit(unit, est, ref, fs, noise=None, composite_pesq="wb", dnsmos_windows="official",
                 dnsmos_short_clips="reference"):
    """Values of one unit's columns (dict); raises MetricError/ValueError with the reason."""
    from sebench.metrics import composite, intrusive

    if unit == "pesq_wb":
        return {"pesq_wb": intrusive.pesq_wb(ref, est, fs)}
    if unit == "pesq_nb":
        return {"pesq_nb": intrusive.pesq_nb(ref, est, fs)}
    if unit == "stoi":
        return {"stoi": intrusive.stoi(ref, est, fs)}
    if unit == "estoi":
        return {"estoi": intrusive.estoi(ref, est, fs)}
    if unit == "sisdr":
        return {"sisdr": intrusive.si_sdr(ref, est, fs)}
    if unit == "snr":
        return {"snr": intrusive.snr(ref, est, fs)}
    if unit == "segsnr":
        return {"segsnr": float(np.mean(composite.segmental_snr(
            ref.astype(np.float64) + composite._MATLAB_EPS,
            est.astype(np.float64) + composite._MATLAB_EPS, fs)))}
    if unit == "bss":
        return intrusive.bss_eval(ref, est, fs, noise=noise)
    if unit == "composite":
        intrusive._check_not_silent(ref, est)
        out = composite.composite(ref, est, fs, pesq_term=composite_pesq)
        return {k: out[k] for k in ("csig", "cbak", "covl")}
    if unit == "wada_snr":
        from sebench.metrics.wada import wada_snr
        return {"wada_snr": wada_snr(est)}
    if unit == "srmr":
        from sebench.metrics.srmr import srmr
        return {"srmr": srmr(est, fs)}
    if unit == "dnsmos":
        from sebench.metrics.dnsmos import get_dnsmos
        return {f"dnsmos_{k}": v for k, v in get_dnsmos()(
            est, fs, short_clips=dnsmos_short_clips, windows=dnsmos_windows).items()}
    raise KeyError(unit)


def failed_row(units, reason, predictors=()):
    """A row of NaN for every column of ``units`` (and ``predictors``), with ``reason`` as
    its error."""
    row = {c: math.nan for u in units for c in UNITS[u].columns}
    row.update({p.column: math.nan for p in predictors})
    row["error"] = reason
    row["warning"] = ""
    return row


def _load(path, channel, what):
    """Mono files as they are; a multi-channel file needs --channel (else a recorded reason)."""
    try:
        audio, fs = read(path, channel="all")
    except AudioError as e:
        raise MetricError(f"{what}: {e.problem}") from None
    if audio.shape[1] == 1:
        return audio[:, 0], fs
    if channel is None:
        raise MetricError(f"{what}: has {audio.shape[1]} channels; choose one with --channel")
    if not 0 <= channel < audio.shape[1]:
        raise MetricError(f"{what}: channel {channel} requested, file has {audio.shape[1]}")
    return audio[:, channel], fs


def _match_rate(audio, fs, target_fs, what, policy, warnings):
    """``audio`` at ``target_fs``: resampled (with a warning) or refused, by ``policy``."""
    if fs == target_fs:
        return audio
    if policy == "error":
        raise MetricError(f"rate mismatch: {what} {fs} Hz, reference {target_fs} Hz")
    warnings.append(f"resampled the {what} from {fs} Hz to the reference's {target_fs} Hz")
    return resample(audio, fs, target_fs)


def score_pair(est_path, ref_path, units, noise_path=None, channel=None,
               length_tolerance=0.1, composite_pesq="wb", dnsmos_windows="official",
               dnsmos_short_clips="reference", on_rate_mismatch="resample", predictors=()):
    """Score one estimate (against a reference when given). Returns a row dict with every
    column, an ``error`` reason string ('' when none) and a ``warning`` string.
    ``predictors``: :class:`~sebench.scoring.predictors.PredictorMetric` columns, scored like
    the other non-intrusive metrics on the estimate as it is."""
    warnings = []
    try:
        est, fs = _load(est_path, channel, "estimate")
        own = (est, fs)       # non-intrusive metrics score the estimate as it is
        ref = noise = None
        if ref_path is not None:
            ref, ref_fs = _load(ref_path, channel, "reference")
            est = _match_rate(est, fs, ref_fs, "estimate", on_rate_mismatch, warnings)
            fs = ref_fs
            diff = abs(len(est) - len(ref))
            if diff > length_tolerance * fs:
                raise MetricError(f"length mismatch: estimate {len(est) / fs:.3f} s, reference "
                                  f"{len(ref) / fs:.3f} s (tolerance {length_tolerance} s)")
            if diff:
                warnings.append(f"trimmed {diff} samples to the shorter signal")
                n = min(len(est), len(ref))
                est, ref = est[:n], ref[:n]
            if noise_path is not None:
                noise, noise_fs = _load(noise_path, channel, "noise")
                noise = _match_rate(noise, noise_fs, fs, "noise", on_rate_mismatch, warnings)
                noise = noise[:len(ref)] if len(noise) >= len(ref) else None
    except MetricError as e:
        return failed_row(units, str(e), predictors)
    row, reasons = {}, []
    for unit in units:
        if UNITS[unit].intrusive and ref is None:
            reasons.append(f"{unit}: needs a reference (--ref)")
            row.update({c: math.nan for c in UNITS[unit].columns})
            continue
        try:
            audio, rate = (est, fs) if UNITS[unit].intrusive else own
            values = compute_unit(unit, audio, ref, rate, noise=noise,
                                  composite_pesq=composite_pesq, dnsmos_windows=dnsmos_windows,
                                  dnsmos_short_clips=dnsmos_short_clips)
            for col in UNITS[unit].columns:
                value = values.get(col)
                row[col] = math.nan if value is None else float(value)
                if value is None:
                    reasons.append(f"{col}: needs a noise reference (noise.scp)")
        except (MetricError, ValueError, RuntimeError) as e:
            reasons.append(f"{unit}: {e}")
            row.update({c: math.nan for c in UNITS[unit].columns})
        except Exception as e:      # noqa: BLE001 - unforeseen (a bug, memory): one file's loss
            reasons.append(f"{unit}: {type(e).__name__}: {e}")
            row.update({c: math.nan for c in UNITS[unit].columns})
    for predictor in predictors:
        try:
            row[predictor.column] = predictor(*own)
        except Exception as e:      # noqa: BLE001 - as above: one file's loss, with the reason
            reasons.append(f"{predictor.column}: {e}")
            row[predictor.column] = math.nan
    row["error"] = REASON_SEP.join(reasons)
    row["warning"] = "; ".join(warnings)
    return row


class ScoreCache:
    """Scores of unchanged inputs, keyed by file contents, so the noisy input of a test set
    is scored once however many systems are compared against it."""

    def __init__(self, folder):
        self.folder = folder

    @staticmethod
    def _digest(path):
        h = hashlib.sha1()
        try:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except OSError:
            return None
        return h.hexdigest()

    def key(self, units, *paths, **options):
        parts = [f"{u}:{UNITS[u].version}" for u in units]
        for p in paths:
            if p is None:
                parts.append("-")
                continue
            digest = self._digest(p)
            if digest is None:
                return None
            parts.append(digest)
        parts.append(json.dumps(options, sort_keys=True))
        return hashlib.sha1("|".join(parts).encode()).hexdigest()

    def get(self, key):
        if key is None or not self.folder:
            return None
        path = os.path.join(self.folder, key[:2], key + ".json")
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def put(self, key, row):
        if key is None or not self.folder:
            return
        from sebench.utils.fileio import atomic_write_text
        atomic_write_text(os.path.join(self.folder, key[:2], key + ".json"), json.dumps(row))


def default_cache_dir():
    root = os.environ.get("SEBENCH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "sebench")
    return os.path.join(root, "scores")


def check_inputs_exist(*specs):
    for spec in specs:
        if spec is not None and not os.path.exists(spec):
            raise SebenchError(f"{spec}: not found (expected a data dir, an scp file or a folder)")
