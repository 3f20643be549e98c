"""Per-group tables under RESULTS.md's main table: a set's per-utterance scores averaged by
metadata of its data dir (``breakdown: [device, room]`` in ``eval.yaml`` groups by the joined
values of ``utt2device`` and ``utt2room``, e.g. paper 003's per device/room table;
``breakdown: [[snr], [noise]]`` gives one table per SNR and one per noise type, as VBD
papers report)."""
import csv
import math
import os

from sebench.errors import SebenchError


def utterance_groups(data_dir, fields):
    """{key: group} from ``utt2<field>`` files of a data dir, values joined with '_'."""
    from sebench.data.datadir import read_kv
    tables = []
    for field in fields:
        path = os.path.join(data_dir, f"utt2{field}")
        if not os.path.isfile(path):
            raise SebenchError(f"{path}: missing (eval.yaml breakdown by {field})")
        tables.append(read_kv(path))
    return {key: "_".join(t.get(key, "?") for t in tables) for key in tables[0]}


def per_utterance(score_dir):
    """{key: {column: float}} from a score dir's scores.csv (failed cells left out)."""
    path = os.path.join(score_dir, "scores.csv")
    if not os.path.isfile(path):
        return {}
    out = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            values = {}
            for k, v in row.items():
                try:
                    values[k] = float(v)
                except (TypeError, ValueError):
                    continue
            out[row["key"]] = {k: v for k, v in values.items() if math.isfinite(v)}
    return out


def group_order(name):
    """Numeric groups (SNRs) in numeric order, before the others in text order."""
    try:
        return (0, float(name), "")
    except ValueError:
        return (1, 0.0, name)


def breakdown_tables(policy, scores, systems, data):
    """Markdown lines: for each breakdown of each set, one row per (group, system)."""
    from sebench.results.table import score_dir
    lines = []
    for s in policy.sets:
        if s.breakdown and not data:
            raise SebenchError(f"set {s.name} has a breakdown: give --data (the data dirs)")
        scored = {system: per_utterance(score_dir(scores, system, s.name))
                  for system in systems} if s.breakdown else {}
        for fields in s.breakdown:
            lines += _group_table(policy, s, fields, os.path.join(data, s.name), systems, scored)
    return lines


def _group_table(policy, s, fields, data_dir, systems, scored):
    groups = utterance_groups(data_dir, fields)
    names = sorted(set(groups.values()), key=group_order)
    header = [" / ".join(fields), "system"] + [policy.display(m) for m in s.columns]
    lines = [f"## {s.name} by {' / '.join(fields)}", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group in names:
        for system in systems:
            rows = [v for k, v in scored[system].items() if groups.get(k) == group]
            cells = []
            for m in s.columns:
                vals = [r[m] for r in rows if m in r]
                cells.append(f"{sum(vals) / len(vals):.2f}" if vals else "–")
            lines.append("| " + " | ".join([group, policy.display(system)] + cells) + " |")
    return lines + [""]
