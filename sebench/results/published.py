"""Published numbers beside ours: eval.yaml's ``published:`` rows, marked as such.

::

    published:                  # rows appended to the main table, in italics, never computed
      - {name: Non-Adv, source: "paper 004, Tables I-II", set: test,
         values: {sisdr: 19.26, pesq_wb: 2.57}}

``set`` defaults to the policy's first set; columns without a published value show ``–``.
A row with numbers on several sets gives ``sets: {SET: {metric: value}}`` instead of
``set``/``values`` (paper 002's Table III: one row across its no-reverb and reverb halves).
"""
from sebench.errors import ConfigError
from sebench.utils.schema import check_mapping

PUBLISHED_KEYS = ("name", "source", "set", "values", "sets")


def _check_values(values, set_name, policy, here):
    columns = policy.set(set_name).columns
    values = check_mapping(values, here)
    for metric, v in values.items():
        if metric not in columns:
            raise ConfigError(f"{here}: '{metric}' is not a column of set {set_name} "
                              f"({', '.join(columns)})")
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise ConfigError(f"{here}: {metric}: expected a number, got {v!r}")
    return {k: float(v) for k, v in values.items()}


def load_published(value, policy, where):
    """Check ``published:`` against the policy's sets and columns; returns a list of dicts."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: published: expected a list of rows")
    rows = []
    for i, entry in enumerate(value):
        here = f"{where}: published[{i}]"
        entry = check_mapping(entry, here, PUBLISHED_KEYS, required=("name", "source"))
        if ("sets" in entry) == ("values" in entry) or ("sets" in entry and "set" in entry):
            raise ConfigError(f"{here}: give values (with an optional set) or sets, not both")
        if "sets" in entry:
            by_set = {str(name): _check_values(vals, str(name), policy, f"{here}.sets.{name}")
                      for name, vals in check_mapping(entry["sets"], f"{here}.sets").items()}
        else:
            set_name = str(entry.get("set") or policy.sets[0].name)
            by_set = {set_name: _check_values(entry["values"], set_name, policy, f"{here}.values")}
        first = next(iter(by_set), policy.sets[0].name)
        rows.append({"name": str(entry["name"]), "source": str(entry["source"]),
                     "set": first, "values": by_set.get(first, {}), "by_set": by_set})
    return rows


def published_lines(policy):
    """Main-table rows: ``| *NAME (published: SOURCE)* | ... |``."""
    lines = []
    for row in policy.published:
        cells = [f"*{row['name']} (published: {row['source']})*"]
        for s in policy.sets:
            for m in s.columns:
                v = row["by_set"].get(s.name, {}).get(m)
                cells.append("–" if v is None else f"*{v:.2f}*")
        lines.append("| " + " | ".join(cells) + " |")
    return lines
