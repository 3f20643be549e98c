"""Quality labels and the 0-1 normalisation predictors train in.

``linear`` (default): (y - lo) / (hi - lo), MOS 1..5 -> 0..1 (paper 000 says "normalised by a
sigmoid" without details; the linear map is the documented default). ``sigmoid``:
1 / (1 + exp(-(y - mid) / s)) with mid = (lo + hi) / 2 and s = (hi - lo) / 8, which maps lo..hi
to about 0.02..0.98. ``sigmoid_raw``: 1 / (1 + exp(-y)), the sigmoid of the score itself
(paper 000: "normalize the MOS score from 1~5 to 0~1 by a Sigmoid operation", as its cited
MetricGAN-U code does: MOS 1..5 -> 0.731..0.993; MOS_max is sigmoid(hi)). ``none``: the raw
scale (PESQNet outputs PESQ directly).
Predictions are always reported back on the label's own scale (``denormalize``).
"""
import csv
import math

import torch

from sebench.errors import ConfigError, SebenchError

NORMS = ("linear", "sigmoid", "sigmoid_raw", "none")


class LabelScale:
    def __init__(self, norm="linear", lo=1.0, hi=5.0):
        if norm not in NORMS:
            raise ConfigError(f"label norm must be one of {NORMS}, got {norm!r}")
        self.norm, self.lo, self.hi = norm, float(lo), float(hi)
        self.mid, self.s = (self.lo + self.hi) / 2, (self.hi - self.lo) / 8
        if norm == "sigmoid_raw":              # the sigmoid of the score itself
            self.mid, self.s, self.norm = 0.0, 1.0, "sigmoid"
        self.name = norm

    def normalize(self, y):
        if self.norm == "linear":
            return (y - self.lo) / (self.hi - self.lo)
        if self.norm == "sigmoid":
            return torch.sigmoid((y - self.mid) / self.s) if torch.is_tensor(y) \
                else 1 / (1 + math.exp(-(y - self.mid) / self.s))
        return y

    def denormalize(self, z):
        if self.norm == "linear":
            return self.lo + z * (self.hi - self.lo)
        if self.norm == "sigmoid":
            if torch.is_tensor(z):
                z = z.clamp(1e-6, 1 - 1e-6)
                return self.mid + self.s * torch.log(z / (1 - z))
            z = min(max(z, 1e-6), 1 - 1e-6)
            return self.mid + self.s * math.log(z / (1 - z))
        return z

    @property
    def best(self):
        """The normalised target for "maximum quality" (MOS_max, PESQ_max)."""
        return self.normalize(torch.tensor(self.hi)).item()

    def target(self, value=None):
        """The normalised target score: ``value`` (on the label scale) or the maximum."""
        return self.best if value is None else float(self.normalize(float(value)))

    def to_dict(self):
        return {"norm": self.name, "lo": self.lo, "hi": self.hi}


def mos_from_csv(path, key_column, score_column, scale_lo=0.0, scale_hi=100.0, mos_lo=1.0,
                 mos_hi=5.0):
    """Human ratings from a CSV, mapped linearly from [scale_lo, scale_hi] to [mos_lo, mos_hi]
    (IUB: 0-100 -> 1-5). Several rows per key are averaged."""
    sums, counts = {}, {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:   # Excel's UTF-8 has a BOM
            reader = csv.DictReader(f)
            missing = [c for c in (key_column, score_column) if c not in (reader.fieldnames or [])]
            if missing:
                raise SebenchError(f"{path}: no column(s) {missing}; columns are {reader.fieldnames}")
            for no, row in enumerate(reader, 2):
                try:
                    r = float(row[score_column])
                except (TypeError, ValueError):
                    raise SebenchError(f"{path}:{no}: {score_column}={row[score_column]!r} is not a "
                                       "number") from None
                key = row[key_column].strip()
                sums[key] = sums.get(key, 0.0) + r
                counts[key] = counts.get(key, 0) + 1
    except FileNotFoundError:
        raise SebenchError(f"{path}: file not found") from None
    span = scale_hi - scale_lo
    return {k: mos_lo + (sums[k] / counts[k] - scale_lo) / span * (mos_hi - mos_lo) for k in sums}
