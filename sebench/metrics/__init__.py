"""Metric registry: names users pass to ``--metrics`` and the units that compute them.

A *unit* computes one or more metric columns from one (estimate, reference) pair; e.g. the
``composite`` unit yields csig, cbak and covl together, ``dnsmos`` its P.808 and P.835 scores.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    name: str
    columns: tuple
    intrusive: bool
    version: str = "1"  # bump when a unit's definition changes: invalidates cached scores
    cost: float = 0.02  # CPU seconds per second of 16 kHz audio (1 core): balances shards


UNITS = {u.name: u for u in (
    Unit("pesq_wb", ("pesq_wb",), True, cost=0.014),
    Unit("pesq_nb", ("pesq_nb",), True, version="2", cost=0.014),
    Unit("stoi", ("stoi",), True, cost=0.01),
    Unit("estoi", ("estoi",), True, cost=0.01),
    Unit("sisdr", ("sisdr",), True, cost=0.0002),
    Unit("snr", ("snr",), True, cost=0.0002),
    Unit("segsnr", ("segsnr",), True, cost=0.001),
    Unit("bss", ("sdr", "sir", "sar"), True, cost=0.01),
    Unit("composite", ("csig", "cbak", "covl"), True, version="2", cost=0.03),
    Unit("dnsmos", ("dnsmos_p808", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl",
                    "dnsmos_sig_raw", "dnsmos_bak_raw", "dnsmos_ovrl_raw"), False,
         version="3", cost=0.45),   # per 9.01 s window, not per second
    Unit("srmr", ("srmr",), False, cost=0.065),
    Unit("wada_snr", ("wada_snr",), False, cost=0.0005),   # paper 001's real-data SNR estimate
)}

#: user-facing metric name -> unit
METRIC_UNIT = {"dnsmos": "dnsmos"}
for _unit in UNITS.values():
    for _col in _unit.columns:
        if not _col.startswith("dnsmos"):
            METRIC_UNIT[_col] = _unit.name

GROUPS = {
    "intrusive": ["pesq_wb", "pesq_nb", "stoi", "estoi", "sisdr", "sdr", "sir", "sar", "snr",
                  "segsnr", "csig", "cbak", "covl"],
    "nonintrusive": ["dnsmos", "srmr"],
}
GROUPS["all"] = GROUPS["intrusive"] + GROUPS["nonintrusive"]

#: higher is better for every column except these distances and errors
LOWER_IS_BETTER = {"llr", "wss", "lsd", "mse", "mae", "wer", "cer"}


def higher_is_better(column):
    """Direction of a score column (report tables mark the best value by it)."""
    return column not in LOWER_IS_BETTER


def expand(names):
    """``'pesq_wb,stoi,nonintrusive'`` -> (ordered metric names, ordered unit names)."""
    from sebench.errors import ConfigError

    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    metrics = []
    for name in names:
        for m in GROUPS.get(name, [name]):
            if m not in METRIC_UNIT:
                known = ", ".join(sorted(list(METRIC_UNIT) + list(GROUPS)))
                raise ConfigError(f"unknown metric {m!r} (known: {known})")
            if m not in metrics:
                metrics.append(m)
    units = []
    for m in metrics:
        if METRIC_UNIT[m] not in units:
            units.append(METRIC_UNIT[m])
    return metrics, units


def columns_of(metrics):
    """Output columns for the chosen metrics (dnsmos expands to its scores)."""
    cols = []
    for m in metrics:
        cols += list(UNITS["dnsmos"].columns) if m == "dnsmos" else [m]
    return cols
